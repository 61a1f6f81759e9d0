import { z } from 'zod';

/**
 * The typed job catalog shared by producers (API, rescans) and consumers (workers): queue
 * names, payload schemas, retry policy and deterministic job ids. Consumers parse the payload
 * again on dequeue; a payload that does not parse is a permanent failure.
 */

export const QUEUES = {
  /** Live submissions. */
  score: 'score',
  /** Low-priority scoring of historical content (imports, rescans), with its own worker and concurrency. */
  rescore: 'rescore',
  /** Rescan drivers: page through the store and feed `rescore` a bounded window at a time. */
  rescan: 'rescan',
  /** Webhook deliveries to the platform: one job per delivery row, retried with backoff. */
  deliver: 'deliver',
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

/** One webhook delivery attempt series; the row in `webhook_deliveries` is the record. */
export const deliverJobSchema = z.object({ tenantId: z.string().min(1), deliveryId: z.string().min(1) });
export type DeliverJob = z.infer<typeof deliverJobSchema>;

/** One job per delivery and redrive: a redriven delivery needs a new job id. */
export function deliverJobId(deliveryId: string, redrive: number): string {
  return `deliver-${deliveryId}-r${redrive}`;
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

/**
 * A rescan's scoring job on the `rescore` queue: a chunk of the rescan's articles, so queue
 * and bookkeeping costs are paid once per chunk, not per article. `chunk` is the first
 * article's id; every item records it, which is how a lost job is found again.
 */
const rescanChunkJobSchema = z.object({
  tenantId: z.string().min(1),
  rescanId: z.string().min(1),
  chunk: z.string().min(1),
  items: z.array(z.object({ articleId: z.string().min(1), revision: z.number().int().positive() })).min(1).max(1000),
});
/** Queued before chunks existed (one article per job, id by article): read as a chunk of one. */
const rescanArticleJobSchema = scoreJobSchema
  .extend({ trigger: z.literal('rescan'), rescanId: z.string().min(1) })
  .transform(({ tenantId, rescanId, articleId, revision }) => ({ tenantId, rescanId, chunk: articleId, items: [{ articleId, revision }] }));
export const rescanScoreJobSchema = z.union([rescanChunkJobSchema, rescanArticleJobSchema]);
export type RescanScoreJob = z.infer<typeof rescanChunkJobSchema>;

/** One per rescan and chunk: a rescan of the same articles again is a new job. */
export function rescanScoreJobId(job: Pick<RescanScoreJob, 'rescanId' | 'chunk'>): string {
  return `rescan-${job.rescanId}-${job.chunk}`;
}

/** The driver of one rescan; `generation` changes on resume so an older driver stops. */
export const rescanDriverJobSchema = z.object({ rescanId: z.string().min(1), generation: z.number().int().positive() });
export type RescanDriverJob = z.infer<typeof rescanDriverJobSchema>;

export function rescanDriverJobId(job: RescanDriverJob): string {
  return `driver-${job.rescanId}-g${job.generation}`;
}
