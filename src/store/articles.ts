import type { Db } from '../db/db.ts';
import type { ArticleStatus, Label, Verdict } from '../domain/types.ts';

/**
 * The `articles` record: one row per article (tenant, external id), its current revision and
 * the derived verdict of its current score, and the batches articles arrive in (`batches`,
 * `batch_items`). Rows are mapped to `StoredArticle` here, once.
 */

export interface StoredArticle {
  id: string;
  tenantId: string;
  externalId: string;
  revision: number;
  accountId: string;
  title: string | null;
  url: string | null;
  text: string;
  lang: 'zh' | 'en';
  contentHash: string;
  publishedAt: Date | null;
  receivedAt: Date;
  declaredAi: boolean;
  labels: string[];
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
}

export const ARTICLE_COLUMNS = `id, tenant_id AS "tenantId", external_id AS "externalId", revision, account_id AS "accountId",
  title, url, text, lang, content_hash AS "contentHash", published_at AS "publishedAt", received_at AS "receivedAt",
  declared_ai AS "declaredAi", labels, metadata, status, status_at AS "statusAt", attempts, last_error AS "lastError",
  score, label, verdict, model_version AS "modelVersion", config_version AS "configVersion", scored_at AS "scoredAt"`;

export async function articleById(db: Db, tenantId: string, id: string): Promise<StoredArticle | null> {
  const rows = await db.query<StoredArticle>(`SELECT ${ARTICLE_COLUMNS} FROM articles WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0] ?? null;
}

export async function articleByExternalId(db: Db, tenantId: string, externalId: string): Promise<StoredArticle | null> {
  const rows = await db.query<StoredArticle>(`SELECT ${ARTICLE_COLUMNS} FROM articles WHERE tenant_id = $1 AND external_id = $2`, [tenantId, externalId]);
  return rows[0] ?? null;
}

// ---------------------------------------------------------------- submission

/**
 * One statement, so one round trip and one commit: upsert the rows (unchanged content is left
 * alone), log an event per new revision, and record the batch with its items when given.
 * Data-modifying CTEs run exactly once whether or not the final SELECT reads them.
 */
const SUBMIT_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    idx int, bidx int, tenant_id text, actor text, id text, external_id text, account_id text, title text, url text,
    text text, lang text, content_hash text, published_at timestamptz, declared_ai boolean, labels jsonb, metadata jsonb)
), upserted AS (
  INSERT INTO articles AS a (id, tenant_id, external_id, account_id, title, url, text, lang, content_hash,
                             published_at, declared_ai, labels, metadata)
  SELECT id, tenant_id, external_id, account_id, title, url, text, lang, content_hash, published_at, declared_ai, labels, metadata
  FROM input ORDER BY idx
  ON CONFLICT (tenant_id, external_id) DO UPDATE SET
    revision = a.revision + 1, account_id = EXCLUDED.account_id, title = EXCLUDED.title, url = EXCLUDED.url,
    text = EXCLUDED.text, lang = EXCLUDED.lang, content_hash = EXCLUDED.content_hash,
    published_at = EXCLUDED.published_at, declared_ai = EXCLUDED.declared_ai, labels = EXCLUDED.labels,
    metadata = EXCLUDED.metadata, status = 'queued', status_at = now(), attempts = 0, last_error = NULL,
    score = NULL, label = NULL, verdict = NULL, model_version = NULL, config_version = NULL, scored_at = NULL
  WHERE a.content_hash <> EXCLUDED.content_hash
  RETURNING a.id, a.tenant_id, a.external_id, a.revision, a.status
), result AS (
  SELECT i.idx, i.bidx, COALESCE(u.id, e.id) AS id, COALESCE(u.revision, e.revision) AS revision,
         COALESCE(u.status, e.status) AS status, (u.id IS NOT NULL) AS changed
  FROM input i
  LEFT JOIN upserted u ON u.tenant_id = i.tenant_id AND u.external_id = i.external_id
  LEFT JOIN articles e ON e.tenant_id = i.tenant_id AND e.external_id = i.external_id
), logged AS (
  INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload)
  SELECT u.tenant_id, 'article', u.id, CASE WHEN u.revision = 1 THEN 'article.submitted' ELSE 'article.revised' END,
         i.actor, jsonb_build_object('revision', u.revision, 'batchId', $2::text)
  FROM upserted u JOIN input i ON i.tenant_id = u.tenant_id AND i.external_id = u.external_id
), batch AS (
  INSERT INTO batches (id, tenant_id, kind, total, accepted, rejected)
  SELECT $2, $3, $4, $5, (SELECT count(*) FROM input), $6 WHERE $2::text IS NOT NULL
), items AS (
  INSERT INTO batch_items (batch_id, idx, article_id)
  SELECT $2, r.bidx, r.id FROM result r WHERE $2::text IS NOT NULL
)
SELECT idx, id, revision, status, changed FROM result ORDER BY idx`;

/** An article to upsert: `idx` its position in the statement, `bidx` its index in the batch. */
export interface SubmitRecord {
  idx: number;
  bidx: number;
  tenant_id: string;
  actor: string;
  id: string;
  external_id: string;
  account_id: string;
  title: string | null;
  url: string | null;
  text: string;
  lang: 'zh' | 'en';
  content_hash: string;
  published_at: string | null;
  declared_ai: boolean;
  labels: string[];
  metadata: Record<string, unknown>;
}

/**
 * Upserts the records in one statement (`SUBMIT_SQL`), with the batch when given; one row per
 * record in `idx` order. `id` is null for a row a concurrent statement committed after this
 * one's snapshot (neither upserted nor visible to it).
 */
export async function upsertArticles(
  db: Db,
  records: readonly SubmitRecord[],
  batch?: { id: string; tenantId: string; total: number; rejected: number; kind?: string },
): Promise<{ idx: number; id: string; revision: number; status: ArticleStatus; changed: boolean }[]> {
  return db.query<{ idx: number; id: string; revision: number; status: ArticleStatus; changed: boolean }>(SUBMIT_SQL, [
    JSON.stringify(records),
    batch?.id ?? null,
    batch?.tenantId ?? null,
    batch?.kind ?? 'batch',
    batch?.total ?? null,
    batch?.rejected ?? null,
  ]);
}

/** The articles with these (tenant, external id) keys that exist. */
export async function articlesByExternalId(
  db: Db,
  keys: readonly { tenantId: string; externalId: string }[],
): Promise<{ tenantId: string; externalId: string; id: string; revision: number; status: ArticleStatus }[]> {
  return db.query<{ tenantId: string; externalId: string; id: string; revision: number; status: ArticleStatus }>(
    `SELECT a.tenant_id AS "tenantId", a.external_id AS "externalId", a.id, a.revision, a.status
         FROM articles a JOIN jsonb_to_recordset($1::jsonb) AS x(tenant_id text, external_id text)
           ON a.tenant_id = x.tenant_id AND a.external_id = x.external_id`,
    [JSON.stringify(keys.map((k) => ({ tenant_id: k.tenantId, external_id: k.externalId })))],
  );
}

// ---------------------------------------------------------------- batches

/** A batch with its items (their index in the request and the article stored), in one statement. */
export async function insertBatch(
  db: Db,
  batch: { id: string; tenantId: string; kind: string; total: number; accepted: number; rejected: number; items: readonly { idx: number; article_id: string }[] },
): Promise<void> {
  await db.query(
    `WITH batch AS (INSERT INTO batches (id, tenant_id, kind, total, accepted, rejected) VALUES ($1, $2, $3, $4, $5, $6))
         INSERT INTO batch_items (batch_id, idx, article_id) SELECT $1, x.idx, x.article_id FROM jsonb_to_recordset($7::jsonb) AS x(idx int, article_id text)`,
    [batch.id, batch.tenantId, batch.kind, batch.total, batch.accepted, batch.rejected, JSON.stringify(batch.items)],
  );
}

export async function batchRow(db: Db, tenantId: string, id: string): Promise<{ id: string; total: number; accepted: number; rejected: number; createdAt: Date } | null> {
  const batches = await db.query<{ id: string; total: number; accepted: number; rejected: number; createdAt: Date }>(
    'SELECT id, total, accepted, rejected, created_at AS "createdAt" FROM batches WHERE tenant_id = $1 AND id = $2',
    [tenantId, id],
  );
  return batches[0] ?? null;
}

/** A batch's articles counted by status and verdict. */
export async function batchStatusCounts(db: Db, batchId: string): Promise<{ status: ArticleStatus; verdict: Verdict | null; n: number }[]> {
  return db.query<{ status: ArticleStatus; verdict: Verdict | null; n: number }>(
    `SELECT a.status, a.verdict, count(*)::int AS n FROM batch_items b JOIN articles a ON a.id = b.article_id
       WHERE b.batch_id = $1 GROUP BY a.status, a.verdict`,
    [batchId],
  );
}

// ---------------------------------------------------------------- scoring

/** A stored article as a scoring job reads it: with the score its content already has under the scorer's versions, if any. */
export type ArticleForScoring = StoredArticle & { existingScoreId: string | null };

/**
 * Marks the jobs' revisions `scoring` (one attempt more; a scored one is left alone) and reads
 * the articles back, each with its existing score id: one round trip for many jobs.
 */
export async function markScoring(
  db: Db,
  jobs: readonly { articleId: string; tenantId: string; revision: number }[],
  versions: { modelVersion: string; configVersion: string },
): Promise<ArticleForScoring[]> {
  return db.query<ArticleForScoring>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS x(id, tenant_id, revision)
     ), marked AS (
       UPDATE articles a SET status = 'scoring', status_at = now(), attempts = a.attempts + 1
       FROM input x WHERE a.id = x.id AND a.tenant_id = x.tenant_id AND a.revision = x.revision AND a.status <> 'scored'
     )
     SELECT ${ARTICLE_COLUMNS},
            (SELECT s.id FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
               AND s.model_version = $4 AND s.config_version = $5 ORDER BY s.evaluation DESC LIMIT 1) AS "existingScoreId"
     FROM articles a WHERE a.id = ANY($1::text[])`,
    [jobs.map((j) => j.articleId), jobs.map((j) => j.tenantId), jobs.map((j) => j.revision), versions.modelVersion, versions.configVersion],
  );
}

/** Makes the article revision agree with a score already written (a retry after the write, before the job completed). */
export async function applyStoredScore(db: Db, scoreId: string, revision: number): Promise<void> {
  await db.query(
    `UPDATE articles a SET status = 'scored', status_at = now(), last_error = NULL, score = s.score, label = s.label,
                verdict = s.verdict, model_version = s.model_version, config_version = s.config_version, scored_at = s.created_at
         FROM scores s WHERE s.id = $1 AND a.id = s.article_id AND a.revision = $2`,
    [scoreId, revision],
  );
}

/** Marks the revision failed after the last attempt; a newer revision or a scored one is left alone. */
export async function markFailed(db: Db, articleId: string, revision: number, reason: string): Promise<void> {
  await db.query(
    `UPDATE articles SET status = 'failed', status_at = now(), last_error = $3
       WHERE id = $1 AND revision = $2 AND status <> 'scored'`,
    [articleId, revision, reason],
  );
}

// ---------------------------------------------------------------- reconciling

/** Accepted revisions not finished (queued or scoring) whose status is older than `olderThanMs`, oldest first. */
export async function unfinishedArticles(db: Db, olderThanMs: number, limit: number): Promise<{ id: string; tenantId: string; revision: number }[]> {
  return db.query<{ id: string; tenantId: string; revision: number }>(
    `SELECT id, tenant_id AS "tenantId", revision FROM articles
       WHERE status IN ('queued', 'scoring') AND status_at < now() - ($1::int * interval '1 millisecond')
       ORDER BY status_at LIMIT $2`,
    [olderThanMs, limit],
  );
}

/** Sets the revision's status time to now (the reconciler's scan moves on to older ones). */
export async function touchArticle(db: Db, id: string, revision: number): Promise<void> {
  await db.query('UPDATE articles SET status_at = now() WHERE id = $1 AND revision = $2', [id, revision]);
}

// ---------------------------------------------------------------- the outbox's reads

/** The external ids of the articles (a decision's webhook names them). */
export async function externalIds(db: Db, ids: readonly string[]): Promise<{ id: string; externalId: string }[]> {
  return db.query<{ id: string; externalId: string }>('SELECT id, external_id AS "externalId" FROM articles WHERE id = ANY($1::text[])', [ids]);
}
