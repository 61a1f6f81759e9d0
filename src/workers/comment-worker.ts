import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { AppContext } from '../context.ts';
import { isUnavailable } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { commentJobSchema, QUEUES } from '../jobs/catalog.ts';
import { CommentMissingError, type CommentScoringService } from '../services/comment-scoring.ts';
import type { RunningWorker } from './score-worker.ts';

/**
 * The `comment` queue consumer, classified like the score worker: a payload that does not
 * parse or a comment that does not exist is permanent; a database outage delays the job
 * without spending an attempt; anything else is retried, and the last failure marks the
 * comment failed. With `reconcile`, accepted comments whose job never reached Redis are
 * queued again every RECONCILE_INTERVAL_MS.
 */
export function startCommentWorker(ctx: AppContext, scoring: CommentScoringService, options: { concurrency: number; reconcile: boolean }): RunningWorker {
  const { log, metrics, config } = ctx;
  const processor = async (job: Job, token?: string) => {
    const parsed = commentJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid comment payload: ${parsed.error.message}`);
    const started = performance.now();
    try {
      const outcome = await scoring.score(parsed.data);
      metrics.jobDuration.observe({ queue: QUEUES.comment, outcome: outcome.kind }, (performance.now() - started) / 1000);
      return outcome;
    } catch (error) {
      metrics.jobDuration.observe({ queue: QUEUES.comment, outcome: 'error' }, (performance.now() - started) / 1000);
      if (error instanceof CommentMissingError || error instanceof ServiceError) throw new UnrecoverableError((error as Error).message);
      if (isUnavailable(error) && token) {
        await job.moveToDelayed(Date.now() + config.scoring.backoffMs * 5, token);
        throw new DelayedError();
      }
      log.warn({ err: error, jobId: job.id }, 'comment scoring failed; will retry');
      throw error;
    }
  };
  const worker = new Worker(QUEUES.comment, processor, {
    connection: ctx.workerConnection(),
    prefix: config.redisPrefix,
    concurrency: options.concurrency,
    lockDuration: config.scoring.lockMs,
    stalledInterval: config.scoring.lockMs,
    maxStalledCount: 2,
  });
  worker.on('error', (error) => log.error({ err: error }, 'comment worker error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const parsed = commentJobSchema.safeParse(job.data);
    const finalAttempt = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (parsed.success && finalAttempt) scoring.markFailed(parsed.data, error.message).catch((e: unknown) => log.error({ err: e }, 'could not mark comment failed'));
  });

  let timer: NodeJS.Timeout | undefined;
  if (options.reconcile) {
    const tick = () => {
      ctx.comments
        .requeueUnfinished(config.scoring.reconcileAfterMs)
        .catch((error: unknown) => log.warn({ err: error }, 'comment reconciler pass failed'))
        .finally(() => {
          timer = setTimeout(tick, config.scoring.reconcileIntervalMs);
          timer.unref();
        });
    };
    timer = setTimeout(tick, config.scoring.reconcileIntervalMs);
    timer.unref();
  }
  return {
    worker,
    async close(timeoutMs: number) {
      clearTimeout(timer);
      const graceful = worker.close();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      if ((await Promise.race([graceful, deadline])) === 'timeout') await worker.close(true);
    },
  };
}
