/**
 * Template reuse among short comments: near-duplicate lookup (MinHash + LSH in Redis, tuned for
 * short texts) and template clusters with the accounts and articles that use them.
 *
 * Short texts need their own shingling: a comment of ten characters has eight character
 * 3-grams, so article settings (3-grams, 30 shingles at least) would index none. Here the text
 * is reduced to a skeleton (lower case, numbers masked, punctuation, spaces and emoji removed,
 * repeated characters collapsed) and cut into character 2-grams for Chinese and 3-grams for
 * English; 48 permutations in 16 bands of 3 rows find pairs at Jaccard 0.5 with probability
 * 0.88 and at 0.6 with 0.98; candidates are verified by estimated Jaccard (`threshold`).
 * Skeletons shorter than `minChars` ("赞", "好文") are not indexed: everything that short looks
 * alike, and an honest "感谢分享" under many articles is not a farm.
 *
 * Keys (under the caller's prefix; on a Redis Cluster each lands on the slot of its own name or
 * its own tag, so one tenant's index spreads over every master):
 *   t:T:c:<h>               the comment: hash of r (record "commentId \t accountId \t articleKey \t
 *                           postedAtMs \t signature"), t (template id, set once), d (left alone),
 *                           j (a pending join, set once)
 *   t:T:b:{T:<shard>}       LSH buckets (lsh.ts, shared with the article index): hash field
 *                           <band><bucket> -> concatenated comment hashes, oldest first
 *   t:T:ta:{T:<tpl>}        hash accountId -> comments of the template by that account
 *   t:T:tr:{T:<tpl>}        HyperLogLog of the articles the template was posted under
 *   t:T:tm:{T:<tpl>}        hash member comment hash -> "accountId \t articleKey \t commentId"
 *   t:T:tp:{T:<tpl>}        the template this one was merged into (set once)
 * `<h>` is an 11-character hash of the comment id. Every key carries the retention TTL. Scripts
 * touch one entity's keys only (a comment's hash, an LSH shard, a template's four keys, each
 * one slot); what crosses entities is ordered instead, one pipeline per node (`execPerNode`).
 *
 * Concurrency (many workers, one server or a cluster; test/comments/concurrency.test.ts). The
 * former scripts over the tenant's one slot are replaced by ordering, set-once writes and
 * idempotent counting:
 *  - Found: a comment's record is written before its buckets are touched, and each shard's
 *    lookup-and-insert is one script, so of two comments sharing a band bucket the later one in
 *    that shard reads the other, and can read its record, whatever the interleaving.
 *  - One template: a comment's template id is set once (FINISH_SCRIPT); another comment's join
 *    sets it only when it was left alone, or leaves a pending join its own observation takes up
 *    (after waiting up to `joinWaitMs` for an observation in flight). Templates merge, never
 *    split: a template's parent is set once, the larger id into the smaller (union-find, no
 *    cycles), and a comment's template is the end of that chain (what `templateId` reports).
 *  - Converges: an observation learns the final template of every near-copy it found (read,
 *    awaited while in flight, or joined) and merges each that differs into one. So, once the
 *    observations are done, near-copies of which one found the other are in one template,
 *    whatever their skeletons and the interleaving. To merge rarely, copies pick the same
 *    template up front: each names as anchor the oldest match in its band-0 bucket (copies with
 *    one skeleton all read prefixes of that one bucket, so they name one anchor), else the
 *    smallest comment id among itself and its matches outside that bucket; it takes the
 *    anchor's template, or gives an anchor left alone the smallest template among its matches
 *    (else a new one named by the anchor).
 *  - Counted once: a comment is counted (accounts, articles) when its hash first enters the
 *    member hash of a template not merged away; COUNT_SCRIPT checks the parent and counts in one
 *    step and MERGE_SCRIPT sets the parent and reads the members in one step, so a merge copies
 *    every member counted before it and later counting follows the parent. A comment observed
 *    twice, at once or by a retry, counts nothing twice.
 *  - Weaker: a template with over `mergeMaxMembers` members is not merged away (a copy that
 *    bridges two big templates joins one); an observation that fails midway leaves its merges
 *    to its retry; between a merge and the next observation of its comments, the comments
 *    scored earlier carry the merged-away id (the service rewrites them, `mergeTemplates`); the
 *    articles count is a HyperLogLog estimate (±1 at a few dozen).
 *
 * Example:
 *   const r = await templates.observe({ tenantId: 't1', commentId: 'c9', accountId: 'u3', articleKey: 'post-1',
 *     text: '写得太好了，受益匪浅，感谢作者的分享！', lang: 'zh', postedAt: Date.now() });
 *   r -> { indexed: true, templateId: 'tpl_…', accounts: 12, articles: 40, ownUses: 3, similar: [...] }
 */
