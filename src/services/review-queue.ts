import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { isStorableText } from '../domain/fields.ts';
import { decideLabelling, detectExplicitLabels, implicitLabelOf } from '../domain/labelling.ts';
import {
  accountArticleRows,
  accountClusters,
  accountTotals,
  articleExists,
  batchArticleIds,
  batchCreatedAt,
  iso,
  Params,
  type QueueRow,
  queueArticleRows,
  queueBase,
  queueCounts,
  queueGroupRows,
  reviewArticleRows,
} from '../store/review.ts';
import type { ClusterService } from './clusters.ts';
import type { GroupDetail, QueueArticle, QueueCounts, QueueGroup, ReviewAccount, ReviewArticle } from './review-views.ts';
import type { QueuePage, QueueQuery, ReviewSettings } from './review.ts';

function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

type CursorType = 'number' | 'int' | 'string';

/** A cursor value the database will take for its cast: a crafted cursor answers 422, never a 500. */
function cursorValueFits(x: unknown, type: CursorType): boolean {
  if (type === 'string') return typeof x === 'string' && x.length <= 256 && isStorableText(x);
  if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > 1e30) return false;
  return type === 'number' || (Number.isInteger(x) && Math.abs(x) < 2 ** 31);
}

function decodeCursor(cursor: string, types: CursorType[]): unknown[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === types.length && v.every((x, i) => cursorValueFits(x, types[i]!))) return v;
  } catch {
    // fall through
  }
  throw new ServiceError('validation_failed', 'invalid cursor', [{ path: 'cursor', message: 'not a cursor this endpoint issued' }]);
}

function toQueueArticle(r: QueueRow): QueueArticle {
  return {
    kind: 'article',
    id: r.id,
    externalId: r.externalId,
    accountId: r.accountId,
    title: r.title,
    score: Number(r.score),
    label: r.label,
    verdict: r.verdict,
    modelVersion: r.modelVersion,
    configVersion: r.configVersion,
    receivedAt: iso(r.receivedAt) as string,
    state: r.state,
    decision: r.decision,
    clusterId: r.clusterId,
    clusterSize: Number(r.clusterSize),
    batchId: r.batchId,
    claim: r.claimedBy ? { moderator: r.claimedBy, expiresAt: iso(r.claimExpiresAt) as string } : null,
  };
}

/** Review reads: the queue (alone or grouped by batch or cluster), article and group details, account views. */
export class ReviewQueue {
  constructor(
    private readonly db: Db,
    private readonly clusters: ClusterService,
    readonly settings: ReviewSettings,
  ) {}

  // ---------------------------------------------------------------- queue

  /** The live id of a cluster (ids merged away resolve to the survivor); 404 for another tenant's. */
  async resolveCluster(tenantId: string, id: string): Promise<string> {
    const cluster = await this.clusters.get(tenantId, id, { memberLimit: 1 });
    if (!cluster) throw new ServiceError('not_found', 'no such cluster');
    return cluster.id;
  }

  async assertBatch(tenantId: string, id: string): Promise<{ createdAt: Date }> {
    const batch = await batchCreatedAt(this.db, tenantId, id);
    if (!batch) throw new ServiceError('not_found', 'no such batch');
    return batch;
  }

  async assertArticle(tenantId: string, id: string): Promise<void> {
    if (!(await articleExists(this.db, tenantId, id))) throw new ServiceError('not_found', 'no such article');
  }

  /** The queue's filtered rows as a subquery (claims and decisions select from it too). */
  async filteredBase(tenantId: string, q: QueueQuery, params: Params): Promise<string> {
    if (q.batchId) await this.assertBatch(tenantId, q.batchId);
    const clusterId = q.clusterId ? await this.resolveCluster(tenantId, q.clusterId) : undefined;
    return queueBase(tenantId, { ...q, clusterId }, params);
  }

  /** Counts over the filtered queue, every review state (the state filter is not applied). */
  private async counts(base: string, params: Params): Promise<QueueCounts> {
    const rows = await queueCounts(this.db, base, params);
    const counts: QueueCounts = { total: 0, byState: { pending: 0, escalated: 0, decided: 0 }, byVerdict: { flag: 0, review: 0 }, claimed: 0 };
    for (const r of rows) {
      counts.total += r.n;
      counts.byState[r.state] += r.n;
      counts.byVerdict[r.verdict] += r.n;
      counts.claimed += r.claimed;
    }
    return counts;
  }

  /**
   * One page of the review queue, by priority (score, then cluster size) or by age (oldest
   * first), as single articles or grouped by batch or cluster; `counts` cover the filter.
   */
  async queue(tenantId: string, q: QueueQuery): Promise<QueuePage<QueueArticle | QueueGroup>> {
    const params = new Params();
    const base = await this.filteredBase(tenantId, q, params);
    const counts = await this.counts(base, params);
    const limit = Math.min(Math.max(q.limit, 1), 500);

    if (q.group === 'article') {
      const types: CursorType[] = q.sort === 'priority' ? ['number', 'int', 'string'] : ['number', 'string'];
      const after = q.cursor ? decodeCursor(q.cursor, types) : null;
      const rows = await queueArticleRows(this.db, base, params, { state: q.state, sort: q.sort, after, limit });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextCursor =
        rows.length > limit && last ? encodeCursor(q.sort === 'priority' ? [Number(last.score), Number(last.clusterSize), last.id] : [Number(last.ageUs), last.id]) : null;
      return { items: page.map(toQueueArticle), nextCursor, counts };
    }

    const byCluster = q.group === 'cluster';
    const types: CursorType[] = q.sort === 'age' ? ['number', 'string'] : byCluster ? ['int', 'number', 'string'] : ['number', 'int', 'string'];
    const after = q.cursor ? decodeCursor(q.cursor, types) : null;
    const rows = await queueGroupRows(this.db, base, params, byCluster, { state: q.state, sort: q.sort, after, limit });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    let nextCursor: string | null = null;
    if (rows.length > limit && last) {
      const values =
        q.sort === 'age'
          ? [Number(last.oldestUs), last.id]
          : byCluster
            ? [Number(last.clusterSize), Number(last.maxScore), last.id]
            : [Number(last.maxScore), Number(last.items), last.id];
      nextCursor = encodeCursor(values);
    }
    return {
      items: page.map((r) => ({
        kind: byCluster ? 'cluster' : 'batch',
        id: r.id,
        items: Number(r.items),
        pending: Number(r.pending),
        escalated: Number(r.escalated),
        decided: Number(r.decided),
        flagged: Number(r.flagged),
        maxScore: Number(r.maxScore),
        accounts: Number(r.accounts),
        oldestAt: new Date(Number(r.oldestUs) / 1000).toISOString(),
        clusterSize: r.clusterSize === null ? null : Number(r.clusterSize),
        claimedBy: r.claimedBy ?? [],
      })),
      nextCursor,
      counts,
    };
  }

