import { JOBS } from '../jobs/catalog.ts';
import type { WebhookService } from '../webhooks/service.ts';
import { defineWorker, handle, type RunningWorker, type WorkerHost } from './define-worker.ts';

/**
 * The `deliver` queue consumer: one signed POST per attempt. A failed attempt throws so
 * BullMQ retries with exponential backoff; when the last attempt fails the delivery row is
 * marked dead (visible to admins, redrivable). Scoring never waits on any of this. A sweep
 * (every RECONCILE_INTERVAL_MS) re-queues pending deliveries whose job was lost.
 */
/** Deliveries pending this long after their last attempt are checked for a lost job. */
export const STALE_DELIVERY_MS = 15 * 60_000;

export function startDeliverWorker(host: WorkerHost, webhooks: WebhookService, options: { concurrency: number; sweep?: boolean }): RunningWorker {
  const { log, config, metrics } = host;
  const running = defineWorker(
    host,
    [
      handle(
        JOBS.deliver,
        async (data) => {
          const outcome = await webhooks.attempt(data);
          if (outcome === 'done') return 'done';
          metrics.webhookDeliveries.inc({ outcome: outcome.ok ? 'delivered' : 'failed' });
          if (outcome.ok) return 'delivered';
          throw new Error(outcome.error);
        },
        async (data, error) => {
          metrics.webhookDeliveries.inc({ outcome: 'dead' });
          await webhooks.markDead(data, error.message);
        },
      ),
    ],
    // A platform's endpoint being down is the normal business of this queue: the rows say it.
    { concurrency: options.concurrency, logFailures: false },
  );
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
    worker: running.worker,
    async close(timeoutMs: number) {
      clearTimeout(sweepTimer);
      await running.close(timeoutMs);
    },
  };
}
