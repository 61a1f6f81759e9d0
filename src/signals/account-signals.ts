/**
 * Account-behaviour signals over Redis: burst posting, machine cadence, cross-account
 * near-duplicates (MinHash + LSH) and coordinated posting, for one tenant at a time.
 *
 * Keys (all under the caller's prefix, hash-tagged per tenant so one tenant's keys share a
 * Redis Cluster slot and the LSH script may touch them together):
 *   {t:T}:a:<h>          article record "articleId \t accountId \t postedAtMs \t signature"
 *   {t:T}:c:<h>          proposed cluster id of the article
 *   {t:T}:p:<account>    ZSET of the account's article ids scored by post time
 *   {t:T}:d:<day>:n / :u HyperLogLogs of the articles and of the active accounts per UTC day
 *   {t:T}:l:<gen>:<shard> LSH buckets: hash field <band><bucket> -> concatenated article hashes
 * `<h>` is an 11-character hash of the article id. Every key carries a TTL of the retention
 * window (wall clock), and timelines are also trimmed by post time so imported posts age
 * out the same way. Observing an article again changes no counter (first observation wins).
 *
 * Example:
 *   const signals = new AccountSignals(redis, accountSignalSettingsSchema.parse({}), 'sg:');
 *   const r = await signals.observe({ tenantId: 't1', articleId: 'a9', accountId: 'u3',
 *     text, lang: 'zh', postedAt: '2026-11-26T06:00:00Z' });
 *   r.signals -> [{ code: 'burst', value: 14, strength: 0.9,
 *     message: { zh: '账号在10分钟内发布了14篇文章', en: '14 posts in 10 minutes' }, evidence }]
 */
import { createHash } from 'node:crypto';
import type { ClientContext, Redis, Result } from 'ioredis';
import { bandHashes, estimateJaccard, minhash, packSignature, shingleHashes, unpackSignature } from './minhash.ts';
import type { AccountSignalSettings } from './settings.ts';
import { formatDuration, intervalCv, kleinbergBurst, longestGap } from './timing.ts';
import type { AccountSignal, AccountSignalsResult, ObserveInput, SimilarArticle } from './types.ts';

const DAY_MS = 86_400_000;
const HASH_WIDTH = 11;

/**
 * Looks up every band of the article in every live generation and, when asked, inserts it
 * into one generation. KEYS: generation-major bucket hashes (gens x bands).
 * ARGV: hash, insertGen (1-based, 0 = none), maxBucket, ttlMs, bands, maxCandidates,
 * lookup (1 = collect candidates, 0 = insert only), fields...
 * Returns candidate hashes, most band hits first.
 */
const LSH_SCRIPT = `
local h = ARGV[1]
local ins = tonumber(ARGV[2])
local maxb = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local nb = tonumber(ARGV[5])
local maxc = tonumber(ARGV[6])
local lookup = ARGV[7] == '1'
local W = #h
local hits = {}
local order = {}
local ngen = #KEYS / nb
for g = 1, ngen do
  if lookup or g == ins then
  for b = 1, nb do
    local key = KEYS[(g - 1) * nb + b]
    local f = ARGV[7 + b]
    local v = redis.call('HGET', key, f)
    local present = false
    if v then
      for i = 1, #v, W do
        local c = string.sub(v, i, i + W - 1)
        if c == h then
          present = true
        elseif lookup then
          local n = hits[c]
          if n then hits[c] = n + 1 else hits[c] = 1; order[#order + 1] = c end
        end
      end
    end
    if g == ins and not present then
      local nv = (v or '') .. h
      if #nv > maxb * W then nv = string.sub(nv, #nv - maxb * W + 1) end
      redis.call('HSET', key, f, nv)
      redis.call('PEXPIRE', key, ttl)
    end
  end
  end
end
table.sort(order, function(a, b) if hits[a] ~= hits[b] then return hits[a] > hits[b] end return a < b end)
local out = {}
for i = 1, math.min(#order, maxc) do out[i] = order[i] end
return out
`;

interface ArticleRecord {
  articleId: string;
  accountId: string;
  postedAt: number;
  signature: Uint16Array | null;
}

