import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../domain/errors.ts';
import { QUEUES, rescanDriverJobSchema, type RescanScoreJob, rescanScoreJobSchema, type ScoreJob, scoreJobSchema } from '../jobs/catalog.ts';
import type { RescanService } from '../services/rescans.ts';
import { ArticleMissingError, type ScoreOutcome, type ScoringService } from '../services/scoring.ts';
import { queuePrefix } from '../infra/redis.ts';

/**
 * Historical content, consumed apart from live traffic:
 *  - `rescore`: imports' score jobs (name `score`) and rescans' (name `rescan`), with its own
 *    concurrency (RESCORE_CONCURRENCY), so a backlog here never queues in front of a live job;
 *  - `rescan`: the drivers, one short step each time (top the window up, then re-delay itself).
 */

export interface HistoricalWorkers {
  close(timeoutMs: number): Promise<void>;
}

async function closeBounded(worker: Worker, timeoutMs: number): Promise<void> {
  const graceful = worker.close();
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
  if ((await Promise.race([graceful, deadline])) === 'timeout') await worker.close(true);
}

/**
 * Rescoring (and re-evaluation) competes with live jobs of this process for the same CPU (and detector batches; a
 * forward pass holds the event loop). A rescored article does not enter the pipeline while a
 * live job is in flight, and while live traffic was seen in the last `quietMs` at most one
 * rescored article is in the pipeline at a time: live latency stays close to what it is
 * without a rescan, and the rescan takes what the live traffic leaves.
 */
export function liveGate(live: Worker | undefined, quietMs = 1000) {
  let liveInFlight = 0;
  let lastLiveAt = 0;
  let rescoring = 0;
  if (live) {
    live.on('active', () => {
      liveInFlight++;
      lastLiveAt = Date.now();
    });
    const settled = () => {
      liveInFlight = Math.max(0, liveInFlight - 1);
      lastLiveAt = Date.now();
    };
    live.on('completed', settled);
    live.on('failed', settled);
  }
  return {
    /** Waits for a turn (at most `maxWaitMs`, so a rescan never stops); answers the turn's end. */
    async admit(maxWaitMs: number): Promise<() => void> {
      const deadline = Date.now() + maxWaitMs;
      const busy = () => liveInFlight > 0 || (Date.now() - lastLiveAt < quietMs && rescoring >= 1);
      while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      rescoring++;
      return () => {
        rescoring--;
      };
    },
  };
}

/** An error no retry can fix: the article is gone, or the service refused it. */
function isPermanent(error: unknown): boolean {
  return error instanceof ArticleMissingError || error instanceof ServiceError;
}

