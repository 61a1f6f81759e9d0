/**
 * Account-behaviour signals over Redis: burst posting, machine cadence, cross-account
 * near-duplicates (MinHash + LSH) and coordinated posting, for one tenant at a time.
 *
 * Keys (all under the caller's prefix; on a Redis Cluster each lands on the slot of its own
 * name or its own shard tag, so one tenant's state spreads over all masters):
 *   t:T:a:<h>            article record "articleId \t accountId \t postedAtMs \t signature"
 *   t:T:c:<h>            proposed cluster id of the article
 *   t:T:p:<account>      ZSET of the account's article ids scored by post time
 *   t:T:d:<day>:n / :u   HyperLogLogs of the articles and of the active accounts per UTC day
 *   t:T:l:{T:<shard>}:<gen>  LSH buckets: hash field <band><bucket> -> concatenated article hashes
 *                        (a shard's generations share a slot; the shards spread)
 * `<h>` is an 11-character hash of the article id. Every key carries a TTL of the retention
 * window (wall clock), and timelines are also trimmed by post time so imported posts age
 * out the same way. Observing an article again changes no counter (first observation wins).
 * Commands go out as one pipeline per node (`execPerNode`), the same code on one server.
 *
 * Concurrency (what holds with many workers, on one server or a cluster): every write is
 * idempotent, and an LSH shard's read-and-append is one script over that shard's keys (one
 * slot), so Redis orders the observations that share a bucket. Hence for two articles sharing
 * a band bucket in the same LSH generation, at least one lists the other as a candidate
 * whatever the interleaving; across generations the later-posted one finds the earlier one
 * when observed after it (both as with the earlier one-slot script over all buckets). What
 * that script gave and this does not: one observation's reads of its 32 shards are no longer
 * one snapshot, so two concurrent observations may both see each other and count fewer band
 * hits (candidate order only). test/signals/concurrency.test.ts holds this on both kinds.
 *
 * When some nodes do not answer, the signals that need them are left out and
 * `unavailable` names what was missing; the observation does not fail.
 *
 * Example:
 *   const signals = new AccountSignals(redis, accountSignalSettingsSchema.parse({}), 'sg:');
 *   const r = await signals.observe({ tenantId: 't1', articleId: 'a9', accountId: 'u3',
 *     text, lang: 'zh', postedAt: '2026-11-26T06:00:00Z' });
 *   r.signals -> [{ code: 'burst', value: 14, strength: 0.9,
 *     message: { zh: '账号在10分钟内发布了14篇文章', en: '14 posts in 10 minutes' }, evidence }]
 */
import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { execPerNode, type CommandReply, type KeyedCommand, type RedisClient } from '../infra/redis.ts';
import { bandBuckets, defineLshBucket, lshCommands, rankCandidates } from './lsh.ts';
import { estimateJaccard, minhash, packSignature, shingleHashes, unpackSignature } from './minhash.ts';
import type { AccountSignalSettings } from './settings.ts';
import { formatDuration, intervalCv, kleinbergBurst, longestGap } from './timing.ts';
import type { AccountSignal, AccountSignalsResult, ObserveInput, SignalsUnavailable, SimilarArticle } from './types.ts';