function parseRecord(raw: string | null): ArticleRecord | null {
  if (!raw) return null;
  const [articleId, accountId, postedAt, sig] = raw.split('\t');
  if (articleId === undefined || accountId === undefined || postedAt === undefined) return null;
  return { articleId, accountId, postedAt: Number(postedAt), signature: sig ? unpackSignature(sig) : null };
}

function toMs(postedAt: ObserveInput['postedAt'], now: number): number {
  if (postedAt === null || postedAt === undefined) return now;
  const ms = postedAt instanceof Date ? postedAt.getTime() : typeof postedAt === 'number' ? postedAt : Date.parse(postedAt);
  if (!Number.isFinite(ms)) throw new TypeError(`invalid postedAt: ${String(postedAt)}`);
  return ms;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** An 11-character, URL-safe hash of an article id (64 bits: collisions negligible per tenant). */
export function articleHash(tenantId: string, articleId: string): string {
  return createHash('sha1').update(tenantId).update('\0').update(articleId).digest('base64url').slice(0, HASH_WIDTH);
}

/** An observation with its signature computed (see `AccountSignals.prepare`). */
export interface PreparedObservation {
  tenantId: string;
  articleId: string;
  accountId: string;
  /** Post time in ms. */
  postedAt: number;
  /** MinHash signature, null when the text is too short to index. */
  signature: Uint32Array | null;
}

export interface AccountSignalsOptions {
  /** Clock for arrival time when an article has no `postedAt` (tests pin it). */
  now?: () => number;
}

export class AccountSignals {
  private readonly now: () => number;
  private readonly retentionMs: number;
  private readonly genMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly settings: AccountSignalSettings,
    private readonly prefix: string,
    options: AccountSignalsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.retentionMs = settings.retentionSeconds * 1000;
    this.genMs = Math.ceil(this.retentionMs / settings.nearDuplicate.generations);
    if (!redis.lsh) redis.defineCommand('lsh', { lua: LSH_SCRIPT });
  }

  private key(tenantId: string, rest: string): string {
    return `${this.prefix}{t:${encodeURIComponent(tenantId)}}:${rest}`;
  }

  /** Arguments of the LSH script: every live generation's buckets for the article's bands. */
  private lshArgs(tenantId: string, h: string, sig: Uint32Array, t: number, lookup: boolean): [number, ...(string | number)[]] {
    const nd = this.settings.nearDuplicate;
    const bands = bandHashes(sig, nd.bands);
    const gNow = Math.floor(t / this.genMs);
    // Generations that can hold posts within the retention window before this one; a post
    // observed out of order finds later posts of its own generation only (pairs are found
    // from either side, so this loses little).
    const gFrom = lookup ? Math.floor((t - this.retentionMs) / this.genMs) : gNow;
    const keys: string[] = [];
    const fields: string[] = [];
    for (let band = 0; band < nd.bands; band++) {
      fields.push(band.toString(36).padStart(2, '0') + (bands[band] as number).toString(36));
    }
    for (let g = gFrom; g <= gNow; g++) {
      for (let band = 0; band < nd.bands; band++) keys.push(this.key(tenantId, `l:${g}:${(bands[band] as number) % nd.shards}`));
    }
    // Buckets of a generation live until its last post ages out of the retention window.
    const bucketTtl = (gNow + 1) * this.genMs - t + this.retentionMs;
    const insertGen = gNow - gFrom + 1;
    return [keys.length, ...keys, h, insertGen, nd.maxBucketSize, bucketTtl, nd.bands, nd.maxCandidates, lookup ? 1 : 0, ...fields];
  }

  /**
   * Bulk backfill: records articles (timelines, tenant norm, near-duplicate index) without
   * computing signals, in pipelines of `batch`. For warming the state from a bulk
   * import; idempotent like `observe`.
   */
  async index(prepared: readonly PreparedObservation[], batch = 500): Promise<void> {
    const ttl = this.retentionMs;
    for (let i = 0; i < prepared.length; i += batch) {
      const pipe = this.redis.pipeline();
      for (const p of prepared.slice(i, i + batch)) {
        const h = articleHash(p.tenantId, p.articleId);
        const packed = p.signature ? packSignature(p.signature) : '';
        const day = new Date(p.postedAt).toISOString().slice(0, 10).replaceAll('-', '');
        const postsKey = this.key(p.tenantId, `p:${encodeURIComponent(p.accountId)}`);
        pipe.set(this.key(p.tenantId, `a:${h}`), `${p.articleId}\t${p.accountId}\t${p.postedAt}\t${packed}`, 'PX', ttl);
        pipe.zadd(postsKey, p.postedAt, p.articleId);
        pipe.pexpire(postsKey, ttl);
        pipe.pfadd(this.key(p.tenantId, `d:${day}:n`), p.articleId);
        pipe.pexpire(this.key(p.tenantId, `d:${day}:n`), ttl);
        pipe.pfadd(this.key(p.tenantId, `d:${day}:u`), p.accountId);
        pipe.pexpire(this.key(p.tenantId, `d:${day}:u`), ttl);
        if (p.signature) pipe.lsh(...this.lshArgs(p.tenantId, h, p.signature, p.postedAt, false));
      }
      const replies = await pipe.exec();
      const failed = replies?.find((r) => r[0]);
      if (failed) throw failed[0];
    }
  }

  /** Records the article once and returns every account signal as of its post time. */
  async observe(input: ObserveInput): Promise<AccountSignalsResult> {
    return this.observePrepared(this.prepare(input));
  }

  /** The CPU part of `observe` (shingles and MinHash, ~1 ms for 1,000 characters), no I/O. */
  prepare(input: ObserveInput): PreparedObservation {
    const nd = this.settings.nearDuplicate;
    const shingles = shingleHashes(input.text, input.lang, nd);
    const indexed = shingles.length >= nd.minShingles;
    return {
      tenantId: input.tenantId,
      articleId: input.articleId,
      accountId: input.accountId,
      postedAt: toMs(input.postedAt, this.now()),
      signature: indexed ? minhash(shingles, nd.permutations) : null,
    };
  }

  /** The Redis part of `observe`, for a prepared observation. */
  async observePrepared(prepared: PreparedObservation): Promise<AccountSignalsResult> {
    const { tenantId, articleId, accountId } = prepared;
    const t = prepared.postedAt;
    const nd = this.settings.nearDuplicate;
    const ttl = this.retentionMs;
    const h = articleHash(tenantId, articleId);
    const sig = prepared.signature;
    const indexed = sig !== null;
    const packed = sig ? packSignature(sig) : '';
    const record = `${articleId}\t${accountId}\t${t}\t${packed}`;

    // 1. One round trip. Every write is idempotent (ZADD of the same member, PFADD into
    // HyperLogLogs, LSH insert that skips a present hash), so a re-observation counts nothing
    // twice; the record's old value tells whether this is the first observation.
    const recordKey = this.key(tenantId, `a:${h}`);
    const postsKey = this.key(tenantId, `p:${encodeURIComponent(accountId)}`);
    const day = new Date(t).toISOString().slice(0, 10).replaceAll('-', '');
    const dayN = this.key(tenantId, `d:${day}:n`);
    const dayU = this.key(tenantId, `d:${day}:u`);
    const b = this.settings.burst;
    const c = this.settings.cadence;
    const pipe = this.redis.pipeline();
    pipe.set(recordKey, record, 'PX', ttl, 'GET');
    pipe.zadd(postsKey, t, articleId);
    pipe.zremrangebyscore(postsKey, '-inf', `(${t - ttl}`);
    pipe.pexpire(postsKey, ttl);
    pipe.pfadd(dayN, articleId);
    pipe.pexpire(dayN, ttl);
    pipe.pfadd(dayU, accountId);
    pipe.pexpire(dayU, ttl);
    const base = 8;
    pipe.zrange(postsKey, t, Math.max(0, t - ttl), 'BYSCORE', 'REV', 'LIMIT', 0, b.maxPostsRead, 'WITHSCORES');
    pipe.zrange(postsKey, 0, 0, 'WITHSCORES');
    pipe.zcount(postsKey, t - ttl, t);
    for (const w of b.windowsSeconds) pipe.zcount(postsKey, t - w * 1000, t);
    const normDays: string[] = [];
    // Complete days only: today's partial count would understate the norm.
    for (let d = 1; d <= b.tenantNormDays; d++) {
      const dayKey = new Date(t - d * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '');
      normDays.push(dayKey);
      pipe.pfcount(this.key(tenantId, `d:${dayKey}:n`));
      pipe.pfcount(this.key(tenantId, `d:${dayKey}:u`));
    }
    let lshIndex = -1;
    if (sig) {
      lshIndex = base + 3 + b.windowsSeconds.length + 2 * b.tenantNormDays;
      pipe.lsh(...this.lshArgs(tenantId, h, sig, t, true));
    }
    const replies = await pipe.exec();
    if (!replies) throw new Error('redis pipeline aborted');
    const reply = (i: number): unknown => {
      const r = replies[i];
      if (!r) throw new Error(`missing pipeline reply ${i}`);
      if (r[0]) throw r[0];
      return r[1];
    };

    const first = reply(0) === null;
    const recentRaw = reply(base) as string[];
    const times: number[] = [];
    for (let i = recentRaw.length - 1; i >= 1; i -= 2) times.push(Number(recentRaw[i]));
    const firstRaw = reply(base + 1) as string[];
    const firstPost = firstRaw.length >= 2 ? Number(firstRaw[1]) : t;
    const totalPosts = Number(reply(base + 2));
    const windowCounts: Record<string, number> = {};
    b.windowsSeconds.forEach((w, i) => {
      windowCounts[String(w)] = Number(reply(base + 3 + i));
    });
    let normPosts = 0;
    let normAccountDays = 0;
    for (let d = 0; d < normDays.length; d++) {
      normPosts += Number(reply(base + 3 + b.windowsSeconds.length + 2 * d) ?? 0);
      normAccountDays += Number(reply(base + 4 + b.windowsSeconds.length + 2 * d) ?? 0);
    }
    const candidates = lshIndex >= 0 ? (reply(lshIndex) as string[]) : [];

    const signals: AccountSignal[] = [];

    // Baseline: the account's own long-run rate once it has a history, the tenant norm before.
    const historyMs = Math.max(0, t - firstPost);
    let baselinePerDay: number;
    let baselineSource: 'account' | 'tenant' | 'floor';
    if (historyMs >= b.establishedAfterSeconds * 1000) {
      baselinePerDay = (totalPosts / historyMs) * DAY_MS;
      baselineSource = 'account';
    } else {
      baselinePerDay = normAccountDays > 0 ? normPosts / normAccountDays : 0;
      baselineSource = 'tenant';
    }
    if (baselinePerDay < b.baselineFloorPerDay) {
      baselinePerDay = b.baselineFloorPerDay;
      baselineSource = 'floor';
    }

    // 2. Burst.
    const burst = kleinbergBurst(times, baselinePerDay / DAY_MS, b);
    if (burst.inBurst && burst.posts >= b.minPosts) {
      const span = Math.max(burst.end - burst.start, 60_000);
      const burstPerDay = (burst.posts / span) * DAY_MS;
      const ratio = burstPerDay / baselinePerDay;
      if (ratio >= b.minRateRatio) {
        const strength = 0.3 + 0.7 * clamp01(Math.log(ratio / b.minRateRatio) / Math.log(b.fullStrengthRatio / b.minRateRatio));
        const w = b.windowsSeconds.find((s) => s * 1000 >= burst.end - burst.start) ?? b.windowsSeconds[b.windowsSeconds.length - 1]!;
        const count = windowCounts[String(w)] ?? burst.posts;
        const dur = formatDuration(w * 1000);
        const usual = round(baselinePerDay, 1);
        signals.push({
          code: 'burst',
          value: count,
          strength: round(strength, 3),
          message: {
            zh: `账号在${dur.zh}内发布了${count}篇文章（平时约每天${usual}篇）`,
            en: `${count} posts in ${dur.en} (usually about ${usual} a day)`,
          },
          evidence: {
            windowSeconds: w,
            windowStart: new Date(t - w * 1000).toISOString(),
            windowEnd: new Date(t).toISOString(),
            burstStart: new Date(burst.start).toISOString(),
            burstPosts: burst.posts,
            rateRatio: round(ratio, 1),
            baselinePerDay: round(baselinePerDay, 2),
            baselineSource,
            windowCounts,
          },
        });
      }
    }

    // 3. Cadence: regular intervals, no rest period.
    const cadenceTimes = times.slice(-(c.maxIntervals + 1));
    const cv = cadenceTimes.length - 1 >= c.minIntervals ? intervalCv(cadenceTimes) : null;
    const restFrom = t - c.restWindowSeconds * 1000;
    const inRest = times.filter((x) => x >= restFrom).length;
    const noRest =
      firstPost <= restFrom &&
      inRest >= c.restMinPosts &&
      times.length > 0 &&
      (times[0] as number) <= restFrom + c.restGapSeconds * 1000 &&
      longestGap(times, restFrom, t) < c.restGapSeconds * 1000;
    const restHours = round(c.restGapSeconds / 3600, 1);
    const restWindow = formatDuration(c.restWindowSeconds * 1000);
    const cadenceMeanMs = cadenceTimes.length > 1 ? ((cadenceTimes[cadenceTimes.length - 1] as number) - (cadenceTimes[0] as number)) / (cadenceTimes.length - 1) : 0;
    if (cv !== null && cv <= c.cvThreshold && cadenceMeanMs <= c.maxMeanIntervalSeconds * 1000) {
      const n = cadenceTimes.length - 1;
      const strength = Math.min(1, 0.5 + 0.5 * (1 - cv / c.cvThreshold) + (noRest ? 0.15 : 0));
      const meanGap = ((cadenceTimes[cadenceTimes.length - 1] as number) - (cadenceTimes[0] as number)) / n;
      const gap = formatDuration(meanGap);
      signals.push({
        code: 'machine_cadence',
        value: round(cv, 3),
        strength: round(strength, 3),
        message: {
          zh: `最近${n}次发帖间隔高度规律（约每${gap.zh}一篇，变异系数${round(cv, 2)}）${noRest ? `，${restWindow.zh}内无休息` : ''}`,
          en: `The last ${n} posting intervals are machine-regular (about one every ${gap.en}, CV ${round(cv, 2)})${noRest ? `, no rest in ${restWindow.en}` : ''}`,
        },
        evidence: { intervals: n, cv: round(cv, 4), meanIntervalSeconds: Math.round(meanGap / 1000), noRestPeriod: noRest },
      });
    } else if (noRest) {
      signals.push({
        code: 'no_rest_period',
        value: inRest,
        strength: 0.3,
        message: {
          zh: `${restWindow.zh}内持续发帖${inRest}篇，没有超过${restHours}小时的休息`,
          en: `${inRest} posts in ${restWindow.en} with no break of ${restHours} hours or more`,
        },
        evidence: { windowStart: new Date(restFrom).toISOString(), windowEnd: new Date(t).toISOString(), posts: inRest },
      });
    }

    // 4. Near-duplicates from other accounts, verified by estimated Jaccard.
    let similar: SimilarArticle[] = [];
    let clusterId: string | null = null;
    if (sig && candidates.length > 0) {
      const own = unpackSignature(packed);
      const pipe2 = this.redis.pipeline();
      pipe2.mget(...candidates.map((x) => this.key(tenantId, `a:${x}`)));
      pipe2.mget(...candidates.map((x) => this.key(tenantId, `c:${x}`)));
      pipe2.get(this.key(tenantId, `c:${h}`));
      const r2 = await pipe2.exec();
      const failed = r2?.find((r) => r[0]);
      if (!r2 || failed) throw failed?.[0] ?? new Error('redis pipeline aborted');
      const records = (r2[0]?.[1] ?? []) as (string | null)[];
      const clusters = (r2[1]?.[1] ?? []) as (string | null)[];
      const ownCluster = (r2[2]?.[1] ?? null) as string | null;
      const found: (SimilarArticle & { hash: string; cluster: string | null })[] = [];
      records.forEach((raw, i) => {
        const rec = parseRecord(raw);
        if (!rec?.signature || rec.accountId === accountId || rec.articleId === articleId) return;
        if (Math.abs(rec.postedAt - t) > ttl) return;
        const similarity = estimateJaccard(own, rec.signature);
        if (similarity < nd.threshold) return;
        found.push({
          articleId: rec.articleId,
          accountId: rec.accountId,
          similarity: round(similarity, 3),
          postedAt: new Date(rec.postedAt).toISOString(),
          hash: candidates[i] as string,
          cluster: clusters[i] ?? null,
        });
      });
      found.sort((x, y) => y.similarity - x.similarity || (x.articleId < y.articleId ? -1 : 1));
      if (found.length > 0) {
        const existing = [ownCluster, ...found.map((f) => f.cluster)].filter((x): x is string => !!x).sort();
        const minId = [articleId, ...found.map((f) => f.articleId)].sort()[0] as string;
        clusterId = existing[0] ?? `cl_${createHash('sha1').update(tenantId).update('\0').update(minId).digest('hex').slice(0, 20)}`;
        const pipe3 = this.redis.pipeline();
        pipe3.set(this.key(tenantId, `c:${h}`), clusterId, 'PX', ttl, 'NX');
        for (const f of found) if (!f.cluster) pipe3.set(this.key(tenantId, `c:${f.hash}`), clusterId, 'PX', ttl, 'NX');
        const r3 = await pipe3.exec();
        const failed3 = r3?.find((r) => r[0]);
        if (failed3) throw failed3[0];
      }
      similar = found.slice(0, nd.maxSimilar).map(({ hash: _h, cluster: _c, ...s }) => s);

      const accounts = new Set(found.map((f) => f.accountId));
      if (accounts.size > 0) {
        const top = found[0]!;
        signals.push({
          code: 'near_duplicate',
          value: accounts.size,
          strength: round(Math.min(1, 0.2 + 0.15 * accounts.size), 3),
          message: {
            zh: `与其他${accounts.size}个账号的${found.length}篇文章高度雷同（最高相似度${round(top.similarity, 2)}）`,
            en: `Near-duplicate of ${found.length} article${found.length === 1 ? '' : 's'} from ${accounts.size} other account${accounts.size === 1 ? '' : 's'} (similarity up to ${round(top.similarity, 2)})`,
          },
          evidence: {
            articles: similar.map((s) => ({ articleId: s.articleId, accountId: s.accountId, similarity: s.similarity })),
            accounts: [...accounts].sort(),
            clusterId,
          },
        });
      }

      // 5. Coordinated posting: near-duplicates from distinct accounts within the window.
      const windowMs = this.settings.coordination.windowSeconds * 1000;
      const close = found.filter((f) => Math.abs(Date.parse(f.postedAt) - t) <= windowMs);
      const coAccounts = new Set([accountId, ...close.map((f) => f.accountId)]);
      if (coAccounts.size >= this.settings.coordination.minAccounts) {
        const secs = this.settings.coordination.windowSeconds;
        signals.push({
          code: 'coordinated_posting',
          value: coAccounts.size,
          strength: round(Math.min(1, 0.6 + 0.1 * (coAccounts.size - this.settings.coordination.minAccounts)), 3),
          message: {
            zh: `${coAccounts.size}个账号在${secs}秒内发布了雷同文章`,
            en: `${coAccounts.size} accounts posted near-duplicates within ${secs} seconds`,
          },
          evidence: {
            windowSeconds: secs,
            accounts: [...coAccounts].sort(),
            articles: close.map((f) => ({ articleId: f.articleId, accountId: f.accountId, postedAt: f.postedAt })),
          },
        });
      }
    }

    signals.sort((x, y) => y.strength - x.strength);
    return {
      tenantId,
      articleId,
      accountId,
      postedAt: new Date(t).toISOString(),
      firstObservation: first,
      signals,
      similar,
      clusterId,
      stats: {
        windowCounts,
        baselinePerDay: round(baselinePerDay, 3),
        baselineSource,
        intervalCv: cv === null ? null : round(cv, 4),
        indexed,
      },
    };
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    lsh(...args: [number, ...(string | number)[]]): Result<string[], Context>;
  }
}