export async function startHistoricalWorkers(
  ctx: AppContext,
  scoring: ScoringService,
  rescans: RescanService,
  /** The live `score` worker of this process, if any: rescoring yields to it. */
  live?: Worker,
): Promise<HistoricalWorkers> {
  const { log, metrics, config } = ctx;
  const settings = config.historical;
  const gate = liveGate(live);

  /**
   * A rescan chunk: its articles scored together, the finished ones recorded in one statement,
   * a permanent failure recorded at once; the rest (transient failures) stay in the job's data
   * and the job is retried for them alone.
   */
  async function rescoreChunk(job: Job, chunk: RescanScoreJob): Promise<{ kind: 'cancelled' } | { scored: number; failed: number }> {
    const status = await rescans.statusOf(chunk.rescanId);
    if (status === 'cancelled' || status === null) return { kind: 'cancelled' };
    const settled = await scoring.scoreMany(
      chunk.items.map((item) => ({ tenantId: chunk.tenantId, articleId: item.articleId, revision: item.revision, trigger: 'rescan' as const })),
      { background: true, admit: () => gate.admit(2000) },
    );
    const finished: { articleId: string; outcome: ScoreOutcome }[] = [];
    const retry: RescanScoreJob['items'] = [];
    let firstError: unknown;
    for (const [i, result] of settled.entries()) {
      const item = chunk.items[i]!;
      if (result.status === 'fulfilled') finished.push({ articleId: item.articleId, outcome: result.value });
      else if (isPermanent(result.reason)) {
        await rescans.recordFailure(chunk, [item.articleId], (result.reason as Error).message);
        metrics.rescanArticles.inc({ outcome: 'failed' });
      }
      else {
        retry.push(item);
        firstError ??= result.reason;
      }
    }
    await rescans.recordResults(chunk, finished);
    for (const { outcome } of finished) {
      metrics.rescanArticles.inc({ outcome: outcome.kind === 'scored' ? 'rescored' : outcome.kind === 'already_scored' ? 'unchanged' : 'superseded' });
    }
    if (retry.length > 0) {
      await job.updateData({ ...chunk, items: retry });
      throw firstError;
    }
    return { scored: finished.length, failed: settled.length - finished.length };
  }

  const rescore = new Worker(
    QUEUES.rescore,
    async (job: Job) => {
      const started = performance.now();
      try {
        if (job.name === 'rescan') {
          const parsed = rescanScoreJobSchema.safeParse(job.data);
          if (!parsed.success) throw new UnrecoverableError(`invalid rescan payload: ${parsed.error.message}`);
          const result = await rescoreChunk(job, parsed.data);
          metrics.jobDuration.observe({ queue: QUEUES.rescore, outcome: 'kind' in result ? result.kind : 'chunk' }, (performance.now() - started) / 1000);
          return result;
        }
        const parsed = scoreJobSchema.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`invalid score payload: ${parsed.error.message}`);
        const outcome = await scoring.score(parsed.data, { background: true, admit: () => gate.admit(2000) });
        metrics.jobDuration.observe({ queue: QUEUES.rescore, outcome: outcome.kind }, (performance.now() - started) / 1000);
        if (outcome.kind === 'scored') metrics.verdicts.inc({ verdict: outcome.verdict, label: outcome.label });
        return outcome;
      } catch (error) {
        if (error instanceof UnrecoverableError) throw error;
        metrics.jobDuration.observe({ queue: QUEUES.rescore, outcome: 'error' }, (performance.now() - started) / 1000);
        if (isPermanent(error)) throw new UnrecoverableError((error as Error).message);
        log.warn({ err: error, jobId: job.id }, 'rescoring failed; will retry');
        throw error;
      }
    },
    {
      connection: ctx.workerConnection(),
      prefix: queuePrefix(config, QUEUES.rescore),
      concurrency: settings.rescoreConcurrency,
      lockDuration: config.scoring.lockMs,
      stalledInterval: config.scoring.lockMs,
      maxStalledCount: 2,
    },
  );
  rescore.on('error', (error) => log.error({ err: error }, 'rescore worker error'));
  rescore.on('failed', (job, error) => {
    if (!job) return;
    const finalAttempt = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!finalAttempt) return;
    const asRescan = rescanScoreJobSchema.safeParse(job.data);
    const asScore = scoreJobSchema.safeParse(job.data);
    const failedJobs: ScoreJob[] = job.name !== 'rescan' && asScore.success ? [asScore.data] : [];
    if (job.name === 'rescan' && asRescan.success) {
      const { tenantId, items } = asRescan.data;
      rescans.recordFailure(asRescan.data, items.map((item) => item.articleId), error.message).catch((e: unknown) => log.error({ err: e }, 'could not record a failed rescan item'));
      metrics.rescanArticles.inc({ outcome: 'failed' }, items.length);
      failedJobs.push(...items.map((item) => ({ tenantId, articleId: item.articleId, revision: item.revision, trigger: 'rescan' as const })));
    }
    for (const failed of failedJobs) {
      scoring.markFailed(failed, error.message).catch((e: unknown) => log.error({ err: e }, 'could not mark article failed'));
    }
  });

  const driver = new Worker(
    QUEUES.rescan,
    async (job: Job, token?: string) => {
      const parsed = rescanDriverJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid rescan driver payload: ${parsed.error.message}`);
      const next = await rescans.step(parsed.data);
      if (next === 'stop') return 'stopped';
      // Same job, later: the state is in Postgres, the job only carries the heartbeat.
      await job.moveToDelayed(Date.now() + settings.rescanStepMs, token);
      throw new DelayedError();
    },
    {
      connection: ctx.workerConnection(),
      prefix: queuePrefix(config, QUEUES.rescan),
      concurrency: 16,
      lockDuration: config.scoring.lockMs,
      stalledInterval: config.scoring.lockMs,
      maxStalledCount: 1000,
    },
  );
  driver.on('error', (error) => log.error({ err: error }, 'rescan driver error'));
  driver.on('failed', (job, error) => {
    if (error instanceof DelayedError || error.name === 'DelayedError') return;
    log.warn({ err: error, jobId: job?.id }, 'rescan driver step failed; it will retry');
  });

  // A driver lost with Redis (or never queued because the API died) is queued again here.
  const resumed = await rescans.ensureDrivers().catch((error: unknown) => {
    log.warn({ err: error }, 'could not resume rescan drivers');
    return 0;
  });
  if (resumed > 0) log.info({ resumed }, 'rescan drivers queued for running rescans');

  return {
    async close(timeoutMs: number) {
      await Promise.all([closeBounded(driver, timeoutMs), closeBounded(rescore, timeoutMs)]);
    },
  };
}
