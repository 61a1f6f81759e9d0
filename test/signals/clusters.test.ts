import type { RedisClient } from '../../src/infra/redis.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.ts';
import { ClusterService, InvalidCursorError } from '../../src/services/clusters.ts';
import { AccountSignals } from '../../src/signals/account-signals.ts';
import { accountSignalSettingsSchema } from '../../src/signals/settings.ts';
import type { AccountSignalsResult } from '../../src/signals/types.ts';
import { isolatedPg } from './pg-helper.ts';
import { isolatedRedis } from './redis-helper.ts';
import { ZH_TEMPLATES, rng, templateVariant } from './scenarios.ts';

const T0 = Date.parse('2026-10-01T10:00:00Z');

let db: Db;
let redis: RedisClient;
let prefix: string;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  const p = await isolatedPg();
  db = p.db;
  const r = await isolatedRedis();
  ({ redis, prefix } = r);
  cleanups.push(p.cleanup, r.cleanup);
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** An observation as `AccountSignals.observe` would return it, for union edge cases. */
function obs(articleId: string, accountId: string, t: number, similar: [string, string, number][], clusterId: string | null = null): AccountSignalsResult {
  return {
    tenantId: 't1',
    articleId,
    accountId,
    postedAt: new Date(t).toISOString(),
    firstObservation: true,
    signals: [],
    similar: similar.map(([a, acc, at]) => ({ articleId: a, accountId: acc, similarity: 0.8, postedAt: new Date(at).toISOString() })),
    clusterId,
    stats: { windowCounts: {}, baselinePerDay: 1, baselineSource: 'floor', intervalCv: null, indexed: true },
  };
}

