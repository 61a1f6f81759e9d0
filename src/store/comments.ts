/**
 * The comment aggregate's SQL: comments, their scores, their review state and their events.
 * Rows are mapped once here; services orchestrate and never write these queries themselves.
 *
 * Example:
 *   const [r] = await upsertComments(db, [{ tenantId: 't1', actor: 'key_1', comment }]);
 *   r -> { idx: 0, id: 'cmt_…', revision: 1, status: 'queued', changed: true }
 */
import type { Db } from '../db/db.ts';
import { isId, newId } from '../domain/ids.ts';
import type { ArticleStatus, Label, Reason, Verdict } from '../domain/types.ts';

/** A comment ready to store: canonical text, language and content hash computed. */
export interface PreparedComment {
  externalId: string;
  accountId: string;
  articleExternalId: string;
  parentExternalId: string | null;
  articleAccountId: string | null;
  text: string;
  lang: 'zh' | 'en';
  contentHash: string;
  postedAt: string | null;
  declaredAi: boolean;
  metadata: Record<string, unknown>;
}

export interface StoredComment {
  id: string;
  tenantId: string;
  externalId: string;
  revision: number;
  accountId: string;
  articleExternalId: string;
  parentExternalId: string | null;
  articleAccountId: string | null;
  text: string;
  lang: 'zh' | 'en';
  contentHash: string;
  postedAt: Date | null;
  receivedAt: Date;
  declaredAi: boolean;
  metadata: Record<string, unknown>;
  status: ArticleStatus;
  statusAt: Date;
  attempts: number;
  lastError: string | null;
  score: number | null;
  label: Label | null;
  verdict: Verdict | null;
  modelVersion: string | null;
  configVersion: string | null;
  scoredAt: Date | null;
  templateId: string | null;
}

export interface StoredCommentScore {
  id: string;
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  signals: Record<string, unknown>;
  timings: Record<string, number>;
  modelVersion: string;
  configVersion: string;
  trigger: string;
  createdAt: Date;
}

export interface CommentUpsert {
  idx: number;
  id: string;
  revision: number;
  status: ArticleStatus;
  changed: boolean;
}

const COLUMNS = `c.id, c.tenant_id AS "tenantId", c.external_id AS "externalId", c.revision, c.account_id AS "accountId",
  c.article_external_id AS "articleExternalId", c.parent_external_id AS "parentExternalId", c.article_account_id AS "articleAccountId",
  c.text, c.lang, c.content_hash AS "contentHash", c.posted_at AS "postedAt", c.received_at AS "receivedAt",
  c.declared_ai AS "declaredAi", c.metadata, c.status, c.status_at AS "statusAt", c.attempts, c.last_error AS "lastError",
  c.score, c.label, c.verdict, c.model_version AS "modelVersion", c.config_version AS "configVersion", c.scored_at AS "scoredAt",
  c.template_id AS "templateId"`;

const SCORE_COLUMNS = `s.id, s.score, s.label, s.verdict, s.reasons, s.signals, s.timings, s.model_version AS "modelVersion",
  s.config_version AS "configVersion", s.trigger, s.created_at AS "createdAt"`;

/**
 * One statement: upsert the rows (unchanged content is left alone) and log an event per new
 * revision. A row committed concurrently after this statement's snapshot is read back after.
 */
const UPSERT_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    idx int, tenant_id text, actor text, id text, external_id text, account_id text, article_external_id text,
    parent_external_id text, article_account_id text, text text, lang text, content_hash text, posted_at timestamptz,
    declared_ai boolean, metadata jsonb)
), upserted AS (
  INSERT INTO comments AS c (id, tenant_id, external_id, account_id, article_external_id, parent_external_id, article_account_id,
                             text, lang, content_hash, posted_at, declared_ai, metadata)
  SELECT id, tenant_id, external_id, account_id, article_external_id, parent_external_id, article_account_id,
         text, lang, content_hash, posted_at, declared_ai, metadata
  FROM input ORDER BY idx
  ON CONFLICT (tenant_id, external_id) DO UPDATE SET
    revision = c.revision + 1, account_id = EXCLUDED.account_id, article_external_id = EXCLUDED.article_external_id,
    parent_external_id = EXCLUDED.parent_external_id, article_account_id = EXCLUDED.article_account_id, text = EXCLUDED.text,
    lang = EXCLUDED.lang, content_hash = EXCLUDED.content_hash, posted_at = EXCLUDED.posted_at, declared_ai = EXCLUDED.declared_ai,
    metadata = EXCLUDED.metadata, status = 'queued', status_at = now(), attempts = 0, last_error = NULL,
    score = NULL, label = NULL, verdict = NULL, model_version = NULL, config_version = NULL, scored_at = NULL
  WHERE c.content_hash <> EXCLUDED.content_hash
  RETURNING c.id, c.tenant_id, c.external_id, c.revision, c.status
), logged AS (
  INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload)
  SELECT u.tenant_id, 'comment', u.id, CASE WHEN u.revision = 1 THEN 'comment.submitted' ELSE 'comment.revised' END,
         i.actor, jsonb_build_object('revision', u.revision)
  FROM upserted u JOIN input i ON i.tenant_id = u.tenant_id AND i.external_id = u.external_id
)
SELECT i.idx, COALESCE(u.id, e.id) AS id, COALESCE(u.revision, e.revision) AS revision,
       COALESCE(u.status, e.status) AS status, (u.id IS NOT NULL) AS changed
