import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { AppContext } from '../context.ts';
import { deliverJobSchema, QUEUES } from '../jobs/catalog.ts';
import type { WebhookService } from '../services/webhooks.ts';
import type { RunningWorker } from './score-worker.ts';
import { queuePrefix } from '../infra/redis.ts';

/**
 * The `deliver` queue consumer: one signed POST per attempt. A failed attempt throws so
 * BullMQ retries with exponential backoff; when the last attempt fails the delivery row is
 * marked dead (visible to admins, redrivable). Scoring never waits on any of this. A sweep
 * (every RECONCILE_INTERVAL_MS) re-queues pending deliveries whose job was lost.
 */
/** Deliveries pending this long after their last attempt are checked for a lost job. */
export const STALE_DELIVERY_MS = 15 * 60_000;

export function startDeliverWorker(ctx: AppContext, webhooks: WebhookService, options: { concurrency: number; sweep?: boolean }): RunningWorker {
  const { log, config } = ctx;
  const processor = async (job: Job) => {
    const parsed = deliverJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid deliver payload: ${parsed.error.message}`);
    const outcome = await webhooks.attempt(parsed.data);
    if (outcome === 'done') return 'done';
    ctx.metrics.webhookDeliveries.inc({ outcome: outcome.ok ? 'delivered' : 'failed' });
    if (outcome.ok) return 'delivered';
    throw new Error(outcome.error);
  };
  const worker = new Worker(QUEUES.deliver, processor, {
    connection: ctx.workerConnection(),
    prefix: queuePrefix(config, QUEUES.deliver),
    concurrency: options.concurrency,
  });
  worker.on('error', (error) => log.error({ err: error }, 'deliver worker error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const parsed = deliverJobSchema.safeParse(job.data);
    const finalAttempt = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (parsed.success && finalAttempt) {
      ctx.metrics.webhookDeliveries.inc({ outcome: 'dead' });
      webhooks.markDead(parsed.data, error.message).catch((e: unknown) => log.error({ err: e }, 'could not mark delivery dead'));
    }
  });
  let sweepTimer: NodeJS.Timeout | undefined;
  if (options.sweep ?? true) {
    const tick = () => {
      webhooks
        .requeueStale(STALE_DELIVERY_MS)
        .then((n) => (n > 0 ? log.info({ requeued: n }, 'requeued stale webhook deliveries') : undefined))
        .catch((error: unknown) => log.warn({ err: error }, 'webhook sweep failed'))
        .finally(() => {
          sweepTimer = setTimeout(tick, config.scoring.reconcileIntervalMs);
          sweepTimer.unref();
        });
    };
    sweepTimer = setTimeout(tick, config.scoring.reconcileIntervalMs);
    sweepTimer.unref();
  }
  return {
    worker,
    async close(timeoutMs: number) {
      clearTimeout(sweepTimer);
      const graceful = worker.close();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      if ((await Promise.race([graceful, deadline])) === 'timeout') await worker.close(true);
    },
  };
}
