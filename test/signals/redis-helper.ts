import { randomBytes } from 'node:crypto';
import { redisTargetOf } from '../../src/config.ts';
import { createRedisClient, type RedisClient, scanTargets } from '../../src/infra/redis.ts';
import { TEST_REDIS_CLUSTER_URL, TEST_REDIS_URL as REDIS_URL } from '../helpers/urls.ts';

/** Where a test's Redis runs: the single server or the local Redis Cluster. */
export type RedisKind = 'single' | 'cluster';

/** A client of the test Redis (single server or cluster) that retries while a node fails over. */
export function testRedis(kind: RedisKind): RedisClient {
  return createRedisClient(redisTargetOf(kind === 'cluster' ? TEST_REDIS_CLUSTER_URL : REDIS_URL)!, 'worker');
}

/** A Redis client and a random key prefix owned by one test; `cleanup` deletes its keys. */
export async function isolatedRedis(kind: RedisKind = 'single'): Promise<{ redis: RedisClient; prefix: string; cleanup: () => Promise<void> }> {
  const redis = testRedis(kind);
  await redis.connect();
  const prefix = `sgtest:${randomBytes(6).toString('hex')}:`;
  return {
    redis,
    prefix,
    cleanup: async () => {
      const keys = await keysUnder(redis, prefix);
      // One key per command: on a cluster the keys live in many slots.
      await Promise.all(keys.map((key) => redis.unlink(key)));
      redis.disconnect();
    },
  };
}

/** Every key under the prefix, on every master of a cluster. */
export async function keysUnder(redis: RedisClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of scanTargets(redis)) {
    for await (const keys of node.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) out.push(...keys);
  }
  return out;
}

/** How many keys under the prefix each master of a cluster holds (one number for a single server). */
export async function keysPerMaster(redis: RedisClient, prefix: string): Promise<number[]> {
  const out: number[] = [];
  for (const node of scanTargets(redis)) {
    let count = 0;
    for await (const keys of node.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) count += keys.length;
    out.push(count);
  }
  return out;
}