  // ---------------------------------------------------------------- details

  /** Articles with their current score's evidence, review state and claim, in the order given. */
  async articles(tenantId: string, ids: readonly string[]): Promise<ReviewArticle[]> {
    if (ids.length === 0) return [];
    const rows = await reviewArticleRows(this.db, tenantId, ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const r = byId.get(id);
      if (!r) return [];
      const { kind: _kind, ...base } = toQueueArticle(r);
      return [
        {
          ...base,
          score: r.score === null ? 0 : Number(r.score),
          text: r.text,
          lang: r.lang,
          declaredAi: r.declaredAi,
          publishedAt: iso(r.publishedAt),
          reasons: r.reasons ?? [],
          segments: r.segments ?? [],
          signals: r.signals ?? {},
          scoreId: r.scoreId,
          labelling: decideLabelling({
            implicit: implicitLabelOf(r.metadata),
            declaredAi: r.declaredAi,
            explicit: detectExplicitLabels({ title: r.title, text: r.text }),
            verdict: r.verdict,
            contentId: r.externalId,
            propagator: this.settings.propagator ?? 'slopguard',
          }),
        },
      ];
    });
  }

  async article(tenantId: string, id: string): Promise<ReviewArticle> {
    const [found] = await this.articles(tenantId, [id]);
    if (!found) throw new ServiceError('not_found', 'no such article');
    return found;
  }

  /** A batch or cluster with its members side by side (at most 200). */
  async group(tenantId: string, kind: 'batch' | 'cluster', id: string): Promise<GroupDetail> {
    let memberIds: string[];
    let createdAt: string | null = null;
    let cluster: GroupDetail['cluster'] = null;
    let liveId = id;
    if (kind === 'batch') {
      createdAt = iso((await this.assertBatch(tenantId, id)).createdAt);
      memberIds = await batchArticleIds(this.db, id);
    } else {
      const found = await this.clusters.get(tenantId, id, { memberLimit: 10_000 });
      if (!found) throw new ServiceError('not_found', 'no such cluster');
      liveId = found.id;
      createdAt = found.createdAt;
      memberIds = found.articleIds;
      cluster = { accounts: found.accounts, spanSeconds: found.spanSeconds, maxSimilarity: found.maxSimilarity };
    }
    const params = new Params();
    const base = await this.filteredBase(
      tenantId,
      { group: 'article', sort: 'priority', state: 'all', limit: 1, ...(kind === 'batch' ? { batchId: id } : { clusterId: liveId }) },
      params,
    );
    return {
      kind,
      id: liveId,
      createdAt,
      members: memberIds.length,
      articles: await this.articles(tenantId, memberIds.slice(0, 200)),
      counts: await this.counts(base, params),
      cluster,
    };
  }

  /** An account: its articles, verdicts, signals over time, cluster memberships. */
  async account(tenantId: string, accountId: string): Promise<ReviewAccount> {
    const articles = await accountArticleRows(this.db, tenantId, accountId);
    if (articles.length === 0) throw new ServiceError('not_found', 'no such account');
    const totals = await accountTotals(this.db, tenantId, accountId);
    const clusters = await accountClusters(this.db, tenantId, accountId);
    const byVerdict: Record<string, number> = {};
    const byLabel: Record<string, number> = {};
    const byState: Record<string, number> = {};
    let total = 0;
    for (const t of totals) {
      total += t.n;
      if (t.verdict) byVerdict[t.verdict] = (byVerdict[t.verdict] ?? 0) + t.n;
      if (t.label) byLabel[t.label] = (byLabel[t.label] ?? 0) + t.n;
      byState[t.state] = (byState[t.state] ?? 0) + t.n;
    }
    return {
      accountId,
      total,
      byVerdict,
      byLabel,
      byState,
      articles: articles.map((r) => {
        const { kind: _queueKind, ...article } = toQueueArticle(r);
        return { ...article, status: r.status, score: r.score === null ? null : Number(r.score) };
      }),
      signals: articles
        .filter((r) => r.scoredAt)
        .map((r) => ({
          articleId: r.id,
          at: iso(r.scoredAt) as string,
          score: r.score === null ? null : Number(r.score),
          verdict: r.verdict,
          fired: (r.signals?.account?.signals ?? []).map((s) => ({ code: s.code, strength: s.strength, value: s.value })),
        }))
        .reverse(),
      clusters: clusters.map((c) => ({ id: c.id, size: Number(c.size), accountCount: Number(c.accountCount), articleIds: c.articleIds })),
    };
  }
}
