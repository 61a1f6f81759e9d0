import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/infra/redis-server.ts';
import { startPrivatePostgres } from './helpers/postgres.ts';
import { DEFAULT_TEST_DATABASE_URL as DEFAULT_DB, DEFAULT_TEST_REDIS_URL as DEFAULT_REDIS } from './helpers/urls.ts';

/**
 * The suite runs against real Redis and real PostgreSQL. When the usual local servers
 * (the defaults in helpers/urls.ts) are not running, start private ones from
 * the installed binaries so `npm test` works on a fresh machine; say how to install them if
 * they are missing.
 */

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
    stops.push(() => server.destroy());
    process.env.TEST_DATABASE_URL = server.url;
  }
  // The Redis Cluster for the tests that also run on one: started when not running, reused
  // (and left running for the next run and other suites on this machine) when it is.
  if (!process.env.TEST_REDIS_CLUSTER_URL) {
    const started = spawnSync(path.join(import.meta.dirname, '..', '.ci', 'redis-cluster'), ['7100'], { encoding: 'utf8' });
    if (started.status !== 0) throw new Error(`could not start the local Redis Cluster (.ci/redis-cluster 7100):\n${started.stderr}${started.error ?? ''}`);
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
