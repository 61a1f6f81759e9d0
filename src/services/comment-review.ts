import { createHash } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import type { Reason } from '../domain/types.ts';
import { type CommentDecision, commentIdsOfTemplate, decideComments, type ReviewComment, reviewComments, templateMemberships, templateSizes } from '../store/comments.ts';

export const COMMENT_GROUPINGS = ['none', 'article', 'template', 'account_cluster'] as const;
export type CommentGrouping = (typeof COMMENT_GROUPINGS)[number];

/** One comment as a moderator sees it: the article it answers and the passage it matches beside it. */
export interface CommentCard {
  id: string;
  externalId: string;
  accountId: string;
  articleExternalId: string;
  articleTitle: string | null;
  /** The article passage the comment matches best (null: none, or the article is not stored). */
  passage: { start: number; end: number; text: string } | null;
  text: string;
  score: number | null;
  verdict: string | null;
  label: string | null;
  templateId: string | null;
  accountClusterId: string | null;
  reviewState: ReviewComment['reviewState'];
  decision: CommentDecision | null;
  reasons: Pick<Reason, 'code' | 'source' | 'contribution' | 'message'>[];
}

export interface CommentGroup {
  type: CommentGrouping;
  /** The article's external id, the template id, or the account cluster id ('' when ungrouped). */
  key: string;
  title: string | null;
  accounts: string[];
  comments: CommentCard[];
  /** Comments a decision over the whole group touches (a template's every comment, flagged or not). */
  size: number;
}

export type CommentTarget = { type: 'comments'; commentIds: string[] } | { type: 'template'; templateId: string } | { type: 'account_cluster'; clusterId: string };

const passageSchema = (v: unknown): CommentCard['passage'] => {
  const p = (v as { passage?: unknown } | null)?.passage as { start?: unknown; end?: unknown; text?: unknown } | null | undefined;
  return p && typeof p.start === 'number' && typeof p.end === 'number' && typeof p.text === 'string' ? { start: p.start, end: p.end, text: p.text } : null;
};

/**
 * Clusters of accounts that share templates: accounts are joined when they posted comments of
 * the same template (union-find over the tenant's template memberships). A cluster id names its
 * smallest account, so it is stable while the cluster does not merge with another.
 */
export function accountClusters(memberships: readonly { accountId: string; templateId: string }[]): Map<string, { id: string; accounts: string[] }> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    let y = x;
    while (parent.get(y) !== r) {
      const next = parent.get(y)!;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  const firstOfTemplate = new Map<string, string>();
  for (const { accountId, templateId } of memberships) {
    if (!parent.has(accountId)) parent.set(accountId, accountId);
    const other = firstOfTemplate.get(templateId);
    if (other === undefined) firstOfTemplate.set(templateId, accountId);
    else {
      const a = find(accountId);
      const b = find(other);
      // biome-ignore lint/complexity/useMathMinMax: account ids are strings, not numbers
      if (a !== b) parent.set(a < b ? b : a, a < b ? a : b);
    }
  }
  const members = new Map<string, string[]>();
  for (const account of parent.keys()) {
    const root = find(account);
    members.set(root, [...(members.get(root) ?? []), account]);
  }
  const out = new Map<string, { id: string; accounts: string[] }>();
  for (const [root, accounts] of members) {
    if (accounts.length < 2) continue;
    const cluster = { id: `acl_${createHash('sha1').update(root).digest('hex').slice(0, 16)}`, accounts: accounts.sort() };
    for (const a of accounts) out.set(a, cluster);
  }
  return out;
}

/**
 * The comment review queue: comments with a `flag` or `review` verdict, grouped by the article
 * they answer, the template they share or the account cluster; decisions over a selection, a
 * whole template or a whole account cluster in one transaction.
 */
export class CommentReviewService {
  constructor(
    private readonly db: Db,
    private readonly settings: { maxBulkItems: number; maxMemberships: number },
  ) {}

  private async clusters(tenantId: string) {
    return accountClusters(await templateMemberships(this.db, tenantId, this.settings.maxMemberships));
  }