describe('ClusterService', () => {
  it('stores a template farm as one cluster with its accounts, articles and time span', async () => {
    const signals = new AccountSignals(redis, accountSignalSettingsSchema.parse({}), prefix);
    const clusters = new ClusterService(db);
    const r = rng(21);
    const ids: (string | null)[] = [];
    for (let a = 0; a < 12; a++) {
      const res = await signals.observe({
        tenantId: 't1',
        articleId: `p${a}`,
        accountId: `farm${a}`,
        text: templateVariant(ZH_TEMPLATES[1]!, r),
        lang: 'zh',
        postedAt: T0 + a * 4000,
      });
      ids.push(await clusters.upsertFromObservation(res));
    }
    expect(ids[0]).toBeNull();
    expect(new Set(ids.slice(1)).size).toBe(1);
    const { clusters: list, nextCursor } = await clusters.list('t1');
    expect(nextCursor).toBeNull();
    expect(list).toHaveLength(1);
    const c = list[0]!;
    expect(c).toMatchObject({ id: ids[1], size: 12, accountCount: 12, spanSeconds: 44, firstPostedAt: new Date(T0).toISOString() });
    expect(c.accounts).toEqual(Array.from({ length: 12 }, (_, a) => `farm${a}`).sort());
    expect(c.articleIds).toEqual(Array.from({ length: 12 }, (_, a) => `p${a}`));
    expect(await clusters.get('t1', c.id)).toMatchObject({ size: 12 });
    expect(await clusters.get('t2', c.id)).toBeNull();
    expect(await clusters.list('t2')).toEqual({ clusters: [], nextCursor: null });
  });

  it('keeps incremental counts equal to a full recount, with repeated accounts, out-of-order posts and replays', async () => {
    const clusters = new ClusterService(db);
    const r = rng(5);
    const seen: [string, string, number][] = [];
    for (let i = 0; i < 40; i++) {
      const id = `q${i}`;
      const account = `acct${Math.floor(r() * 6)}`;
      const t = T0 + Math.floor(r() * 3_600_000);
      const similar = seen.length === 0 ? [] : [seen[Math.floor(r() * seen.length)]!];
      await clusters.upsertFromObservation(obs(id, account, t, similar));
      if (i % 7 === 0) await clusters.upsertFromObservation(obs(id, account, t, similar)); // replay
      seen.push([id, account, t]);
    }
    const [stored] = await db.query<{ id: string; size: number; account_count: number; first: Date; last: Date }>(
      'SELECT id, size, account_count, first_posted_at AS first, last_posted_at AS last FROM clusters WHERE merged_into IS NULL',
    );
    const [actual] = await db.query<{ n: number; accounts: number; first: Date; last: Date }>(
      `SELECT count(*)::int AS n, count(DISTINCT account_id)::int AS accounts, min(posted_at) AS first, max(posted_at) AS last
         FROM cluster_members WHERE cluster_id = $1`,
      [stored!.id],
    );
    expect(stored!.size).toBe(actual!.n);
    expect(stored!.account_count).toBe(actual!.accounts);
    expect(stored!.first.toISOString()).toBe(actual!.first.toISOString());
    expect(stored!.last.toISOString()).toBe(actual!.last.toISOString());
    expect(actual!.n).toBe(40);
  });

  it('merges two clusters into the smaller id when an article links them, and replays are no-ops', async () => {
    const clusters = new ClusterService(db);
    const a = await clusters.upsertFromObservation(obs('a2', 'u2', T0 + 1000, [['a1', 'u1', T0]], 'cl_b'));
    const b = await clusters.upsertFromObservation(obs('b2', 'u4', T0 + 3000, [['b1', 'u3', T0 + 2000]], 'cl_a'));
    expect([a, b]).toEqual(['cl_b', 'cl_a']);
    const link = obs(
      'x',
      'u5',
      T0 + 4000,
      [
        ['a1', 'u1', T0],
        ['b1', 'u3', T0 + 2000],
      ],
      'cl_b',
    );
    expect(await clusters.upsertFromObservation(link)).toBe('cl_a');
    expect(await clusters.upsertFromObservation(link)).toBe('cl_a');
    const { clusters: list } = await clusters.list('t1');
    expect(list.map((c) => [c.id, c.size, c.accountCount])).toEqual([['cl_a', 5, 5]]);
    // The absorbed id still resolves, and a later proposal of it joins the survivor.
    expect((await clusters.get('t1', 'cl_b'))?.id).toBe('cl_a');
    expect(await clusters.upsertFromObservation(obs('y', 'u6', T0 + 5000, [['z', 'u7', T0 + 5000]], 'cl_b'))).toBe('cl_a');
    expect(await clusters.clusterOf('t1', 'z')).toBe('cl_a');
    // An article without near-duplicates reports the cluster it is already in.
    expect(await clusters.upsertFromObservation(obs('a1', 'u1', T0, []))).toBe('cl_a');
    expect(await clusters.upsertFromObservation(obs('lonely', 'u1', T0, []))).toBeNull();
  });

  it('keeps exact counts when concurrent observations share transactions, across tenants and merges', async () => {
    const clusters = new ClusterService(db);
    const observations = [
      ...Array.from({ length: 30 }, (_, i) => obs(`c${i + 1}`, `acct${(i + 1) % 7}`, T0 + i * 1000, [[`c${i}`, `acct${i % 7}`, T0 + (i - 1) * 1000]])),
      // a second tenant's farm in the same batches
      ...Array.from({ length: 10 }, (_, i) => ({ ...obs(`d${i + 1}`, `u${i + 1}`, T0 + i, [[`d${i}`, `u${i}`, T0]]), tenantId: 't2' })),
    ];
    const ids = await Promise.all(observations.map((o) => clusters.upsertFromObservation(o)));
    expect(new Set(ids.slice(0, 30)).size).toBe(1);
    expect(new Set(ids.slice(30)).size).toBe(1);
    expect(await clusters.get('t1', ids[0]!)).toMatchObject({ size: 31, accountCount: 7 });
    expect(await clusters.get('t2', ids[30]!)).toMatchObject({ size: 11, accountCount: 11 });
  });

  it('answers a repeated observation from the record, and still records what a repeat adds', async () => {
    const clusters = new ClusterService(db);
    const first = obs('r2', 'u2', T0 + 1000, [['r1', 'u1', T0]]);
    const id = await clusters.upsertFromObservation(first);
    const before = await db.query('SELECT size, account_count, updated_at FROM clusters WHERE id = $1', [id]);
    // A rescan sees the same near-duplicate: same cluster, nothing rewritten.
    expect(await clusters.upsertFromObservation({ ...first, firstObservation: false })).toBe(id);
    expect(await db.query('SELECT size, account_count, updated_at FROM clusters WHERE id = $1', [id])).toEqual(before);
    // A rescan that finds a newer near-duplicate (or a higher similarity) grows the cluster.
    const grown = {
      ...obs('r2', 'u2', T0 + 1000, [
        ['r1', 'u1', T0],
        ['r3', 'u3', T0 + 2000],
      ]),
      firstObservation: false,
    };
    expect(await clusters.upsertFromObservation(grown)).toBe(id);
    const higher = { ...first, firstObservation: false, similar: first.similar.map((s) => ({ ...s, similarity: 0.95 })) };
    expect(await clusters.upsertFromObservation(higher)).toBe(id);
    expect(await clusters.get('t1', id!)).toMatchObject({ size: 3, accountCount: 3, maxSimilarity: expect.closeTo(0.95, 5) });
  });

  it('pages through clusters by cursor, most recent first', async () => {
    const clusters = new ClusterService(db);
    for (let i = 0; i < 5; i++) {
      await clusters.upsertFromObservation(obs(`c${i}-2`, 'u2', T0 + i * 60_000, [[`c${i}-1`, 'u1', T0 + i * 60_000 - 5000]], `cl_${i}`));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const res: Awaited<ReturnType<ClusterService['list']>> = await clusters.list('t1', { limit: 2, cursor });
      seen.push(...res.clusters.map((c) => c.id));
      cursor = res.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['cl_4', 'cl_3', 'cl_2', 'cl_1', 'cl_0']);
    await expect(clusters.list('t1', { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});
