import { JOBS } from '../jobs/catalog.ts';
import type { Reconciler } from '../services/reconciler.ts';
import type { ScoringService } from '../services/scoring.ts';
import { defineWorker, handle, type RunningWorker, type WorkerHost } from './define-worker.ts';

export interface ScoreWorkerOptions {
  concurrency: number;
  /** A worker that dies holding a job loses it after this long; then it is retried. */
  lockMs: number;
  /** Runs the reconciler loop in this process (one per deployment is enough, more is harmless). */
  reconciler?: Reconciler;
}

/**
 * The live `score` queue's consumer: scores, counts verdicts, and after the last attempt marks
 * the article failed. While the database is down a job waits without spending an attempt.
 */
export function startScoreWorker(host: WorkerHost, scoring: ScoringService, options: ScoreWorkerOptions): RunningWorker {
  const { log, metrics, config } = host;
  const running = defineWorker(
    host,
    [
      handle(
        JOBS.score,
        async (data) => {
          const outcome = await scoring.score(data);
          if (outcome.kind === 'scored') metrics.verdicts.inc({ verdict: outcome.verdict, label: outcome.label });
          return outcome;
        },
        (data, error) => scoring.markFailed(data, error.message),
      ),
    ],
    { concurrency: options.concurrency, lockMs: options.lockMs, maxStalledCount: 2, timed: true, waitOutDatabaseMs: config.scoring.backoffMs * 5 },
  );

  let reconcileTimer: NodeJS.Timeout | undefined;
  const { reconciler } = options;
  if (reconciler) {
    const tick = () => {
      reconciler
        .runOnce()
        .catch((error: unknown) => log.warn({ err: error }, 'reconciler pass failed'))
        .finally(() => {
          reconcileTimer = setTimeout(tick, config.scoring.reconcileIntervalMs);
          reconcileTimer.unref();
        });
    };
    reconcileTimer = setTimeout(tick, config.scoring.reconcileIntervalMs);
    reconcileTimer.unref();
  }

  return {
    worker: running.worker,
    async close(timeoutMs: number) {
      clearTimeout(reconcileTimer);
      await running.close(timeoutMs);
    },
  };
}