FROM input i
LEFT JOIN upserted u ON u.tenant_id = i.tenant_id AND u.external_id = i.external_id
LEFT JOIN comments e ON e.tenant_id = i.tenant_id AND e.external_id = i.external_id
ORDER BY i.idx`;

/** Stores comments of one statement; the same external id must not appear twice in `items`. */
export async function upsertComments(db: Db, items: readonly { tenantId: string; actor: string; comment: PreparedComment }[]): Promise<CommentUpsert[]> {
  const records = items.map(({ tenantId, actor, comment: c }, idx) => ({
    idx,
    tenant_id: tenantId,
    actor,
    id: newId('cmt'),
    external_id: c.externalId,
    account_id: c.accountId,
    article_external_id: c.articleExternalId,
    parent_external_id: c.parentExternalId,
    article_account_id: c.articleAccountId,
    text: c.text,
    lang: c.lang,
    content_hash: c.contentHash,
    posted_at: c.postedAt,
    declared_ai: c.declaredAi,
    metadata: c.metadata,
  }));
  const rows = await db.query<CommentUpsert>(UPSERT_SQL, [JSON.stringify(records)]);
  const unseen = rows.filter((r) => r.id === null);
  if (unseen.length > 0) {
    const found = await db.query<{ tenantId: string; externalId: string; id: string; revision: number; status: ArticleStatus }>(
      `SELECT c.tenant_id AS "tenantId", c.external_id AS "externalId", c.id, c.revision, c.status
       FROM comments c JOIN jsonb_to_recordset($1::jsonb) AS x(tenant_id text, external_id text)
         ON c.tenant_id = x.tenant_id AND c.external_id = x.external_id`,
      [JSON.stringify(unseen.map((r) => ({ tenant_id: items[r.idx]!.tenantId, external_id: items[r.idx]!.comment.externalId })))],
    );
    const byKey = new Map(found.map((f) => [`${f.tenantId}\u0000${f.externalId}`, f]));
    for (const r of unseen) {
      const item = items[r.idx]!;
      const f = byKey.get(`${item.tenantId}\u0000${item.comment.externalId}`);
      if (!f) throw new Error(`comment ${item.comment.externalId} was neither stored nor found`);
      Object.assign(r, { id: f.id, revision: f.revision, status: f.status, changed: false });
    }
  }
  return rows;
}

export async function commentById(db: Db, tenantId: string, id: string): Promise<StoredComment | null> {
  if (!isId('cmt', id)) return null;
  const rows = await db.query<StoredComment>(`SELECT ${COLUMNS} FROM comments c WHERE c.tenant_id = $1 AND c.id = $2`, [tenantId, id]);
  return rows[0] ?? null;
}

export async function commentByExternalId(db: Db, tenantId: string, externalId: string): Promise<StoredComment | null> {
  if (/[\u0000-\u001F\u007F]/.test(externalId)) return null;
  const rows = await db.query<StoredComment>(`SELECT ${COLUMNS} FROM comments c WHERE c.tenant_id = $1 AND c.external_id = $2`, [tenantId, externalId]);
  return rows[0] ?? null;
}

/** The score of the comment's current content under its current model and config. */
export async function currentCommentScore(db: Db, comment: StoredComment): Promise<StoredCommentScore | null> {
  if (comment.modelVersion === null || comment.configVersion === null) return null;
  const rows = await db.query<StoredCommentScore>(
    `SELECT ${SCORE_COLUMNS} FROM comment_scores s
     WHERE s.comment_id = $1 AND s.content_hash = $2 AND s.model_version = $3 AND s.config_version = $4
     ORDER BY s.evaluation DESC LIMIT 1`,
    [comment.id, comment.contentHash, comment.modelVersion, comment.configVersion],
  );
  return rows[0] ?? null;
}

export type CommentForScoring = StoredComment & { existingScoreId: string | null };

/** Marks the revision `scoring` and reads it back with the score its content already has under these versions. */
export async function markCommentScoring(
  db: Db,
  job: { tenantId: string; commentId: string; revision: number },
  versions: { modelVersion: string; configVersion: string },
): Promise<CommentForScoring | null> {
  const rows = await db.query<CommentForScoring>(
    `WITH marked AS (
       UPDATE comments SET status = 'scoring', status_at = now(), attempts = attempts + 1
       WHERE id = $1 AND tenant_id = $2 AND revision = $3 AND status <> 'scored'
     )
     SELECT ${COLUMNS},
            (SELECT s.id FROM comment_scores s WHERE s.comment_id = c.id AND s.content_hash = c.content_hash
               AND s.model_version = $4 AND s.config_version = $5 ORDER BY s.evaluation DESC LIMIT 1) AS "existingScoreId"
     FROM comments c WHERE c.id = $1 AND c.tenant_id = $2`,
    [job.commentId, job.tenantId, job.revision, versions.modelVersion, versions.configVersion],
  );
  return rows[0] ?? null;
}

/** A retry after the score was written but before the job completed: make the row agree. */
export async function applyExistingScore(db: Db, scoreId: string, revision: number): Promise<void> {
  await db.query(
    `UPDATE comments c SET status = 'scored', status_at = now(), last_error = NULL, score = s.score, label = s.label,
            verdict = s.verdict, model_version = s.model_version, config_version = s.config_version, scored_at = s.created_at,
            template_id = COALESCE(s.signals->'template'->>'templateId', c.template_id)
     FROM comment_scores s WHERE s.id = $1 AND c.id = s.comment_id AND c.revision = $2`,
    [scoreId, revision],
  );
}

export interface CommentScoreRow {
  scoreId: string;
  commentId: string;
  tenantId: string;
  revision: number;
  contentHash: string;
  modelVersion: string;
  configVersion: string;
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  signals: Record<string, unknown>;
  timings: Record<string, number>;
  trigger: string;
  templateId: string | null;
  /** Earlier members of the template are looked at again after this commit (the outbox plans it). */
  reevaluateTemplate: boolean;
}

/**
 * The score, the comment's derived fields and the `comment.scored` event in one statement
 * (the outbox carries what follows). False when a newer revision or a concurrent duplicate won.
 */
export async function writeCommentScore(db: Db, row: CommentScoreRow): Promise<boolean> {
  const payload = scorePayload(row);
  const rows = await db.query<{ id: string }>(
    `WITH inserted AS (
       INSERT INTO comment_scores (id, comment_id, tenant_id, revision, content_hash, model_version, config_version, score, label,
                                   verdict, reasons, signals, timings, trigger)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::jsonb, $14)
       ON CONFLICT (comment_id, content_hash, model_version, config_version, evaluation) DO NOTHING RETURNING id
     ), applied AS (
       UPDATE comments c SET status = 'scored', status_at = now(), last_error = NULL, score = $8, label = $9, verdict = $10,
              model_version = $6, config_version = $7, scored_at = now(), template_id = COALESCE($16, c.template_id)
       FROM inserted i WHERE c.id = $2 AND c.revision = $4 RETURNING c.id
     ), logged AS (
       INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
       SELECT $3, 'comment', id, 'comment.scored', 'system:scorer', $15::jsonb, $6, $7 FROM applied
     )
     SELECT id FROM applied`,
    [
      row.scoreId,
      row.commentId,
      row.tenantId,
      row.revision,
      row.contentHash,
      row.modelVersion,
      row.configVersion,
      row.score,
      row.label,
      row.verdict,
      JSON.stringify(row.reasons),
      JSON.stringify(row.signals),
      JSON.stringify(row.timings),
      row.trigger,
      JSON.stringify(payload),
      row.templateId,
    ],
  );
  return rows.length > 0;
}

/** Earlier comments that a later one found to share its template (they were scored alone). */
export async function assignTemplate(db: Db, tenantId: string, commentIds: readonly string[], templateId: string): Promise<void> {
  if (commentIds.length === 0) return;
  await db.query('UPDATE comments SET template_id = $3 WHERE tenant_id = $1 AND id = ANY($2::text[]) AND template_id IS NULL', [tenantId, commentIds, templateId]);
}

/** Comments of templates merged into another (src/signals/comment-templates.ts) carry the one they were merged into. */
export async function mergeTemplates(db: Db, tenantId: string, from: readonly string[], into: string): Promise<void> {
  if (from.length === 0) return;
  await db.query('UPDATE comments SET template_id = $3 WHERE tenant_id = $1 AND template_id = ANY($2::text[])', [tenantId, from, into]);
}

function scorePayload(row: CommentScoreRow) {
  return {
    scoreId: row.scoreId,
    revision: row.revision,
    score: row.score,
    label: row.label,
    verdict: row.verdict,
    trigger: row.trigger,
    templateId: row.templateId,
    reevaluateTemplate: row.reevaluateTemplate,
  };
}

/**
 * A re-evaluation's score: written as the next evaluation of the same content, model and
 * config, with the derived fields and a `comment.scored` event, only when the verdict rises and
 * no moderator decided this revision (verdicts only rise; a decision is never overridden).
 */
export async function writeReevaluatedScore(db: Db, row: CommentScoreRow): Promise<boolean> {
  const rows = await db.query<{ id: string }>(
    `WITH cur AS (
       SELECT c.id FROM comments c
       WHERE c.id = $2 AND c.revision = $4 AND c.status = 'scored' AND c.content_hash = $5
         AND (CASE c.verdict WHEN 'flag' THEN 2 WHEN 'review' THEN 1 ELSE 0 END) < (CASE $10::text WHEN 'flag' THEN 2 WHEN 'review' THEN 1 ELSE 0 END)
         AND NOT EXISTS (SELECT 1 FROM comment_review r WHERE r.tenant_id = c.tenant_id AND r.comment_id = c.id AND r.revision = c.revision)
       FOR UPDATE
     ), inserted AS (
       INSERT INTO comment_scores (id, comment_id, tenant_id, revision, content_hash, model_version, config_version, score, label,
                                   verdict, reasons, signals, timings, trigger, evaluation)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::jsonb, $14,
              (SELECT COALESCE(max(s.evaluation), 0) + 1 FROM comment_scores s
                WHERE s.comment_id = $2 AND s.content_hash = $5 AND s.model_version = $6 AND s.config_version = $7)
       FROM cur
       ON CONFLICT (comment_id, content_hash, model_version, config_version, evaluation) DO NOTHING RETURNING id
     ), applied AS (
       UPDATE comments c SET score = $8, label = $9, verdict = $10, model_version = $6, config_version = $7, scored_at = now(),
              template_id = COALESCE($16, c.template_id)
       FROM inserted i WHERE c.id = $2 RETURNING c.id
     ), logged AS (
       INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
       SELECT $3, 'comment', id, 'comment.scored', 'system:reevaluation', $15::jsonb, $6, $7 FROM applied
     )
     SELECT id FROM applied`,
    [
      row.scoreId,
      row.commentId,
      row.tenantId,
      row.revision,
      row.contentHash,
      row.modelVersion,
      row.configVersion,
      row.score,
      row.label,
      row.verdict,
      JSON.stringify(row.reasons),
      JSON.stringify(row.signals),
      JSON.stringify(row.timings),
      row.trigger,
      JSON.stringify(scorePayload(row)),
      row.templateId,
    ],
  );
  return rows.length > 0;
}

/** Scored members of a template below `flag`, undecided on their revision: what a grown template re-evaluates. */
export async function templateMembersToReevaluate(
  db: Db,
  tenantId: string,
  templateId: string,
  exceptId: string,
  limit: number,
): Promise<{ commentId: string; revision: number }[]> {
  return db.query(
    `SELECT c.id AS "commentId", c.revision FROM comments c
     WHERE c.tenant_id = $1 AND c.template_id = $2 AND c.id <> $3 AND c.status = 'scored' AND c.verdict <> 'flag'
       AND NOT EXISTS (SELECT 1 FROM comment_review r WHERE r.tenant_id = c.tenant_id AND r.comment_id = c.id AND r.revision = c.revision)
     ORDER BY c.id LIMIT $4`,
    [tenantId, templateId, exceptId, limit],
  );
}

export async function markCommentFailed(db: Db, job: { commentId: string; revision: number }, reason: string): Promise<void> {
  await db.query(`UPDATE comments SET status = 'failed', status_at = now(), last_error = $3 WHERE id = $1 AND revision = $2 AND status <> 'scored'`, [
    job.commentId,
    job.revision,
    reason.slice(0, 1000),
  ]);
}

/** Accepted comments not finished after `olderThanMs`: the reconciler queues them again (job ids dedupe). */
export async function unfinishedComments(db: Db, olderThanMs: number, limit: number): Promise<{ tenantId: string; commentId: string; revision: number }[]> {
  return db.query(
    `SELECT tenant_id AS "tenantId", id AS "commentId", revision FROM comments
     WHERE status IN ('queued', 'scoring') AND status_at < now() - ($1::bigint * interval '1 millisecond') ORDER BY status_at LIMIT $2`,
    [olderThanMs, limit],
  );
}

/** The committed scores `comment.scored` events name, with their comments, for webhooks. */
export interface ScoredCommentRow {
  scoreId: string;
  tenantId: string;
  commentId: string;
  externalId: string;
  accountId: string;
  articleExternalId: string;
  revision: number;
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  templateId: string | null;
}

export async function scoredComments(db: Db, scoreIds: readonly string[]): Promise<Map<string, ScoredCommentRow>> {
  if (scoreIds.length === 0) return new Map();
  const rows = await db.query<ScoredCommentRow>(
    `SELECT s.id AS "scoreId", s.tenant_id AS "tenantId", s.comment_id AS "commentId", c.external_id AS "externalId",
            c.account_id AS "accountId", c.article_external_id AS "articleExternalId", s.revision, s.score, s.label, s.verdict,
            s.reasons, s.signals->'template'->>'templateId' AS "templateId"
     FROM comment_scores s JOIN comments c ON c.id = s.comment_id WHERE s.id = ANY($1::text[])`,
    [scoreIds],
  );
  return new Map(rows.map((r) => [r.scoreId, { ...r, score: Number(r.score) }]));
}

// ---------------------------------------------------------------- review

export const COMMENT_DECISIONS = ['confirm_ai', 'ai_declared_ok', 'human', 'escalate'] as const;
export type CommentDecision = (typeof COMMENT_DECISIONS)[number];

export interface ReviewComment extends StoredComment {
  reasons: Reason[];
  signals: Record<string, unknown>;
  reviewState: 'open' | 'escalated' | 'decided';
  decision: CommentDecision | null;
  articleTitle: string | null;
}

export interface ReviewCommentFilter {
  /** Open (no decision on this revision), decided, or everything flagged or reviewed. */
  state: 'open' | 'decided' | 'all';
  articleExternalId?: string;
  templateId?: string;
  accountIds?: readonly string[];
  commentIds?: readonly string[];
  limit: number;
}

/**
 * Comments of the tenant with a `flag` or `review` verdict (or the given ones), with their
 * current score's reasons and signals, review state and the title of the article they answer
 * when it is stored. Highest score first.
 */
export async function reviewComments(db: Db, tenantId: string, f: ReviewCommentFilter): Promise<ReviewComment[]> {
  const rows = await db.query<ReviewComment & { reviewRevision: number | null; state: string | null }>(
    `SELECT ${COLUMNS}, COALESCE(s.reasons, '[]'::jsonb) AS reasons, COALESCE(s.signals, '{}'::jsonb) AS signals,
            r.revision AS "reviewRevision", r.state, r.decision, a.title AS "articleTitle"
     FROM comments c
     LEFT JOIN LATERAL (
       SELECT s.reasons, s.signals FROM comment_scores s WHERE s.comment_id = c.id AND s.content_hash = c.content_hash
          AND s.model_version = c.model_version AND s.config_version = c.config_version ORDER BY s.evaluation DESC LIMIT 1
     ) s ON true
     LEFT JOIN comment_review r ON r.tenant_id = c.tenant_id AND r.comment_id = c.id
     LEFT JOIN articles a ON a.tenant_id = c.tenant_id AND a.external_id = c.article_external_id
     WHERE c.tenant_id = $1
       AND ($2::text[] IS NOT NULL OR c.verdict IN ('flag', 'review'))
       AND ($2::text[] IS NULL OR c.id = ANY($2::text[]))
       AND ($3::text IS NULL OR c.article_external_id = $3)
       AND ($4::text IS NULL OR c.template_id = $4)
       AND ($5::text[] IS NULL OR c.account_id = ANY($5::text[]))
       AND ($6 = 'all' OR ($6 = 'open') = (r.revision IS DISTINCT FROM c.revision OR r.state = 'escalated'))
     ORDER BY c.score DESC NULLS LAST, c.id LIMIT $7`,
    [tenantId, f.commentIds ?? null, f.articleExternalId ?? null, f.templateId ?? null, f.accountIds ?? null, f.state, f.limit],
  );
  return rows.map(({ reviewRevision, state, ...c }) => ({
    ...c,
    score: c.score === null ? null : Number(c.score),
    reviewState: reviewRevision !== c.revision ? 'open' : state === 'escalated' ? 'escalated' : 'decided',
    decision: reviewRevision === c.revision ? c.decision : null,
  }));
}

/** The account and template of every templated comment of the tenant (for account clusters). */
export async function templateMemberships(db: Db, tenantId: string, limit: number): Promise<{ accountId: string; templateId: string }[]> {
  return db.query(
    `SELECT DISTINCT account_id AS "accountId", template_id AS "templateId" FROM comments
     WHERE tenant_id = $1 AND template_id IS NOT NULL ORDER BY 2, 1 LIMIT $2`,
    [tenantId, limit],
  );
}

/**
 * One decision over several comments: the review rows and one `comment.review_decided` event
 * per changed comment in one statement (one transaction). A comment already decided the same
 * way on the same revision is left alone (idempotent).
 */
export async function decideComments(
  db: Db,
  input: { tenantId: string; actor: string; commentIds: readonly string[]; decision: CommentDecision; note: string | null; target: Record<string, unknown> },
): Promise<{ decided: string[]; unchanged: number; missing: number }> {
  const rows = await db.query<{ id: string; changed: boolean }>(
    `WITH target AS (
       SELECT c.id, c.revision, c.score, c.verdict, c.label, c.model_version, c.config_version FROM comments c
       WHERE c.tenant_id = $1 AND c.id = ANY($2::text[])
     ), changed AS (
       INSERT INTO comment_review AS r (tenant_id, comment_id, revision, state, decision, note, decided_by)
       SELECT $1, t.id, t.revision, CASE WHEN $3 = 'escalate' THEN 'escalated' ELSE 'decided' END, $3, $4, $5 FROM target t
       ON CONFLICT (tenant_id, comment_id) DO UPDATE SET revision = EXCLUDED.revision, state = EXCLUDED.state,
         decision = EXCLUDED.decision, note = EXCLUDED.note, decided_by = EXCLUDED.decided_by, decided_at = now()
       WHERE r.revision <> EXCLUDED.revision OR r.decision <> EXCLUDED.decision
       RETURNING r.comment_id
     ), logged AS (
       INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
       SELECT $1, 'comment', t.id, 'comment.review_decided', $5,
              jsonb_build_object('decision', $3::text, 'note', $4::text, 'revision', t.revision, 'score', t.score,
                                 'verdict', t.verdict, 'label', t.label, 'target', $6::jsonb),
              t.model_version, t.config_version
       FROM target t JOIN changed ch ON ch.comment_id = t.id
     )
     SELECT t.id, (ch.comment_id IS NOT NULL) AS changed FROM target t LEFT JOIN changed ch ON ch.comment_id = t.id`,
    [input.tenantId, input.commentIds, input.decision, input.note, input.actor, JSON.stringify(input.target)],
  );
  const decided = rows.filter((r) => r.changed).map((r) => r.id);
  return { decided, unchanged: rows.length - decided.length, missing: new Set(input.commentIds).size - rows.length };
}

/** How many comments of the tenant each template holds (a bulk decision's reach). */
export async function templateSizes(db: Db, tenantId: string, templateIds: readonly string[]): Promise<Map<string, number>> {
  if (templateIds.length === 0) return new Map();
  const rows = await db.query<{ templateId: string; n: number }>(
    'SELECT template_id AS "templateId", count(*)::int AS n FROM comments WHERE tenant_id = $1 AND template_id = ANY($2::text[]) GROUP BY template_id',
    [tenantId, templateIds],
  );
  return new Map(rows.map((r) => [r.templateId, r.n]));
}

/** Ids of the tenant's comments sharing one template (a bulk decision's scope). */
export async function commentIdsOfTemplate(db: Db, tenantId: string, templateId: string, limit: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>('SELECT id FROM comments WHERE tenant_id = $1 AND template_id = $2 ORDER BY id LIMIT $3', [tenantId, templateId, limit]);
  return rows.map((r) => r.id);
}
