import type { RedisClient } from '../../src/infra/redis.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultFusionConfig } from '../../src/scoring/fusion-config.ts';
import { fuse } from '../../src/scoring/fusion.ts';
import type { ScorerOutput } from '../../src/domain/types.ts';
import { AccountSignals } from '../../src/signals/account-signals.ts';
import { accountSignalSettingsSchema, type AccountSignalSettingsInput } from '../../src/signals/settings.ts';
import type { AccountSignalsResult } from '../../src/signals/types.ts';
import { isolatedRedis, keysUnder } from './redis-helper.ts';
import { DAY, HOUR, MINUTE, ZH_TEMPLATES, humanTimes, loadDataset, newsroomTimes, paraphrase, rng, sameTopicArticle, templateVariant } from './scenarios.ts';

const T0 = Date.parse('2026-10-01T00:00:00Z');
const dataset = loadDataset('train.jsonl.gz').map((d) => d.text);
const devHuman = loadDataset('dev.jsonl.gz').filter((d) => d.label === 'human');

let redis: RedisClient;
let prefix: string;
let cleanup: () => Promise<void>;

function signalsWith(settings: AccountSignalSettingsInput = {}): AccountSignals {
  return new AccountSignals(redis, accountSignalSettingsSchema.parse(settings), prefix, { now: () => T0 });
}

const codes = (r: AccountSignalsResult) => r.signals.map((s) => s.code);

/** A text scorer output with nothing to say, and a detector with a given probability. */
const neutralText: ScorerOutput = { name: 'text', version: '1', probability: 0.5, reasons: [], segments: [], features: {}, thresholds: null };
const detector = (p: number | null): ScorerOutput => ({
  name: 'detector',
  version: '1',
  probability: p,
  reasons: [],
  segments: [],
  features: {},
  thresholds: { review: 0.6, flag: 0.9 },
});
function verdictOf(account: AccountSignalsResult, p: number | null = 0.1) {
  return fuse({ lang: 'zh', declaredAi: false, contentLength: 800, detector: detector(p), text: neutralText, account }, defaultFusionConfig);
}

let textCursor = 0;
/** A distinct real article for each call (the training split has ~800). */
function distinctText(): string {
  return dataset[textCursor++ % dataset.length] as string;
}

async function postAll(s: AccountSignals, tenantId: string, accountId: string, times: number[], text: () => string) {
  const out: AccountSignalsResult[] = [];
  for (const [i, t] of times.entries()) {
    out.push(await s.observe({ tenantId, articleId: `${accountId}-${i}`, accountId, text: text(), lang: 'zh', postedAt: t }));
  }
  return out;
}

