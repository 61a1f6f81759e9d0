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
 * Keys (under the caller's prefix, hash-tagged per tenant):
 *   {t:T}:r:<h>     record "commentId \t accountId \t articleKey \t postedAtMs \t signature"
 *   {t:T}:t:<h>     the comment's template id (set once)
 *   {t:T}:b:<shard> LSH buckets: hash field <band><bucket> -> concatenated comment hashes
 *   {t:T}:ta:<tpl>  hash accountId -> comments of the template by that account
 *   {t:T}:tr:<tpl>  HyperLogLog of the articles the template was posted under
 * Every key carries the retention TTL. Observing a comment again counts nothing twice.
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
import { bandHashes, estimateJaccard, minhash, packSignature, unpackSignature } from './minhash.ts';
import type { RedisClient } from '../infra/redis.ts';

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
  firstObservation: boolean;
}

/** Looks the comment's bands up and inserts it, atomically: two copies scored at once see each other. */
const LOOKUP_SCRIPT = `
local h = ARGV[1]
local ttl = tonumber(ARGV[3])
local maxb = tonumber(ARGV[4])
local W = #h
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
local hits = {}
local order = {}
for i = 2, #KEYS do
  local f = ARGV[4 + i]
  local v = redis.call('HGET', KEYS[i], f)
  local present = false
  if v then
    for j = 1, #v, W do
      local c = string.sub(v, j, j + W - 1)
      if c == h then present = true
      else
        local n = hits[c]
        if n then hits[c] = n + 1 else hits[c] = 1; order[#order + 1] = c end
      end
    end
  end
  if not present then
    local nv = (v or '') .. h
    if #nv > maxb * W then nv = string.sub(nv, #nv - maxb * W + 1) end
    redis.call('HSET', KEYS[i], f, nv)
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
table.sort(order, function(a, b) if hits[a] ~= hits[b] then return hits[a] > hits[b] end return a < b end)
local out = { old or '' }
for i = 1, math.min(#order, tonumber(ARGV[5])) do out[#out + 1] = order[i] end
return out
`;

/**
 * Template assignment. KEYS: the comment's template key, then its matches'. ARGV: a fresh
 * template id, ttl. Returns the template and the 1-based KEYS indexes newly assigned.
 */
