import type { Job, Worker } from 'bullmq';
import { JOBS, type RescanScoreJob, type ScoreJob } from '../jobs/catalog.ts';
import type { RescanService } from '../services/rescans.ts';
import type { ScoreOutcome, ScoringService } from '../services/scoring.ts';
import { defineWorker, handle, isTransient, type RunningWorker, type WorkerHost } from './define-worker.ts';
import { liveGate } from './live-gate.ts';

/**
 * The `rescore` queue's consumer: imported articles (`score` jobs, one article) and rescans'
 * chunks (`rescan` jobs), told apart by job name (see `JOBS` in `jobs/catalog.ts` for why they
 * share the queue), with their own concurrency (RESCORE_CONCURRENCY), so a backlog here never
 * queues in front of a live job. Each article yields to this process's live jobs (`liveGate`).
 */
export function startRescoreWorker(
  host: WorkerHost,
  scoring: ScoringService,
  rescans: RescanService,
  /** The live `score` worker of this process, if any: rescoring yields to it. */
  live?: Worker,
): RunningWorker {
  const { metrics, config } = host;
  const gate = liveGate(live);
  const admit = () => gate.admit(2000);

  /**
   * A rescan chunk: its articles scored together, the finished ones recorded in one statement,
   * a permanent failure recorded at once; the rest (transient failures) stay in the job's data
   * and the job is retried for them alone.
   */
  async function rescoreChunk(job: Job, chunk: RescanScoreJob): Promise<{ kind: 'cancelled' } | { kind: 'chunk'; scored: number; failed: number }> {
    const status = await rescans.statusOf(chunk.rescanId);
    if (status === 'cancelled' || status === null) return { kind: 'cancelled' };
    const settled = await scoring.scoreMany(
      chunk.items.map((item) => ({ tenantId: chunk.tenantId, articleId: item.articleId, revision: item.revision, trigger: 'rescan' as const })),
      { background: true, admit },
    );
    const finished: { articleId: string; outcome: ScoreOutcome }[] = [];
    const retry: RescanScoreJob['items'] = [];
    let firstError: unknown;
    for (const [i, result] of settled.entries()) {
      const item = chunk.items[i]!;
      if (result.status === 'fulfilled') finished.push({ articleId: item.articleId, outcome: result.value });
      else if (!isTransient(result.reason)) {
        await rescans.recordFailure(chunk, [item.articleId], (result.reason as Error).message);
        metrics.rescanArticles.inc({ outcome: 'failed' });
      } else {
        retry.push(item);
        firstError ??= result.reason;
      }
    }
    await rescans.recordResults(chunk, finished);
    for (const { outcome } of finished) {
      metrics.rescanArticles.inc({ outcome: outcome.kind === 'scored' ? 'rescored' : outcome.kind === 'already_scored' ? 'unchanged' : 'superseded' });
    }
    if (retry.length > 0) {
      await job.updateData({ ...chunk, items: retry });
      throw firstError;
    }
    return { kind: 'chunk', scored: finished.length, failed: settled.length - finished.length };
  }

  /** The items the job still held when it failed for good: recorded failed, their articles too. */
  async function chunkFailed(chunk: RescanScoreJob, error: Error): Promise<void> {
    const { tenantId, items } = chunk;
    metrics.rescanArticles.inc({ outcome: 'failed' }, items.length);
    await rescans.recordFailure(
      chunk,
      items.map((item) => item.articleId),
      error.message,
    );
    const failed: ScoreJob[] = items.map((item) => ({ tenantId, articleId: item.articleId, revision: item.revision, trigger: 'rescan' }));
    await Promise.all(failed.map((job) => scoring.markFailed(job, error.message)));
  }

  return defineWorker(
    host,
    [
      handle(
        JOBS.importScore,
        async (data) => {
          const outcome = await scoring.score(data, { background: true, admit });
          if (outcome.kind === 'scored') metrics.verdicts.inc({ verdict: outcome.verdict, label: outcome.label });
          return outcome;
        },
        (data, error) => scoring.markFailed(data, error.message),
      ),
      handle(JOBS.rescanChunk, (data, job) => rescoreChunk(job, data), chunkFailed),
    ],
    { concurrency: config.rescans.rescoreConcurrency, lockMs: config.scoring.lockMs, maxStalledCount: 2, timed: true },
  );
}
