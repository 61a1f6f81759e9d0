import { afterEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/infra/redis.ts';
import { AccountSignals } from '../../src/signals/account-signals.ts';
import { accountSignalSettingsSchema } from '../../src/signals/settings.ts';
import { isolatedRedis, keysPerMaster, keysUnder, type RedisKind, testRedis } from './redis-helper.ts';
import { ZH_TEMPLATES, rng, templateVariant } from './scenarios.ts';

const T0 = Date.parse('2026-10-01T00:00:00Z');
const settings = accountSignalSettingsSchema.parse({});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** `n` workers' worth of AccountSignals, each on its own connection (as separate worker processes are). */
async function workers(kind: RedisKind, n: number): Promise<{ signals: AccountSignals[]; redis: RedisClient; prefix: string }> {
  const own = await isolatedRedis(kind);
  cleanups.push(own.cleanup);
  const signals: AccountSignals[] = [];
  for (let i = 0; i < n; i++) {
    const client = testRedis(kind);
    cleanups.push(async () => client.disconnect());
    signals.push(new AccountSignals(client, settings, own.prefix, { now: () => T0 }));
  }
  return { signals, redis: own.redis, prefix: own.prefix };
}

describe.each(['single', 'cluster'] as const)('AccountSignals under concurrency on %s Redis', (kind) => {
  it('of any two near-duplicates observed at the same time by different workers, at least one finds the other', async () => {
    const { signals } = await workers(kind, 4);
    const r = rng(7);
    const template = ZH_TEMPLATES[1]!;
    const n = 16;
    const texts = Array.from({ length: n }, () => templateVariant(template, r));
    // All at once, spread over the workers: no observation waits for another.
    const results = await Promise.all(
      texts.map((text, i) => signals[i % signals.length]!.observe({ tenantId: 't1', articleId: `a${i}`, accountId: `u${i}`, text, lang: 'zh', postedAt: T0 + i * 1000 })),
    );
    const seen = results.map((res) => new Set(res.similar.map((s) => s.articleId)));
    const missed: string[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (!seen[i]!.has(`a${j}`) && !seen[j]!.has(`a${i}`)) missed.push(`a${i}-a${j}`);
      }
    }
    expect(missed).toEqual([]);
    expect(results.every((res) => !res.unavailable)).toBe(true);
  });

  it('one article observed by several workers at once is a first observation exactly once and counted once', async () => {
    const { signals } = await workers(kind, 4);
    const text = templateVariant(ZH_TEMPLATES[0]!, rng(3));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => signals[i % 4]!.observe({ tenantId: 't1', articleId: 'same', accountId: 'u1', text, lang: 'zh', postedAt: T0 })),
    );
    expect(results.filter((r) => r.firstObservation)).toHaveLength(1);
    const after = await signals[0]!.observe({
      tenantId: 't1',
      articleId: 'next',
      accountId: 'u1',
      text: '另一篇完全不同的文章，讲的是今天早上菜市场里青菜的价格又涨了一些。',
      lang: 'zh',
      postedAt: T0 + 1000,
    });
    expect(after.stats.windowCounts['600']).toBe(2);
  });
});

describe('one tenant on the Redis Cluster', () => {
  it('spreads its signal keys over every master', async () => {
    const { signals, redis, prefix } = await workers('cluster', 1);
    const r = rng(11);
    for (let i = 0; i < 60; i++) {
      const template = ZH_TEMPLATES[i % ZH_TEMPLATES.length]!;
      await signals[0]!.observe({ tenantId: 'big', articleId: `a${i}`, accountId: `u${i % 20}`, text: templateVariant(template, r), lang: 'zh', postedAt: T0 + i * 60_000 });
    }
    const perMaster = await keysPerMaster(redis, prefix);
    expect(perMaster).toHaveLength(3);
    const total = (await keysUnder(redis, prefix)).length;
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(total);
    // Keys are placed by their own hash: each master holds roughly a third.
    for (const count of perMaster) expect(count).toBeGreaterThan(total / 5);
  });
});
