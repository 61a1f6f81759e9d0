import type { Db } from '../db/db.ts';
import type { Decision, QueueSort, ReviewState, StateFilter } from '../domain/review.ts';
import type { Label, Reason, Segment, Verdict } from '../domain/types.ts';

/**
 * The review record's SQL: the queue (articles with their derived review state, cluster,
 * batch and live claim), claims (`review_claims`), decisions (`review.decided` events and the
 * `review_state` they derive), the audit log and the labelled export. Rows are typed here;
 * the review services (`services/review-*.ts`) validate, resolve targets and shape views.
 */

export const iso = (v: Date | string | null | undefined): string | null => (v === null || v === undefined ? null : new Date(v).toISOString());

/** Collects positional parameters while a query is assembled. */
export class Params {
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

export interface QueueRow {
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

const GROUP_AGGREGATES = `count(*)::int AS items,
  count(*) FILTER (WHERE f.state = 'pending')::int AS pending,
  count(*) FILTER (WHERE f.state = 'escalated')::int AS escalated,
  count(*) FILTER (WHERE f.state = 'decided')::int AS decided,
  count(*) FILTER (WHERE f.verdict = 'flag')::int AS flagged,
  max(f.score) AS "maxScore",
  count(DISTINCT f."accountId")::int AS accounts,
  min(f."ageUs") AS "oldestUs",
  array_remove(array_agg(DISTINCT f."claimedBy"), NULL) AS "claimedBy"`;

export interface GroupRow {
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

// ---------------------------------------------------------------- queue

export async function batchCreatedAt(db: Db, tenantId: string, id: string): Promise<{ createdAt: Date } | null> {
  const rows = await db.query<{ createdAt: Date }>('SELECT created_at AS "createdAt" FROM batches WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0] ?? null;
}

export async function articleExists(db: Db, tenantId: string, id: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM articles WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return rows[0] !== undefined;
}

/** What the queue is filtered by; the batch is known to exist and the cluster id is the live one. */
export interface QueueFilter {
  verdict?: ('flag' | 'review')[];
  label?: Label[];
  minScore?: number;
  maxScore?: number;
  accountId?: string;
  modelVersion?: string;
  from?: string;
  to?: string;
  batchId?: string;
  clusterId?: string;
}

/** The queue's filtered rows as a subquery (claims and decisions select from it too); its parameters go to `params`. */
export function queueBase(tenantId: string, q: QueueFilter, params: Params): string {
  const where = [`a.tenant_id = ${params.add(tenantId)}`, `a.status = 'scored'`, `a.verdict IN ('flag', 'review')`];
  if (q.verdict?.length) where.push(`a.verdict = ANY(${params.add(q.verdict)}::text[])`);
  if (q.label?.length) where.push(`a.label = ANY(${params.add(q.label)}::text[])`);
  if (q.minScore !== undefined) where.push(`a.score >= ${params.add(q.minScore)}::float8`);
  if (q.maxScore !== undefined) where.push(`a.score <= ${params.add(q.maxScore)}::float8`);
  if (q.accountId) where.push(`a.account_id = ${params.add(q.accountId)}`);
  if (q.modelVersion) where.push(`a.model_version = ${params.add(q.modelVersion)}`);
  if (q.from) where.push(`a.received_at >= ${params.add(q.from)}::timestamptz`);
  if (q.to) where.push(`a.received_at < ${params.add(q.to)}::timestamptz`);
  if (q.batchId) where.push(`EXISTS (SELECT 1 FROM batch_items bx WHERE bx.article_id = a.id AND bx.batch_id = ${params.add(q.batchId)})`);
  if (q.clusterId) where.push(`cm.cluster_id = ${params.add(q.clusterId)}`);
  return `SELECT ${QUEUE_COLUMNS} ${QUEUE_JOINS} WHERE ${where.join(' AND ')}`;
}

/** Item counts of the filtered queue by state and verdict, every review state. */
export async function queueCounts(db: Db, base: string, params: Params): Promise<{ state: ReviewState; verdict: 'flag' | 'review'; n: number; claimed: number }[]> {
  return db.query<{ state: ReviewState; verdict: 'flag' | 'review'; n: number; claimed: number }>(
    `WITH q AS (${base}) SELECT state, verdict, count(*)::int AS n, count("claimedBy")::int AS claimed FROM q GROUP BY state, verdict`,
    params.values,
  );
}

/** Keyset page arguments: `after` holds the decoded cursor's values (the sort keys of the last row seen). */
export interface PageArgs {
  state: StateFilter;
  sort: QueueSort;
  after: unknown[] | null;
  limit: number;
}

function keyset(keys: string[], casts: string[], desc: boolean, after: unknown[] | null, params: Params): { after: string; order: string } {
  return {
    after: after ? `(${keys.join(', ')}) ${desc ? '<' : '>'} (${after.map((v, i) => params.add(v) + casts[i]).join(', ')})` : 'true',
    order: keys.map((k) => `${k} ${desc ? 'DESC' : 'ASC'}`).join(', '),
  };
}

/** Up to `limit + 1` single queue items, by priority (score, cluster size, id; descending) or age (oldest first). */
export async function queueArticleRows(db: Db, base: string, params: Params, page: PageArgs): Promise<QueueRow[]> {
  const keys = page.sort === 'priority' ? ['score', '"clusterSize"', 'id'] : ['"ageUs"', 'id'];
  const casts = page.sort === 'priority' ? ['::real', '::int', '::text'] : ['::float8', '::text'];
  const { after, order } = keyset(keys, casts, page.sort === 'priority', page.after, params);
  return db.query<QueueRow>(
    `WITH q AS (${base}) SELECT * FROM q WHERE ${stateCondition(page.state)} AND ${after}
         ORDER BY ${order} LIMIT ${page.limit + 1}`,
    params.values,
  );
}

/** Up to `limit + 1` queue groups (batches or clusters) with their aggregates. */
export async function queueGroupRows(db: Db, base: string, params: Params, byCluster: boolean, page: PageArgs): Promise<GroupRow[]> {
  const grouped = byCluster
    ? `SELECT f."clusterId" AS id, max(f."clusterSize")::int AS "clusterSize", ${GROUP_AGGREGATES} FROM f WHERE f."clusterId" IS NOT NULL GROUP BY f."clusterId"`
    : `SELECT bi.batch_id AS id, NULL::int AS "clusterSize", ${GROUP_AGGREGATES} FROM f JOIN batch_items bi ON bi.article_id = f.id GROUP BY bi.batch_id`;
  const keys = page.sort === 'age' ? ['"oldestUs"', 'id'] : byCluster ? ['"clusterSize"', '"maxScore"', 'id'] : ['"maxScore"', 'items', 'id'];
  const casts = page.sort === 'age' ? ['::float8', '::text'] : byCluster ? ['::int', '::real', '::text'] : ['::real', '::int', '::text'];
  const { after, order } = keyset(keys, casts, page.sort === 'priority', page.after, params);
  return db.query<GroupRow>(
    `WITH q AS (${base}), f AS (SELECT * FROM q WHERE ${stateCondition(page.state)}), g AS (${grouped})
       SELECT * FROM g WHERE ${after} ORDER BY ${order} LIMIT ${page.limit + 1}`,
    params.values,
  );
}

/** Ids of the filtered queue's items, open ones only or all, in id order. */
export async function queueIds(db: Db, base: string, params: Params, openOnly: boolean): Promise<string[]> {
  const rows = await db.query<{ id: string }>(`WITH q AS (${base}) SELECT id FROM q WHERE ${openOnly ? stateCondition('open') : 'true'} ORDER BY id`, params.values);
  return rows.map((r) => r.id);
}

// ---------------------------------------------------------------- details

export type ReviewArticleRow = QueueRow & {
  text: string;
  lang: 'zh' | 'en';
  declaredAi: boolean;
  metadata: Record<string, unknown>;
  publishedAt: Date | null;
  reasons: Reason[] | null;
  segments: Segment[] | null;
  signals: Record<string, unknown> | null;
  scoreId: string | null;
};

/** Queue rows of the given articles with their current score's evidence, in no particular order. */
export async function reviewArticleRows(db: Db, tenantId: string, ids: readonly string[]): Promise<ReviewArticleRow[]> {
  return db.query<ReviewArticleRow>(
    `SELECT ${QUEUE_COLUMNS}, a.text, a.lang, a.declared_ai AS "declaredAi", a.metadata, a.published_at AS "publishedAt",
              s.reasons, s.segments, s.signals, s.id AS "scoreId"
       ${QUEUE_JOINS}
       LEFT JOIN LATERAL (SELECT * FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                           AND s.model_version = a.model_version AND s.config_version = a.config_version
                           ORDER BY s.evaluation DESC LIMIT 1) s ON true
       WHERE a.tenant_id = $1 AND a.id = ANY($2::text[])`,
    [tenantId, ids],
  );
}

/** A batch's article ids in submission order. */
export async function batchArticleIds(db: Db, batchId: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>('SELECT article_id AS id FROM batch_items WHERE batch_id = $1 ORDER BY idx', [batchId]);
  return rows.map((r) => r.id);
}

export type AccountArticleRow = QueueRow & {
  status: string;
  signals: { account?: { signals?: { code: string; strength: number; value: number }[] } } | null;
  scoredAt: Date | null;
};

/** An account's latest 500 articles, newest first, with their current score's signals. */
export async function accountArticleRows(db: Db, tenantId: string, accountId: string): Promise<AccountArticleRow[]> {
  return db.query<AccountArticleRow>(
    `SELECT ${QUEUE_COLUMNS}, a.status, a.scored_at AS "scoredAt", s.signals
       ${QUEUE_JOINS}
       LEFT JOIN LATERAL (SELECT * FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                           AND s.model_version = a.model_version AND s.config_version = a.config_version
                           ORDER BY s.evaluation DESC LIMIT 1) s ON true
       WHERE a.tenant_id = $1 AND a.account_id = $2
       ORDER BY a.received_at DESC, a.id DESC LIMIT 500`,
    [tenantId, accountId],
  );
}

/** An account's article counts by verdict, label and review state. */
export async function accountTotals(db: Db, tenantId: string, accountId: string): Promise<{ verdict: Verdict | null; label: Label | null; state: ReviewState; n: number }[]> {
  return db.query<{ verdict: Verdict | null; label: Label | null; state: ReviewState; n: number }>(
    `SELECT a.verdict, a.label, ${STATE_SQL} AS state, count(*)::int AS n
       FROM articles a LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
       WHERE a.tenant_id = $1 AND a.account_id = $2 GROUP BY 1, 2, 3`,
    [tenantId, accountId],
  );
}

/** The clusters an account's articles belong to, largest first, with its articles in each. */
export async function accountClusters(db: Db, tenantId: string, accountId: string): Promise<{ id: string; size: number; accountCount: number; articleIds: string[] }[]> {
  return db.query<{ id: string; size: number; accountCount: number; articleIds: string[] }>(
    `SELECT c.id, c.size, c.account_count AS "accountCount", array_agg(m.article_id ORDER BY m.posted_at) AS "articleIds"
       FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id
       WHERE m.tenant_id = $1 AND m.account_id = $2 GROUP BY c.id, c.size, c.account_count ORDER BY c.size DESC`,
    [tenantId, accountId],
  );
}

// ---------------------------------------------------------------- claims

/** Locks the tenant's articles among `ids` in id order (claims and decisions on them serialise); the ids found. */
export async function lockArticles(tx: Db, tenantId: string, ids: readonly string[]): Promise<string[]> {
  const rows = await tx.query<{ id: string }>('SELECT id FROM articles WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR NO KEY UPDATE', [tenantId, ids]);
  return rows.map((r) => r.id);
}

/**
 * Claims the articles for the moderator for `leaseSeconds`: a free or expired claim is taken
 * over, the moderator's own renewed; the articles another moderator holds are not returned.
 */
export async function upsertClaims(
  tx: Db,
  claim: { tenantId: string; moderator: string; scopeType: string; scopeId: string | null; leaseSeconds: number; ids: readonly string[] },
): Promise<{ id: string; expiresAt: Date }[]> {
  return tx.query<{ id: string; expiresAt: Date }>(
    `INSERT INTO review_claims AS rc (tenant_id, article_id, moderator, scope_type, scope_id, expires_at)
         SELECT $1, x.id, $2, $3, $4, now() + make_interval(secs => $5) FROM unnest($6::text[]) AS x(id) ORDER BY x.id
         ON CONFLICT (tenant_id, article_id) DO UPDATE
           SET moderator = EXCLUDED.moderator, scope_type = EXCLUDED.scope_type, scope_id = EXCLUDED.scope_id,
               claimed_at = CASE WHEN rc.moderator = EXCLUDED.moderator AND rc.expires_at > now() THEN rc.claimed_at ELSE now() END,
               expires_at = EXCLUDED.expires_at
           WHERE rc.expires_at <= now() OR rc.moderator = EXCLUDED.moderator
         RETURNING article_id AS id, expires_at AS "expiresAt"`,
    [claim.tenantId, claim.moderator, claim.scopeType, claim.scopeId, claim.leaseSeconds, claim.ids],
  );
}

/** Live claims other moderators hold on the articles (at most 100). */
export async function claimConflicts(tx: Db, tenantId: string, ids: readonly string[], moderator: string): Promise<{ articleId: string; moderator: string; expiresAt: Date }[]> {
  return tx.query<{ articleId: string; moderator: string; expiresAt: Date }>(
    `SELECT article_id AS "articleId", moderator, expires_at AS "expiresAt" FROM review_claims
           WHERE tenant_id = $1 AND article_id = ANY($2::text[]) AND moderator <> $3 AND expires_at > now() ORDER BY article_id LIMIT 100`,
    [tenantId, ids, moderator],
  );
}

/** Deletes the moderator's claims on the articles; how many there were. */
export async function releaseClaims(db: Db, tenantId: string, moderator: string, ids: readonly string[]): Promise<number> {
  const rows = await db.query('DELETE FROM review_claims WHERE tenant_id = $1 AND moderator = $2 AND article_id = ANY($3::text[]) RETURNING article_id', [
    tenantId,
    moderator,
    ids,
  ]);
  return rows.length;
}

export interface ClaimRecord {
  articleId: string;
  moderator: string;
  scopeType: string;
  scopeId: string | null;
  claimedAt: Date;
  expiresAt: Date;
}

/** Live claims of the tenant (of one moderator when given), soonest to expire first. */
export async function liveClaims(db: Db, tenantId: string, moderator: string | null): Promise<ClaimRecord[]> {
  return db.query<ClaimRecord>(
    `SELECT article_id AS "articleId", moderator, scope_type AS "scopeType", scope_id AS "scopeId", claimed_at AS "claimedAt", expires_at AS "expiresAt"
       FROM review_claims WHERE tenant_id = $1 AND expires_at > now() AND ($2::text IS NULL OR moderator = $2)
       ORDER BY expires_at, article_id LIMIT 5000`,
    [tenantId, moderator],
  );
}

// ---------------------------------------------------------------- decisions

export interface DecisionTargetRow {
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
}

/** Locks the tenant's articles among `ids` in id order and reads what a decision needs: status, scoring, review state, live claim holder. */
export async function lockForDecision(tx: Db, tenantId: string, ids: readonly string[]): Promise<DecisionTargetRow[]> {
  return tx.query<DecisionTargetRow>(
    `SELECT a.id, a.revision, a.status, a.score, a.label, a.verdict,
                a.model_version AS "modelVersion", a.config_version AS "configVersion",
                rs.revision AS "reviewedRevision", rs.decision AS current, cl.moderator AS holder
         FROM articles a
         LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
         LEFT JOIN review_claims cl ON cl.tenant_id = a.tenant_id AND cl.article_id = a.id AND cl.expires_at > now()
         WHERE a.tenant_id = $1 AND a.id = ANY($2::text[]) ORDER BY a.id FOR NO KEY UPDATE OF a`,
    [tenantId, ids],
  );
}

/** One `review.decided` event per article (its payload and the model/config version it was decided under); the event ids by article. */
export async function insertDecisionEvents(
  tx: Db,
  tenantId: string,
  actor: string,
  events: { id: string; model_version: string; config_version: string; payload: Record<string, unknown> }[],
): Promise<Map<string, number>> {
  const inserted = await tx.query<{ id: number; subjectId: string }>(
    `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
           SELECT $1, 'article', x.id, 'review.decided', $2, x.payload, x.model_version, x.config_version
           FROM jsonb_to_recordset($3::jsonb) AS x(id text, payload jsonb, model_version text, config_version text)
           RETURNING id, subject_id AS "subjectId"`,
    [tenantId, actor, JSON.stringify(events)],
  );
  return new Map(inserted.map((e) => [e.subjectId, Number(e.id)]));
}

/** Derives the articles' review state from the decision just recorded (`event_id`, per article revision). */
export async function upsertReviewState(
  tx: Db,
  decided: { tenantId: string; moderator: string; state: ReviewState; decision: Decision; comment: string | null },
  items: { id: string; revision: number; event_id: number | undefined }[],
): Promise<void> {
  await tx.query(
    `INSERT INTO review_state AS rs (tenant_id, article_id, revision, state, decision, comment, decided_by, decided_at, decisions, last_event_id)
           SELECT $1, x.id, x.revision, $3, $4, $5, $2, now(), 1, x.event_id
           FROM jsonb_to_recordset($6::jsonb) AS x(id text, revision int, event_id bigint)
           ON CONFLICT (tenant_id, article_id) DO UPDATE
             SET revision = EXCLUDED.revision, state = EXCLUDED.state, decision = EXCLUDED.decision, comment = EXCLUDED.comment,
                 decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at, decisions = rs.decisions + 1,
                 last_event_id = EXCLUDED.last_event_id`,
    [decided.tenantId, decided.moderator, decided.state, decided.decision, decided.comment, JSON.stringify(items)],
  );
}

/** The `review.bulk_decided` event of a batch or cluster decision. */
export async function insertBulkDecided(
  tx: Db,
  event: { tenantId: string; subjectType: string; subjectId: string | null; actor: string; payload: Record<string, unknown> },
): Promise<void> {
  await tx.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, $2, $3, 'review.bulk_decided', $4, $5::jsonb)`, [
    event.tenantId,
    event.subjectType,
    event.subjectId,
    event.actor,
    JSON.stringify(event.payload),
  ]);
}

// ---------------------------------------------------------------- audit and export

/** What the audit log is filtered by; the article and batch are known to exist and the cluster id is the live one. */
export interface AuditFilter {
  articleId?: string;
  batchId?: string;
  clusterId?: string;
  actor?: string;
  type?: string;
  after?: number;
  newestFirst?: boolean;
}

export interface AuditRow {
  id: number;
  at: Date;
  type: string;
  subjectType: string;
  subjectId: string;
  actor: string;
  payload: Record<string, unknown>;
  modelVersion: string | null;
  configVersion: string | null;
}

/** Up to `limit + 1` events in id order (or newest first): a batch's and a cluster's include their articles'. */
export async function auditRows(db: Db, tenantId: string, q: AuditFilter, limit: number): Promise<AuditRow[]> {
  const params = new Params();
  const where = [`e.tenant_id = ${params.add(tenantId)}`];
  if (q.articleId) where.push(`e.subject_type = 'article' AND e.subject_id = ${params.add(q.articleId)}`);
  if (q.batchId) {
    const p = params.add(q.batchId);
    where.push(
      `((e.subject_type = 'batch' AND e.subject_id = ${p}) OR (e.subject_type = 'article' AND e.subject_id IN (SELECT article_id FROM batch_items WHERE batch_id = ${p})))`,
    );
  }
  if (q.clusterId) {
    const p = params.add(q.clusterId);
    where.push(
      `((e.subject_type = 'cluster' AND e.subject_id = ${p}) OR (e.subject_type = 'article' AND e.subject_id IN (SELECT article_id FROM cluster_members WHERE tenant_id = e.tenant_id AND cluster_id = ${p})))`,
    );
  }
  if (q.actor) where.push(`e.actor = ${params.add(q.actor)}`);
  if (q.type) where.push(`e.type = ${params.add(q.type)}`);
  if (q.after !== undefined) where.push(`e.id ${q.newestFirst ? '<' : '>'} ${params.add(q.after)}::bigint`);
  return db.query<AuditRow>(
    `SELECT e.id, e.created_at AS at, e.type, e.subject_type AS "subjectType", e.subject_id AS "subjectId", e.actor, e.payload,
              e.model_version AS "modelVersion", e.config_version AS "configVersion"
       FROM events e WHERE ${where.join(' AND ')} ORDER BY e.id${q.newestFirst ? ' DESC' : ''} LIMIT ${limit + 1}`,
    params.values,
  );
}

export interface LabelledRow {
  eventId: number;
  articleId: string;
  text: string;
  lang: 'zh' | 'en';
  accountId: string;
  decision: Decision;
  clusterId: string | null;
  decidedAt: Date;
  verdict: Verdict | null;
  score: number | null;
  modelVersion: string | null;
  configVersion: string | null;
}

/** Decided (not escalated) current revisions in decision order, after the event id `after`, with the scoring they were decided on. */
export async function labelledRows(db: Db, tenantId: string, options: { after?: number; limit: number; since?: string; until?: string }): Promise<LabelledRow[]> {
  return db.query<LabelledRow>(
    `SELECT rs.last_event_id AS "eventId", a.id AS "articleId", a.text, a.lang, a.account_id AS "accountId", rs.decision, cm.cluster_id AS "clusterId",
              rs.decided_at AS "decidedAt", e.payload->>'verdict' AS verdict, (e.payload->>'score')::float8 AS score,
              e.model_version AS "modelVersion", e.config_version AS "configVersion"
       FROM review_state rs
       JOIN articles a ON a.tenant_id = rs.tenant_id AND a.id = rs.article_id AND a.revision = rs.revision
       LEFT JOIN events e ON e.id = rs.last_event_id
       LEFT JOIN cluster_members cm ON cm.tenant_id = a.tenant_id AND cm.article_id = a.id
       WHERE rs.tenant_id = $1 AND rs.state = 'decided' AND rs.decision <> 'escalate'
         AND ($2::bigint IS NULL OR rs.last_event_id > $2::bigint)
         AND ($3::timestamptz IS NULL OR rs.decided_at >= $3::timestamptz)
         AND ($4::timestamptz IS NULL OR rs.decided_at < $4::timestamptz)
       ORDER BY rs.last_event_id LIMIT $5`,
    [tenantId, options.after ?? null, options.since ?? null, options.until ?? null, options.limit],
  );
}
