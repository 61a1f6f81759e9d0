import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { AppContext } from '../context.ts';
import { isUnavailable } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { QUEUES, scoreJobSchema } from '../jobs/catalog.ts';
import { Reconciler } from '../services/reconciler.ts';
import { ArticleMissingError, type ScoringService } from '../services/scoring.ts';
import { queuePrefix } from '../infra/redis.ts';

export interface ScoreWorkerOptions {
  concurrency: number;
  /** A worker that dies holding a job loses it after this long; then it is retried. */
  lockMs: number;
  /** Run the reconciler loop in this process (one per deployment is enough, more is harmless). */
  reconcile: boolean;
}

export interface RunningWorker {
  worker: Worker;
  /** Stops taking jobs, lets in-flight ones finish (bounded), stops the reconciler. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * The `score` queue consumer: parses the payload again, scores, and classifies failures:
 * a payload that does not parse or an article that does not exist is permanent; anything
 * else is retried with exponential backoff, and the last failure marks the article failed.
 */
export function startScoreWorker(ctx: AppContext, scoring: ScoringService, options: ScoreWorkerOptions): RunningWorker {
  const { log, metrics, config } = ctx;
  const processor = async (job: Job, token?: string) => {
    const parsed = scoreJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid score payload: ${parsed.error.message}`);
    const started = performance.now();
    const jobLog = log.child({ jobId: job.id, attempt: job.attemptsMade + 1, articleId: parsed.data.articleId });
    try {
      const outcome = await scoring.score(parsed.data);
      metrics.jobDuration.observe({ queue: QUEUES.score, outcome: outcome.kind }, (performance.now() - started) / 1000);
      if (outcome.kind === 'scored') metrics.verdicts.inc({ verdict: outcome.verdict, label: outcome.label });
      jobLog.debug({ outcome: outcome.kind }, 'scored');
      return outcome;
    } catch (error) {
      metrics.jobDuration.observe({ queue: QUEUES.score, outcome: 'error' }, (performance.now() - started) / 1000);
      if (error instanceof ArticleMissingError || error instanceof ServiceError) {
        throw new UnrecoverableError((error as Error).message);
      }
      if (isUnavailable(error) && token) {
        // The database is down: wait for it without spending an attempt, so an outage of
        // any length never turns accepted articles into failed ones.
        jobLog.warn('database unavailable; job delayed');
        await job.moveToDelayed(Date.now() + config.scoring.backoffMs * 5, token);
        throw new DelayedError();
      }
      jobLog.warn({ err: error }, 'scoring failed; will retry');
      throw error;
    }
  };

  const worker = new Worker(QUEUES.score, processor, {
    connection: ctx.workerConnection(),
    prefix: queuePrefix(config, QUEUES.score),
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.lockMs,
    maxStalledCount: 2,
  });
  worker.on('error', (error) => log.error({ err: error }, 'score worker error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const parsed = scoreJobSchema.safeParse(job.data);
    const finalAttempt = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (parsed.success && finalAttempt) {
      scoring.markFailed(parsed.data, error.message).catch((e: unknown) => log.error({ err: e }, 'could not mark article failed'));
    }
  });

  let reconcileTimer: NodeJS.Timeout | undefined;
  if (options.reconcile) {
    const reconciler = new Reconciler(ctx.db, ctx.queues.score, ctx.articles, config.scoring.reconcileAfterMs, log, [ctx.queues.rescore]);
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
    worker,
    async close(timeoutMs: number) {
      clearTimeout(reconcileTimer);
      // Graceful: wait for in-flight jobs; past the deadline, force-close so their locks
      // lapse and another worker picks them up as stalled.
      const graceful = worker.close();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      if ((await Promise.race([graceful, deadline])) === 'timeout') await worker.close(true);
    },
  };
}
