import type { Db } from '../db/db.ts';
import type { ExplicitLabel } from '../domain/labelling.ts';
import type { Label, Reason, Segment, Verdict } from '../domain/types.ts';
import type { StoredArticle } from './articles.ts';

/**
 * The `scores` record: one row per scoring (and re-evaluation) of an article revision under a
 * model and fusion-config version, mapped to `StoredScore` here, once.
 */

export interface StoredScore {
  id: string;
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  segments: Segment[];
  signals: Record<string, unknown>;
  timings: Record<string, number>;
  modelVersion: string;
  configVersion: string;
  trigger: string;
  createdAt: Date;
}

export const SCORE_COLUMNS = `id, score, label, verdict, reasons, segments, signals, timings, model_version AS "modelVersion",
  config_version AS "configVersion", trigger, created_at AS "createdAt"`;

/** The stored score of the article's current content under its current model/config (its latest re-evaluation). */
export async function currentScore(db: Db, article: Pick<StoredArticle, 'id' | 'contentHash' | 'modelVersion' | 'configVersion'>): Promise<StoredScore | null> {
  if (article.modelVersion === null || article.configVersion === null) return null;
  const rows = await db.query<StoredScore>(
    `SELECT ${SCORE_COLUMNS} FROM scores
     WHERE article_id = $1 AND content_hash = $2 AND model_version = $3 AND config_version = $4
     ORDER BY evaluation DESC LIMIT 1`,
    [article.id, article.contentHash, article.modelVersion, article.configVersion],
  );
  return rows[0] ?? null;
}

/** One score to write, as the write statement reads it (jsonb_to_recordset column names). */
export interface ScoreWrite {
  score_id: string;
  article_id: string;
  tenant_id: string;
  revision: number;
  content_hash: string;
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  segments: Segment[];
  signals: Record<string, unknown>;
  timings: Record<string, number>;
  trigger: string;
  /** The `article.scored` event's payload. */
  payload: Record<string, unknown>;
}

/**
 * Writes the scores, the articles' derived fields and the `article.scored` events in one
 * statement (one commit): a concurrent duplicate's score stands, a newer revision is left
 * alone. Whether each row was applied, in order.
 */
export async function writeScores(db: Db, rows: readonly ScoreWrite[], versions: { modelVersion: string; configVersion: string }): Promise<boolean[]> {
  const written = await db.query<{ applied: boolean }>(
    `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
           score_id text, article_id text, tenant_id text, revision int, content_hash text, score real, label text,
           verdict text, reasons jsonb, segments jsonb, signals jsonb, timings jsonb, trigger text, payload jsonb, idx int)
       ), inserted AS (
         INSERT INTO scores (id, article_id, tenant_id, revision, content_hash, model_version, config_version, score, label,
                             verdict, reasons, segments, signals, timings, trigger)
         SELECT score_id, article_id, tenant_id, revision, content_hash, $2, $3, score, label, verdict, reasons, segments,
                signals, timings, trigger
         FROM input ORDER BY idx
         ON CONFLICT (article_id, content_hash, model_version, config_version, evaluation) DO NOTHING RETURNING id
       ), applied AS (
         UPDATE articles a SET status = 'scored', status_at = now(), last_error = NULL, score = x.score, label = x.label,
                verdict = x.verdict, model_version = $2, config_version = $3, scored_at = now()
         FROM input x JOIN inserted i ON i.id = x.score_id
         WHERE a.id = x.article_id AND a.revision = x.revision RETURNING a.id
       ), logged AS (
         INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
         SELECT x.tenant_id, 'article', x.article_id, 'article.scored', 'system:scorer', x.payload, $2, $3
         FROM input x JOIN applied p ON p.id = x.article_id ORDER BY x.idx
       )
       SELECT EXISTS (SELECT 1 FROM applied p WHERE p.id = x.article_id) AS applied FROM input x ORDER BY x.idx`,
    [JSON.stringify(rows.map((row, idx) => ({ ...row, idx }))), versions.modelVersion, versions.configVersion],
  );
  return written.map((w) => w.applied);
}

// ---------------------------------------------------------------- the outbox's reads

/** A score with what the webhooks need of its article. */
export interface ScoreWithArticle {
  scoreId: string;
  tenantId: string;
  articleId: string;
  externalId: string;
  accountId: string;
  revision: number;
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  declaredAi: boolean;
  metadata: Record<string, unknown>;
  explicit: ExplicitLabel[] | null;
}

/** The scores with their articles, in one read. */
export async function scoresWithArticles(db: Db, scoreIds: readonly string[]): Promise<ScoreWithArticle[]> {
  return db.query<ScoreWithArticle>(
    `SELECT s.id AS "scoreId", s.tenant_id AS "tenantId", s.article_id AS "articleId", a.external_id AS "externalId", a.account_id AS "accountId",
            s.revision, s.score, s.label, s.verdict, s.reasons, a.declared_ai AS "declaredAi", a.metadata,
            s.signals->'labelling'->'explicit' AS explicit
       FROM scores s JOIN articles a ON a.id = s.article_id WHERE s.id = ANY($1::text[])`,
    [scoreIds],
  );
}

/** Which stored account observations to read: those that found near-duplicates, or those with a burst. */
const OBSERVATION_FILTERS = {
  similar: `jsonb_array_length(COALESCE(s.signals->'account'->'similar', '[]')) > 0`,
  burst: `s.signals->'account'->'signals' @> '[{"code":"burst"}]'`,
} as const;

/** The stored account observations (unparsed) of the scores that match `which`. */
export async function accountObservations(db: Db, scoreIds: readonly string[], which: keyof typeof OBSERVATION_FILTERS): Promise<{ scoreId: string; account: unknown }[]> {
  return db.query<{ scoreId: string; account: unknown }>(
    `SELECT s.id AS "scoreId", s.signals->'account' AS account FROM scores s WHERE s.id = ANY($1::text[]) AND ${OBSERVATION_FILTERS[which]}`,
    [scoreIds],
  );
}
