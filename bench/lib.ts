import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Db } from '../src/db/db.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPgDb } from '../src/db/pg.ts';
import { waitForPort } from '../src/infra/net.ts';
import { KeyService } from '../src/services/keys.ts';
import { dropRedisPrefix } from '../test/helpers/context.ts';

export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchStore {
  db: Db;
  /** A submitter key of the bench tenant. */
  key: string;
  /** Environment for service processes over this store (rate limit off). */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/**
 * A fresh Postgres schema (migrated) and Redis key prefix for one bench run, dropped after.
 * With `schema`, that schema is used (created when missing, migrated either way) and a schema
 * that already existed is never dropped; `keep` keeps a created one too (its name is printed),
 * so a slow fill can be reused by a later run.
 */
export async function benchStore(name: string, options: { schema?: string; keep?: boolean } = {}): Promise<BenchStore & { schema: string; existed: boolean; migrated: string[] }> {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(options.schema)) throw new Error(`bad schema name: ${options.schema}`);
  const schema = options.schema ?? `${name}_${randomBytes(4).toString('hex')}`;
  const prefix = `sg${name}${randomBytes(4).toString('hex')}`;
  const admin = createPgDb(BENCH_DATABASE_URL);
  const [found] = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [schema]);
  const existed = (found?.n ?? 0) > 0;
  if (!existed) await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const db = createPgDb(BENCH_DATABASE_URL, { schema });
  const migrated = await migrate(db);
  const { key } = await new KeyService(db).create(name, 'submitter');
  const keep = existed || options.keep === true;
  return {
    db,
    key,
    schema,
    existed,
    migrated,
    env: { DATABASE_URL: BENCH_DATABASE_URL, DATABASE_SCHEMA: schema, REDIS_URL: BENCH_REDIS_URL, REDIS_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'error' },
    async drop() {
      if (!keep) await db.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await db.close();
      await dropRedisPrefix(BENCH_REDIS_URL, prefix);
    },
  };
}

/** Shared pieces of the bench scripts: child servers, cleanup, number formatting. */

/**
 * Starts `node --import tsx <script> ...args` and resolves once it accepts connections on `port`.
 * With BENCH_PROFILE_DIR set, the child writes a V8 CPU profile there when it exits.
 */
export async function startChild(script: string, args: string[], port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(port, 60_000, () => child.exitCode === null).catch(() => {
    throw new Error(`${script} did not start on port ${port}`);
  });
  return child;
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
