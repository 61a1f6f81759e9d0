import { hostname } from 'node:os';
import type { AppContext } from '../context.ts';
import { buildScorers } from '../scoring/index.ts';
import { modelObserver } from '../infra/metrics.ts';
import { defaultFusionConfig, parseFusionConfig } from '../scoring/fusion-config.ts';
import { AccountSignals } from '../signals/index.ts';
import { createPipeline } from '../services/pipeline.ts';
import { ScoringService } from '../services/scoring.ts';
import { clusterConsumer, reevaluationConsumer, webhookConsumer } from '../outbox/consumers.ts';
import { OutboxDispatcher } from '../outbox/dispatcher.ts';
import { Reevaluator } from '../services/reevaluation.ts';
import { startDeliverWorker } from './deliver-worker.ts';
import { type LocalModel, workersKey } from '../server.ts';
import { startReevaluateWorker } from './reevaluate-worker.ts';
import { startHistoricalWorkers } from './rescore-worker.ts';
import { startScoreWorker, type RunningWorker } from './score-worker.ts';
import { startCommentWorker } from './comment-worker.ts';
import { commentTemplateConsumer, commentWebhookConsumer } from '../outbox/comment-consumers.ts';
import { buildCommentScoring } from '../services/comment-runtime.ts';

/** The worker half of the service: scorers loaded once, queues consumed, heartbeats sent. */

const HEARTBEAT_MS = 10_000;

export interface RunningWorkers extends LocalModel {
  scoring: ScoringService;
  /** The live `score` queue's consumer (benches time completions on it). */
  scoreWorker: RunningWorker['worker'];
  /** Committed events to side effects; null when OUTBOX_DISPATCH is off in this process. */
  dispatcher: OutboxDispatcher | null;
  close(): Promise<void>;
}

/** Loads the scorers once (warm), then consumes the score queue. */
export async function startWorkers(ctx: AppContext, options: { reconcile?: boolean } = {}): Promise<RunningWorkers> {
  const { config } = ctx;
  const scorers = await buildScorers(config.model, ctx.log, modelObserver(ctx.metrics));
  const account = new AccountSignals(ctx.redis, config.accountSignals, `${config.redisPrefix}:sig:`);
  // the strict AI-assisted policy changes verdicts, so its scores record a version of their own
  const fusion = config.model.aiAssisted === 'strict' ? parseFusionConfig({ version: `${defaultFusionConfig.version}+strict`, aiAssisted: 'strict' }) : defaultFusionConfig;
  const pipeline = createPipeline({ text: scorers.text, detector: scorers.detector, zeroShot: scorers.zeroShot, account, fusion });
  const scoring = new ScoringService(ctx.db, pipeline);
  // What follows a commit (webhooks, cluster joins, re-evaluations) is read from the events
  // the commit wrote, so a process dying right after it loses nothing.
  const dispatcher = config.outbox.dispatch
    ? new OutboxDispatcher(
        ctx.db,
        [
          webhookConsumer(ctx.db, ctx.webhooks, config.labelling.propagator, ctx.log),
          clusterConsumer(ctx.db, ctx.clusters),
          reevaluationConsumer(ctx.db, ctx.reevaluation, ctx.log),
          commentWebhookConsumer(ctx.db, ctx.webhooks, ctx.log),
          commentTemplateConsumer(ctx.comments),
        ],
        config.outbox,
        ctx.log,
      )
    : null;
  dispatcher?.start();
  const delivering = startDeliverWorker(ctx, ctx.webhooks, { concurrency: config.webhooks.concurrency, sweep: options.reconcile ?? true });
  const running: RunningWorker = startScoreWorker(ctx, scoring, {
    concurrency: config.scoring.concurrency,
    lockMs: config.scoring.lockMs,
    reconcile: options.reconcile ?? true,
  });
  const commenting = startCommentWorker(ctx, buildCommentScoring(ctx, scorers.detector), {
    concurrency: config.comments.concurrency,
    reconcile: options.reconcile ?? true,
  });
  const reevaluating = startReevaluateWorker(ctx, new Reevaluator(ctx.db, account, fusion), { concurrency: config.reevaluation.concurrency, live: running.worker });
  // Imports and rescans: their own queues and concurrency, below live traffic.
  const historical = await startHistoricalWorkers(ctx, scoring, ctx.rescans, running.worker);
  const workerId = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const isModelReady = () => scorers.detector === null || scorers.detector.isReady();
  const beat = () =>
    ctx.redis
      .hset(workersKey(config.redisPrefix), workerId, JSON.stringify({ at: Date.now(), modelVersion: pipeline.modelVersion, modelReady: isModelReady() }))
      .catch(() => undefined);
  await beat();
  const heartbeat = setInterval(beat, HEARTBEAT_MS);
  heartbeat.unref();
  ctx.log.info({ modelVersion: pipeline.modelVersion, configVersion: pipeline.configVersion }, 'score worker started');
  return {
    scoring,
    scoreWorker: running.worker,
    dispatcher,
    modelVersion: pipeline.modelVersion,
    isModelReady,
    async close() {
      clearInterval(heartbeat);
      await historical.close(config.shutdownTimeoutMs);
      await running.close(config.shutdownTimeoutMs);
      await commenting.close(config.shutdownTimeoutMs);
      await reevaluating.close(config.shutdownTimeoutMs);
      await dispatcher?.close();
      await delivering.close(config.shutdownTimeoutMs);
      await ctx.redis.hdel(workersKey(config.redisPrefix), workerId).catch(() => undefined);
      await scorers.close();
    },
  };
}
