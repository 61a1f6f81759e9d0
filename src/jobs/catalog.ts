import { z } from 'zod';
import { ACCOUNT_SIGNAL_CODES } from '../signals/types.ts';

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
  /** Re-evaluation of earlier articles with later evidence (a farm formed, a burst showed), in chunks. */
  reevaluate: 'reevaluate',
  /** Comments: scored on their own queue and worker, beside articles. */
  comment: 'comment',
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

/** An account signal carried as evidence to earlier articles (the later article's burst). */
export const accountSignalSchema = z.object({
  code: z.enum(ACCOUNT_SIGNAL_CODES),
  value: z.number(),
  strength: z.number().min(0).max(1),
  message: z.object({ zh: z.string(), en: z.string() }),
  evidence: z.record(z.string(), z.unknown()),
});

/** Why earlier articles are looked at again. */
export const reevaluationReasonSchema = z.discriminatedUnion('kind', [
  /** A content-farm cluster reached `accounts` accounts when `trigger` joined it. */
  z.object({ kind: z.literal('cluster'), clusterId: z.string().min(1), accounts: z.number().int().positive(), size: z.number().int().positive(), trigger: z.string().min(1) }),
  /** `trigger`, a later post of the account, showed these signals (a burst) covering the earlier posts. */
  z.object({ kind: z.literal('account'), accountId: z.string().min(1), trigger: z.string().min(1), signals: z.array(accountSignalSchema).min(1) }),
]);
export type ReevaluationReason = z.infer<typeof reevaluationReasonSchema>;

/** One chunk of articles to re-evaluate with the same new evidence. */
export const reevaluateJobSchema = z.object({
  tenantId: z.string().min(1),
  reason: reevaluationReasonSchema,
  articleIds: z.array(z.string().min(1)).min(1).max(1000),
});
export type ReevaluateJob = z.infer<typeof reevaluateJobSchema>;

/** One per triggering event and chunk: the dispatcher planning the same event again re-adds nothing. */
export function reevaluateJobId(eventId: number, chunk: number): string {
  return `reeval-${eventId}-${chunk}`;
}

/** One comment revision to score. */
export const commentJobSchema = z.object({
  tenantId: z.string().min(1),
  commentId: z.string().min(1),
  revision: z.number().int().positive(),
  trigger: z.enum(['live', 'import', 'reconcile', 'reevaluate']),
});
export type CommentJob = z.infer<typeof commentJobSchema>;

/** One job per comment revision: re-adding it while it exists is a no-op. */
export function commentJobId(job: Pick<CommentJob, 'commentId' | 'revision'>): string {
  return `comment-${job.commentId}-r${job.revision}`;
}

/** A comment looked at again because its template grew (one per triggering event and comment). */
export function commentReevaluateJobId(eventId: number, commentId: string): string {
  return `comment-reeval-${eventId}-${commentId}`;
}