const ASSIGN_SCRIPT = `
local best = nil
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v and (best == nil or v < best) then best = v end
end
if best == nil then best = ARGV[1] end
local out = { best }
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], best, 'PX', tonumber(ARGV[2]), 'NX') then out[#out + 1] = tostring(i) end
end
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

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A comment's signature, computed without I/O (the worker's CPU part). */
export interface PreparedTemplateObservation extends TemplateObservation {
  skeletonLength: number;
  signature: Uint32Array | null;
}

export class CommentTemplates {
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly settings: CommentTemplateSettings,
    private readonly prefix: string,
  ) {
    if (settings.permutations % settings.bands !== 0) throw new Error('permutations must be a multiple of bands');
    this.ttlMs = settings.retentionSeconds * 1000;
    if (!redis.commentLsh) redis.defineCommand('commentLsh', { lua: LOOKUP_SCRIPT });
    if (!redis.commentTemplateAssign) redis.defineCommand('commentTemplateAssign', { lua: ASSIGN_SCRIPT });
  }

  private key(tenantId: string, rest: string): string {
    return `${this.prefix}{t:${encodeURIComponent(tenantId)}}:${rest}`;
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
    const packed = packSignature(p.signature);
    const bands = bandHashes(p.signature, s.bands);
    const keys = [this.key(p.tenantId, `r:${h}`)];
    const fields: string[] = [];
    for (let b = 0; b < s.bands; b++) {
      const bucket = bands[b] as number;
      keys.push(this.key(p.tenantId, `b:${bucket % s.shards}`));
      fields.push(b.toString(36).padStart(2, '0') + bucket.toString(36));
    }
    const record = `${p.commentId}\t${p.accountId}\t${p.articleKey}\t${p.postedAt}\t${packed}`;
    const reply = await this.redis.commentLsh(keys.length, ...keys, h, record, this.ttlMs, s.maxBucketSize, s.maxCandidates, ...fields);
    const first = reply[0] === '';
    const candidates = reply.slice(1);

    const own = unpackSignature(packed);
    const found: (SimilarComment & { hash: string })[] = [];
    if (candidates.length > 0) {
      const records = await this.redis.mget(...candidates.map((c) => this.key(p.tenantId, `r:${c}`)));
      records.forEach((raw, i) => {
        if (!raw) return;
        const [commentId, accountId, articleKey, , sig] = raw.split('\t');
        if (!commentId || commentId === p.commentId || accountId === undefined || articleKey === undefined || !sig) return;
        const similarity = estimateJaccard(own, unpackSignature(sig));
        if (similarity < s.threshold) return;
        found.push({ commentId, accountId, articleKey, similarity: round(similarity), hash: candidates[i]! });
      });
    }
    found.sort((a, b) => b.similarity - a.similarity || (a.commentId < b.commentId ? -1 : 1));
    if (found.length === 0) {
      const own = await this.redis.get(this.key(p.tenantId, `t:${h}`));
      if (!own) return { ...none, indexed: true, firstObservation: first };
    }
    // Atomic, so two copies scored at once join one template: the smallest template already
    // held by this comment or its matches, else a new one named by the earliest member.
    const fresh = `tpl_${createHash('sha1')
      .update(p.tenantId)
      .update('\0')
      .update([p.commentId, ...found.map((f) => f.commentId)].sort()[0]!)
      .digest('hex')
      .slice(0, 20)}`;
    const assigned = await this.redis.commentTemplateAssign(
      1 + found.length,
      this.key(p.tenantId, `t:${h}`),
      ...found.map((f) => this.key(p.tenantId, `t:${f.hash}`)),
      fresh,
      this.ttlMs,
    );
    const templateId = assigned[0]!;
    const joinedIdx = new Set(assigned.slice(1).map(Number));
    const joined = found.filter((_f, i) => joinedIdx.has(i + 2));
    const ta = this.key(p.tenantId, `ta:${templateId}`);
    const tr = this.key(p.tenantId, `tr:${templateId}`);
    const pipe = this.redis.pipeline();
    // Each comment is counted once, when its template key is set: this one now, or an earlier
    // member as it joins (a re-observation sets nothing and counts nothing).
    const counted = [...(joinedIdx.has(1) ? [{ accountId: p.accountId, articleKey: p.articleKey }] : []), ...joined];
    for (const c of counted) pipe.hincrby(ta, c.accountId, 1);
    if (counted.length > 0) {
      pipe.pfadd(tr, ...counted.map((c) => c.articleKey));
      pipe.pexpire(ta, this.ttlMs);
      pipe.pexpire(tr, this.ttlMs);
    }
    pipe.hlen(ta);
    pipe.pfcount(tr);
    pipe.hget(ta, p.accountId);
    const r = await pipe.exec();
    const failed = r?.find((x) => x[0]);
    if (!r || failed) throw failed?.[0] ?? new Error('redis pipeline aborted');
    const n = r.length;
    return {
      indexed: true,
      skeletonLength: p.skeletonLength,
      templateId,
      accounts: Math.max(1, Number(r[n - 3]![1])),
      articles: Math.max(1, Number(r[n - 2]![1])),
      ownUses: Math.max(1, Number(r[n - 1]![1] ?? 1)),
      similar: found.slice(0, s.maxSimilar).map(({ hash: _h, ...x }) => x),
      joined: joined.map((f) => f.commentId),
      firstObservation: first,
    };
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    commentLsh(...args: [number, ...(string | number)[]]): Result<string[], Context>;
    commentTemplateAssign(...args: [number, ...(string | number)[]]): Result<string[], Context>;
  }
}
