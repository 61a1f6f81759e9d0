import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, type LockInfo } from '../../src/infra/data-lock.ts';
import { dropRedisPrefix, TEST_REDIS_URL, uniqueName, waitFor } from '../helpers/context.ts';

/**
 * The newcomer's path with real processes: `npm start` on the embedded default (PGlite in a
 * fresh data folder; Redis is the test server under a fresh prefix). A second start on the
 * same folder is refused naming the first; `npm run cli -- keys create`, as the banner says,
 * goes through the running service, so the key works at once and survives a restart (after
 * a crash, whose stale lock the next start takes over); with the service stopped the CLI
 * reads the same store directly.
 */

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'sg-embedded-'));
const prefix = uniqueName('sgt');
const children: ChildProcess[] = [];
const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: '',
  DATA_DIR: dir,
  REDIS_URL: TEST_REDIS_URL,
  REDIS_PREFIX: prefix,
  LOG_LEVEL: 'silent',
  DETECTOR_ENABLED: 'false',
};
delete baseEnv.SLOPGUARD_URL;
delete baseEnv.SLOPGUARD_KEY;
// Starting PGlite in a fresh folder takes long on a loaded two-core machine.
const START_MS = 150_000;

function start() {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'all'], { env: { ...baseEnv, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, pid: child.pid!, stdout: () => stdout, stderr: () => stderr, exited };
}

const lock = () => {
  try {
    return JSON.parse(readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
};
const serving = (pid: number) => waitFor(async () => (lock()?.pid === pid && lock()?.url ? lock()!.url! : undefined), START_MS);
const cli = (args: string[], env: Record<string, string> = {}) => run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', ...args], { env: { ...baseEnv, ...env } });
const probe = (url: string, key: string) => fetch(`${url}/v1/articles/by-external-id/none`, { headers: { authorization: `Bearer ${key}` } });

describe('the embedded service: one owner of its data folder, keys while it runs', () => {
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await dropRedisPrefix(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'refuses a second start naming the pid, serves keys created with the CLI at once and after a crash restart, takes a stale lock over',
    async () => {
      const first = start();
      const url = await serving(first.pid);
      const bootstrap = await waitFor(async () => /\n {4}(sg_\S+)\n/.exec(first.stdout())?.[1]);
      // The banner's advice, followed to the letter: the CLI finds the service through the data folder.
      expect(first.stdout()).toContain('SLOPGUARD_KEY=<the key above> npm run cli -- keys create --tenant <tenant> --role submitter');

      const second = start();
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toContain(`in use by slopguard process ${first.pid}`);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      await expect(cli(['create', '--tenant', 'acme', '--role', 'submitter'])).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining(`a service is running at ${url}`),
      });
      const created = JSON.parse((await cli(['create', '--tenant', 'acme', '--role', 'submitter', '--json'], { SLOPGUARD_KEY: bootstrap })).stdout) as {
        id: string;
        key: string;
      };
      expect((await probe(url, created.key)).status).toBe(404);

      // A crash leaves the lock naming a process that is gone; the next start takes it over.
      first.child.kill('SIGKILL');
      await first.exited;
      expect(lock()?.pid).toBe(first.pid);
      const third = start();
      const url3 = await serving(third.pid);
      expect(third.stdout()).not.toContain('Bootstrap admin key');
      expect((await probe(url3, created.key)).status).toBe(404);

      const listed = JSON.parse((await cli(['list', '--tenant', 'acme', '--json'], { SLOPGUARD_KEY: bootstrap })).stdout) as { id: string }[];
      expect(listed.map((k) => k.id)).toEqual([created.id]);
      expect((await cli(['revoke', created.id], { SLOPGUARD_KEY: bootstrap })).stdout).toContain(`revoked ${created.id}`);
      expect((await probe(url3, created.key)).status).toBe(401);

      third.child.kill('SIGTERM');
      expect(await third.exited).toBe(0);
      expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
      // No service: the CLI opens the same store itself.
      const offline = JSON.parse((await cli(['list', '--json'])).stdout) as { id: string; revokedAt: string | null }[];
      expect(offline.find((k) => k.id === created.id)?.revokedAt).not.toBeNull();
    },
    2 * START_MS + 120_000,
  );
});
