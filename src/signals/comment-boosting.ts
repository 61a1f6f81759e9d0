/**
 * Coordinated boosting: an account that comments first on (nearly) every article of one other
 * account. Kept in Redis per tenant beside the other account signals:
 *   {t:T}:fc:<article>  ZSET of commenting accounts by their first comment's post time
 *   {t:T}:fb:<account>  hash author -> articles of that author this account commented on first
 *   {t:T}:ba:<author>   HyperLogLog of the author's articles that drew comments
 *   {t:T}:bo:<comment>  observed once (retries and rescans count nothing twice)
 * "First" is the earliest comment seen by post time when this comment is observed.
 *
 * Example:
 *   await boosting.observe({ tenantId: 't1', commentId: 'c1', accountId: 'fan', articleKey: 'p9', author: 'star', postedAt })
 *   -> { code: 'first_commenter', value: 9, strength: 0.83, message: { zh: '在账号star的10篇文章中，有9篇是该账号第一个评论', en: … }, evidence }
 */
import type { ClientContext, Result } from 'ioredis';
import { z } from 'zod';
import type { RedisClient } from '../infra/redis.ts';

export const boostingSettingsSchema = z.object({
  retentionSeconds: z
    .number()
    .int()
    .positive()
    .default(14 * 24 * 3600),
  /** Articles of one author this account must have commented on first... */
  minArticles: z.number().int().positive().default(4),
  /** ...and the share of that author's commented articles they make up. */
  minShare: z.number().gt(0).max(1).default(0.6),
});
export type BoostingSettings = z.infer<typeof boostingSettingsSchema>;

export interface BoostingObservation {
  tenantId: string;
  commentId: string;
  accountId: string;
  articleKey: string;
  /** The article's author when known (sent by the platform or read from a stored article). */
  author: string | null;
  postedAt: number;
}

export interface BoostingSignal {
  code: 'first_commenter';
  value: number;
  strength: number;
  message: { zh: string; en: string };
  evidence: Record<string, unknown>;
}

/**
 * One round trip, atomic. KEYS: observed-once, article's commenters, account's first-on counts,
 * author's articles, (article, account) counted-once. ARGV: ttl, postedAt, account, article, author.
 * Returns [articles of the author this account was first on, the author's commented articles].
 */
const BOOST_SCRIPT = `
local ttl = tonumber(ARGV[1])
if redis.call('SET', KEYS[1], '1', 'PX', ttl, 'NX') then
  -- LT keeps the account's earliest comment time (and still adds a new account).
  redis.call('ZADD', KEYS[2], 'LT', ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PFADD', KEYS[4], ARGV[4])
  redis.call('PEXPIRE', KEYS[4], ttl)
  -- Counted once per (article, account) when it becomes first; an earlier comment arriving later
  -- does not take it back (the evidence is "was first when seen").
  if redis.call('ZRANGE', KEYS[2], 0, 0)[1] == ARGV[3] and redis.call('SET', KEYS[5], '1', 'PX', ttl, 'NX') then
    redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
end
return { redis.call('HGET', KEYS[3], ARGV[5]) or '0', redis.call('PFCOUNT', KEYS[4]) }
`;

export class CommentBoosting {
  constructor(
    private readonly redis: RedisClient,
    private readonly settings: BoostingSettings,
    private readonly prefix: string,
  ) {
    if (!redis.commentBoost) redis.defineCommand('commentBoost', { lua: BOOST_SCRIPT });
  }

  private key(tenantId: string, rest: string): string {
    return `${this.prefix}{t:${encodeURIComponent(tenantId)}}:${rest}`;
  }

  /** Records the comment once; answers the signal when this account boosts the article's author. */
  async observe(o: BoostingObservation): Promise<BoostingSignal | null> {
    if (!o.author || o.author === o.accountId) return null;
    const k = (rest: string) => this.key(o.tenantId, rest);
    const [firstOn, authorArticles] = await this.redis.commentBoost(
      5,
      k(`bo:${encodeURIComponent(o.commentId)}`),
      k(`fc:${encodeURIComponent(o.articleKey)}`),
      k(`fb:${encodeURIComponent(o.accountId)}`),
      k(`ba:${encodeURIComponent(o.author)}`),
      k(`bf:${encodeURIComponent(o.articleKey)}:${encodeURIComponent(o.accountId)}`),
      this.settings.retentionSeconds * 1000,
      o.postedAt,
      o.accountId,
      o.articleKey,
      o.author,
    );
    const n = Number(firstOn ?? 0);
    const total = Math.max(n, Number(authorArticles));
    const share = total === 0 ? 0 : n / total;
    if (n < this.settings.minArticles || share < this.settings.minShare) return null;
    const strength = Math.round(Math.min(1, 0.4 + 0.6 * share * Math.min(1, n / (3 * this.settings.minArticles))) * 1000) / 1000;
    return {
      code: 'first_commenter',
      value: n,
      strength,
      message: {
        zh: `在账号${o.author}获得评论的${total}篇文章中，有${n}篇是该账号第一个评论（疑似协同刷评）`,
        en: `First to comment on ${n} of the ${total} commented articles of account ${o.author} (coordinated boosting?)`,
      },
      evidence: { author: o.author, firstOn: n, authorArticles: total, share: Math.round(share * 100) / 100 },
    };
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    commentBoost(...args: [number, ...(string | number)[]]): Result<[string, number], Context>;
  }
}