import { createHash } from 'node:crypto';
import type { ClientContext, Result } from 'ioredis';
import { z } from 'zod';
import { modelText, type Lang } from '../domain/normalize.ts';
import { execPerNode, type KeyedCommand, type RedisClient, replyValues } from '../infra/redis.ts';
import { bandBuckets, bucketMembers, defineLshBucket, lshCommands, rankCandidates } from './lsh.ts';
import { estimateJaccard, minhash, packSignature, unpackSignature } from './minhash.ts';

export const commentTemplateSettingsSchema = z.object({
  retentionSeconds: z
    .number()
    .int()
    .positive()
    .default(14 * 24 * 3600),
  permutations: z.number().int().min(16).max(256).default(48),
  bands: z.number().int().positive().default(16),
  /** Skeleton characters (Chinese) or letters (English) below which a comment is not indexed. */
  minChars: z.object({ zh: z.number().int().positive().default(6), en: z.number().int().positive().default(16) }).prefault({}),
  /** Estimated Jaccard of the skeletons' shingles at or above which two comments share a template. */
  threshold: z.number().gt(0).max(1).default(0.6),
  /** A bucket keeps its most recent entries only (a stock phrase must not make a hot bucket). */
  maxBucketSize: z.number().int().positive().default(128),
  maxCandidates: z.number().int().positive().default(200),
  /** Hash shards of the LSH buckets per tenant (small hashes stay compactly encoded in Redis). */
  shards: z.number().int().positive().default(65_536),
  /** Similar comments returned as evidence at most. */
  maxSimilar: z.number().int().positive().default(10),
  /**
   * How long an observation waits for a near-copy's observation that is in flight at the same
   * instant to settle its template before leaving it a pending join instead (see the guarantee).
   */
  joinWaitMs: z.number().int().nonnegative().default(3000),
  /** Templates with more members are not merged into another (a merge copies the members). */
  mergeMaxMembers: z.number().int().positive().default(10_000),
});
export type CommentTemplateSettings = z.infer<typeof commentTemplateSettingsSchema>;

export interface TemplateObservation {
  tenantId: string;
  commentId: string;
  accountId: string;
  /** The article the comment answers (the platform's id). */
  articleKey: string;
  text: string;
  lang: Lang;
  postedAt: number;
}

export interface SimilarComment {
  commentId: string;
  accountId: string;
  articleKey: string;
  similarity: number;
}

export interface TemplateResult {
  /** False when the comment is too short to index. */
  indexed: boolean;
  /** Skeleton length (the information a match carries). */
  skeletonLength: number;
  /** The template cluster; null when no near-duplicate was seen. */
  templateId: string | null;
  /** Distinct accounts that used the template (this one included). */
  accounts: number;
  /** Distinct articles it was posted under (HyperLogLog estimate). */
  articles: number;
  /** Comments of this account in the template (this one included). */
  ownUses: number;
  /** Near-duplicates found for this comment, most similar first. */
  similar: SimilarComment[];
  /** Earlier comments that joined the template with this one (they had none until now). */
  joined: string[];
  /** Templates merged into this one by this observation (their comments are now in `templateId`). */
  merged?: string[];
  firstObservation: boolean;
}

/*
 * Per-comment scripts: each touches one key, the comment's hash (fields r: record, t: template
 * id, set once; d: observed and left without a template; j: a template another comment asked
 * this one to join while its own observation was in flight, set once).
 */

/** KEYS: comment. ARGV: record, ttl. Returns [the previous record or '', the template or ''] and stores the record. */
const OPEN_SCRIPT = `
local old = redis.call('HGET', KEYS[1], 'r')
redis.call('HSET', KEYS[1], 'r', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { old or '', redis.call('HGET', KEYS[1], 't') or '' }
`;

/**
 * The comment's own decision, once. KEYS: comment. ARGV: the template it chose ('' none).
 * A template already set stays; a pending join wins over the choice; without either the
 * comment is marked as left alone (others may then join it). Returns the template or ''.
 */
