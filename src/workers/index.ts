import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { OutboxDispatcher } from '../outbox/dispatcher.ts';
import type { Scorers } from '../scoring/index.ts';
import type { Reconciler } from '../services/reconciler.ts';
import type { Reevaluator } from '../services/reevaluation.ts';
import type { LocalModel } from '../services/readiness.ts';
import type { RescanService } from '../services/rescans.ts';
import type { ScoringPipeline, ScoringService } from '../services/scoring.ts';
import type { WorkerHeartbeats } from '../services/worker-heartbeats.ts';
import type { WebhookService } from '../webhooks/service.ts';
import type { WorkerHost } from './define-worker.ts';
import { startDeliverWorker } from './deliver-worker.ts';
import { startReevaluateWorker } from './reevaluate-worker.ts';
import { startRescanDriver } from './rescan-driver.ts';
import { startRescoreWorker } from './rescore-worker.ts';
import { startScoreWorker } from './score-worker.ts';
import { startCommentWorker } from './comment-worker.ts';
import type { CommentScoringService } from '../services/comment-scoring.ts';
import type { CommentService } from '../services/comments.ts';

/**
 * The worker half of the service: starts the queues' consumers, the outbox dispatcher and the
 * heartbeat over what the composition root built (`src/context.ts`, role `worker` or `all`),
 * and stops them, bounded, in the reverse order.
 */

const HEARTBEAT_MS = 10_000;

/** What the composition root builds for a worker process: the scorers loaded once, and what runs on them. */
export interface WorkerParts {
  scorers: Scorers;
  pipeline: ScoringPipeline;
  scoring: ScoringService;
  reevaluator: Reevaluator;
  reconciler: Reconciler;
  /** Committed events to side effects; null when OUTBOX_DISPATCH is off in this process. */
  dispatcher: OutboxDispatcher | null;
  /** Comments: their pipeline over the same detector, consumed on the `comment` queue. */
  commentScoring: CommentScoringService;
}

/** The services the workers consume queues for (the context is one). */
export interface WorkerServices extends WorkerHost {
  rescans: RescanService;
  webhooks: WebhookService;
  heartbeats: WorkerHeartbeats;
  comments: CommentService;
}

export interface RunningWorkers extends LocalModel {
  scoring: ScoringService;
  /** The live `score` queue's consumer (benches time completions on it). */
  scoreWorker: Worker;
  dispatcher: OutboxDispatcher | null;
  close(): Promise<void>;
}

export interface ImportRescanWorkers {
  close(timeoutMs: number): Promise<void>;
}

/** Imports and rescans: the `rescore` consumer and the rescan drivers, below live traffic. */
export async function startImportRescanWorkers(host: WorkerHost, scoring: ScoringService, rescans: RescanService, live?: Worker): Promise<ImportRescanWorkers> {
  const rescore = startRescoreWorker(host, scoring, rescans, live);
  const driver = await startRescanDriver(host, rescans);
  return {
    async close(timeoutMs: number) {
      await Promise.all([driver.close(timeoutMs), rescore.close(timeoutMs)]);
    },
  };
}

export function isModelReady(scorers: Scorers): boolean {
  return scorers.detector === null || scorers.detector.isReady();
}

/** Starts consuming; `reconcile: false` leaves the reconciler and the delivery sweep to another process (tests). */
export async function startWorkers(host: WorkerServices, parts: WorkerParts, options: { reconcile?: boolean } = {}): Promise<RunningWorkers> {
  const { config, log } = host;
  const { scoring, pipeline, dispatcher } = parts;
  const reconcile = options.reconcile ?? true;
  dispatcher?.start();
  const delivering = startDeliverWorker(host, host.webhooks, { concurrency: config.webhooks.concurrency, sweep: reconcile });
  const live = startScoreWorker(host, scoring, {
    concurrency: config.scoring.concurrency,
    lockMs: config.scoring.lockMs,
    ...(reconcile ? { reconciler: parts.reconciler } : {}),
  });
  const commenting = startCommentWorker(host, parts.commentScoring, { concurrency: config.comments.concurrency, ...(reconcile ? { comments: host.comments } : {}) });
  const reevaluating = startReevaluateWorker(host, parts.reevaluator, { concurrency: config.reevaluation.concurrency, live: live.worker });
  const importsAndRescans = await startImportRescanWorkers(host, scoring, host.rescans, live.worker);
  const workerId = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const ready = () => isModelReady(parts.scorers);
  const beat = () => host.heartbeats.beat(workerId, { modelVersion: pipeline.modelVersion, modelReady: ready() }).catch(() => undefined);
  await beat();
  const heartbeat = setInterval(beat, HEARTBEAT_MS);
  heartbeat.unref();
  log.info({ modelVersion: pipeline.modelVersion, configVersion: pipeline.configVersion }, 'score worker started');
  return {
    scoring,
    scoreWorker: live.worker,
    dispatcher,
    modelVersion: pipeline.modelVersion,
    isModelReady: ready,
    async close() {
      clearInterval(heartbeat);
      await importsAndRescans.close(config.shutdownTimeoutMs);
      await live.close(config.shutdownTimeoutMs);
      await commenting.close(config.shutdownTimeoutMs);
      await reevaluating.close(config.shutdownTimeoutMs);
      await dispatcher?.close();
      await delivering.close(config.shutdownTimeoutMs);
      await host.heartbeats.remove(workerId).catch(() => undefined);
    },
  };
}
