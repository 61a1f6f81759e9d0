/**
 * Coordinated boosting: an account that comments first on (nearly) every article of one other
 * account. Kept in Redis per tenant beside the other account signals:
 *   t:T:fc:<article>           ZSET of commenting accounts by their first comment's post time
 *   t:T:fb:<account>:<author>  set of the author's articles this account commented on first
 *   t:T:ba:<author>            HyperLogLog of the author's articles that drew comments
 * Each key is placed by its own name, so on a Redis Cluster one tenant's keys spread over
 * every master. "First" is the earliest comment seen by post time when this comment is
 * observed; an earlier comment arriving later does not take it back.
 *
 * Concurrency: the one decision that needs two writes in order, "add this account to the
 * article's commenters and tell whether it is now the first", is one script on the article's
 * key; everything else is idempotent (ZADD LT, SADD, PFADD), so a comment observed twice, by
 * two workers at once or by a retry after a crash, counts nothing twice: an (article, account)
 * pair counts once for the account, an article once for the author.
 *
 * Example:
 *   await boosting.observe({ tenantId: 't1', commentId: 'c1', accountId: 'fan', articleKey: 'p9', author: 'star', postedAt })
 *   -> { code: 'first_commenter', value: 9, strength: 0.83, message: { zh: '在账号star的10篇文章中，有9篇是该账号第一个评论', en: … }, evidence }
 */
import type { ClientContext, Result } from 'ioredis';
import { z } from 'zod';
import { execPerNode, type KeyedCommand, type RedisClient, replyValues } from '../infra/redis.ts';

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
 * KEYS: the article's commenters. ARGV: ttl, postedAt, account. Keeps the account's earliest
 * comment time (LT still adds a new account) and returns 1 when the account is now the first.
 */
const FIRST_SCRIPT = `
redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if redis.call('ZRANGE', KEYS[1], 0, 0)[1] == ARGV[3] then return 1 end
return 0
`;

export class CommentBoosting {
  constructor(
    private readonly redis: RedisClient,
    private readonly settings: BoostingSettings,
    private readonly prefix: string,
  ) {
    if (!redis.commentFirst) redis.defineCommand('commentFirst', { lua: FIRST_SCRIPT });
  }

  private key(tenantId: string, rest: string): string {
    return `${this.prefix}t:${encodeURIComponent(tenantId)}:${rest}`;
  }

  /** Records the comment once; answers the signal when this account boosts the article's author. */
  async observe(o: BoostingObservation): Promise<BoostingSignal | null> {
    if (!o.author || o.author === o.accountId) return null;
    const k = (rest: string) => this.key(o.tenantId, rest);
    const ttl = this.settings.retentionSeconds * 1000;
    const article = k(`fc:${encodeURIComponent(o.articleKey)}`);
    const firstOnKey = k(`fb:${encodeURIComponent(o.accountId)}:${encodeURIComponent(o.author)}`);
    const authorKey = k(`ba:${encodeURIComponent(o.author)}`);
    // One pipeline per node: the article's first commenter, the author's articles.
    const [isFirst, , , authorArticles] = replyValues(
      await execPerNode(this.redis, [
        { key: article, add: (p) => p.commentFirst(1, article, ttl, o.postedAt, o.accountId) },
        { key: authorKey, add: (p) => p.pfadd(authorKey, o.articleKey) },
        { key: authorKey, add: (p) => p.pexpire(authorKey, ttl) },
        { key: authorKey, add: (p) => p.pfcount(authorKey) },
      ]),
    );
    const onFirst: KeyedCommand[] = [];
    if (Number(isFirst) === 1) {
      onFirst.push({ key: firstOnKey, add: (p) => p.sadd(firstOnKey, o.articleKey) }, { key: firstOnKey, add: (p) => p.pexpire(firstOnKey, ttl) });
    }
    onFirst.push({ key: firstOnKey, add: (p) => p.scard(firstOnKey) });
    const firstOn = replyValues(await execPerNode(this.redis, onFirst)).at(-1);
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
    commentFirst(...args: [number, ...(string | number)[]]): Result<number, Context>;
  }
}
