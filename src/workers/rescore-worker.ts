import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { AppContext } from '../context.ts';
import { ServiceError } from '../domain/errors.ts';
import { QUEUES, rescanDriverJobSchema, type RescanScoreJob, rescanScoreJobSchema, scoreJobSchema } from '../jobs/catalog.ts';
import type { RescanService } from '../services/rescans.ts';
import { ArticleMissingError, type ScoreOutcome, type ScoringService } from '../services/scoring.ts';

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
 * Rescoring competes with live jobs of this process for the same CPU (and detector batches).
 * A rescore job does not start while a live job is in flight, and while live traffic was seen
 * in the last `quietMs` at most one rescore job runs at a time: live latency stays close to
 * what it is without a rescan, and the rescan takes what the live traffic leaves.
 */
function liveGate(live: Worker | undefined, quietMs = 1000) {
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
    async enter(maxWaitMs: number): Promise<void> {
      const deadline = Date.now() + maxWaitMs;
      const busy = () => liveInFlight > 0 || (Date.now() - lastLiveAt < quietMs && rescoring >= 1);
      while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      rescoring++;
    },
    leave(): void {
      rescoring--;
    },
  };
}

/**
 * Rescan items are recorded in batches (one statement per ~20 ms or 100 items) instead of one
 * round trip per article. Safe to defer: an item whose record is lost in a crash stays pending,
 * its job is gone, and the driver's lost-job check queues it again (rescoring is a no-op then).
 */
class ResultRecorder {
  private buffer: { job: RescanScoreJob; outcome: ScoreOutcome }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly rescans: RescanService,
    private readonly log: AppContext['log'],
  ) {}

  add(job: RescanScoreJob, outcome: ScoreOutcome): void {
    this.buffer.push({ job, outcome });
    if (this.buffer.length >= 100) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), 20);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return this.chain;
    this.chain = this.chain.then(() =>
      this.rescans.recordResults(batch).catch((error: unknown) => this.log.warn({ err: error, count: batch.length }, 'could not record rescan items; they will be rescored')),
    );
    return this.chain;
  }
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
  const recorder = new ResultRecorder(rescans, log);

  const rescore = new Worker(
    QUEUES.rescore,
    async (job: Job) => {
      await gate.enter(2000);
      const started = performance.now();
      try {
        if (job.name === 'rescan') {
          const parsed = rescanScoreJobSchema.safeParse(job.data);
          if (!parsed.success) throw new UnrecoverableError(`invalid rescan payload: ${parsed.error.message}`);
          const status = await rescans.statusOf(parsed.data.rescanId);
          if (status === 'cancelled' || status === null) return { kind: 'cancelled' };
          const outcome = await scoring.score(parsed.data, { background: true });
          recorder.add(parsed.data, outcome);
          metrics.jobDuration.observe({ queue: QUEUES.rescore, outcome: outcome.kind }, (performance.now() - started) / 1000);
          return outcome;
        }
        const parsed = scoreJobSchema.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`invalid score payload: ${parsed.error.message}`);
        const outcome = await scoring.score(parsed.data, { background: true });
        metrics.jobDuration.observe({ queue: QUEUES.rescore, outcome: outcome.kind }, (performance.now() - started) / 1000);
        if (outcome.kind === 'scored') metrics.verdicts.inc({ verdict: outcome.verdict, label: outcome.label });
        return outcome;
      } catch (error) {
        if (error instanceof UnrecoverableError) throw error;
        metrics.jobDuration.observe({ queue: QUEUES.rescore, outcome: 'error' }, (performance.now() - started) / 1000);
        if (error instanceof ArticleMissingError || error instanceof ServiceError) throw new UnrecoverableError((error as Error).message);
        log.warn({ err: error, jobId: job.id }, 'rescoring failed; will retry');
        throw error;
      } finally {
        gate.leave();
      }
    },
    {
      connection: ctx.workerConnection(),
      prefix: config.redisPrefix,
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
    if (job.name === 'rescan' && asRescan.success) {
      rescans.recordFailure(asRescan.data, error.message).catch((e: unknown) => log.error({ err: e }, 'could not record a failed rescan item'));
    }
    const asScore = scoreJobSchema.safeParse(job.data);
    if (asScore.success) {
      scoring.markFailed(asScore.data, error.message).catch((e: unknown) => log.error({ err: e }, 'could not mark article failed'));
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
      prefix: config.redisPrefix,
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
      await recorder.flush();
    },
  };
}