const FINISH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return '' end
local t = redis.call('HGET', KEYS[1], 't')
if t then return t end
local j = redis.call('HGET', KEYS[1], 'j')
if j then redis.call('HSET', KEYS[1], 't', j); return j end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 't', ARGV[1]); return ARGV[1] end
redis.call('HSET', KEYS[1], 'd', '1')
return ''
`;

/**
 * Another comment asks this one into a template. KEYS: comment. ARGV: template, force (1/0).
 * Returns [state, template]: 'has' (its own template), 'pending' (a join already waits),
 * 'joined' (it was left alone and is now in this template), 'open' (its observation is in
 * flight: ask again, or force to leave a pending join), 'gone' (expired).
 */
const JOIN_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return { 'gone', '' } end
local t = redis.call('HGET', KEYS[1], 't')
if t then return { 'has', t } end
local j = redis.call('HGET', KEYS[1], 'j')
if j then return { 'pending', j } end
if redis.call('HGET', KEYS[1], 'd') then redis.call('HSET', KEYS[1], 't', ARGV[1]); return { 'joined', ARGV[1] } end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'j', ARGV[1]); return { 'pending', ARGV[1] } end
return { 'open', '' }
`;

/*
 * Per-template scripts: each touches one template's keys (one hash tag): ta (account -> its
 * comments in the template), tr (articles, HyperLogLog), tm (member hash -> "account \t article
 * \t commentId") and tp (the template it was merged into, set once).
 */

/**
 * Idempotent counting: a member is counted when it first enters the member hash. KEYS: ta, tr,
 * tm, tp. ARGV: ttl, the asking account, then (hash, account, article, commentId) per member.
 * A template merged into another counts nothing: returns ['moved', into] (count there);
 * else ['ok', accounts, articles (estimate), the asking account's comments in the template].
 */
const COUNT_SCRIPT = `
local into = redis.call('GET', KEYS[4])
if into then return { 'moved', into } end
local counted = false
for i = 3, #ARGV, 4 do
  if redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i + 1] .. '\t' .. ARGV[i + 2] .. '\t' .. ARGV[i + 3]) == 1 then
    redis.call('HINCRBY', KEYS[1], ARGV[i + 1], 1)
    redis.call('PFADD', KEYS[2], ARGV[i + 2])
    counted = true
  end
end
if counted then for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], ARGV[1]) end end
return { 'ok', redis.call('HLEN', KEYS[1]), redis.call('PFCOUNT', KEYS[2]), redis.call('HGET', KEYS[1], ARGV[2]) or '0' }
`;

/**
 * Merges this template into another, once. KEYS: ta, tr, tm, tp. ARGV: into, ttl, max members.
 * Returns ['moved', into] when it was already merged, ['big'] when it has more members than
 * the limit (left as it is), else ['merged', hash, member, hash, member, ...]: from now on it
 * counts nothing (COUNT_SCRIPT answers 'moved'), so the members returned are all it has.
 */
const MERGE_SCRIPT = `
local into = redis.call('GET', KEYS[4])
if into then return { 'moved', into } end
if redis.call('HLEN', KEYS[3]) > tonumber(ARGV[3]) then return { 'big' } end
redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[2])
local out = { 'merged' }
for _, v in ipairs(redis.call('HGETALL', KEYS[3])) do out[#out + 1] = v end
return out
`;

