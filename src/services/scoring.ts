import type { Db } from '../db/db.ts';
import { newId } from '../domain/ids.ts';
import type { Label, Reason, Segment, Verdict } from '../domain/types.ts';
import type { ScoreJob } from '../jobs/catalog.ts';
import { ARTICLE_COLUMNS, type StoredArticle } from './articles.ts';

/** What the scoring pipeline concluded about one article revision. */
export interface PipelineResult {
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  segments: Segment[];
  /** Every signal's raw output, kept for the console and for rescans to compare. */
  signals: Record<string, unknown>;
  timings: Record<string, number>;
}

/**
 * The scorers and the fusion, seen from the store: versions that key idempotency, and one
 * call that turns an article into a result.
 */
export interface ScoringPipeline {
  readonly modelVersion: string;
  readonly configVersion: string;
  run(article: StoredArticle): Promise<PipelineResult>;
}

export type ScoreOutcome =
  | { kind: 'scored'; scoreId: string; verdict: Verdict; label: Label; score: number }
  | { kind: 'already_scored'; scoreId: string }
  | { kind: 'superseded' };

/** Listeners run after the score is committed (webhooks, review queue, metrics). */
export type ScoredListener = (article: StoredArticle, result: PipelineResult & { scoreId: string }) => Promise<void> | void;

export class ArticleMissingError extends Error {}

/**
 * Scores one article revision exactly once per (content, model version, config version):
 * re-reads the row, returns early when the work is done, and writes the score, the article's
 * derived fields and the event in one transaction.
 */
export class ScoringService {
  private readonly listeners: ScoredListener[] = [];

  constructor(
    private readonly db: Db,
    private readonly pipeline: ScoringPipeline,
  ) {}

  onScored(listener: ScoredListener): void {
    this.listeners.push(listener);
  }

  async score(job: ScoreJob): Promise<ScoreOutcome> {
    const rows = await this.db.query<StoredArticle>(`SELECT ${ARTICLE_COLUMNS} FROM articles WHERE id = $1 AND tenant_id = $2`, [
      job.articleId,
      job.tenantId,
    ]);
    const article = rows[0];
    if (!article) throw new ArticleMissingError(`article ${job.articleId} does not exist`);
    if (article.revision !== job.revision) return { kind: 'superseded' };

    const { modelVersion, configVersion } = this.pipeline;
    const existing = await this.db.query<{ id: string; score: number; label: Label; verdict: Verdict }>(
      `SELECT id, score, label, verdict FROM scores
       WHERE article_id = $1 AND content_hash = $2 AND model_version = $3 AND config_version = $4`,
      [article.id, article.contentHash, modelVersion, configVersion],
    );
    const done = existing[0];
    if (done) {
      // A retry after the score was written but before the job completed: make the row agree.
      await this.applyToArticle(this.db, article, done, modelVersion, configVersion);
      return { kind: 'already_scored', scoreId: done.id };
    }

    await this.db.query(
      `UPDATE articles SET status = 'scoring', status_at = now(), attempts = attempts + 1
       WHERE id = $1 AND revision = $2 AND status <> 'scored'`,
      [article.id, article.revision],
    );
    const started = Date.now();
    const result = await this.pipeline.run(article);
    const timings = {
      ...result.timings,
      queuedMs: Math.max(0, started - article.receivedAt.getTime()),
      totalMs: Date.now() - started,
    };
    const scoreId = newId('scr');
    const stored = await this.db.transaction(async (tx) => {
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO scores (id, article_id, tenant_id, revision, content_hash, model_version, config_version, score, label,
                             verdict, reasons, segments, signals, timings, trigger)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::jsonb, $14::jsonb, $15)
         ON CONFLICT (article_id, content_hash, model_version, config_version) DO NOTHING RETURNING id`,
        [
          scoreId,
          article.id,
          article.tenantId,
          article.revision,
          article.contentHash,
          modelVersion,
          configVersion,
          result.score,
          result.label,
          result.verdict,
          JSON.stringify(result.reasons),
          JSON.stringify(result.segments),
          JSON.stringify(result.signals),
          JSON.stringify(timings),
          job.trigger,
        ],
      );
      if (inserted.length === 0) return false; // a concurrent duplicate won; its row stands
      const applied = await this.applyToArticle(tx, article, { id: scoreId, ...result }, modelVersion, configVersion);
      if (!applied) return false;
      await tx.query(
        `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
         VALUES ($1, 'article', $2, 'article.scored', 'system:scorer', $3::jsonb, $4, $5)`,
        [
          article.tenantId,
          article.id,
          JSON.stringify({ scoreId, revision: article.revision, score: result.score, label: result.label, verdict: result.verdict, trigger: job.trigger }),
          modelVersion,
          configVersion,
        ],
      );
      return true;
    });
    if (!stored) return { kind: 'superseded' };
    for (const listener of this.listeners) await listener(article, { ...result, timings, scoreId });
    return { kind: 'scored', scoreId, verdict: result.verdict, label: result.label, score: result.score };
  }

  /** Marks the revision failed after the last attempt; a newer revision is left alone. */
  async markFailed(job: ScoreJob, reason: string): Promise<void> {
    await this.db.query(
      `UPDATE articles SET status = 'failed', status_at = now(), last_error = $3
       WHERE id = $1 AND revision = $2 AND status <> 'scored'`,
      [job.articleId, job.revision, reason.slice(0, 1000)],
    );
  }

  private async applyToArticle(
    db: Db,
    article: StoredArticle,
    score: { id: string; score: number; label: Label; verdict: Verdict },
    modelVersion: string,
    configVersion: string,
  ): Promise<boolean> {
    const updated = await db.query(
      `UPDATE articles SET status = 'scored', status_at = now(), last_error = NULL, score = $3, label = $4, verdict = $5,
              model_version = $6, config_version = $7, scored_at = now()
       WHERE id = $1 AND revision = $2 RETURNING id`,
      [article.id, article.revision, score.score, score.label, score.verdict, modelVersion, configVersion],
    );
    return updated.length > 0;
  }
}
