import { DelayedError } from 'bullmq';
import { JOBS } from '../jobs/catalog.ts';
import type { RescanService } from '../services/rescans.ts';
import { defineWorker, handle, type RunningWorker, type WorkerHost } from './define-worker.ts';

/**
 * The `rescan` queue's consumer: each rescan's driver, one short step each time (top the
 * rescan's window on `rescore` up, then re-delay itself). A driver lost with Redis (or never
 * queued because the API died) is queued again when this starts.
 */
export async function startRescanDriver(host: WorkerHost, rescans: RescanService): Promise<RunningWorker> {
  const { log, config } = host;
  const running = defineWorker(
    host,
    [
      handle(JOBS.rescanDriver, async (data, job, token) => {
        const next = await rescans.step(data);
        if (next === 'stop') return 'stopped';
        // Same job, later: the state is in Postgres, the job only carries the heartbeat.
        await job.moveToDelayed(Date.now() + config.rescans.stepMs, token);
        throw new DelayedError();
      }),
    ],
    { concurrency: 16, lockMs: config.scoring.lockMs, maxStalledCount: 1000 },
  );
  const resumed = await rescans.ensureDrivers().catch((error: unknown) => {
    log.warn({ err: error }, 'could not resume rescan drivers');
    return 0;
  });
  if (resumed > 0) log.info({ resumed }, 'rescan drivers queued for running rescans');
  return running;
}
