import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import type { ReviewState } from '../domain/review.ts';
import { decideLabelling, detectExplicitLabels, implicitLabelOf } from '../domain/labelling.ts';
import type { Label, Reason, Segment, Verdict } from '../domain/types.ts';
import type { ClusterService } from './clusters.ts';
import type { GroupDetail, QueueArticle, QueueCounts, QueueGroup, ReviewAccount, ReviewArticle } from './review-views.ts';
import {
  type CursorType,
  decodeCursor,
  encodeCursor,
  GROUP_AGGREGATES,
  type GroupRow,
  iso,
  Params,
  QUEUE_COLUMNS,
  QUEUE_JOINS,
  type QueueRow,
  STATE_SQL,
  stateCondition,
  toQueueArticle,
} from './review-queries.ts';
import type { QueuePage, QueueQuery, ReviewSettings } from './review.ts';

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
    const rows = await this.db.query<{ createdAt: Date }>('SELECT created_at AS "createdAt" FROM batches WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    if (!rows[0]) throw new ServiceError('not_found', 'no such batch');
    return rows[0];
  }

  async assertArticle(tenantId: string, id: string): Promise<void> {
    const rows = await this.db.query('SELECT 1 FROM articles WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    if (!rows[0]) throw new ServiceError('not_found', 'no such article');
  }

  /** The queue's filtered rows as a subquery (claims and decisions select from it too). */
  async filteredBase(tenantId: string, q: QueueQuery, params: Params): Promise<string> {
    const where = [`a.tenant_id = ${params.add(tenantId)}`, `a.status = 'scored'`, `a.verdict IN ('flag', 'review')`];
    if (q.verdict?.length) where.push(`a.verdict = ANY(${params.add(q.verdict)}::text[])`);
    if (q.label?.length) where.push(`a.label = ANY(${params.add(q.label)}::text[])`);
    if (q.minScore !== undefined) where.push(`a.score >= ${params.add(q.minScore)}::float8`);
    if (q.maxScore !== undefined) where.push(`a.score <= ${params.add(q.maxScore)}::float8`);
    if (q.accountId) where.push(`a.account_id = ${params.add(q.accountId)}`);
    if (q.modelVersion) where.push(`a.model_version = ${params.add(q.modelVersion)}`);
    if (q.from) where.push(`a.received_at >= ${params.add(q.from)}::timestamptz`);
    if (q.to) where.push(`a.received_at < ${params.add(q.to)}::timestamptz`);
    if (q.batchId) {
      await this.assertBatch(tenantId, q.batchId);
      where.push(`EXISTS (SELECT 1 FROM batch_items bx WHERE bx.article_id = a.id AND bx.batch_id = ${params.add(q.batchId)})`);
    }
    if (q.clusterId) where.push(`cm.cluster_id = ${params.add(await this.resolveCluster(tenantId, q.clusterId))}`);
    return `SELECT ${QUEUE_COLUMNS} ${QUEUE_JOINS} WHERE ${where.join(' AND ')}`;
  }

  /** Counts over the filtered queue, every review state (the state filter is not applied). */
  private async counts(base: string, params: Params): Promise<QueueCounts> {
    const rows = await this.db.query<{ state: ReviewState; verdict: 'flag' | 'review'; n: number; claimed: number }>(
      `WITH q AS (${base}) SELECT state, verdict, count(*)::int AS n, count("claimedBy")::int AS claimed FROM q GROUP BY state, verdict`,
      params.values,
    );
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
    const state = stateCondition(q.state);

    if (q.group === 'article') {
      const keys = q.sort === 'priority' ? ['score', '"clusterSize"', 'id'] : ['"ageUs"', 'id'];
      const types: CursorType[] = q.sort === 'priority' ? ['number', 'int', 'string'] : ['number', 'string'];
      const desc = q.sort === 'priority';
      let after = 'true';
      if (q.cursor) {
        const values = decodeCursor(q.cursor, types);
        const casts = q.sort === 'priority' ? ['::real', '::int', '::text'] : ['::float8', '::text'];
        after = `(${keys.join(', ')}) ${desc ? '<' : '>'} (${values.map((v, i) => params.add(v) + casts[i]).join(', ')})`;
      }
      const rows = await this.db.query<QueueRow>(
        `WITH q AS (${base}) SELECT * FROM q WHERE ${state} AND ${after}
         ORDER BY ${keys.map((k) => `${k} ${desc ? 'DESC' : 'ASC'}`).join(', ')} LIMIT ${limit + 1}`,
        params.values,
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const nextCursor =
        rows.length > limit && last ? encodeCursor(q.sort === 'priority' ? [Number(last.score), Number(last.clusterSize), last.id] : [Number(last.ageUs), last.id]) : null;
      return { items: page.map(toQueueArticle), nextCursor, counts };
    }

    const byCluster = q.group === 'cluster';
    const grouped = byCluster
      ? `SELECT f."clusterId" AS id, max(f."clusterSize")::int AS "clusterSize", ${GROUP_AGGREGATES} FROM f WHERE f."clusterId" IS NOT NULL GROUP BY f."clusterId"`
      : `SELECT bi.batch_id AS id, NULL::int AS "clusterSize", ${GROUP_AGGREGATES} FROM f JOIN batch_items bi ON bi.article_id = f.id GROUP BY bi.batch_id`;
    const keys = q.sort === 'age' ? ['"oldestUs"', 'id'] : byCluster ? ['"clusterSize"', '"maxScore"', 'id'] : ['"maxScore"', 'items', 'id'];
    const types: CursorType[] = q.sort === 'age' ? ['number', 'string'] : byCluster ? ['int', 'number', 'string'] : ['number', 'int', 'string'];
    const casts = q.sort === 'age' ? ['::float8', '::text'] : byCluster ? ['::int', '::real', '::text'] : ['::real', '::int', '::text'];
    const desc = q.sort === 'priority';
    let after = 'true';
    if (q.cursor) {
      const values = decodeCursor(q.cursor, types);
      after = `(${keys.join(', ')}) ${desc ? '<' : '>'} (${values.map((v, i) => params.add(v) + casts[i]).join(', ')})`;
    }
    const rows = await this.db.query<GroupRow>(
      `WITH q AS (${base}), f AS (SELECT * FROM q WHERE ${state}), g AS (${grouped})
       SELECT * FROM g WHERE ${after} ORDER BY ${keys.map((k) => `${k} ${desc ? 'DESC' : 'ASC'}`).join(', ')} LIMIT ${limit + 1}`,
      params.values,
    );
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
    const rows = await this.db.query<
      QueueRow & {
        text: string;
        lang: 'zh' | 'en';
        declaredAi: boolean;
        metadata: Record<string, unknown>;
        publishedAt: Date | null;
        reasons: Reason[] | null;
        segments: Segment[] | null;
        signals: Record<string, unknown> | null;
        scoreId: string | null;
      }
    >(
      `SELECT ${QUEUE_COLUMNS}, a.text, a.lang, a.declared_ai AS "declaredAi", a.metadata, a.published_at AS "publishedAt",
              s.reasons, s.segments, s.signals, s.id AS "scoreId"
       ${QUEUE_JOINS}
       LEFT JOIN LATERAL (SELECT * FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                           AND s.model_version = a.model_version AND s.config_version = a.config_version
                           ORDER BY s.evaluation DESC LIMIT 1) s ON true
       WHERE a.tenant_id = $1 AND a.id = ANY($2::text[])`,
      [tenantId, ids],
    );
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
      const rows = await this.db.query<{ id: string }>('SELECT article_id AS id FROM batch_items WHERE batch_id = $1 ORDER BY idx', [id]);
      memberIds = rows.map((r) => r.id);
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
    const articles = await this.db.query<
      QueueRow & { status: string; signals: { account?: { signals?: { code: string; strength: number; value: number }[] } } | null; scoredAt: Date | null }
    >(
      `SELECT ${QUEUE_COLUMNS}, a.status, a.scored_at AS "scoredAt", s.signals
       ${QUEUE_JOINS}
       LEFT JOIN LATERAL (SELECT * FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                           AND s.model_version = a.model_version AND s.config_version = a.config_version
                           ORDER BY s.evaluation DESC LIMIT 1) s ON true
       WHERE a.tenant_id = $1 AND a.account_id = $2
       ORDER BY a.received_at DESC, a.id DESC LIMIT 500`,
      [tenantId, accountId],
    );
    if (articles.length === 0) throw new ServiceError('not_found', 'no such account');
    const totals = await this.db.query<{ verdict: Verdict | null; label: Label | null; state: ReviewState; n: number }>(
      `SELECT a.verdict, a.label, ${STATE_SQL} AS state, count(*)::int AS n
       FROM articles a LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
       WHERE a.tenant_id = $1 AND a.account_id = $2 GROUP BY 1, 2, 3`,
      [tenantId, accountId],
    );
    const clusters = await this.db.query<{ id: string; size: number; accountCount: number; articleIds: string[] }>(
      `SELECT c.id, c.size, c.account_count AS "accountCount", array_agg(m.article_id ORDER BY m.posted_at) AS "articleIds"
       FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id
       WHERE m.tenant_id = $1 AND m.account_id = $2 GROUP BY c.id, c.size, c.account_count ORDER BY c.size DESC`,
      [tenantId, accountId],
    );
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
