import { type Db, isUnavailable } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { Coalescer } from '../infra/coalescer.ts';
import type { ArticleToScore, Label, Reason, Segment, Verdict } from '../domain/types.ts';
import type { ScoreJob } from '../jobs/catalog.ts';
import { type ArticleForScoring, applyStoredScore, markFailed, markScoring, type StoredArticle } from '../store/articles.ts';
import { type ScoreWrite, writeScores } from '../store/scores.ts';

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
  run(article: ArticleToScore, options?: { background?: boolean }): Promise<PipelineResult>;
}

/** What the pipeline needs of a stored article revision. */
export function articleToScore(article: StoredArticle): ArticleToScore {
  const { tenantId, id, accountId, text, title, lang, declaredAi, metadata } = article;
  return { tenantId, id, accountId, text, title, lang, declaredAi, metadata, postedAt: article.publishedAt ?? article.receivedAt };
}

export type ScoreOutcome =
  | { kind: 'scored'; scoreId: string; verdict: Verdict; label: Label; score: number }
  | { kind: 'already_scored'; scoreId: string }
  | { kind: 'superseded' };

export interface ScoreOptions {
  /** An import or rescan job: its model work yields to live articles'. */
  background?: boolean;
  /** Waits until this article may run the pipeline; answers the call that ends its turn. */
  admit?: () => Promise<() => void>;
}

/**
 * Scores one article revision exactly once per (content, model version, config version):
 * re-reads the row, returns early when the work is done, and writes the score, the article's
 * derived fields and the event in one statement, shared with concurrent jobs.
 */
export class ScoringService {
  // Concurrent jobs (live, imports and rescans) share their reads and their writes: under load many
  // scores cost one round trip and one commit; alone, a job runs at once.
  private readonly reads = new Coalescer<ScoreJob, ArticleForScoring | undefined>((jobs) => this.readForScoring(jobs), {
    maxInFlight: 2,
    conflictKey: (job) => job.articleId,
  });
  private readonly writes = new Coalescer<ScoreWrite, boolean>((rows) => this.writeScoreRows(rows), {
    maxInFlight: 2,
    conflictKey: (row) => row.article_id,
    retryAlone: (error) => !isUnavailable(error),
  });

  constructor(
    private readonly db: Db,
    private readonly pipeline: ScoringPipeline,
  ) {}

  async score(job: ScoreJob, options: ScoreOptions = {}): Promise<ScoreOutcome> {
    const [outcome] = await this.scoreMany([job], options);
    if (outcome!.status === 'rejected') throw outcome!.reason;
    return outcome!.value;
  }

  /**
   * Several articles as one unit (a rescan job's chunk): one read and one write statement for
   * all of them, each article's outcome or error on its own, in order.
   */
  async scoreMany(jobs: readonly ScoreJob[], options: ScoreOptions = {}): Promise<PromiseSettledResult<ScoreOutcome>[]> {
    const reads = this.reads.runAll(jobs);
    const prepared = await Promise.allSettled(jobs.map((job, i) => this.prepare(job, reads[i]!, options)));
    const rows = prepared.flatMap((p) => (p.status === 'fulfilled' && 'row' in p.value ? [p.value.row] : []));
    const writes = this.writes.runAll(rows);
    return Promise.allSettled(
      prepared.map(async (p) => {
        if (p.status === 'rejected') throw p.reason;
        if (!('row' in p.value)) return p.value;
        const { row, result } = p.value;
        // What follows the commit (webhooks, the cluster join, re-evaluations) leaves through
        // the `article.scored` event written with the score: see `outbox/dispatcher.ts`.
        if (!(await writes[rows.indexOf(row)]!)) return { kind: 'superseded' as const };
        return { kind: 'scored' as const, scoreId: row.score_id, verdict: result.verdict, label: result.label, score: result.score };
      }),
    );
  }

  /** Read back, then either an outcome without scoring or the pipeline's result as a row to write. */
  private async prepare(
    job: ScoreJob,
    read: Promise<ArticleForScoring | undefined>,
    options: ScoreOptions,
  ): Promise<ScoreOutcome | { row: ScoreWrite; article: StoredArticle; result: PipelineResult }> {
    const article = await read;
    // Permanent (`not_found`): a retry cannot bring the article back.
    if (!article) throw new ServiceError('not_found', `article ${job.articleId} does not exist`);
    if (article.revision !== job.revision) return { kind: 'superseded' };
    if (article.existingScoreId) {
      // A retry after the score was written but before the job completed: make the row agree.
      await applyStoredScore(this.db, article.existingScoreId, article.revision);
      return { kind: 'already_scored', scoreId: article.existingScoreId };
    }

    const release = await options.admit?.();
    const started = Date.now();
    let result: PipelineResult;
    try {
      result = await this.pipeline.run(articleToScore(article), { background: options.background ?? false });
    } finally {
      release?.();
    }
    const timings = {
      ...result.timings,
      queuedMs: Math.max(0, started - article.receivedAt.getTime()),
      totalMs: Date.now() - started,
    };
    const scoreId = newId('scr');
    const row: ScoreWrite = {
      score_id: scoreId,
      article_id: article.id,
      tenant_id: article.tenantId,
      revision: article.revision,
      content_hash: article.contentHash,
      score: result.score,
      label: result.label,
      verdict: result.verdict,
      reasons: result.reasons,
      segments: result.segments,
      signals: result.signals,
      timings,
      trigger: job.trigger,
      payload: { scoreId, revision: article.revision, score: result.score, label: result.label, verdict: result.verdict, trigger: job.trigger },
    };
    return { row, article, result };
  }

  /**
   * Marks the rows `scoring` and reads them back, each with the score its content already has
   * under this model and config, if any: one round trip for every concurrent job.
   */
  private async readForScoring(jobs: ScoreJob[]): Promise<(ArticleForScoring | undefined)[]> {
    const rows = await markScoring(this.db, jobs, { modelVersion: this.pipeline.modelVersion, configVersion: this.pipeline.configVersion });
    return jobs.map((job) => rows.find((r) => r.id === job.articleId && r.tenantId === job.tenantId));
  }

  /**
   * Scores, the articles' derived fields and the events of concurrent jobs in one statement
   * (one commit). A concurrent duplicate's row stands; a newer revision is left alone.
   */
  private async writeScoreRows(rows: ScoreWrite[]): Promise<boolean[]> {
    return writeScores(this.db, rows, { modelVersion: this.pipeline.modelVersion, configVersion: this.pipeline.configVersion });
  }

  /** Marks the revision failed after the last attempt; a newer revision is left alone. */
  async markFailed(job: ScoreJob, reason: string): Promise<void> {
    await markFailed(this.db, job.articleId, job.revision, reason.slice(0, 1000));
  }
}