const DAY_MS = 86_400_000;
const HASH_WIDTH = 11;

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
    private readonly redis: RedisClient,
    private readonly settings: AccountSignalSettings,
    private readonly prefix: string,
    options: AccountSignalsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.retentionMs = settings.retentionSeconds * 1000;
    this.genMs = Math.ceil(this.retentionMs / settings.nearDuplicate.generations);
    defineLshBucket(redis);
  }

  private key(tenantId: string, rest: string): string {
    return `${this.prefix}t:${encodeURIComponent(tenantId)}:${rest}`;
  }

  /**
   * The LSH commands of one article (lsh.ts): per shard its bands fall in, one script over that
   * shard's hash in every live generation (lookup optional) that inserts into the article's
   * own generation. Each reply is a list of bucket values.
   */
  private lshCommands(tenantId: string, h: string, sig: Uint32Array, t: number, lookup: boolean): KeyedCommand[] {
    const nd = this.settings.nearDuplicate;
    const gNow = Math.floor(t / this.genMs);
    // Generations that can hold posts within the retention window before this one; a post
    // observed out of order finds later posts of its own generation only (pairs are found
    // from either side, so this loses little).
    const gFrom = lookup ? Math.floor((t - this.retentionMs) / this.genMs) : gNow;
    const tenant = encodeURIComponent(tenantId);
    return lshCommands({
      hash: h,
      buckets: bandBuckets(sig, nd.bands, nd.shards),
      // The tag keeps one shard's generations in one slot; shards spread over the cluster.
      shardKeys: (shard) => {
        const keys: string[] = [];
        for (let g = gFrom; g <= gNow; g++) keys.push(this.key(tenantId, `l:{${tenant}:${shard}}:${g}`));
        return keys;
      },
      insert: true,
      lookup,
      maxBucket: nd.maxBucketSize,
      // Buckets of a generation live until its last post ages out of the retention window.
      ttlMs: (gNow + 1) * this.genMs - t + this.retentionMs,
    });
  }

  /** Candidate hashes from LSH replies, most band hits first (ties by hash), at most `maxCandidates`. */
  private candidatesOf(h: string, replies: readonly CommandReply[]): string[] {
    return rankCandidates(h, HASH_WIDTH, replies, this.settings.nearDuplicate.maxCandidates);
  }

  /**
   * Bulk backfill: records articles (timelines, tenant norm, near-duplicate index) without
   * computing signals, in pipelines of `batch`. For warming the state from a bulk
   * import; idempotent like `observe`.
   */
  async index(prepared: readonly PreparedObservation[], batch = 500): Promise<void> {
    const ttl = this.retentionMs;
    for (let i = 0; i < prepared.length; i += batch) {
      const commands: KeyedCommand[] = [];
      const on = (key: string, add: (p: ChainableCommander) => void) => commands.push({ key, add });
      for (const p of prepared.slice(i, i + batch)) {
        const h = articleHash(p.tenantId, p.articleId);
        const packed = p.signature ? packSignature(p.signature) : '';
        const day = new Date(p.postedAt).toISOString().slice(0, 10).replaceAll('-', '');
        const recordKey = this.key(p.tenantId, `a:${h}`);
        const postsKey = this.key(p.tenantId, `p:${encodeURIComponent(p.accountId)}`);
        const dayN = this.key(p.tenantId, `d:${day}:n`);
        const dayU = this.key(p.tenantId, `d:${day}:u`);
        on(recordKey, (x) => x.set(recordKey, `${p.articleId}\t${p.accountId}\t${p.postedAt}\t${packed}`, 'PX', ttl));
        on(postsKey, (x) => x.zadd(postsKey, p.postedAt, p.articleId));
        on(postsKey, (x) => x.pexpire(postsKey, ttl));
        on(dayN, (x) => x.pfadd(dayN, p.articleId));
        on(dayN, (x) => x.pexpire(dayN, ttl));
        on(dayU, (x) => x.pfadd(dayU, p.accountId));
        on(dayU, (x) => x.pexpire(dayU, ttl));
        if (p.signature) commands.push(...this.lshCommands(p.tenantId, h, p.signature, p.postedAt, false));
      }
      const failed = (await execPerNode(this.redis, commands)).find((r) => r[0]);
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

    // 1. One round trip (one pipeline per node). Every write is idempotent (ZADD of the same
    // member, PFADD into HyperLogLogs, LSH insert that skips a present hash), so a
    // re-observation counts nothing twice; the record's old value tells whether this is the
    // first observation.
    const recordKey = this.key(tenantId, `a:${h}`);
    const postsKey = this.key(tenantId, `p:${encodeURIComponent(accountId)}`);
    const day = new Date(t).toISOString().slice(0, 10).replaceAll('-', '');
    const dayN = this.key(tenantId, `d:${day}:n`);
    const dayU = this.key(tenantId, `d:${day}:u`);
    const b = this.settings.burst;
    const c = this.settings.cadence;
    const commands: KeyedCommand[] = [];
    const on = (key: string, add: (p: ChainableCommander) => void): number => commands.push({ key, add }) - 1;
    const recordAt = on(recordKey, (p) => p.set(recordKey, record, 'PX', ttl, 'GET'));
    const writes = [
      on(postsKey, (p) => p.zadd(postsKey, t, articleId)),
      on(postsKey, (p) => p.zremrangebyscore(postsKey, '-inf', `(${t - ttl}`)),
      on(postsKey, (p) => p.pexpire(postsKey, ttl)),
      on(dayN, (p) => p.pfadd(dayN, articleId)),
      on(dayN, (p) => p.pexpire(dayN, ttl)),
      on(dayU, (p) => p.pfadd(dayU, accountId)),
      on(dayU, (p) => p.pexpire(dayU, ttl)),
    ];
    const recentAt = on(postsKey, (p) => p.zrange(postsKey, t, Math.max(0, t - ttl), 'BYSCORE', 'REV', 'LIMIT', 0, b.maxPostsRead, 'WITHSCORES'));
    const firstAt = on(postsKey, (p) => p.zrange(postsKey, 0, 0, 'WITHSCORES'));
    const totalAt = on(postsKey, (p) => p.zcount(postsKey, t - ttl, t));
    const windowAt = b.windowsSeconds.map((w) => on(postsKey, (p) => p.zcount(postsKey, t - w * 1000, t)));
    // Complete days only: today's partial count would understate the norm.
    const normAt: [number, number][] = [];
    for (let d = 1; d <= b.tenantNormDays; d++) {
      const dayKey = new Date(t - d * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '');
      const n = this.key(tenantId, `d:${dayKey}:n`);
      const u = this.key(tenantId, `d:${dayKey}:u`);
      normAt.push([on(n, (p) => p.pfcount(n)), on(u, (p) => p.pfcount(u))]);
    }
    const lshFrom = commands.length;
    if (sig) commands.push(...this.lshCommands(tenantId, h, sig, t, true));
    const replies = await execPerNode(this.redis, commands);
    const unavailable = new Set<SignalsUnavailable>();
    const timelineAt = [...writes, recentAt, firstAt, totalAt, ...windowAt, ...normAt.flat()];
    if (timelineAt.some((i) => replies[i]?.[0])) unavailable.add('timeline');
    const lshReplies = replies.slice(lshFrom);
    if (replies[recordAt]?.[0] || lshReplies.some((r) => r[0])) unavailable.add('near_duplicate_index');
    // Without the timeline the account is read as having no history: no burst, no cadence.
    const value = (i: number): unknown => (replies[i]?.[0] ? null : replies[i]?.[1]);

    // An unknown old record (node down) reads as a first observation.
    const first = value(recordAt) === null;
    const recentRaw = (value(recentAt) ?? []) as string[];
    const times: number[] = [];
    for (let i = recentRaw.length - 1; i >= 1; i -= 2) times.push(Number(recentRaw[i]));
    const firstRaw = (value(firstAt) ?? []) as string[];
    const firstPost = firstRaw.length >= 2 ? Number(firstRaw[1]) : t;
    const totalPosts = Number(value(totalAt) ?? 0);
    const windowCounts: Record<string, number> = {};
    b.windowsSeconds.forEach((w, i) => {
      windowCounts[String(w)] = Number(value(windowAt[i] as number) ?? 0);
    });
    let normPosts = 0;
    let normAccountDays = 0;
    for (const [n, u] of normAt) {
      normPosts += Number(value(n) ?? 0);
      normAccountDays += Number(value(u) ?? 0);
    }
    // Candidates from the buckets that answered: a partial index still verifies what it finds.
    const candidates = this.candidatesOf(h, lshReplies);

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
      const reads: KeyedCommand[] = [];
      for (const key of [...candidates.map((x) => this.key(tenantId, `a:${x}`)), ...candidates.map((x) => this.key(tenantId, `c:${x}`)), this.key(tenantId, `c:${h}`)]) {
        reads.push({ key, add: (p) => p.get(key) });
      }
      const r2 = await execPerNode(this.redis, reads);
      // A candidate whose node did not answer is left out (the index is then partial).
      if (r2.some((r) => r[0])) unavailable.add('near_duplicate_index');
      const readValue = (i: number) => (r2[i]?.[0] ? null : ((r2[i]?.[1] ?? null) as string | null));
      const records = candidates.map((_, i) => readValue(i));
      const clusters = candidates.map((_, i) => readValue(candidates.length + i));
      const ownCluster = readValue(2 * candidates.length);
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
        const writes3: KeyedCommand[] = [];
        const proposeCluster = (key: string) => writes3.push({ key, add: (p) => p.set(key, clusterId as string, 'PX', ttl, 'NX') });
        proposeCluster(this.key(tenantId, `c:${h}`));
        for (const f of found) if (!f.cluster) proposeCluster(this.key(tenantId, `c:${f.hash}`));
        if ((await execPerNode(this.redis, writes3)).some((r) => r[0])) unavailable.add('near_duplicate_index');
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
      ...(unavailable.size > 0 ? { unavailable: [...unavailable].sort() } : {}),
    };
  }
}
