import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { AppContext } from '../context.ts';
import { QUEUES, reevaluateJobSchema } from '../jobs/catalog.ts';
import type { Reevaluator } from '../services/reevaluation.ts';
import { liveGate } from './rescore-worker.ts';
import type { RunningWorker } from './score-worker.ts';
import { queuePrefix } from '../infra/redis.ts';

/**
 * The `reevaluate` queue consumer: one chunk of earlier articles per job, re-fused with the
 * new evidence (no model pass). A payload that does not parse is permanent; anything else
 * (Redis or the database unavailable) is retried with backoff. Its own concurrency
 * (REEVALUATE_CONCURRENCY), so a farm's re-evaluation never takes the live workers' slots, and
 * inside a job each article yields to live jobs of this process (`liveGate`).
 */
export function startReevaluateWorker(ctx: AppContext, reevaluator: Reevaluator, options: { concurrency: number; live?: Worker }): RunningWorker {
  const { log, config } = ctx;
  // Re-observing a farm member costs what a live farm post's account signals cost: each article
  // waits for a turn behind live jobs, as rescans do.
  const gate = liveGate(options.live);
  const processor = async (job: Job) => {
    const parsed = reevaluateJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid reevaluate payload: ${parsed.error.message}`);
    const outcome = await reevaluator.run(parsed.data, { admit: () => gate.admit(2000) });
    if (outcome.raised > 0) log.info({ jobId: job.id, reason: parsed.data.reason.kind, ...outcome }, 'verdicts raised by re-evaluation');
    return outcome;
  };
  const worker = new Worker(QUEUES.reevaluate, processor, {
    connection: ctx.workerConnection(),
    prefix: queuePrefix(config, QUEUES.reevaluate),
    concurrency: options.concurrency,
  });
  worker.on('error', (error) => log.error({ err: error }, 'reevaluate worker error'));
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, err: error }, 're-evaluation job failed'));
  return {
    worker,
    async close(timeoutMs: number) {
      const graceful = worker.close();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      if ((await Promise.race([graceful, deadline])) === 'timeout') await worker.close(true);
    },
  };
}