  async queue(
    tenantId: string,
    query: { group: CommentGrouping; state: 'open' | 'decided' | 'all'; limit: number; template?: string; article?: string; cluster?: string },
  ): Promise<{ groups: CommentGroup[]; total: number }> {
    const clusters = await this.clusters(tenantId);
    const accountIds = query.cluster ? ([...clusters.values()].find((c) => c.id === query.cluster)?.accounts ?? []) : undefined;
    const rows = await reviewComments(this.db, tenantId, {
      state: query.state,
      limit: query.limit,
      ...(query.template ? { templateId: query.template } : {}),
      ...(query.article ? { articleExternalId: query.article } : {}),
      ...(accountIds ? { accountIds } : {}),
    });
    const cards = rows.map(
      (r): CommentCard => ({
        id: r.id,
        externalId: r.externalId,
        accountId: r.accountId,
        articleExternalId: r.articleExternalId,
        articleTitle: r.articleTitle,
        passage: passageSchema(r.signals.relevance),
        text: r.text,
        score: r.score,
        verdict: r.verdict,
        label: r.label,
        templateId: r.templateId,
        accountClusterId: clusters.get(r.accountId)?.id ?? null,
        reviewState: r.reviewState,
        decision: r.decision,
        reasons: r.reasons.slice(0, 4).map(({ code, source, contribution, message }) => ({ code, source, contribution, message })),
      }),
    );
    const keyOf = (c: CommentCard): string =>
      query.group === 'article'
        ? c.articleExternalId
        : query.group === 'template'
          ? (c.templateId ?? `single:${c.id}`)
          : query.group === 'account_cluster'
            ? (c.accountClusterId ?? `account:${c.accountId}`)
            : '';
    const groups = new Map<string, CommentGroup>();
    for (const card of cards) {
      const key = keyOf(card);
      let g = groups.get(key);
      if (!g) {
        g = { type: query.group, key, title: query.group === 'article' ? card.articleTitle : null, accounts: [], comments: [], size: 0 };
        groups.set(key, g);
      }
      g.comments.push(card);
      if (!g.accounts.includes(card.accountId)) g.accounts.push(card.accountId);
    }
    const sizes =
      query.group === 'template'
        ? await templateSizes(
            this.db,
            tenantId,
            [...groups.keys()].filter((k) => k.startsWith('tpl_')),
          )
        : new Map<string, number>();
    for (const g of groups.values()) g.size = sizes.get(g.key) ?? g.comments.length;
    // Largest groups first: a template posted by thirty accounts is the moderator's first stop.
    const ordered = [...groups.values()].sort((a, b) => b.comments.length - a.comments.length || a.key.localeCompare(b.key));
    return { groups: ordered, total: cards.length };
  }

  /** One decision over a selection, a template cluster or an account cluster: one transaction, idempotent. */
  async decide(who: { tenantId: string; keyId: string }, target: CommentTarget, decision: CommentDecision, note: string | null) {
    let ids: string[];
    if (target.type === 'comments') ids = [...new Set(target.commentIds)];
    else if (target.type === 'template') ids = await commentIdsOfTemplate(this.db, who.tenantId, target.templateId, this.settings.maxBulkItems + 1);
    else {
      const cluster = [...(await this.clusters(who.tenantId)).values()].find((c) => c.id === target.clusterId);
      if (!cluster) throw new ServiceError('not_found', 'no such account cluster');
      const rows = await reviewComments(this.db, who.tenantId, { state: 'all', accountIds: cluster.accounts, limit: this.settings.maxBulkItems + 1 });
      ids = rows.map((r) => r.id);
    }
    if (ids.length === 0) throw new ServiceError('not_found', 'nothing to decide: no such comments');
    if (ids.length > this.settings.maxBulkItems) throw new ServiceError('payload_too_large', `one decision may touch at most ${this.settings.maxBulkItems} comments`);
    const result = await decideComments(this.db, { tenantId: who.tenantId, actor: who.keyId, commentIds: ids, decision, note, target });
    if (target.type === 'comments' && result.missing > 0 && result.decided.length + result.unchanged === 0) throw new ServiceError('not_found', 'no such comments');
    return { decided: result.decided.length, unchanged: result.unchanged, commentIds: result.decided };
  }
}
