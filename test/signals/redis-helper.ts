import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL as REDIS_URL } from '../helpers/urls.ts';

/** A Redis client and a random key prefix owned by one test; `cleanup` deletes its keys. */
export async function isolatedRedis(): Promise<{ redis: Redis; prefix: string; cleanup: () => Promise<void> }> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const prefix = `sgtest:${randomBytes(6).toString('hex')}:`;
  return {
    redis,
    prefix,
    cleanup: async () => {
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) {
        if (keys.length > 0) await redis.unlink(...keys);
      }
      redis.disconnect();
    },
  };
}

/** Every key under the prefix. */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<string[]>) out.push(...keys);
  return out;
}
