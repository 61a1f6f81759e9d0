import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Config } from '../config.ts';
import { isUnavailable } from '../db/db.ts';
import { ServiceError, TRANSIENT_CODES } from '../domain/errors.ts';
import type { Logger } from '../infra/logger.ts';
import type { Metrics } from '../infra/metrics.ts';
import type { JobData, JobDefinition, QueueName } from '../jobs/catalog.ts';

/**
 * The one way a queue is consumed. `defineWorker` owns what every consumer needs alike:
 *  - the payload parsed again with the catalog's schema (one that does not parse is permanent);
 *  - dispatch on `job.name` where a queue carries several jobs of the catalog (`rescore`);
 *  - failures classified by error code: a `ServiceError` with a code other than
 *    `redis_unavailable` / `database_unavailable` cannot be fixed by a retry and becomes an
 *    `UnrecoverableError`; anything else is retried with the catalog's backoff;
 *  - the final-failure hook (after the last attempt, or at once when permanent);
 *  - a bounded close: in-flight jobs finish until the deadline, then the worker force-closes
 *    so their locks lapse and another worker takes them as stalled.
 *
 *   const running = defineWorker(ctx, [handle(JOBS.score, (data) => scoring.score(data), markFailed)], { concurrency: 8 });
 *   await running.close(10_000);
 */

type AnyDefinition = JobDefinition<string, z.ZodType, unknown>;

/** What a consumer does with one job of the catalog. */
export interface JobHandler<J extends AnyDefinition = AnyDefinition> {
  job: J;
  run(data: JobData<J>, job: Job, token: string | undefined): Promise<unknown>;
  /** Once the job has failed for good: record it (an article marked failed, a delivery dead). */
  onFinalFailure?(data: JobData<J>, error: Error): Promise<void>;
}

export function handle<J extends AnyDefinition>(job: J, run: JobHandler<J>['run'], onFinalFailure?: JobHandler<J>['onFinalFailure']): JobHandler<J> {
  return onFinalFailure ? { job, run, onFinalFailure } : { job, run };
}

/** What every consumer runs with (the composition root's context is one). */
export interface WorkerHost {
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** A fresh connection (a BullMQ worker's blocking commands need their own). */
  workerConnection(): Redis;
}

export interface WorkerOptions {
  concurrency: number;
  /** A worker that dies holding a job loses it after this long; then it is retried as stalled. */
  lockMs?: number;
  maxStalledCount?: number;
  /** Observe each job's duration under `slopguard_job_duration_seconds{queue,outcome}`. */
  timed?: boolean;
  /**
   * While the database is down, put the job back this long later without spending an attempt,
   * so an outage of any length never turns accepted work into failed work.
   */
  waitOutDatabaseMs?: number;
  /** Log each failed attempt (off where failures are the normal business, like deliveries). */
  logFailures?: boolean;
}

export interface RunningWorker {
  worker: Worker;
  /** Stops taking jobs and lets in-flight ones finish, at most `timeoutMs`. */
  close(timeoutMs: number): Promise<void>;
}

/** True for failures a later attempt can fix: a dependency down, or anything not known to be permanent. */
export function isTransient(error: unknown): boolean {
  if (error instanceof UnrecoverableError) return false;
  if (error instanceof ServiceError) return TRANSIENT_CODES.has(error.code);
  return true;
}

const isDelayed = (error: unknown) => error instanceof DelayedError || (error instanceof Error && error.name === 'DelayedError');

/** The label a job's result is counted under: its `kind` when it has one. */
function outcomeOf(result: unknown): string {
  if (typeof result === 'object' && result !== null && 'kind' in result && typeof result.kind === 'string') return result.kind;
  return 'done';
}

export function defineWorker(host: WorkerHost, handlers: readonly JobHandler[], options: WorkerOptions): RunningWorker {
  const queue: QueueName | undefined = handlers[0]?.job.queue;
  if (!queue || handlers.some((h) => h.job.queue !== queue)) throw new Error('defineWorker: handlers of one queue, at least one');
  const byName = new Map(handlers.map((h) => [h.job.name, h]));
  const { log, metrics } = host;

  const processor = async (job: Job, token?: string) => {
    const handler = byName.get(job.name);
    if (!handler) throw new UnrecoverableError(`no ${queue} job named ${job.name}`);
    const parsed = handler.job.payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid ${job.name} payload: ${parsed.error.message}`);
    const started = performance.now();
    const observe = (outcome: string) => {
      if (options.timed) metrics.jobDuration.observe({ queue, outcome }, (performance.now() - started) / 1000);
    };
    try {
      const result = await handler.run(parsed.data, job, token);
      observe(outcomeOf(result));
      return result;
    } catch (error) {
      if (isDelayed(error)) throw error;
      observe('error');
      if (!isTransient(error)) throw new UnrecoverableError((error as Error).message);
      if (options.waitOutDatabaseMs !== undefined && isUnavailable(error) && token) {
        log.warn({ jobId: job.id, queue }, 'database unavailable; job delayed');
        await job.moveToDelayed(Date.now() + options.waitOutDatabaseMs, token);
        throw new DelayedError();
      }
      throw error;
    }
  };

  const worker = new Worker(queue, processor, {
    connection: host.workerConnection(),
    prefix: host.config.redisPrefix,
    concurrency: options.concurrency,
    ...(options.lockMs === undefined ? {} : { lockDuration: options.lockMs, stalledInterval: options.lockMs }),
    ...(options.maxStalledCount === undefined ? {} : { maxStalledCount: options.maxStalledCount }),
  });
  worker.on('error', (error) => log.error({ err: error, queue }, 'worker error'));
  worker.on('failed', (job, error) => {
    if (!job || isDelayed(error)) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (options.logFailures ?? true) log.warn({ err: error, jobId: job.id, queue, attempt: job.attemptsMade, final }, final ? 'job failed for good' : 'job failed; will retry');
    const handler = byName.get(job.name);
    if (!final || !handler?.onFinalFailure) return;
    const parsed = handler.job.payload.safeParse(job.data);
    if (!parsed.success) return;
    handler.onFinalFailure(parsed.data, error).catch((e: unknown) => log.error({ err: e, jobId: job.id, queue }, 'final-failure hook failed'));
  });

  return {
    worker,
    async close(timeoutMs: number) {
      const graceful = worker.close();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
      if ((await Promise.race([graceful, deadline])) === 'timeout') await worker.close(true);
    },
  };
}
