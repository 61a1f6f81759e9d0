import { z } from 'zod';

/**
 * The typed job catalog shared by producers (API, rescans) and consumers (workers): queue
 * names, payload schemas, retry policy and deterministic job ids. Consumers parse the payload
 * again on dequeue; a payload that does not parse is a permanent failure.
 */

export const QUEUES = {
  /** Live submissions. */
  score: 'score',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const scoreJobSchema = z.object({
  tenantId: z.string().min(1),
  articleId: z.string().min(1),
  revision: z.number().int().positive(),
  trigger: z.enum(['live', 'reconcile', 'rescan']),
});
export type ScoreJob = z.infer<typeof scoreJobSchema>;

/** One job per article revision: re-adding it while it exists is a no-op in BullMQ. */
export function scoreJobId(job: Pick<ScoreJob, 'articleId' | 'revision'>): string {
  return `score-${job.articleId}-r${job.revision}`;
}

export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  keepCompleted: number;
  keepFailed: number;
}

/** BullMQ job options from the retry policy: exponential backoff, bounded history. */
export function jobOptions(policy: RetryPolicy, jobId: string) {
  return {
    jobId,
    attempts: policy.attempts,
    backoff: { type: 'exponential' as const, delay: policy.backoffMs },
    removeOnComplete: { count: policy.keepCompleted },
    removeOnFail: { count: policy.keepFailed },
  };
}
