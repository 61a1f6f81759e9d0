import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/infra/redis-server.ts';

/**
 * The suite runs against real Redis and real PostgreSQL. When the usual local servers
 * (127.0.0.1:6379, 127.0.0.1:5432 database `test`) are not running, start private ones from
 * the installed binaries so `npm test` works on a fresh machine; say how to install them if
 * they are missing.
 */

const DEFAULT_DB = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort().reverse();
  for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  return undefined;
}

/** A throwaway cluster in a temp dir (run as the postgres user when we are root: initdb refuses root). */
function startPrivatePostgres(port: number): { url: string; stop(): void } {
  const bin = postgresBin();
  if (!bin) {
    throw new Error('PostgreSQL is not running on 127.0.0.1:5432 and is not installed. Install it (Debian: apt-get install -y postgresql) or set TEST_DATABASE_URL.');
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-pg-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' }) : execFileSync(cmd, args, { stdio: 'ignore' });
  run(path.join(bin, 'initdb'), ['-D', path.join(dir, 'data'), '-A', 'trust', '-U', 'postgres']);
  run(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-w', '-l', path.join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  run(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'test']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    stop() {
      run(path.join(bin, 'pg_ctl'), ['-D', path.join(dir, 'data'), '-m', 'immediate', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export default async function setup() {
  const stops: (() => Promise<void> | void)[] = [];
  const redisUrl = process.env.TEST_REDIS_URL ?? DEFAULT_REDIS;
  if (!(await redisAnswers(redisUrl))) {
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-redis-'));
    const redis: EmbeddedRedis = await startEmbeddedRedis(dir);
    process.env.TEST_REDIS_URL = redis.url;
    stops.push(async () => {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    });
  }
  const databaseUrl = process.env.TEST_DATABASE_URL ?? DEFAULT_DB;
  if (!(await postgresAnswers(databaseUrl))) {
    const server = startPrivatePostgres(55_432);
    process.env.TEST_DATABASE_URL = server.url;
    stops.push(() => server.stop());
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
