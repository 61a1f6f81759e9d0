import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildConfig, type Config, redisTargetOf } from '../../src/config.ts';
import { type AppContext, createContext, type ProcessRole } from '../../src/context.ts';
import { createPgDb } from '../../src/db/pg.ts';
import type { Logger } from '../../src/infra/logger.ts';
import type { Role } from '../../src/domain/types.ts';
import { createRedisClient, scanTargets } from '../../src/infra/redis.ts';
import { createApp } from '../../src/api/app.ts';
import type { RunningWorkers, startWorkers } from '../../src/workers/index.ts';

import { TEST_DATABASE_URL, TEST_REDIS_CLUSTER_URL, TEST_REDIS_URL } from './urls.ts';

/** The real services the suite runs against (CI starts them; see .ci/run). */
export { TEST_DATABASE_URL, TEST_REDIS_CLUSTER_URL, TEST_REDIS_URL };

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

/**
 * Deletes every Redis key under a prefix (BullMQ queues, signals, rate limits), on every
 * master of a cluster; on a cluster BullMQ's keys begin with the hash-tagged `{prefix:queue}`.
 */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = createRedisClient(redisTargetOf(url)!, 'worker');
  try {
    for (const node of scanTargets(redis)) {
      for (const match of [`${prefix}*`, `{${prefix}*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 1000);
          cursor = next;
          // One key per command: a node's keys span many slots.
          await Promise.all(keys.map((key) => node.unlink(key)));
        } while (cursor !== '0');
      }
    }
  } finally {
    redis.disconnect();
  }
}

export interface TestEnv {
  ctx: AppContext;
  config: Config;
  schema: string;
  workers: RunningWorkers | undefined;
  app: ReturnType<typeof createApp>;
  keyFor(role: Role, tenant?: string): Promise<string>;
  /** JSON request against the in-process app. */
  request(method: string, path: string, options?: { key?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * A context on a fresh Postgres schema and a fresh Redis key prefix, torn down by `close`.
 * With `workers`, score workers run in-process.
 */
export async function createTestEnv(
  options: {
    env?: Record<string, string>;
    workers?: boolean;
    workerOptions?: Parameters<typeof startWorkers>[2];
    databaseUrl?: string;
    /** Another Redis, e.g. TEST_REDIS_CLUSTER_URL for the local cluster. */
    redisUrl?: string;
    logger?: Logger;
    /** The context's role; by default `all` with workers, `api` without. `all` without workers: started later by the test. */
    role?: ProcessRole;
  } = {},
): Promise<TestEnv> {
  const databaseUrl = options.databaseUrl ?? TEST_DATABASE_URL;
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const schema = uniqueName('t_');
  const prefix = uniqueName('sgt');
  const admin = createPgDb(databaseUrl);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const config = buildConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    DATABASE_SCHEMA: schema,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    DETECTOR_ENABLED: 'false',
    SCORE_BACKOFF_MS: '100',
    ...options.env,
  });
  // With workers, one process does both (role `all`), as `npm start` does; without, an `api` process.
  const ctx = await createContext(config, options.role ?? (options.workers ? 'all' : 'api'), options.logger ? { logger: options.logger } : {});
  const workers =
    options.workers && ctx.worker ? await (await import('../../src/workers/index.ts')).startWorkers(ctx, ctx.worker, { reconcile: false, ...options.workerOptions }) : undefined;
  const app = createApp(ctx.api!);
  return {
    ctx,
    config,
    schema,
    workers,
    app,
    async keyFor(role, tenant = 'tenant-a') {
      return (await ctx.keys.create(tenant, role)).key;
    },
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      let body: BodyInit | undefined = opts.raw;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      return app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
    },
    async close() {
      await workers?.close();
      await ctx.close();
      const cleanup = createPgDb(databaseUrl);
      await cleanup.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await cleanup.close();
      await dropRedisPrefix(redisUrl, prefix);
    },
  };
}

/** Environment for a real service process (`src/main.ts api|worker`) over this test's schema and key prefix. */
function childEnv(env: TestEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: env.config.databaseUrl,
    DATABASE_SCHEMA: env.schema,
    REDIS_URL: env.ctx.redisUrl,
    REDIS_PREFIX: env.config.redisPrefix,
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

const serviceOutput = new WeakMap<ChildProcess, string>();

/** Starts a real service process (`src/main.ts api|worker`) over this test's schema and key prefix; its last output is kept for `serviceTail`. */
export function spawnService(env: TestEnv, mode: 'api' | 'worker', extra: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', mode], { env: childEnv(env, extra), stdio: ['ignore', 'pipe', 'pipe'] });
  serviceOutput.set(child, '');
  const keep = (chunk: Buffer) => serviceOutput.set(child, (serviceOutput.get(child)! + chunk.toString('utf8')).slice(-8192));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return child;
}

/** The last 8 KiB a spawned service printed: what a test failure shows when the process misbehaved. */
export function serviceTail(child: ChildProcess): string {
  return serviceOutput.get(child) ?? '';
}

/** Polls `check` until it returns a value (not a fixed sleep: returns as soon as it holds). */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
