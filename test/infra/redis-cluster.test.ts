import { Queue } from 'bullmq';
import type { ChainableCommander, Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig, ConfigError, redisTargetOf } from '../../src/config.ts';
import { execPerNode, keySlot, queuePrefix, scanTargets } from '../../src/infra/redis.ts';
import { QUEUES } from '../../src/jobs/catalog.ts';
import { consoleLogin } from '../helpers/console.ts';
import { createTestEnv, TEST_REDIS_CLUSTER_URL, type TestEnv } from '../helpers/context.ts';
import { testRedis } from '../signals/redis-helper.ts';

describe('REDIS_URL', () => {
  it('names one server or the seed nodes of a cluster', () => {
    expect(redisTargetOf('redis://10.0.0.4:6380/2')).toEqual({ kind: 'single', url: 'redis://10.0.0.4:6380/2' });
    expect(redisTargetOf('redis-cluster://app:p%40ss@10.0.0.5:7000,redis-b.internal:7001,[::1]:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.5', port: 7000 },
        { host: 'redis-b.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 'p@ss',
      tls: false,
    });
    expect(redisTargetOf('rediss-cluster://:secret@h1:6380')).toMatchObject({ kind: 'cluster', password: 'secret', tls: true, username: undefined });
    expect(buildConfig({ REDIS_URL: 'redis-cluster://127.0.0.1:7100' }).redisTarget?.kind).toBe('cluster');
  });

  it('refuses a malformed URL at boot, saying which forms it takes', () => {
    for (const bad of ['redis-cluster://h1', 'redis-cluster://h1:99999', 'http://h1:6379', 'redis-cluster://h1:7000,,h2:7000']) {
      expect(() => buildConfig({ REDIS_URL: bad }), bad).toThrow(ConfigError);
    }
    expect(() => buildConfig({ REDIS_URL: 'redis-cluster://h1' })).toThrow(/redis-cluster:\/\/\[user:password@\]host:port,host:port/);
  });
});

describe('on the local Redis Cluster', () => {
  const redis = testRedis('cluster') as Cluster;
  afterAll(() => redis.disconnect());

  it('computes the slot of a key as the cluster does, hash tags included', async () => {
    for (const key of ['a', 'sg:sig:t:t1:l:3:17', '{sg:score}:score:wait', 'x{}y', '{}{a}', 'k{tag}rest', '租户:文章']) {
      expect(keySlot(key), key).toBe(await redis.cluster('KEYSLOT', key));
    }
  });

  it('sends commands on keys of every master in one call, replies in order, one failed command alone', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `sgtest:pernode:${process.pid}:${i}`);
    const masters = new Set(keys.map((k) => redis.slots[keySlot(k)]?.[0]));
    expect(masters.size).toBe(3);
    try {
      const replies = await execPerNode(redis, [
        ...keys.map((key, i) => ({ key, add: (p: ChainableCommander) => p.set(key, String(i)) })),
        ...keys.map((key) => ({ key, add: (p: ChainableCommander) => p.get(key) })),
        { key: keys[0]!, add: (p) => p.lpush(keys[0]!, 'x') },
      ]);
      expect(replies.slice(keys.length, 2 * keys.length).map((r) => r[1])).toEqual(keys.map((_, i) => String(i)));
      expect(replies.at(-1)?.[0]?.message).toMatch(/WRONGTYPE/);
      expect(replies.slice(0, -1).every((r) => r[0] === null)).toBe(true);
    } finally {
      await Promise.all(keys.map((k) => redis.del(k)));
    }
  });

  describe('the whole service', () => {
    let env: TestEnv;
    beforeAll(async () => {
      env = await createTestEnv({ redisUrl: TEST_REDIS_CLUSTER_URL });
    });
    afterAll(() => env.close());

    it('keeps each BullMQ queue in its own hash-tagged slot, the queues spread over the masters', async () => {
      const key = await env.keyFor('submitter');
      expect(
        (
          await env.request('POST', '/v1/articles', {
            key,
            body: { externalId: 'q1', accountId: 'a1', text: '今天下午三点,杭州市西湖区文三路的一家面馆里,老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化。' },
          })
        ).status,
      ).toBe(202);
      expect(await env.ctx.queues.score.getJobCounts('waiting')).toEqual({ waiting: 1 });
      const prefix = queuePrefix(env.config, QUEUES.score);
      expect(prefix).toBe(`{${env.config.redisPrefix}:score}`);
      const scoreKeys: string[] = [];
      for (const node of scanTargets(env.ctx.redis)) scoreKeys.push(...(await node.keys(`${prefix}*`)));
      expect(scoreKeys.length).toBeGreaterThan(1);
      expect(new Set(scoreKeys.map(keySlot)).size).toBe(1);
      const queueMasters = new Set(Object.values(QUEUES).map((q) => (env.ctx.redis as Cluster).slots[keySlot(queuePrefix(env.config, q))]?.[0]));
      expect(queueMasters.size).toBeGreaterThan(1);
      // A queue on the cluster with a plain prefix would not work: BullMQ's scripts span its keys.
      const plain = new Queue('plain', { connection: env.ctx.redis, prefix: env.config.redisPrefix });
      await expect(plain.add('x', {})).rejects.toThrow(/CROSSSLOT|same slot/);
      await plain.close();
    });

    it('signs a moderator in to the console with the session kept in the cluster', async () => {
      const { cookie } = await consoleLogin(env, await env.keyFor('moderator'));
      expect(cookie).toMatch(/^sg_session=/);
      const page = await env.app.request('/console/queue', { headers: { cookie } });
      expect(page.status).toBe(200);
    });
  });
});
