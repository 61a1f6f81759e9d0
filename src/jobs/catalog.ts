import type { JobsOptions, Queue } from 'bullmq';
import { z } from 'zod';
import { ACCOUNT_SIGNAL_CODES } from '../signals/types.ts';

/**
 * The typed job catalog shared by producers (services) and consumers (workers): every job's
 * queue, BullMQ job name, zod payload, job options and deterministic job id, in one map
 * (`JOBS` at the end). Producers enqueue through `JobQueue` (typed data, the catalog's id and
 * options); consumers run `defineWorker` (`src/workers/define-worker.ts`), which parses the
 * payload again on dequeue: a payload that does not parse is a permanent failure.
 */

export const QUEUES = {
  /** Live submissions. */
  score: 'score',
  /** Low-priority scoring of imported and rescanned articles, with its own worker and concurrency. */
  rescore: 'rescore',
  /** Rescan drivers: page through the store and feed `rescore` a bounded window at a time. */
  rescan: 'rescan',
  /** Webhook deliveries to the platform: one job per delivery row, retried with backoff. */
  deliver: 'deliver',
  /** Re-evaluation of earlier articles with later evidence (a farm formed, a burst showed), in chunks. */
  reevaluate: 'reevaluate',
  /** Comments: scored on their own queue and worker, beside articles (live, imported, re-evaluated). */
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

/**
 * A rescan's scoring job on the `rescore` queue: a chunk of the rescan's articles, so queue
 * and bookkeeping costs are paid once per chunk, not per article. `chunk` is the first
 * article's id; every item records it, which is how a lost job is found again.
 */
const rescanChunkJobSchema = z.object({
  tenantId: z.string().min(1),
  rescanId: z.string().min(1),
  chunk: z.string().min(1),
  items: z
    .array(z.object({ articleId: z.string().min(1), revision: z.number().int().positive() }))
    .min(1)
    .max(1000),
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

/** One comment revision to score (or to look at again: `reevaluate`). */
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

/** Options for one job: the catalog's retry and retention, the job's deterministic id. */
type OptionsFor = (policy: RetryPolicy) => Omit<JobsOptions, 'jobId'>;

/**
 * One entry of the catalog. `name` is the BullMQ job name, which a shared queue dispatches on;
 * `id` builds the deterministic job id from the payload and, where the payload does not hold
 * all of it, a key (`K`: a delivery's redrive number, a re-evaluation's event and chunk).
 */
export interface JobDefinition<N extends string = string, S extends z.ZodType = z.ZodType, K = undefined> {
  queue: QueueName;
  name: N;
  payload: S;
  id(data: z.output<S>, key: K): string;
  options: OptionsFor;
}

function job<N extends string, S extends z.ZodType, K = undefined>(definition: JobDefinition<N, S, K>): JobDefinition<N, S, K> {
  return definition;
}

const retried: OptionsFor = (policy) => ({
  attempts: policy.attempts,
  backoff: { type: 'exponential', delay: policy.backoffMs },
  removeOnComplete: { count: policy.keepCompleted },
  removeOnFail: { count: policy.keepFailed },
});

/**
 * Every job of the service. `rescore` carries two jobs, told apart by `name`: an imported
 * article's score job (`score`, one article) and a rescan's chunk (`rescan`, up to 100). They
 * share the queue on purpose: RESCORE_CONCURRENCY bounds all background scoring together, so
 * imports and rescans never take more of the CPU than that from live traffic.
 */
export const JOBS = {
  /** A live submission's scoring. */
  score: job({ queue: QUEUES.score, name: 'score', payload: scoreJobSchema, id: scoreJobId, options: retried }),
  /** An imported article's scoring, below live traffic. */
  importScore: job({ queue: QUEUES.rescore, name: 'score', payload: scoreJobSchema, id: scoreJobId, options: retried }),
  /** A rescan's chunk; completed chunks leave no history (their items are the record). */
  rescanChunk: job({
    queue: QUEUES.rescore,
    name: 'rescan',
    payload: rescanScoreJobSchema,
    id: rescanScoreJobId,
    options: (policy) => ({ ...retried(policy), removeOnComplete: true }),
  }),
  /** A rescan's driver: retried for as long as the rescan runs (its state is in Postgres). */
  rescanDriver: job({
    queue: QUEUES.rescan,
    name: 'drive',
    payload: rescanDriverJobSchema,
    id: rescanDriverJobId,
    options: (policy) => ({
      attempts: 1000,
      backoff: { type: 'exponential', delay: Math.max(100, policy.backoffMs) },
      removeOnComplete: true,
      removeOnFail: { count: policy.keepFailed },
    }),
  }),
  /** One webhook delivery (WEBHOOK_ATTEMPTS, WEBHOOK_BACKOFF_MS: the service passes its own policy). */
  deliver: job({
    queue: QUEUES.deliver,
    name: 'deliver',
    payload: deliverJobSchema,
    id: (data: DeliverJob, redrive: number) => deliverJobId(data.deliveryId, redrive),
    options: retried,
  }),
  /** A chunk of earlier articles to re-fuse with later evidence. */
  reevaluate: job({
    queue: QUEUES.reevaluate,
    name: 'reevaluate',
    payload: reevaluateJobSchema,
    id: (_data: ReevaluateJob, key: { eventId: number; chunk: number }) => reevaluateJobId(key.eventId, key.chunk),
    options: retried,
  }),
  /** A comment's scoring (live, imported or reconciled: one id per revision). */
  comment: job({ queue: QUEUES.comment, name: 'comment', payload: commentJobSchema, id: commentJobId, options: retried }),
  /** An earlier member of a comment template looked at again when the template grew. */
  commentReevaluate: job({
    queue: QUEUES.comment,
    name: 'reevaluate',
    payload: commentJobSchema,
    id: (data: CommentJob, key: { eventId: number }) => commentReevaluateJobId(key.eventId, data.commentId),
    options: retried,
  }),
} as const;
export type JobName = keyof typeof JOBS;
export type AnyJob = (typeof JOBS)[JobName];
export type JobData<J extends JobDefinition> = z.output<J['payload']>;

type KeyOf<J> = J extends JobDefinition<string, z.ZodType, infer K> ? K : never;
/** The id's extra argument, for the jobs that need one. */
type KeyArgs<J> = [KeyOf<J>] extends [undefined] ? [] : [key: KeyOf<J>];

/**
 * A producer's typed handle on one job of the catalog: data checked by the compiler, and the
 * catalog's job name, id and options.
 *
 *   await jobs.score.addBulk([{ data: { tenantId: 't1', articleId: 'art_1', revision: 1, trigger: 'live' } }]);
 *   // -> BullMQ job `score-art_1-r1` on `score`, SCORE_ATTEMPTS attempts, exponential backoff
 */
export class JobQueue<J extends JobDefinition<string, z.ZodType, unknown>> {
  constructor(
    readonly queue: Queue,
    readonly job: J,
    private readonly policy: RetryPolicy,
  ) {}

  /** The job id `data` (and its key) gets: look the job up with `queue.getJob(id)`. */
  idOf(data: JobData<J>, ...key: KeyArgs<J>): string {
    return this.job.id(data, key[0]);
  }

  async add(data: JobData<J>, ...key: KeyArgs<J>): Promise<void> {
    await this.queue.add(this.job.name, data, { ...this.job.options(this.policy), jobId: this.idOf(data, ...key) });
  }

  async addBulk(items: readonly { data: JobData<J>; key?: KeyOf<J> }[]): Promise<void> {
    if (items.length === 0) return;
    const options = this.job.options(this.policy);
    await this.queue.addBulk(items.map(({ data, key }) => ({ name: this.job.name, data, opts: { ...options, jobId: this.job.id(data, key as KeyOf<J>) } })));
  }
}
