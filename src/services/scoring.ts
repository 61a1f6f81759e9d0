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
    const { modelVersion, configVersion } = this.pipeline;
    // Marks the row `scoring` and reads it back, with the score this content already has
    // under this model and config, if any: one round trip.
    const rows = await this.db.query<StoredArticle & { existingScoreId: string | null }>(
      `WITH marked AS (
         UPDATE articles SET status = 'scoring', status_at = now(), attempts = attempts + 1
         WHERE id = $1 AND tenant_id = $2 AND revision = $3 AND status <> 'scored'
       )
       SELECT ${ARTICLE_COLUMNS},
              (SELECT s.id FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                 AND s.model_version = $4 AND s.config_version = $5) AS "existingScoreId"
       FROM articles a WHERE id = $1 AND tenant_id = $2`,
      [job.articleId, job.tenantId, job.revision, modelVersion, configVersion],
    );
    const article = rows[0];
    if (!article) throw new ArticleMissingError(`article ${job.articleId} does not exist`);
    if (article.revision !== job.revision) return { kind: 'superseded' };
    if (article.existingScoreId) {
      // A retry after the score was written but before the job completed: make the row agree.
      await this.db.query(
        `UPDATE articles a SET status = 'scored', status_at = now(), last_error = NULL, score = s.score, label = s.label,
                verdict = s.verdict, model_version = s.model_version, config_version = s.config_version, scored_at = s.created_at
         FROM scores s WHERE s.id = $1 AND a.id = s.article_id AND a.revision = $2`,
        [article.existingScoreId, article.revision],
      );
      return { kind: 'already_scored', scoreId: article.existingScoreId };
    }

    const started = Date.now();
    const result = await this.pipeline.run(article);
    const timings = {
      ...result.timings,
      queuedMs: Math.max(0, started - article.receivedAt.getTime()),
      totalMs: Date.now() - started,
    };
    const scoreId = newId('scr');
    // Score, the article's derived fields and the event in one statement (one commit). A
    // concurrent duplicate's row stands; a newer revision is left alone.
    const written = await this.db.query<{ applied: boolean }>(
      `WITH inserted AS (
         INSERT INTO scores (id, article_id, tenant_id, revision, content_hash, model_version, config_version, score, label,
                             verdict, reasons, segments, signals, timings, trigger)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::jsonb, $14::jsonb, $15)
         ON CONFLICT (article_id, content_hash, model_version, config_version) DO NOTHING RETURNING id
       ), applied AS (
         UPDATE articles SET status = 'scored', status_at = now(), last_error = NULL, score = $8, label = $9, verdict = $10,
                model_version = $6, config_version = $7, scored_at = now()
         WHERE id = $2 AND revision = $4 AND EXISTS (SELECT 1 FROM inserted) RETURNING id
       ), logged AS (
         INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
         SELECT $3, 'article', $2, 'article.scored', 'system:scorer', $16::jsonb, $6, $7 FROM applied
       )
       SELECT EXISTS (SELECT 1 FROM applied) AS applied`,
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
        JSON.stringify({ scoreId, revision: article.revision, score: result.score, label: result.label, verdict: result.verdict, trigger: job.trigger }),
      ],
    );
    if (!written[0]?.applied) return { kind: 'superseded' };
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
}
