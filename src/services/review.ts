import { createHash } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { isStorableText } from '../domain/fields.ts';
import {
  type Decision,
  type Grouping,
  type QueueSort,
  type ReviewState,
  type StateFilter,
  stateAfter,
  trainingLabel,
} from '../domain/review.ts';
import { decideLabelling, detectExplicitLabels, implicitLabelOf, type Labelling } from '../domain/labelling.ts';
import type { Label, Reason, Segment, Verdict } from '../domain/types.ts';
import type { ClusterService } from './clusters.ts';
import type {
  AuditEvent,
  ClaimResult,
  ClaimRow,
  DecisionResult,
  GroupDetail,
  QueueArticle,
  QueueCounts,
  QueueGroup,
  ReviewAccount,
  ReviewArticle,
} from './review-views.ts';

/**
 * Moderator review over the record: the queue (flagged and review-verdict articles, alone or
 * grouped by submission batch or account cluster), exclusive leased claims, single and bulk
 * decisions as append-only events with a derived state, account views, audit and the
 * labelled export.
 *
 * Claims and decisions lock the articles they touch (`FOR NO KEY UPDATE`, in id order), so
 * two moderators racing for one item serialise in Postgres and exactly one wins; a claim row
 * whose lease ran out is free and is taken over by a conditional upsert.
 *
 * Example:
 *   const page = await review.queue('t1', { group: 'cluster', sort: 'priority', state: 'open', limit: 20 });
 *   // { items: [{ kind: 'cluster', id: 'cl_…', items: 12, pending: 12, maxScore: 0.91, … }], nextCursor, counts }
 *   await review.claim(who, { type: 'cluster', id: 'cl_…' });           // { claimed: [...12 ids], expiresAt }
 *   await review.decide(who, { type: 'cluster', id: 'cl_…' }, 'confirm_ai_undeclared', 'farm');
 */

export interface Moderator {
  tenantId: string;
  /** The API key id: the actor of every event. */
  keyId: string;
}

export type ReviewTarget =
  | { type: 'selection'; articleIds: string[] }
  | { type: 'batch'; id: string }
  | { type: 'cluster'; id: string };

export interface QueueQuery {
  group: Grouping;
  sort: QueueSort;
  state: StateFilter;
  verdict?: ('flag' | 'review')[];
  label?: Label[];
  minScore?: number;
  maxScore?: number;
  accountId?: string;
  batchId?: string;
  clusterId?: string;
  /** Received at or after / before (ISO). */
  from?: string;
  to?: string;
  modelVersion?: string;
  cursor?: string | null;
  limit: number;
}

export interface QueuePage<T> {
  items: T[];
  nextCursor: string | null;
  counts: QueueCounts;
}

export interface AuditQuery {
  articleId?: string;
  batchId?: string;
  clusterId?: string;
  actor?: string;
  type?: string;
  /** The last id of the previous page: the next page starts after it (before it, newest first). */
  after?: number;
  /** Newest first (the console's log); exports and the API default to id order. */
  newestFirst?: boolean;
  limit: number;
}

/** One line of the labelled export: the `../shared/datasets` record format. */
export interface LabelledRecord {
  text: string;
  label: 'human' | 'ai';
  lang: 'zh' | 'en';
  source: string;
  generator: null;
  id: string;
  group: string;
  orig_label: Decision;
}

export interface ReviewSettings {
  leaseSeconds: number;
  maxLeaseSeconds: number;
  /** Most articles one claim or decision may touch. */
  maxBulkItems: number;
  /** This platform's name or code for the labelling's propagation metadata (LABEL_PROPAGATOR). */
  propagator?: string;
}

const iso = (v: Date | string | null | undefined): string | null => (v === null || v === undefined ? null : new Date(v).toISOString());
const sha16 = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 16);

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

