import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { Db } from './db/db.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { acquireDataLock, type DataLock } from './infra/data-lock.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { createMetrics, type Metrics } from './infra/metrics.ts';
import { type EmbeddedRedis, startEmbeddedRedis } from './infra/redis-server.ts';
import { QUEUES, type RetryPolicy } from './jobs/catalog.ts';
import { ArticleService } from './services/articles.ts';
import { CommentService } from './services/comments.ts';
import { CommentReviewService } from './services/comment-review.ts';
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
  /** Producer connection: fails fast (no offline queue) so the API can answer 503. */
  redis: Redis;
  redisUrl: string;
  queues: { score: Queue; rescore: Queue; rescan: Queue; reevaluate: Queue; comment: Queue };
  retry: RetryPolicy;
  articles: ArticleService;
  /** Comments: submitted beside articles, scored on `queues.comment`. */
  comments: CommentService;
  /** The comment review queue and decisions (grouped by article, template, account cluster). */
  commentReview: CommentReviewService;
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
  workerConnection(): Redis;
  close(): Promise<void>;
}

export interface ContextOptions {
  logger?: Logger;
}

async function connectProducer(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    // Keep trying to reconnect in the background; requests meanwhile get 503.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => undefined);
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

  const redis = await connectProducer(redisUrl);
  const connection = { prefix: config.redisPrefix };
  const score = new Queue(QUEUES.score, { connection: redis, ...connection });
  const rescore = new Queue(QUEUES.rescore, { connection: redis, ...connection });
  const rescan = new Queue(QUEUES.rescan, { connection: redis, ...connection });
  const retry: RetryPolicy = {
    attempts: config.scoring.attempts,
    backoffMs: config.scoring.backoffMs,
    keepCompleted: config.scoring.keepCompleted,
    keepFailed: config.scoring.keepFailed,
  };
  const workerConnections: Redis[] = [];
  const url = redisUrl;
  const clusters = new ClusterService(db);
  const review = new ReviewService(db, clusters, { ...config.review, propagator: config.labelling.propagator });
  const deliver = new Queue(QUEUES.deliver, { connection: redis, ...connection });
  const webhooks = new WebhookService(db, deliver, new AddressPolicy(config.webhooks.allowedCidrs), config.webhooks, retry, log);
  const reevaluate = new Queue(QUEUES.reevaluate, { connection: redis, ...connection });
  const comment = new Queue(QUEUES.comment, { connection: redis, ...connection });

  return {
    config,
    log,
    metrics: createMetrics(),
    db,
    redis,
    redisUrl,
    queues: { score, rescore, rescan, reevaluate, comment },
    retry,
    articles: new ArticleService(db, redis, score, retry, log),
    keys: new KeyService(db),
    commentReview: new CommentReviewService(db, { maxBulkItems: config.review.maxBulkItems, maxMemberships: 200_000 }),
    comments: new CommentService(
      db,
      redis,
      comment,
      retry,
      {
        maxTextChars: config.limits.maxTextChars,
        importMaxBytes: config.historical.importMaxBytes,
        importMaxLineBytes: config.historical.importMaxLineBytes,
        importChunkLines: config.historical.importChunkLines,
        importMaxErrors: config.historical.importMaxStoredErrors,
      },
      log,
    ),
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
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      connection.on('error', () => undefined);
      workerConnections.push(connection);
      return connection;
    },
    async close() {
      await score.close().catch(() => undefined);
      await deliver.close().catch(() => undefined);
      await rescore.close().catch(() => undefined);
      await rescan.close().catch(() => undefined);
      await reevaluate.close().catch(() => undefined);
      await comment.close().catch(() => undefined);
      for (const c of workerConnections) c.disconnect();
      redis.disconnect();
      await db.close().catch(() => undefined);
      await embedded?.stop();
      dataLock?.release();
    },
  };
}
