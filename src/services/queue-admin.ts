import type { Job, Queue } from 'bullmq';
import { z } from 'zod';
import { ServiceError } from '../domain/errors.ts';
import { JOB_STATES, type JobState, type JobView, type ListableState } from './views.ts';

/**
 * The admin queue dashboard's data: job counts per queue (service-wide: queues are shared by
 * tenants, the counts reveal no content), and the jobs of the admin's own tenant (payloads
 * carry `tenantId`; jobs without one, like rescan drivers, are not listed).
 */

/** The payload field that says whose a job is (a job without one, like a rescan driver, is nobody's). */
const tenantOf = (data: unknown) => z.object({ tenantId: z.string() }).safeParse(data).data?.tenantId;

export class QueueAdmin {
  constructor(private readonly queues: () => Record<string, Queue>) {}

  private queue(name: string): Queue {
    const queues = this.queues();
    // Own names only: "toString" or "__proto__" must not find an inherited member.
    const queue = Object.hasOwn(queues, name) ? queues[name] : undefined;
    if (!queue) throw new ServiceError('not_found', 'no such queue');
    return queue;
  }

  async overview(): Promise<{ name: string; counts: Record<JobState, number>; paused: boolean }[]> {
    return Promise.all(
      Object.entries(this.queues()).map(async ([name, queue]) => {
        const counts = (await queue.getJobCounts(...JOB_STATES)) as Record<JobState, number>;
        for (const s of JOB_STATES) counts[s] ??= 0;
        return { name, counts, paused: await queue.isPaused() };
      }),
    );
  }

  async jobs(name: string, state: ListableState, tenantId: string, limit = 50): Promise<JobView[]> {
    const queue = this.queue(name);
    // Scan a bounded window and keep the tenant's jobs.
    const jobs = await queue.getJobs([state], 0, 999, state !== 'completed');
    return jobs
      .filter((j): j is Job => Boolean(j) && tenantOf(j.data) === tenantId)
      .slice(0, limit)
      .map((j) => ({
        id: String(j.id),
        name: j.name,
        state,
        attemptsMade: j.attemptsMade,
        attempts: j.opts.attempts ?? 1,
        failedReason: j.failedReason ?? null,
        createdAt: new Date(j.timestamp).toISOString(),
        finishedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
        data: z.record(z.string(), z.unknown()).catch({}).parse(j.data),
      }));
  }

  /** Retries one failed job of the tenant. */
  async retry(name: string, jobId: string, tenantId: string): Promise<{ retried: string }> {
    const job = await this.queue(name).getJob(jobId);
    if (!job || tenantOf(job.data) !== tenantId) throw new ServiceError('not_found', 'no such job');
    if (!(await job.isFailed())) throw new ServiceError('conflict', 'only failed jobs can be retried');
    await job.retry('failed');
    return { retried: jobId };
  }
}
