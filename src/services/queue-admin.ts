import type { Job, Queue } from 'bullmq';
import { ServiceError } from '../domain/errors.ts';

/**
 * The admin queue dashboard's data: job counts per queue (service-wide: queues are shared by
 * tenants, the counts reveal no content), and the jobs of the admin's own tenant (payloads
 * carry `tenantId`; jobs without one, like rescan drivers, are not listed).
 */

export const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'] as const;
export type JobState = (typeof JOB_STATES)[number];
const LISTABLE = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type ListableState = (typeof LISTABLE)[number];
export const LISTABLE_STATES = LISTABLE;

export interface JobView {
  id: string;
  name: string;
  state: ListableState;
  attemptsMade: number;
  attempts: number;
  failedReason: string | null;
  createdAt: string;
  finishedAt: string | null;
  data: Record<string, unknown>;
}

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
      .filter((j): j is Job => Boolean(j) && (j.data as { tenantId?: string } | undefined)?.tenantId === tenantId)
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
        data: j.data as Record<string, unknown>,
      }));
  }

  /** Retries one failed job of the tenant. */
  async retry(name: string, jobId: string, tenantId: string): Promise<{ retried: string }> {
    const job = await this.queue(name).getJob(jobId);
    if (!job || (job.data as { tenantId?: string }).tenantId !== tenantId) throw new ServiceError('not_found', 'no such job');
    if (!(await job.isFailed())) throw new ServiceError('conflict', 'only failed jobs can be retried');
    await job.retry('failed');
    return { retried: jobId };
  }
}