// Every test runs on a single Redis and on the local Redis Cluster (one tenant's keys spread
// over its three masters).
describe.each(['single', 'cluster'] as const)('on %s Redis', (kind) => {
  beforeEach(async () => {
    ({ redis, prefix, cleanup } = await isolatedRedis(kind));
  });
  afterEach(async () => {
    await cleanup();
  });

  describe('AccountSignals scenarios', () => {
    it('a normal human account raises nothing and passes', async () => {
      const s = signalsWith();
      const results = await postAll(s, 't1', 'human', humanTimes(rng(1), T0, 20), distinctText);
      for (const r of results) expect(codes(r)).toEqual([]);
      const last = results.at(-1)!;
      expect(['account', 'floor']).toContain(last.stats.baselineSource);
      expect(verdictOf(last)).toMatchObject({ verdict: 'pass', label: 'human' });
    });

    it('a high-volume newsroom with a steady history is not a burst and passes', async () => {
      const s = signalsWith();
      const times = newsroomTimes(rng(2), T0, 5, 100);
      // Its first three days are backfilled in bulk (short texts: timing only); the last two are
      // observed one by one.
      const cut = times.findIndex((t) => t >= T0 + 3 * DAY);
      const history = times
        .slice(0, cut)
        .map((t, i) => s.prepare({ tenantId: 't1', articleId: `newsroom-h${i}`, accountId: 'newsroom', text: `快讯${i}`, lang: 'zh', postedAt: t }));
      await s.index(history);
      const established = await postAll(s, 't1', 'newsroom', times.slice(cut), distinctText);
      expect(established.length).toBeGreaterThan(150);
      expect(established.at(-1)!.stats.baselineSource).toBe('account');
      for (const r of established) {
        expect(codes(r)).not.toContain('burst');
        expect(codes(r)).not.toContain('machine_cadence');
        expect(codes(r)).not.toContain('near_duplicate');
        expect(verdictOf(r).verdict).toBe('pass');
      }
    });

    it('a farm posting template variants within a minute is coordinated, clustered and reviewed', async () => {
      const s = signalsWith();
      const r = rng(3);
      // Each farm account has a little unremarkable history first.
      for (let a = 0; a < 12; a++) await postAll(s, 't1', `farm${a}`, humanTimes(rng(100 + a), T0, 5), distinctText);
      const t = T0 + 6 * DAY + 10 * HOUR;
      const results: AccountSignalsResult[] = [];
      for (let a = 0; a < 12; a++) {
        results.push(
          await s.observe({ tenantId: 't1', articleId: `farm-post-${a}`, accountId: `farm${a}`, text: templateVariant(ZH_TEMPLATES[0]!, r), lang: 'zh', postedAt: t + a * 4000 }),
        );
      }
      expect(results[0]!.similar).toEqual([]);
      for (const res of results.slice(2)) {
        expect(codes(res)).toContain('near_duplicate');
        expect(codes(res)).toContain('coordinated_posting');
        expect(verdictOf(res)).toMatchObject({ verdict: 'review', label: 'uncertain' });
        // With a doubtful text the farm evidence escalates to flag.
        expect(verdictOf(res, 0.7).verdict).toBe('flag');
      }
      const last = results.at(-1)!;
      expect(new Set(last.similar.map((x) => x.accountId)).size).toBe(11);
      const coordinated = last.signals.find((x) => x.code === 'coordinated_posting')!;
      expect(coordinated.value).toBe(12);
      expect(coordinated.message.en).toBe('12 accounts posted near-duplicates within 60 seconds');
      expect(coordinated.message.zh).toBe('12个账号在60秒内发布了雷同文章');
      const clusterIds = new Set(results.slice(1).map((x) => x.clusterId));
      expect(clusterIds.size).toBe(1);
      expect([...clusterIds][0]).toMatch(/^cl_/);
    });

    it('a slow farm posting paraphrases over days is near-duplicate but not coordinated', async () => {
      const s = signalsWith();
      const r = rng(4);
      const base = dataset[700] as string;
      const results: AccountSignalsResult[] = [];
      for (let a = 0; a < 5; a++) {
        results.push(
          await s.observe({ tenantId: 't1', articleId: `slow-${a}`, accountId: `slow${a}`, text: paraphrase(base, r), lang: 'zh', postedAt: T0 + a * DAY + a * 3 * HOUR }),
        );
      }
      for (const [i, res] of results.entries()) {
        expect(res.similar.length).toBe(i);
        expect(codes(res)).not.toContain('coordinated_posting');
      }
      expect(verdictOf(results[1]!).verdict).toBe('pass'); // one other account: could be syndication
      for (const res of results.slice(2)) {
        expect(codes(res)).toContain('near_duplicate');
        expect(verdictOf(res).verdict).toBe('review');
      }
      expect(new Set(results.slice(1).map((x) => x.clusterId)).size).toBe(1);
    });

    it('a single account bursting is a burst with the window in its reason, and goes to review', async () => {
      const s = signalsWith();
      await postAll(s, 't1', 'burster', humanTimes(rng(5), T0, 20), distinctText);
      const start = T0 + 21 * DAY + 9 * HOUR;
      const burst = Array.from({ length: 14 }, (_, i) => start + i * 40_000 + (i % 3) * 5000);
      const results = await postAll(s, 't1', 'burster-b', [], distinctText);
      expect(results).toEqual([]);
      let last: AccountSignalsResult | undefined;
      for (const [i, t] of burst.entries()) {
        last = await s.observe({ tenantId: 't1', articleId: `burst-${i}`, accountId: 'burster', text: distinctText(), lang: 'zh', postedAt: t });
      }
      const b = last!.signals.find((x) => x.code === 'burst');
      expect(b).toBeDefined();
      expect(b!.value).toBe(14);
      expect(b!.message.zh).toMatch(/^账号在10分钟内发布了14篇文章/);
      expect(b!.message.en).toMatch(/^14 posts in 10 minutes/);
      expect(b!.strength).toBeGreaterThan(0.8);
      expect(b!.evidence).toMatchObject({ windowSeconds: 600, baselineSource: 'account' });
      const v = verdictOf(last!);
      expect(v).toMatchObject({ verdict: 'review' });
      const positive = v.reasons.filter((x) => x.contribution > 0);
      expect(positive[0]!.code).toBe('burst');
    });

    it('a new account flooding on its first day is measured against the tenant norm', async () => {
      const s = signalsWith();
      for (let a = 0; a < 5; a++) await postAll(s, 't1', `peer${a}`, humanTimes(rng(10 + a), T0, 10), distinctText);
      const start = T0 + 10 * DAY + 12 * HOUR;
      const times = Array.from({ length: 30 }, (_, i) => start + i * 90_000);
      const results = await postAll(s, 't1', 'newcomer', times, distinctText);
      const last = results.at(-1)!;
      expect(last.stats.baselineSource).toMatch(/tenant|floor/);
      expect(codes(last)).toContain('burst');
    });

    it('a bot posting every 20 minutes around the clock has machine cadence', async () => {
      const s = signalsWith();
      const r = rng(6);
      const times = Array.from({ length: 3 * 72 }, (_, i) => T0 + i * 20 * MINUTE + Math.floor((r() - 0.5) * 60_000));
      const results = await postAll(s, 't1', 'bot', times, distinctText);
      const last = results.at(-1)!;
      const c = last.signals.find((x) => x.code === 'machine_cadence');
      expect(c).toBeDefined();
      expect(c!.value).toBeLessThan(0.1);
      expect(c!.evidence).toMatchObject({ noRestPeriod: true });
      expect(c!.message.en).toMatch(/machine-regular/);
      expect(verdictOf(last).verdict).toBe('review');
    });
  });

  describe('AccountSignals near-duplicates', () => {
    it('distinct human articles from the dataset never match across accounts', async () => {
      const s = signalsWith();
      expect(devHuman.length).toBeGreaterThan(50);
      for (const [i, row] of devHuman.entries()) {
        const res = await s.observe({ tenantId: 't1', articleId: row.id, accountId: `acct${i}`, text: row.text, lang: 'zh', postedAt: T0 + i * 1000 });
        expect(res.stats.indexed).toBe(true);
        expect(res.similar).toEqual([]);
        expect(res.clusterId).toBeNull();
      }
    });

    it('different articles on the same topic do not match', async () => {
      const s = signalsWith();
      const r = rng(7);
      for (let i = 0; i < 60; i++) {
        const res = await s.observe({ tenantId: 't1', articleId: `topic-${i}`, accountId: `acct${i}`, text: sameTopicArticle(r, 5), lang: 'zh', postedAt: T0 + i * 1000 });
        // Pairs drawing 4 or 5 of the same 5 sentences are re-posts, not different articles.
        for (const m of res.similar) expect(m.similarity).toBeLessThan(0.6);
      }
    });

    it('matches from the same account or another tenant are not signals', async () => {
      const s = signalsWith();
      const r = rng(8);
      const t = ZH_TEMPLATES[1]!;
      await s.observe({ tenantId: 't1', articleId: 'a1', accountId: 'u1', text: templateVariant(t, r), lang: 'zh', postedAt: T0 });
      const same = await s.observe({ tenantId: 't1', articleId: 'a2', accountId: 'u1', text: templateVariant(t, r), lang: 'zh', postedAt: T0 + 1000 });
      expect(same.similar).toEqual([]);
      const other = await s.observe({ tenantId: 't2', articleId: 'a3', accountId: 'u2', text: templateVariant(t, r), lang: 'zh', postedAt: T0 + 2000 });
      expect(other.similar).toEqual([]);
      const hit = await s.observe({ tenantId: 't1', articleId: 'a4', accountId: 'u3', text: templateVariant(t, r), lang: 'zh', postedAt: T0 + 3000 });
      expect(hit.similar.map((x) => x.articleId).sort()).toEqual(['a1', 'a2']);
      expect(hit.similar[0]!.similarity).toBeGreaterThan(0.6);
    });

    it('English template variants match on word shingles', async () => {
      const s = signalsWith();
      const { EN_TEMPLATES } = await import('./scenarios.ts');
      const r = rng(9);
      await s.observe({ tenantId: 't1', articleId: 'e1', accountId: 'u1', text: templateVariant(EN_TEMPLATES[0]!, r, 'en'), lang: 'en', postedAt: T0 });
      const hit = await s.observe({
        tenantId: 't1',
        articleId: 'e2',
        accountId: 'u2',
        text: paraphrase(templateVariant(EN_TEMPLATES[0]!, r, 'en'), r, 'en'),
        lang: 'en',
        postedAt: T0 + 5000,
      });
      expect(hit.similar.map((x) => x.articleId)).toEqual(['e1']);
    });

    it('short texts are not indexed', async () => {
      const s = signalsWith();
      const a = await s.observe({ tenantId: 't1', articleId: 's1', accountId: 'u1', text: '今天天气很好。', lang: 'zh', postedAt: T0 });
      const b = await s.observe({ tenantId: 't1', articleId: 's2', accountId: 'u2', text: '今天天气很好。', lang: 'zh', postedAt: T0 + 1 });
      expect(a.stats.indexed).toBe(false);
      expect(b.similar).toEqual([]);
    });
  });

  describe('AccountSignals state', () => {
    it('observing the same article twice counts it once', async () => {
      const s = signalsWith();
      const r = rng(11);
      const text = templateVariant(ZH_TEMPLATES[2]!, r);
      await s.observe({ tenantId: 't1', articleId: 'x1', accountId: 'u1', text, lang: 'zh', postedAt: T0 });
      const first = await s.observe({ tenantId: 't1', articleId: 'x2', accountId: 'u2', text: templateVariant(ZH_TEMPLATES[2]!, r), lang: 'zh', postedAt: T0 + 1000 });
      const again = await s.observe({ tenantId: 't1', articleId: 'x2', accountId: 'u2', text: templateVariant(ZH_TEMPLATES[2]!, rng(11)), lang: 'zh', postedAt: T0 + 1000 });
      expect(first.firstObservation).toBe(true);
      expect(again.firstObservation).toBe(false);
      expect(again.stats.windowCounts).toEqual(first.stats.windowCounts);
      expect(again.similar.map((x) => x.articleId)).toEqual(['x1']);
      expect(again.clusterId).toBe(first.clusterId);
      // A third account sees x2 once, not twice.
      const third = await s.observe({ tenantId: 't1', articleId: 'x3', accountId: 'u3', text, lang: 'zh', postedAt: T0 + 2000 });
      expect(third.similar.map((x) => x.articleId).sort()).toEqual(['x1', 'x2']);
    });

    it('bulk backfill indexes history that later observations see, idempotently', async () => {
      const s = signalsWith();
      const r = rng(13);
      const history = Array.from({ length: 6 }, (_, i) =>
        s.prepare({ tenantId: 't1', articleId: `h${i}`, accountId: `u${i}`, text: templateVariant(ZH_TEMPLATES[0]!, r), lang: 'zh', postedAt: T0 + i * 1000 }),
      );
      await s.index(history, 4);
      await s.index(history, 4);
      const res = await s.observe({ tenantId: 't1', articleId: 'live', accountId: 'u0', text: templateVariant(ZH_TEMPLATES[0]!, r), lang: 'zh', postedAt: T0 + 10_000 });
      expect(res.similar.map((x) => x.articleId).sort()).toEqual(['h1', 'h2', 'h3', 'h4', 'h5']);
      expect(res.stats.windowCounts['600']).toBe(2);
      expect(codes(res)).toContain('coordinated_posting');
    });

    it('uses arrival time when the article has no publishedAt', async () => {
      let now = T0 + 5 * HOUR;
      const s = new AccountSignals(redis, accountSignalSettingsSchema.parse({}), prefix, { now: () => now });
      const a = await s.observe({ tenantId: 't1', articleId: 'n1', accountId: 'u1', text: distinctText(), lang: 'zh' });
      now += 1000;
      const b = await s.observe({ tenantId: 't1', articleId: 'n2', accountId: 'u1', text: distinctText(), lang: 'zh', postedAt: null });
      expect(a.postedAt).toBe(new Date(T0 + 5 * HOUR).toISOString());
      expect(b.postedAt).toBe(new Date(T0 + 5 * HOUR + 1000).toISOString());
      expect(b.stats.windowCounts['600']).toBe(2);
    });

    it('state ages out of the retention window, by post time and by TTL', async () => {
      const retentionSeconds = 3600;
      const s = signalsWith({ retentionSeconds });
      const r = rng(12);
      const t = ZH_TEMPLATES[0]!;
      await s.observe({ tenantId: 't1', articleId: 'old', accountId: 'u1', text: templateVariant(t, r), lang: 'zh', postedAt: T0 });
      const within = await s.observe({ tenantId: 't1', articleId: 'mid', accountId: 'u2', text: templateVariant(t, r), lang: 'zh', postedAt: T0 + 30 * MINUTE });
      expect(within.similar.map((x) => x.articleId)).toEqual(['old']);
      // Past the retention window the old article no longer matches nor counts.
      const later = await s.observe({ tenantId: 't1', articleId: 'new', accountId: 'u3', text: templateVariant(t, r), lang: 'zh', postedAt: T0 + 2 * HOUR });
      expect(later.similar.map((x) => x.articleId)).toEqual([]);
      const u1Later = await s.observe({ tenantId: 't1', articleId: 'u1-later', accountId: 'u1', text: distinctText(), lang: 'zh', postedAt: T0 + 2 * HOUR });
      expect(u1Later.stats.windowCounts['86400']).toBe(1);
      expect(await redis.zcard(`${prefix}t:t1:p:u1`)).toBe(1);
      // Every key carries a TTL no longer than the retention window plus one LSH generation.
      const keys = await keysUnder(redis, prefix);
      expect(keys.length).toBeGreaterThan(5);
      for (const key of keys) {
        const ttl = await redis.pttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(retentionSeconds * 1000 * 2.5);
      }
    });

    it('keys expire on the wall clock', async () => {
      const s = signalsWith({ retentionSeconds: 1 });
      await s.observe({ tenantId: 't1', articleId: 'e1', accountId: 'u1', text: distinctText(), lang: 'zh', postedAt: T0 });
      expect((await keysUnder(redis, prefix)).length).toBeGreaterThan(0);
      await expect.poll(async () => (await keysUnder(redis, prefix)).length, { timeout: 4000, interval: 200 }).toBe(0);
    });
  });
});
