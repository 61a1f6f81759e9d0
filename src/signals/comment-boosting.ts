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
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const boostingSettingsSchema = z.object({
  retentionSeconds: z.number().int().positive().default(14 * 24 * 3600),
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

export class CommentBoosting {
  constructor(
    private readonly redis: Redis,
    private readonly settings: BoostingSettings,
    private readonly prefix: string,
  ) {}

  private key(tenantId: string, rest: string): string {
    return `${this.prefix}{t:${encodeURIComponent(tenantId)}}:${rest}`;
  }

  /** Records the comment once; answers the signal when this account boosts the article's author. */
  async observe(o: BoostingObservation): Promise<BoostingSignal | null> {
    if (!o.author || o.author === o.accountId) return null;
    const ttl = this.settings.retentionSeconds * 1000;
    const fc = this.key(o.tenantId, `fc:${encodeURIComponent(o.articleKey)}`);
    const fb = this.key(o.tenantId, `fb:${encodeURIComponent(o.accountId)}`);
    const ba = this.key(o.tenantId, `ba:${encodeURIComponent(o.author)}`);
    const first = await this.redis.set(this.key(o.tenantId, `bo:${encodeURIComponent(o.commentId)}`), '1', 'PX', ttl, 'NX');
    if (first === 'OK') {
      const pipe = this.redis.pipeline();
      // LT keeps the account's earliest comment time (and still adds a new account).
      pipe.zadd(fc, 'LT', o.postedAt, o.accountId);
      pipe.pexpire(fc, ttl);
      pipe.zrange(fc, 0, 0);
      pipe.pfadd(ba, o.articleKey);
      pipe.pexpire(ba, ttl);
      const r = await pipe.exec();
      const failed = r?.find((x) => x[0]);
      if (!r || failed) throw failed?.[0] ?? new Error('redis pipeline aborted');
      const earliest = (r[2]![1] as string[])[0];
      // Counted once per (article, account) when it becomes first; an earlier comment arriving
      // later does not take it back (the evidence is "was first when seen").
      if (earliest === o.accountId) {
        const marked = await this.redis.set(this.key(o.tenantId, `bf:${encodeURIComponent(o.articleKey)}:${encodeURIComponent(o.accountId)}`), '1', 'PX', ttl, 'NX');
        if (marked === 'OK') await this.redis.pipeline().hincrby(fb, o.author, 1).pexpire(fb, ttl).exec();
      }
    }
    const [firstOn, authorArticles] = await Promise.all([this.redis.hget(fb, o.author), this.redis.pfcount(ba)]);
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
