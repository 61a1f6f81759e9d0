import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { DEFAULT_TEST_DATABASE_URL } from './urls.ts';

/** Debian's PostgreSQL binaries, newest version first. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort().reverse();
  for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  return undefined;
}

export interface PrivatePostgres {
  url: string;
  /** Stops the server, keeping its data (a restart finds everything again). */
  stop(): void;
  /** Starts it again when it is stopped. */
  start(): void;
  /** Stops it and deletes its data. */
  destroy(): void;
}

/**
 * A throwaway PostgreSQL cluster in a temp dir, from the installed binaries (run as the
 * postgres user when we are root: initdb refuses root). Tests stop and start it for real.
 */
export function startPrivatePostgres(port: number): PrivatePostgres {
  const bin = postgresBin();
  if (!bin) {
    throw new Error(
      `PostgreSQL does not answer at ${DEFAULT_TEST_DATABASE_URL} and is not installed. Install it (Debian: apt-get install -y postgresql) or set TEST_DATABASE_URL.`,
    );
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-pg-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' }) : execFileSync(cmd, args, { stdio: 'ignore' });
  run(path.join(bin, 'initdb'), ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'postgres']);
  const data = path.join(dir, 'data');
  const running = () => {
    try {
      run(path.join(bin, 'pg_ctl'), ['-D', data, 'status']);
      return true;
    } catch {
      return false;
    }
  };
  const start = () => {
    if (running()) return;
    run(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-l', path.join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
  };
  const stop = () => run(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-m', 'fast', 'stop']);
  start();
  run(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'test']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    start,
    stop,
    destroy() {
      try {
        stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