const NUMBER = /\d+(?:[.,:/-]\d+)*|[零〇一二三四五六七八九十百千万亿两]+(?=[个条篇次年月日天岁元块])/g;
const NOT_TEXT = /[^\p{L}\p{N}#]+/gu;

/** The part of a comment a template keeps: letters and digits, numbers masked, repeats collapsed. */
export function commentSkeleton(text: string): string {
  return modelText(text)
    .toLowerCase()
    .replace(NUMBER, '#')
    .replace(NOT_TEXT, '')
    .replace(/(.)\1+/gu, '$1');
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Distinct hashes of the skeleton's character shingles (2 for Chinese, 3 for English). */
export function commentShingles(skeleton: string, lang: Lang): Uint32Array {
  const chars = Array.from(skeleton);
  const k = lang === 'zh' ? 2 : 3;
  const out = new Set<number>();
  if (chars.length < k) {
    if (chars.length > 0) out.add(fnv1a(chars.join('')));
  } else {
    for (let i = 0; i + k <= chars.length; i++) out.add(fnv1a(chars.slice(i, i + k).join('')));
  }
  return Uint32Array.from(out);
}

/** Skeleton length in the units `minChars` counts. */
function skeletonUnits(skeleton: string): number {
  return Array.from(skeleton).length;
}

const HASH_WIDTH = 11;
function commentHash(tenantId: string, commentId: string): string {
  return createHash('sha1').update(tenantId).update('\0').update(commentId).digest('base64url').slice(0, HASH_WIDTH);
}

/** The template a comment founds: named by the comment. */
function templateOf(tenantId: string, commentId: string): string {
  return `tpl_${createHash('sha1').update(tenantId).update('\0').update(commentId).digest('hex').slice(0, 20)}`;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A comment's signature, computed without I/O (the worker's CPU part). */
export interface PreparedTemplateObservation extends TemplateObservation {
  skeletonLength: number;
  signature: Uint32Array | null;
}

/** A comment counted in a template. */
interface Member {
  hash: string;
  commentId: string;
  accountId: string;
  articleKey: string;
}

interface Match extends SimilarComment {
  hash: string;
  /** Its template, or a join waiting for it, as read ('' none). */
  template: string;
  /** Shares this comment's band-0 bucket (same stored values in band 0's rows). */
  sameBand0: boolean;
}

type JoinState = 'has' | 'pending' | 'joined' | 'open' | 'gone';

export class CommentTemplates {
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly settings: CommentTemplateSettings,
    private readonly prefix: string,
  ) {
    if (settings.permutations % settings.bands !== 0) throw new Error('permutations must be a multiple of bands');
    this.ttlMs = settings.retentionSeconds * 1000;
    defineLshBucket(redis);
    if (!redis.commentOpen) redis.defineCommand('commentOpen', { lua: OPEN_SCRIPT });
    if (!redis.commentFinish) redis.defineCommand('commentFinish', { lua: FINISH_SCRIPT });
    if (!redis.commentJoin) redis.defineCommand('commentJoin', { lua: JOIN_SCRIPT });
    if (!redis.commentTemplateCount) redis.defineCommand('commentTemplateCount', { lua: COUNT_SCRIPT });
    if (!redis.commentTemplateMerge) redis.defineCommand('commentTemplateMerge', { lua: MERGE_SCRIPT });
  }

  private key(tenantId: string, rest: string): string {
    return `${this.prefix}t:${encodeURIComponent(tenantId)}:${rest}`;
  }

  private commentKey(tenantId: string, h: string): string {
    return this.key(tenantId, `c:${h}`);
  }

  /** A template's keys (one hash tag): ta, tr, tm, tp. */
  private templateKeys(tenantId: string, templateId: string): string[] {
    const tag = `{${encodeURIComponent(tenantId)}:${templateId}}`;
    return ['ta', 'tr', 'tm', 'tp'].map((k) => this.key(tenantId, `${k}:${tag}`));
  }

  /** The template a template was merged into, followed to the end (itself when never merged). */
  private async root(tenantId: string, templateId: string): Promise<string> {
    let at = templateId;
    for (let hops = 0; hops < 64; hops++) {
      const into = await this.redis.get(this.templateKeys(tenantId, at)[3]!);
      if (!into) return at;
      at = into;
    }
    return at;
  }

  /**
   * Counts members into a template, following merges; answers the template they are counted
   * in, its accounts and articles and the asking account's comments in it.
   */
  private async count(tenantId: string, templateId: string, askingAccount: string, members: readonly Member[]) {
    const args: string[] = [];
    for (const m of members) args.push(m.hash, m.accountId, m.articleKey, m.commentId);
    let at = templateId;
    for (let hops = 0; ; hops++) {
      const reply = await this.redis.commentTemplateCount(4, ...this.templateKeys(tenantId, at), this.ttlMs, askingAccount, ...args);
      if (reply[0] === 'ok' || hops >= 64) return { templateId: at, accounts: Number(reply[1]), articles: Number(reply[2]), ownUses: Number(reply[3]) };
      at = String(reply[1]);
    }
  }

  /**
   * Merges two templates (union-find over set-once parents, the larger id into the smaller,
   * so merges never form a cycle): the merged one's members are counted into the other.
   * Answers the ids merged away (none when they already were one, or the larger is too big).
   */
  private async union(tenantId: string, a: string, b: string): Promise<string[]> {
    for (let tries = 0; tries < 16; tries++) {
      const [ra, rb] = await Promise.all([this.root(tenantId, a), this.root(tenantId, b)]);
      if (ra === rb) return [];
      const [lo, hi] = ra < rb ? [ra, rb] : [rb, ra];
      const reply = await this.redis.commentTemplateMerge(4, ...this.templateKeys(tenantId, hi), lo, this.ttlMs, this.settings.mergeMaxMembers);
      if (reply[0] === 'big') return [];
      if (reply[0] !== 'merged') continue;
      const members: Member[] = [];
      for (let i = 1; i + 1 < reply.length; i += 2) {
        const [accountId = '', articleKey = '', commentId = ''] = (reply[i + 1] as string).split('\t');
        members.push({ hash: reply[i] as string, accountId, articleKey, commentId });
      }
      if (members.length > 0) await this.count(tenantId, lo, '', members);
      return [hi];
    }
    return [];
  }

  prepare(input: TemplateObservation): PreparedTemplateObservation {
    const skeleton = commentSkeleton(input.text);
    const units = skeletonUnits(skeleton);
    const indexed = units >= this.settings.minChars[input.lang];
    return { ...input, skeletonLength: units, signature: indexed ? minhash(commentShingles(skeleton, input.lang), this.settings.permutations) : null };
  }

  async observe(input: TemplateObservation): Promise<TemplateResult> {
    return this.observePrepared(this.prepare(input));
  }

  /**
   * Asks a comment into a template (`JOIN_SCRIPT`); while its own observation is in flight,
   * asks again until it settles, for at most `joinWaitMs`, then leaves a pending join.
   */
  private async join(key: string, templateId: string): Promise<[JoinState, string]> {
    const until = Date.now() + this.settings.joinWaitMs;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      const force = Date.now() >= until;
      const [state, template] = (await this.redis.commentJoin(1, key, templateId, force ? 1 : 0)) as [JoinState, string];
      if (state !== 'open' || force) return [state, template];
      await sleep(pause);
    }
  }

  async observePrepared(p: PreparedTemplateObservation): Promise<TemplateResult> {
    const none: TemplateResult = {
      indexed: false,
      skeletonLength: p.skeletonLength,
      templateId: null,
      accounts: 1,
      articles: 1,
      ownUses: 1,
      similar: [],
      joined: [],
      firstObservation: true,
    };
    if (!p.signature) return none;
    const s = this.settings;
    const h = commentHash(p.tenantId, p.commentId);
    const ownKey = this.commentKey(p.tenantId, h);
    const packed = packSignature(p.signature);
    const own = unpackSignature(packed);

    // 1. The record first, so whoever finds this comment in a bucket can read it.
    const record = `${p.commentId}\t${p.accountId}\t${p.articleKey}\t${p.postedAt}\t${packed}`;
    const [old, ownTemplate] = await this.redis.commentOpen(1, ownKey, record, this.ttlMs);
    const first = old === '';

    // 2. Lookup and insert, one script per LSH shard (one pipeline per node): of two comments
    // sharing a bucket, the later one in that shard reads the other.
    const tenant = encodeURIComponent(p.tenantId);
    const commands = lshCommands({
      hash: h,
      buckets: bandBuckets(p.signature, s.bands, s.shards),
      shardKeys: (shard) => [this.key(p.tenantId, `b:{${tenant}:${shard}}`)],
      insert: true,
      lookup: true,
      maxBucket: s.maxBucketSize,
      ttlMs: this.ttlMs,
    });
    const lsh = await execPerNode(this.redis, commands);
    // An observation needs every part of its index: a failed shard fails it (the job retries).
    replyValues(lsh);
    const candidates = rankCandidates(h, HASH_WIDTH, lsh, s.maxCandidates);
    // Band 0's bucket as it was before this comment joined it, oldest first.
    const band0At = commands.findIndex((c) => c.bands.includes(0));
    const band0 = bucketMembers(((lsh[band0At]?.[1] ?? []) as string[])[commands[band0At]?.bands.indexOf(0) ?? -1], HASH_WIDTH);

    // 3. Verify the candidates by estimated Jaccard; read their templates.
    const found: Match[] = [];
    if (candidates.length > 0) {
      const reads = candidates.map((c): KeyedCommand => {
        const key = this.commentKey(p.tenantId, c);
        return { key, add: (x) => x.hmget(key, 'r', 't', 'j') };
      });
      const rows = replyValues(await execPerNode(this.redis, reads)) as [string | null, string | null, string | null][];
      const rows0 = s.permutations / s.bands;
      rows.forEach(([raw, template, pending], i) => {
        if (!raw) return;
        const [commentId, accountId, articleKey, , sig] = raw.split('\t');
        if (!commentId || commentId === p.commentId || accountId === undefined || articleKey === undefined || !sig) return;
        const theirs = unpackSignature(sig);
        const similarity = estimateJaccard(own, theirs);
        if (similarity < s.threshold) return;
        let sameBand0 = theirs.length === own.length;
        for (let r = 0; sameBand0 && r < rows0; r++) sameBand0 = theirs[r] === own[r];
        found.push({ commentId, accountId, articleKey, similarity: round(similarity), hash: candidates[i]!, template: template || pending || '', sameBand0 });
      });
    }
    found.sort((a, b) => b.similarity - a.similarity || (a.commentId < b.commentId ? -1 : 1));

    // 4. The template: this comment's own when it has one; else its anchor's. The anchor is the
    // oldest match in this comment's band-0 bucket (every copy with the same skeleton reads a
    // prefix of that one bucket, so they all name the same anchor, and the anchor itself sees
    // no match before it there); without one, the smallest comment id among this comment and
    // its matches outside its band-0 bucket (those inside it come later there and anchor here
    // or before). The anchor's template is read, or awaited while its own observation runs,
    // and set when it was left alone; a new template is named by the anchor.
    const joined: Match[] = [];
    let anchorTemplate = '';
    let chosen = ownTemplate;
    if (!chosen && found.length > 0) {
      const byHash = new Map(found.map((f) => [f.hash, f]));
      const existing = found.map((f) => f.template).filter((t) => t !== '');
      let anchor: Match | null = band0.map((x) => byHash.get(x)).find((f) => f !== undefined) ?? null;
      if (!anchor) {
        for (const f of found) if (!f.sameBand0 && f.commentId < (anchor?.commentId ?? p.commentId)) anchor = f;
      }
      const proposal = existing.sort()[0] ?? templateOf(p.tenantId, anchor?.commentId ?? p.commentId);
      if (!anchor) chosen = proposal;
      else if (anchor.template) chosen = anchor.template;
      else {
        const [state, template] = await this.join(this.commentKey(p.tenantId, anchor.hash), proposal);
        chosen = state === 'gone' ? proposal : template;
        if (state === 'joined') joined.push(anchor);
        anchorTemplate = template;
      }
    }
    const templateId = chosen === ownTemplate && chosen ? chosen : await this.redis.commentFinish(1, ownKey, chosen);
    if (!templateId) return { ...none, indexed: true, firstObservation: first };

    // 5. Matches left alone join it (one in flight is awaited, then left a pending join).
    const alone = found.filter((f) => !f.template && !joined.includes(f) && f.hash !== h);
    const joins = await Promise.all(alone.map((f) => this.join(this.commentKey(p.tenantId, f.hash), templateId)));
    alone.forEach((f, i) => {
      if (joins[i]![0] === 'joined') joined.push(f);
    });
    // 6. Templates of matches that differ from this one (copies that founded templates at the
    // same instant, or met later through this comment) merge into one; then counting,
    // idempotent per template, of this comment and of those that joined.
    const matchTemplates = new Set<string>();
    found.forEach((f) => {
      if (f.template) matchTemplates.add(f.template);
    });
    alone.forEach((_f, i) => {
      const [state, template] = joins[i]!;
      if ((state === 'has' || state === 'pending') && template) matchTemplates.add(template);
    });
    if (anchorTemplate) matchTemplates.add(anchorTemplate);
    matchTemplates.delete(templateId);
    const merged = (await Promise.all([...matchTemplates].map((t) => this.union(p.tenantId, templateId, t)))).flat();
    const self: Member = { hash: h, commentId: p.commentId, accountId: p.accountId, articleKey: p.articleKey };
    const counted = await this.count(p.tenantId, templateId, p.accountId, [self, ...joined]);
    return {
      indexed: true,
      skeletonLength: p.skeletonLength,
      templateId: counted.templateId,
      accounts: Math.max(1, counted.accounts),
      articles: Math.max(1, counted.articles),
      ownUses: Math.max(1, counted.ownUses),
      similar: found.slice(0, s.maxSimilar).map(({ hash: _h, template: _t, sameBand0: _b, ...x }) => x),
      joined: joined.map((f) => f.commentId),
      ...(merged.length > 0 ? { merged } : {}),
      firstObservation: first,
    };
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    commentOpen(...args: [number, ...(string | number)[]]): Result<[string, string], Context>;
    commentFinish(...args: [number, ...(string | number)[]]): Result<string, Context>;
    commentJoin(...args: [number, ...(string | number)[]]): Result<[string, string], Context>;
    commentTemplateCount(...args: [number, ...(string | number)[]]): Result<[string, ...(string | number)[]], Context>;
    commentTemplateMerge(...args: [number, ...(string | number)[]]): Result<string[], Context>;
  }
}
