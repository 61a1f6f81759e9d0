import { hostname } from 'node:os';
import type { AppContext } from '../context.ts';
import { buildScorers } from '../scoring/index.ts';
import { defaultFusionConfig, parseFusionConfig } from '../scoring/fusion-config.ts';
import { AccountSignals } from '../signals/index.ts';
import { createPipeline } from '../services/pipeline.ts';
import { ScoringService } from '../services/scoring.ts';
import { attachScoreListeners } from '../services/review-listeners.ts';
import { startDeliverWorker } from './deliver-worker.ts';
import { type LocalModel, workersKey } from '../server.ts';
import { startHistoricalWorkers } from './rescore-worker.ts';
import { startScoreWorker, type RunningWorker } from './score-worker.ts';

/** The worker half of the service: scorers loaded once, queues consumed, heartbeats sent. */

const HEARTBEAT_MS = 10_000;

export interface RunningWorkers extends LocalModel {
  scoring: ScoringService;
  close(): Promise<void>;
}

/** Loads the scorers once (warm), then consumes the score queue. */
export async function startWorkers(ctx: AppContext, options: { reconcile?: boolean } = {}): Promise<RunningWorkers> {
  const { config } = ctx;
  const scorers = await buildScorers(config.model, ctx.log);
  const account = new AccountSignals(ctx.redis, config.accountSignals, `${config.redisPrefix}:sig:`);
  // the strict AI-assisted policy changes verdicts, so its scores record a version of their own
  const fusion = config.model.aiAssisted === 'strict' ? parseFusionConfig({ version: `${defaultFusionConfig.version}+strict`, aiAssisted: 'strict' }) : defaultFusionConfig;
  const pipeline = createPipeline({ text: scorers.text, detector: scorers.detector, zeroShot: scorers.zeroShot, account, fusion });
  const scoring = new ScoringService(ctx.db, pipeline);
  attachScoreListeners(ctx, scoring);
  const delivering = startDeliverWorker(ctx, ctx.webhooks, { concurrency: config.webhooks.concurrency, sweep: options.reconcile ?? true });
  const running: RunningWorker = startScoreWorker(ctx, scoring, {
    concurrency: config.scoring.concurrency,
    lockMs: config.scoring.lockMs,
    reconcile: options.reconcile ?? true,
  });
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
    modelVersion: pipeline.modelVersion,
    isModelReady,
    async close() {
      clearInterval(heartbeat);
      await historical.close(config.shutdownTimeoutMs);
      await running.close(config.shutdownTimeoutMs);
      await delivering.close(config.shutdownTimeoutMs);
      await ctx.redis.hdel(workersKey(config.redisPrefix), workerId).catch(() => undefined);
      await scorers.close();
    },
  };
}
