import path from 'node:path';
import { Queue } from 'bullmq';
import type { Config, RedisTarget } from './config.ts';
import type { Db } from './db/db.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { acquireDataLock, type DataLock } from './infra/data-lock.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { createMetrics, type Metrics } from './infra/metrics.ts';
import { type EmbeddedRedis, startEmbeddedRedis } from './infra/redis-server.ts';
import { createRedisClient, queuePrefix, type RedisClient } from './infra/redis.ts';
import { QUEUES, type RetryPolicy } from './jobs/catalog.ts';
import { ArticleService } from './services/articles.ts';
import { ImportService } from './services/imports.ts';
import { RescanService } from './services/rescans.ts';
import { KeyService } from './services/keys.ts';
import { ClusterService } from './services/clusters.ts';
import { ReevaluationPlanner } from './services/reevaluation.ts';
import { ReviewService } from './services/review.ts';
import { WebhookService } from './services/webhooks.ts';
import { AddressPolicy } from './webhooks/url-guard.ts';

/**
 * The composition root: the one place that creates clients (database, Redis, queues) and
 * the services over them. Entry points build one context and close it on shutdown.
 */
export interface AppContext {
  config: Config;
  log: Logger;
  metrics: Metrics;
  db: Db;
  /** Producer connection (one server or a cluster): fails fast (no offline queue) so the API can answer 503. */
  redis: RedisClient;
  redisUrl: string;
  queues: { score: Queue; rescore: Queue; rescan: Queue; reevaluate: Queue };
  retry: RetryPolicy;
  articles: ArticleService;
  keys: KeyService;
  /** Bulk NDJSON import (scored on the low-priority `rescore` queue). */
  imports: ImportService;
  rescans: RescanService;
  clusters: ClusterService;
  review: ReviewService;
  webhooks: WebhookService;
  /** Re-evaluation of earlier articles when a farm or a burst shows later (jobs on `queues.reevaluate`). */
  reevaluation: ReevaluationPlanner;
  /** Webhook deliveries (see `jobs/catalog.ts`). */
  deliverQueue: Queue;
  /** Held while this process owns the data folder (embedded PGlite or private redis-server). */
  dataLock: DataLock | undefined;
  /** A fresh connection for a BullMQ worker (blocking commands need their own). */
  workerConnection(): RedisClient;
  close(): Promise<void>;
}

export interface ContextOptions {
  logger?: Logger;
}

async function connectProducer(target: RedisTarget): Promise<RedisClient> {
  // Keeps reconnecting in the background; requests meanwhile get 503.
  const redis = createRedisClient(target, 'producer');
  await redis.connect();
  return redis;
}

export async function createContext(config: Config, options: ContextOptions = {}): Promise<AppContext> {
  const log = options.logger ?? createLogger(config.logLevel);
  let embedded: EmbeddedRedis | undefined;
  let redisUrl = config.redisUrl;
  // Before anything touches the folder: a second owner of PGlite's files or the AOF corrupts them.
  const dataLock = !config.databaseUrl || !redisUrl ? acquireDataLock(config.dataDir) : undefined;
  let db: Db;
  try {
    if (!redisUrl) {
      embedded = await startEmbeddedRedis(config.dataDir);
      redisUrl = embedded.url;
      log.info({ url: redisUrl, dir: path.join(config.dataDir, 'redis') }, 'started a private redis-server (AOF on)');
    }
    db = await openDatabase(config);
  } catch (error) {
    await embedded?.stop();
    dataLock?.release();
    throw error;
  }
  const applied = await migrate(db);
  if (applied.length > 0) log.info({ applied }, 'database migrated');

  const target: RedisTarget = config.redisTarget ?? { kind: 'single', url: redisUrl };
  const redis = await connectProducer(target);
  const connection = (queue: string) => ({ prefix: queuePrefix(config, queue) });
  const score = new Queue(QUEUES.score, { connection: redis, ...connection(QUEUES.score) });
  const rescore = new Queue(QUEUES.rescore, { connection: redis, ...connection(QUEUES.rescore) });
  const rescan = new Queue(QUEUES.rescan, { connection: redis, ...connection(QUEUES.rescan) });
  const retry: RetryPolicy = {
    attempts: config.scoring.attempts,
    backoffMs: config.scoring.backoffMs,
    keepCompleted: config.scoring.keepCompleted,
    keepFailed: config.scoring.keepFailed,
  };
  const workerConnections: RedisClient[] = [];
  const clusters = new ClusterService(db);
  const review = new ReviewService(db, clusters, { ...config.review, propagator: config.labelling.propagator });
  const deliver = new Queue(QUEUES.deliver, { connection: redis, ...connection(QUEUES.deliver) });
  const webhooks = new WebhookService(db, deliver, new AddressPolicy(config.webhooks.allowedCidrs), config.webhooks, retry, log);
  const reevaluate = new Queue(QUEUES.reevaluate, { connection: redis, ...connection(QUEUES.reevaluate) });

  return {
    config,
    log,
    metrics: createMetrics(),
    db,
    redis,
    redisUrl,
    queues: { score, rescore, rescan, reevaluate },
    retry,
    articles: new ArticleService(db, redis, score, retry, log),
    keys: new KeyService(db),
    imports: new ImportService(
      db,
      new ArticleService(db, redis, rescore, retry, log),
      {
        maxBytes: config.historical.importMaxBytes,
        maxLineBytes: config.historical.importMaxLineBytes,
        chunkLines: config.historical.importChunkLines,
        maxStoredErrors: config.historical.importMaxStoredErrors,
        maxTextChars: config.limits.maxTextChars,
      },
      log,
    ),
    rescans: new RescanService(db, rescan, rescore, { window: config.historical.rescanWindow, chunk: config.historical.rescanChunk, stepMs: config.historical.rescanStepMs, retry }, log),
    clusters,
    review,
    webhooks,
    reevaluation: new ReevaluationPlanner(db, reevaluate, { chunk: config.reevaluation.chunk, retry }, log),
    deliverQueue: deliver,
    dataLock,
    workerConnection() {
      const connection = createRedisClient(target, 'worker');
      workerConnections.push(connection);
      return connection;
    },
    async close() {
      await score.close().catch(() => undefined);
      await deliver.close().catch(() => undefined);
      await rescore.close().catch(() => undefined);
      await rescan.close().catch(() => undefined);
      await reevaluate.close().catch(() => undefined);
      for (const c of workerConnections) c.disconnect();
      redis.disconnect();
      await db.close().catch(() => undefined);
      await embedded?.stop();
      dataLock?.release();
    },
  };
}
