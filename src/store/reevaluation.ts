import type { Db } from '../db/db.ts';
import type { StoredScore } from './scores.ts';

/**
 * Re-evaluation's reads and its write: the articles new farm evidence concerns (still
 * unreviewed, their verdict able to rise), their current scores, and the raised score
 * versions with their `article.verdict_changed` events. `services/reevaluation.ts` re-fuses.
 */

/** Members of the cluster, oldest post first, scored, not flagged and not decided by a moderator on this revision. */
export async function clusterCandidates(db: Db, tenantId: string, clusterId: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `SELECT a.id FROM cluster_members m
       JOIN articles a ON a.tenant_id = m.tenant_id AND a.id = m.article_id
       LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id AND rs.revision = a.revision
      WHERE m.tenant_id = $1 AND m.cluster_id = $2 AND a.status = 'scored' AND a.verdict <> 'flag'
        AND rs.article_id IS NULL
      ORDER BY m.posted_at, m.article_id`,
    [tenantId, clusterId],
  );
  return rows.map((r) => r.id);
}

/**
 * The account's other posts in the window (by publication, else receipt time), scored, not
 * flagged, not decided by a moderator and not yet carrying a burst: at most `limit`, oldest first.
 */
export async function accountCandidates(db: Db, tenantId: string, q: { accountId: string; except: string; from: string; to: string; limit: number }): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `SELECT a.id FROM articles a
       LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id AND rs.revision = a.revision
       JOIN LATERAL (SELECT s.signals FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                        AND s.model_version = a.model_version AND s.config_version = a.config_version
                      ORDER BY s.evaluation DESC LIMIT 1) s ON true
      WHERE a.tenant_id = $1 AND a.account_id = $2 AND a.id <> $3 AND a.status = 'scored' AND a.verdict <> 'flag'
        AND rs.article_id IS NULL
        -- Posts that already carry a burst (their own, or from an earlier re-evaluation) are done.
        AND NOT COALESCE(s.signals->'account'->'signals' @> '[{"code":"burst"}]', false)
        AND COALESCE(a.published_at, a.received_at) >= $4::timestamptz AND COALESCE(a.published_at, a.received_at) <= $5::timestamptz
      ORDER BY COALESCE(a.published_at, a.received_at), a.id LIMIT $6`,
    [tenantId, q.accountId, q.except, q.from, q.to, q.limit],
  );
  return rows.map((r) => r.id);
}

/** A candidate article with its current score. */
export interface ReevaluationCandidate extends Omit<StoredScore, 'id' | 'trigger' | 'createdAt'> {
  id: string;
  tenantId: string;
  accountId: string;
  text: string;
  lang: 'zh' | 'en';
  declaredAi: boolean;
  revision: number;
  contentHash: string;
  postedAt: Date;
  scoreId: string;
  evaluation: number;
}

/** The articles among `ids` still scored and undecided on their revision, with their current score. */
export async function reevaluationCandidates(db: Db, tenantId: string, ids: readonly string[]): Promise<ReevaluationCandidate[]> {
  return db.query<ReevaluationCandidate>(
    `SELECT a.id, a.tenant_id AS "tenantId", a.account_id AS "accountId", a.text, a.lang, a.declared_ai AS "declaredAi",
            a.revision, a.content_hash AS "contentHash", COALESCE(a.published_at, a.received_at) AS "postedAt",
            s.id AS "scoreId", s.score, s.label, s.verdict, s.reasons, s.segments, s.signals, s.timings,
            s.model_version AS "modelVersion", s.config_version AS "configVersion", s.evaluation
       FROM articles a
       JOIN LATERAL (SELECT * FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                        AND s.model_version = a.model_version AND s.config_version = a.config_version
                      ORDER BY s.evaluation DESC LIMIT 1) s ON true
       LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id AND rs.revision = a.revision
      WHERE a.tenant_id = $1 AND a.id = ANY($2::text[]) AND a.status = 'scored' AND rs.article_id IS NULL`,
    [tenantId, ids],
  );
}

/**
 * The new score versions, the articles' derived fields and their `article.verdict_changed`
 * events in one statement. An article that moved on meanwhile (a new revision, another
 * verdict) is left alone: its score version is not written either. How many were applied.
 */
export async function writeReevaluatedScores(db: Db, rows: readonly Record<string, unknown>[]): Promise<number> {
  const [result] = await db.query<{ applied: number }>(
    `WITH input AS (
       SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(
         score_id text, article_id text, tenant_id text, revision int, content_hash text, model_version text, config_version text,
         evaluation int, prev_verdict text, score real, label text, verdict text, reasons jsonb, segments jsonb, signals jsonb,
         timings jsonb, payload jsonb)
       JOIN articles a ON a.id = x.article_id AND a.revision = x.revision AND a.content_hash = x.content_hash
                      AND a.verdict = x.prev_verdict AND a.model_version = x.model_version AND a.config_version = x.config_version
     ), inserted AS (
       INSERT INTO scores (id, article_id, tenant_id, revision, content_hash, model_version, config_version, evaluation, score, label,
                           verdict, reasons, segments, signals, timings, trigger)
       SELECT score_id, article_id, tenant_id, revision, content_hash, model_version, config_version, evaluation, score, label,
              verdict, reasons, segments, signals, timings, 'reevaluation'
         FROM input
       ON CONFLICT (article_id, content_hash, model_version, config_version, evaluation) DO NOTHING RETURNING id
     ), applied AS (
       UPDATE articles a SET score = x.score, label = x.label, verdict = x.verdict, scored_at = now()
         FROM input x JOIN inserted i ON i.id = x.score_id
        WHERE a.id = x.article_id AND a.verdict = x.prev_verdict RETURNING a.id
     ), logged AS (
       INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
       SELECT x.tenant_id, 'article', x.article_id, 'article.verdict_changed', 'system:reevaluation', x.payload, x.model_version, x.config_version
         FROM input x JOIN applied p ON p.id = x.article_id
     )
     SELECT count(*)::int AS applied FROM applied`,
    [JSON.stringify(rows)],
  );
  return result?.applied ?? 0;
}
