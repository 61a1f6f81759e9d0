import type { Worker } from 'bullmq';
import { JOBS } from '../jobs/catalog.ts';
import type { Reevaluator } from '../services/reevaluation.ts';
import { defineWorker, handle, type RunningWorker, type WorkerHost } from './define-worker.ts';
import { liveGate } from './live-gate.ts';

/**
 * The `reevaluate` queue consumer: one chunk of earlier articles per job, re-fused with the
 * new evidence (no model pass). Its own concurrency (REEVALUATE_CONCURRENCY), so a farm's
 * re-evaluation never takes the live workers' slots, and inside a job each article yields to
 * live jobs of this process (`liveGate`).
 */
export function startReevaluateWorker(host: WorkerHost, reevaluator: Reevaluator, options: { concurrency: number; live?: Worker }): RunningWorker {
  // Re-observing a farm member costs what a live farm post's account signals cost: each article
  // waits for a turn behind live jobs, as rescans do.
  const gate = liveGate(options.live);
  return defineWorker(
    host,
    [
      handle(JOBS.reevaluate, async (data, job) => {
        const outcome = await reevaluator.run(data, { admit: () => gate.admit(2000) });
        if (outcome.raised > 0) host.log.info({ jobId: job.id, reason: data.reason.kind, ...outcome }, 'verdicts raised by re-evaluation');
        return outcome;
      }),
    ],
    { concurrency: options.concurrency },
  );
}
