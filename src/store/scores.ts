import type { Db } from '../db/db.ts';
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