/** Collects positional parameters while a query is assembled. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const STATE_SQL = `CASE WHEN rs.revision = a.revision THEN rs.state ELSE 'pending' END`;

const QUEUE_COLUMNS = `a.id, a.external_id AS "externalId", a.account_id AS "accountId", a.title, a.score, a.label, a.verdict,
  a.model_version AS "modelVersion", a.config_version AS "configVersion", a.received_at AS "receivedAt", a.revision,
  (extract(epoch FROM a.received_at) * 1000000)::float8 AS "ageUs",
  ${STATE_SQL} AS state,
  CASE WHEN rs.revision = a.revision THEN rs.decision END AS decision,
  cm.cluster_id AS "clusterId", COALESCE(c.size, 0)::int AS "clusterSize",
  (SELECT max(bi.batch_id) FROM batch_items bi WHERE bi.article_id = a.id) AS "batchId",
  cl.moderator AS "claimedBy", cl.expires_at AS "claimExpiresAt"`;

const QUEUE_JOINS = `FROM articles a
  LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
  LEFT JOIN cluster_members cm ON cm.tenant_id = a.tenant_id AND cm.article_id = a.id
  LEFT JOIN clusters c ON c.id = cm.cluster_id AND c.tenant_id = a.tenant_id
  LEFT JOIN review_claims cl ON cl.tenant_id = a.tenant_id AND cl.article_id = a.id AND cl.expires_at > now()`;

interface QueueRow {
  id: string;
  externalId: string;
  accountId: string;
  title: string | null;
  score: number;
  label: Label;
  verdict: Verdict;
  modelVersion: string;
  configVersion: string;
  receivedAt: Date;
  revision: number;
  ageUs: number;
  state: ReviewState;
  decision: Decision | null;
  clusterId: string | null;
  clusterSize: number;
  batchId: string | null;
  claimedBy: string | null;
  claimExpiresAt: Date | null;
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

function stateCondition(state: StateFilter): string {
  switch (state) {
    case 'open':
      return `state IN ('pending', 'escalated')`;
    case 'all':
      return 'true';
    default:
      return `state = '${state}'`;
  }
}

export class ReviewService {
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

  private async filteredBase(tenantId: string, q: QueueQuery, params: Params): Promise<string> {
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
        rows.length > limit && last
          ? encodeCursor(q.sort === 'priority' ? [Number(last.score), Number(last.clusterSize), last.id] : [Number(last.ageUs), last.id])
          : null;
      return { items: page.map(toQueueArticle), nextCursor, counts };
    }

    const byCluster = q.group === 'cluster';
    const grouped = byCluster
      ? `SELECT f."clusterId" AS id, max(f."clusterSize")::int AS "clusterSize", ${GROUP_AGGREGATES} FROM f WHERE f."clusterId" IS NOT NULL GROUP BY f."clusterId"`
      : `SELECT bi.batch_id AS id, NULL::int AS "clusterSize", ${GROUP_AGGREGATES} FROM f JOIN batch_items bi ON bi.article_id = f.id GROUP BY bi.batch_id`;
    const keys =
      q.sort === 'age' ? ['"oldestUs"', 'id'] : byCluster ? ['"clusterSize"', '"maxScore"', 'id'] : ['"maxScore"', 'items', 'id'];
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
      QueueRow & { text: string; lang: 'zh' | 'en'; declaredAi: boolean; metadata: Record<string, unknown>; publishedAt: Date | null; reasons: Reason[] | null; segments: Segment[] | null; signals: Record<string, unknown> | null; scoreId: string | null }
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
    const base = await this.filteredBase(tenantId, { group: 'article', sort: 'priority', state: 'all', limit: 1, ...(kind === 'batch' ? { batchId: id } : { clusterId: liveId }) }, params);
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
    const articles = await this.db.query<QueueRow & { status: string; signals: { account?: { signals?: { code: string; strength: number; value: number }[] } } | null; scoredAt: Date | null }>(
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

  // ---------------------------------------------------------------- claims and decisions

  /** Article ids a target names; for groups, their open queue items. 404 for unknown targets. */
  private async targetIds(tenantId: string, target: ReviewTarget, openOnly: boolean): Promise<{ ids: string[]; scopeId: string | null }> {
    if (target.type === 'selection') {
      const ids = [...new Set(target.articleIds)];
      if (ids.length > this.settings.maxBulkItems) {
        throw new ServiceError('payload_too_large', `at most ${this.settings.maxBulkItems} articles per request`, { limit: this.settings.maxBulkItems });
      }
      return { ids, scopeId: null };
    }
    const params = new Params();
    const scope = target.type === 'batch' ? { batchId: target.id } : { clusterId: target.id };
    const base = await this.filteredBase(tenantId, { group: 'article', sort: 'priority', state: 'all', limit: 1, ...scope }, params);
    const rows = await this.db.query<{ id: string }>(
      `WITH q AS (${base}) SELECT id FROM q WHERE ${openOnly ? stateCondition('open') : 'true'} ORDER BY id`,
      params.values,
    );
    if (rows.length > this.settings.maxBulkItems) {
      throw new ServiceError('payload_too_large', `the ${target.type} holds more than ${this.settings.maxBulkItems} open items; decide a selection`, {
        limit: this.settings.maxBulkItems,
      });
    }
    const scopeId = target.type === 'cluster' ? await this.resolveCluster(tenantId, target.id) : target.id;
    return { ids: rows.map((r) => r.id), scopeId };
  }

  /**
   * Claims every item of the target for `leaseSeconds`, all or nothing: when another
   * moderator holds a live claim on any of them, nothing is claimed and the answer is 409
   * with the holders. Claiming again what one holds renews the lease.
   */
  async claim(who: Moderator, target: ReviewTarget, leaseSeconds = this.settings.leaseSeconds): Promise<ClaimResult> {
    const lease = Math.min(Math.max(1, Math.floor(leaseSeconds)), this.settings.maxLeaseSeconds);
    const { ids, scopeId } = await this.targetIds(who.tenantId, target, true);
    const scopeType = target.type === 'selection' ? (ids.length === 1 ? 'article' : 'selection') : target.type;
    return this.db.transaction(async (tx) => {
      const locked = await tx.query<{ id: string }>(
        'SELECT id FROM articles WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR NO KEY UPDATE',
        [who.tenantId, ids],
      );
      if (locked.length !== ids.length) {
        const found = new Set(locked.map((r) => r.id));
        throw new ServiceError('not_found', 'no such article', { missing: ids.filter((id) => !found.has(id)).slice(0, 50) });
      }
      const claimed = await tx.query<{ id: string; expiresAt: Date }>(
        `INSERT INTO review_claims AS rc (tenant_id, article_id, moderator, scope_type, scope_id, expires_at)
         SELECT $1, x.id, $2, $3, $4, now() + make_interval(secs => $5) FROM unnest($6::text[]) AS x(id) ORDER BY x.id
         ON CONFLICT (tenant_id, article_id) DO UPDATE
           SET moderator = EXCLUDED.moderator, scope_type = EXCLUDED.scope_type, scope_id = EXCLUDED.scope_id,
               claimed_at = CASE WHEN rc.moderator = EXCLUDED.moderator AND rc.expires_at > now() THEN rc.claimed_at ELSE now() END,
               expires_at = EXCLUDED.expires_at
           WHERE rc.expires_at <= now() OR rc.moderator = EXCLUDED.moderator
         RETURNING article_id AS id, expires_at AS "expiresAt"`,
        [who.tenantId, who.keyId, scopeType, scopeId ?? (ids.length === 1 ? ids[0] : null), lease, ids],
      );
      if (claimed.length !== ids.length) {
        const conflicts = await tx.query<{ articleId: string; moderator: string; expiresAt: Date }>(
          `SELECT article_id AS "articleId", moderator, expires_at AS "expiresAt" FROM review_claims
           WHERE tenant_id = $1 AND article_id = ANY($2::text[]) AND moderator <> $3 AND expires_at > now() ORDER BY article_id LIMIT 100`,
          [who.tenantId, ids, who.keyId],
        );
        throw new ServiceError('conflict', 'another moderator holds some of these items', {
          conflicts: conflicts.map((c) => ({ ...c, expiresAt: iso(c.expiresAt) })),
        });
      }
      return {
        moderator: who.keyId,
        claimed: claimed.map((c) => c.id).sort(),
        expiresAt: iso(claimed[0]?.expiresAt ?? null),
        leaseSeconds: lease,
      };
    });
  }

  /** Gives back the caller's claims on the target's items. */
  async release(who: Moderator, target: ReviewTarget): Promise<{ released: number }> {
    const { ids } = await this.targetIds(who.tenantId, target, false);
    const rows = await this.db.query(
      'DELETE FROM review_claims WHERE tenant_id = $1 AND moderator = $2 AND article_id = ANY($3::text[]) RETURNING article_id',
      [who.tenantId, who.keyId, ids],
    );
    return { released: rows.length };
  }

  /** Live claims of the tenant, optionally of one moderator. */
  async listClaims(tenantId: string, moderator?: string): Promise<ClaimRow[]> {
    const rows = await this.db.query<{ articleId: string; moderator: string; scopeType: string; scopeId: string | null; claimedAt: Date; expiresAt: Date }>(
      `SELECT article_id AS "articleId", moderator, scope_type AS "scopeType", scope_id AS "scopeId", claimed_at AS "claimedAt", expires_at AS "expiresAt"
       FROM review_claims WHERE tenant_id = $1 AND expires_at > now() AND ($2::text IS NULL OR moderator = $2)
       ORDER BY expires_at, article_id LIMIT 5000`,
      [tenantId, moderator ?? null],
    );
    return rows.map((r) => ({ ...r, claimedAt: iso(r.claimedAt), expiresAt: iso(r.expiresAt) }));
  }

  /**
   * Decides every item of the target in one transaction: all or nothing. Unknown ids answer
   * 404, unscored ones and items another moderator holds 409; an item already carrying this
   * decision on its current revision is left alone (idempotent), every other one gets a
   * `review.decided` event (actor, comment, model and config version at the time) and its
   * derived state. The caller's claims on the items are released.
   */
  async decide(who: Moderator, target: ReviewTarget, decision: Decision, comment: string | null = null): Promise<DecisionResult> {
    const { ids, scopeId } = await this.targetIds(who.tenantId, target, false);
    const outcome = await this.db.transaction(async (tx) => {
      const rows = await tx.query<{
        id: string;
        revision: number;
        status: string;
        score: number;
        label: Label;
        verdict: Verdict;
        modelVersion: string;
        configVersion: string;
        reviewedRevision: number | null;
        current: Decision | null;
        holder: string | null;
      }>(
        `SELECT a.id, a.revision, a.status, a.score, a.label, a.verdict,
                a.model_version AS "modelVersion", a.config_version AS "configVersion",
                rs.revision AS "reviewedRevision", rs.decision AS current, cl.moderator AS holder
         FROM articles a
         LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
         LEFT JOIN review_claims cl ON cl.tenant_id = a.tenant_id AND cl.article_id = a.id AND cl.expires_at > now()
         WHERE a.tenant_id = $1 AND a.id = ANY($2::text[]) ORDER BY a.id FOR NO KEY UPDATE OF a`,
        [who.tenantId, ids],
      );
      if (rows.length !== ids.length) {
        const found = new Set(rows.map((r) => r.id));
        throw new ServiceError('not_found', 'no such article', { missing: ids.filter((id) => !found.has(id)).slice(0, 50) });
      }
      const unscored = rows.filter((r) => r.status !== 'scored');
      if (unscored.length > 0) {
        throw new ServiceError('conflict', 'some articles are not scored yet', { unscored: unscored.map((r) => r.id).slice(0, 50) });
      }
      const held = rows.filter((r) => r.holder !== null && r.holder !== who.keyId);
      if (held.length > 0) {
        throw new ServiceError('conflict', 'another moderator holds some of these items', {
          conflicts: held.slice(0, 100).map((r) => ({ articleId: r.id, moderator: r.holder })),
        });
      }
      const changed = rows.filter((r) => !(r.reviewedRevision === r.revision && r.current === decision));
      const targetRef = { type: target.type, id: scopeId };
      const eventIds = new Map<string, number>();
      if (changed.length > 0) {
        const inserted = await tx.query<{ id: number; subjectId: string }>(
          `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
           SELECT $1, 'article', x.id, 'review.decided', $2, x.payload, x.model_version, x.config_version
           FROM jsonb_to_recordset($3::jsonb) AS x(id text, payload jsonb, model_version text, config_version text)
           RETURNING id, subject_id AS "subjectId"`,
          [
            who.tenantId,
            who.keyId,
            JSON.stringify(
              changed.map((r) => ({
                id: r.id,
                model_version: r.modelVersion,
                config_version: r.configVersion,
                payload: {
                  decision,
                  comment,
                  previous: r.reviewedRevision === r.revision ? r.current : null,
                  revision: r.revision,
                  score: Number(r.score),
                  verdict: r.verdict,
                  label: r.label,
                  target: targetRef,
                  bulk: ids.length,
                },
              })),
            ),
          ],
        );
        for (const e of inserted) eventIds.set(e.subjectId, Number(e.id));
        await tx.query(
          `INSERT INTO review_state AS rs (tenant_id, article_id, revision, state, decision, comment, decided_by, decided_at, decisions, last_event_id)
           SELECT $1, x.id, x.revision, $3, $4, $5, $2, now(), 1, x.event_id
           FROM jsonb_to_recordset($6::jsonb) AS x(id text, revision int, event_id bigint)
           ON CONFLICT (tenant_id, article_id) DO UPDATE
             SET revision = EXCLUDED.revision, state = EXCLUDED.state, decision = EXCLUDED.decision, comment = EXCLUDED.comment,
                 decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at, decisions = rs.decisions + 1,
                 last_event_id = EXCLUDED.last_event_id`,
          [
            who.tenantId,
            who.keyId,
            stateAfter(decision),
            decision,
            comment,
            JSON.stringify(changed.map((r) => ({ id: r.id, revision: r.revision, event_id: eventIds.get(r.id) }))),
          ],
        );
        if (target.type !== 'selection') {
          await tx.query(
            `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, $2, $3, 'review.bulk_decided', $4, $5::jsonb)`,
            [who.tenantId, target.type, scopeId, who.keyId, JSON.stringify({ decision, comment, items: ids.length, decided: changed.length })],
          );
        }
      }
      await tx.query('DELETE FROM review_claims WHERE tenant_id = $1 AND moderator = $2 AND article_id = ANY($3::text[])', [who.tenantId, who.keyId, ids]);
      const result: DecisionResult = {
        decision,
        target: targetRef,
        requested: ids.length,
        decided: changed.length,
        unchanged: ids.length - changed.length,
        items: rows.map((r) => ({ articleId: r.id, state: stateAfter(decision), decision, eventId: eventIds.get(r.id) ?? null })),
      };
      return result;
    });
    // The platform's webhook hears of it through the `review.decided` events just committed
    // (the outbox: `outbox/dispatcher.ts`), not from here.
    return outcome;
  }

  // ---------------------------------------------------------------- audit and export

  /** Events in id order (or newest first), for an article, batch (its own and its articles'), cluster, or actor. */
  async audit(tenantId: string, q: AuditQuery): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
    const params = new Params();
    const where = [`e.tenant_id = ${params.add(tenantId)}`];
    if (q.articleId) {
      await this.assertArticle(tenantId, q.articleId);
      where.push(`e.subject_type = 'article' AND e.subject_id = ${params.add(q.articleId)}`);
    }
    if (q.batchId) {
      await this.assertBatch(tenantId, q.batchId);
      const p = params.add(q.batchId);
      where.push(
        `((e.subject_type = 'batch' AND e.subject_id = ${p}) OR (e.subject_type = 'article' AND e.subject_id IN (SELECT article_id FROM batch_items WHERE batch_id = ${p})))`,
      );
    }
    if (q.clusterId) {
      const live = await this.resolveCluster(tenantId, q.clusterId);
      const p = params.add(live);
      where.push(
        `((e.subject_type = 'cluster' AND e.subject_id = ${p}) OR (e.subject_type = 'article' AND e.subject_id IN (SELECT article_id FROM cluster_members WHERE tenant_id = e.tenant_id AND cluster_id = ${p})))`,
      );
    }
    if (q.actor) where.push(`e.actor = ${params.add(q.actor)}`);
    if (q.type) where.push(`e.type = ${params.add(q.type)}`);
    if (q.after !== undefined) where.push(`e.id ${q.newestFirst ? '<' : '>'} ${params.add(q.after)}::bigint`);
    const limit = Math.min(Math.max(q.limit, 1), 5000);
    const rows = await this.db.query<{ id: number; at: Date; type: string; subjectType: string; subjectId: string; actor: string; payload: Record<string, unknown>; modelVersion: string | null; configVersion: string | null }>(
      `SELECT e.id, e.created_at AS at, e.type, e.subject_type AS "subjectType", e.subject_id AS "subjectId", e.actor, e.payload,
              e.model_version AS "modelVersion", e.config_version AS "configVersion"
       FROM events e WHERE ${where.join(' AND ')} ORDER BY e.id${q.newestFirst ? ' DESC' : ''} LIMIT ${limit + 1}`,
      params.values,
    );
    const page = rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id), at: iso(r.at) as string }));
    const last = page[page.length - 1];
    return { events: page, nextCursor: rows.length > limit && last ? String(last.id) : null };
  }

  /**
   * Confirmed decisions on current revisions as training records, in decision order; the
   * cursor is the last decision's event id. Escalations are not labels and are left out.
   */
  async labelled(tenantId: string, options: { after?: number; limit: number; since?: string; until?: string }): Promise<{ records: LabelledRecord[]; nextCursor: number | null }> {
    const rows = await this.db.query<{ eventId: number; articleId: string; text: string; lang: 'zh' | 'en'; accountId: string; decision: Decision; clusterId: string | null }>(
      `SELECT rs.last_event_id AS "eventId", a.id AS "articleId", a.text, a.lang, a.account_id AS "accountId", rs.decision, cm.cluster_id AS "clusterId"
       FROM review_state rs
       JOIN articles a ON a.tenant_id = rs.tenant_id AND a.id = rs.article_id AND a.revision = rs.revision
       LEFT JOIN cluster_members cm ON cm.tenant_id = a.tenant_id AND cm.article_id = a.id
       WHERE rs.tenant_id = $1 AND rs.state = 'decided' AND rs.decision <> 'escalate'
         AND ($2::bigint IS NULL OR rs.last_event_id > $2::bigint)
         AND ($3::timestamptz IS NULL OR rs.decided_at >= $3::timestamptz)
         AND ($4::timestamptz IS NULL OR rs.decided_at < $4::timestamptz)
       ORDER BY rs.last_event_id LIMIT $5`,
      [tenantId, options.after ?? null, options.since ?? null, options.until ?? null, options.limit],
    );
    const source = `slopguard/${tenantId}-review`;
    const records = rows.flatMap((r): LabelledRecord[] => {
      const label = trainingLabel(r.decision);
      if (!label) return [];
      return [
        {
          text: r.text,
          label,
          lang: r.lang,
          source,
          generator: null,
          id: sha16(source + r.text),
          // Near-duplicates (a cluster) or else one author's posts share a group, so a
          // grouped split never puts the same farm on both sides.
          group: sha16(r.clusterId ? `cluster:${r.clusterId}` : `account:${tenantId}:${r.accountId}`),
          orig_label: r.decision,
        },
      ];
    });
    const last = rows[rows.length - 1];
    return { records, nextCursor: rows.length === options.limit && last ? Number(last.eventId) : null };
  }
}

const GROUP_AGGREGATES = `count(*)::int AS items,
  count(*) FILTER (WHERE f.state = 'pending')::int AS pending,
  count(*) FILTER (WHERE f.state = 'escalated')::int AS escalated,
  count(*) FILTER (WHERE f.state = 'decided')::int AS decided,
  count(*) FILTER (WHERE f.verdict = 'flag')::int AS flagged,
  max(f.score) AS "maxScore",
  count(DISTINCT f."accountId")::int AS accounts,
  min(f."ageUs") AS "oldestUs",
  array_remove(array_agg(DISTINCT f."claimedBy"), NULL) AS "claimedBy"`;

interface GroupRow {
  id: string;
  items: number;
  pending: number;
  escalated: number;
  decided: number;
  flagged: number;
  maxScore: number;
  accounts: number;
  oldestUs: number;
  clusterSize: number | null;
  claimedBy: string[] | null;
}
