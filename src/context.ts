import path from 'node:path';
import { Queue } from 'bullmq';
import type { z } from 'zod';
import type { AppDeps } from './api/app.ts';
import type { Config, RedisTarget } from './config.ts';
import { SessionStore } from './console/sessions.ts';
import type { Db } from './db/db.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { acquireDataLock, type DataLock } from './infra/data-lock.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { createMetrics, type Metrics, modelObserver } from './infra/metrics.ts';
import { type EmbeddedRedis, startEmbeddedRedis } from './infra/redis-server.ts';
import { createRedisClient, queuePrefix, type RedisClient } from './infra/redis.ts';
import { type JobDefinition, JobQueue, JOBS, QUEUES, type QueueName, type RetryPolicy } from './jobs/catalog.ts';
import { clusterConsumer, reevaluationConsumer, webhookConsumer } from './outbox/consumers.ts';
import { OutboxDispatcher } from './outbox/dispatcher.ts';
import { buildScorers } from './scoring/index.ts';
import { defaultFusionConfig, parseFusionConfig } from './scoring/fusion-config.ts';
import { ArticleService } from './services/articles.ts';
import { CommentService } from './services/comments.ts';
import { CommentReviewService } from './services/comment-review.ts';
import { buildCommentScoring } from './services/comment-runtime.ts';
import { commentTemplateConsumer, commentWebhookConsumer } from './outbox/comment-consumers.ts';
import { ClusterService } from './services/clusters.ts';
import { DashboardService } from './services/dashboard.ts';
import { ImportService } from './services/imports.ts';
import { KeyService } from './services/keys.ts';
import { createPipeline } from './services/pipeline.ts';
import { QueueAdmin } from './services/queue-admin.ts';
import { type LocalModel, readinessCheck } from './services/readiness.ts';
import { Reconciler } from './services/reconciler.ts';
import { ReevaluationPlanner, Reevaluator } from './services/reevaluation.ts';
import { RescanService } from './services/rescans.ts';
import { ReviewService } from './services/review.ts';
import { ScoringService } from './services/scoring.ts';
import { WorkerHeartbeats } from './services/worker-heartbeats.ts';
import { AccountSignals } from './signals/index.ts';
import { WebhookService } from './webhooks/service.ts';
import { AddressPolicy } from './webhooks/url-guard.ts';
import { isModelReady, type WorkerParts } from './workers/index.ts';

/**
 * The composition root: the one place that creates clients (database, Redis, queues), the
 * services over them and, by role, the API's dependencies (`api`, `all`) and the workers'
 * loaded scorers (`worker`, `all`). Entry points (`src/main.ts`, tests, benches) build one
 * context, start what it built (`createApp(ctx.api)`, `startWorkers(ctx, ctx.worker)`) and
 * close it on shutdown. Nothing below this module imports it.
 *
 *   const ctx = await createContext(loadConfig(), 'worker');
 *   const workers = await startWorkers(ctx, ctx.worker!);
 */

export const PROCESS_ROLES = ['api', 'worker', 'all'] as const;
export type ProcessRole = (typeof PROCESS_ROLES)[number];

/** Every job's typed producer handle (see `JOBS`). */
export interface JobQueues {
  score: JobQueue<typeof JOBS.score>;
  importScore: JobQueue<typeof JOBS.importScore>;
  rescanChunk: JobQueue<typeof JOBS.rescanChunk>;
  rescanDriver: JobQueue<typeof JOBS.rescanDriver>;
  deliver: JobQueue<typeof JOBS.deliver>;
  reevaluate: JobQueue<typeof JOBS.reevaluate>;
  comment: JobQueue<typeof JOBS.comment>;
  commentReevaluate: JobQueue<typeof JOBS.commentReevaluate>;
}

export interface AppContext {
  role: ProcessRole;
  config: Config;
  log: Logger;
  metrics: Metrics;
  db: Db;
  /** Producer connection: fails fast (no offline queue) so the API can answer 503. */
  /** Producer connection (one server or a cluster): fails fast (no offline queue) so the API can answer 503. */
  redis: RedisClient;
  redisUrl: string;
  /** The BullMQ queues, by name (admin dashboard, metrics, tests). */
  queues: Record<QueueName, Queue>;
  jobs: JobQueues;
  retry: RetryPolicy;
  articles: ArticleService;
  /** Comments: submitted beside articles, scored on the `comment` queue. */
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
  /** Re-evaluation of earlier articles when a farm or a burst shows later (jobs on `reevaluate`). */
  reevaluation: ReevaluationPlanner;
  heartbeats: WorkerHeartbeats;
  /** The HTTP API's dependencies (roles `api` and `all`). */
  api: AppDeps | undefined;
  /** The loaded scorers and what runs on them (roles `worker` and `all`). */
  worker: WorkerParts | undefined;
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

export async function createContext(config: Config, role: ProcessRole, options: ContextOptions = {}): Promise<AppContext> {
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
  const metrics = createMetrics();
  const queues = Object.fromEntries(Object.values(QUEUES).map((name) => [name, new Queue(name, { connection: redis, prefix: queuePrefix(config, name) })])) as Record<
    QueueName,
    Queue
  >;
  const retry: RetryPolicy = {
    attempts: config.scoring.attempts,
    backoffMs: config.scoring.backoffMs,
    keepCompleted: config.scoring.keepCompleted,
    keepFailed: config.scoring.keepFailed,
  };
  const jobQueue = <J extends JobDefinition<string, z.ZodType, unknown>>(job: J, policy = retry) => new JobQueue(queues[job.queue], job, policy);
  const jobs: JobQueues = {
    score: jobQueue(JOBS.score),
    importScore: jobQueue(JOBS.importScore),
    rescanChunk: jobQueue(JOBS.rescanChunk),
    rescanDriver: jobQueue(JOBS.rescanDriver),
    deliver: jobQueue(JOBS.deliver, { ...retry, attempts: config.webhooks.attempts, backoffMs: config.webhooks.backoffMs }),
    reevaluate: jobQueue(JOBS.reevaluate),
    comment: jobQueue(JOBS.comment),
    commentReevaluate: jobQueue(JOBS.commentReevaluate),
  };
  const workerConnections: RedisClient[] = [];

  const clusters = new ClusterService(db);
  const review = new ReviewService(db, clusters, { ...config.review, propagator: config.labelling.propagator });
  const webhooks = new WebhookService(db, jobs.deliver, new AddressPolicy(config.webhooks.allowedCidrs), config.webhooks, log);
  const articles = new ArticleService(db, redis, { live: jobs.score, imported: jobs.importScore }, log);
  const keys = new KeyService(db);
  const imports = new ImportService(db, articles, { ...config.imports, maxTextChars: config.limits.maxTextChars }, log);
  const rescans = new RescanService(db, { driver: jobs.rescanDriver, chunk: jobs.rescanChunk }, config.rescans, log);
  const reevaluation = new ReevaluationPlanner(db, jobs.reevaluate, { chunk: config.reevaluation.chunk }, log);
  const heartbeats = new WorkerHeartbeats(redis, config.redisPrefix);
  const comments = new CommentService(
    db,
    redis,
    { comment: jobs.comment, reevaluate: jobs.commentReevaluate },
    {
      maxTextChars: config.limits.maxTextChars,
      importMaxBytes: config.imports.maxBytes,
      importMaxLineBytes: config.imports.maxLineBytes,
      importChunkLines: config.imports.chunkLines,
      importMaxErrors: config.imports.maxStoredErrors,
    },
    log,
  );
  const commentReview = new CommentReviewService(db, { maxBulkItems: config.review.maxBulkItems, maxMemberships: 200_000 });

  let worker: WorkerParts | undefined;
  if (role !== 'api') {
    const scorers = await buildScorers(config.model, log, modelObserver(metrics));
    const account = new AccountSignals(redis, config.accountSignals, `${config.redisPrefix}:sig:`);
    // the strict AI-assisted policy changes verdicts, so its scores record a version of their own
    const fusion = config.model.aiAssisted === 'strict' ? parseFusionConfig({ version: `${defaultFusionConfig.version}+strict`, aiAssisted: 'strict' }) : defaultFusionConfig;
    const pipeline = createPipeline({ text: scorers.text, detector: scorers.detector, zeroShot: scorers.zeroShot, account, fusion });
    // What follows a commit (webhooks, cluster joins, re-evaluations) is read from the events
    // the commit wrote, so a process dying right after it loses nothing.
    const dispatcher = config.outbox.dispatch
      ? new OutboxDispatcher(
          db,
          [
            webhookConsumer(db, webhooks, config.labelling.propagator, log),
            clusterConsumer(db, clusters),
            reevaluationConsumer(db, reevaluation, log),
            commentWebhookConsumer(db, webhooks, log),
            commentTemplateConsumer(comments),
          ],
          config.outbox,
          log,
        )
      : null;
    worker = {
      scorers,
      pipeline,
      scoring: new ScoringService(db, pipeline),
      reevaluator: new Reevaluator(db, account, fusion),
      reconciler: new Reconciler(db, { live: jobs.score, imported: jobs.importScore }, articles, config.scoring.reconcileAfterMs, log),
      dispatcher,
      commentScoring: buildCommentScoring(db, { redis, config, articles, comments, detector: scorers.detector }),
    };
  }

  let api: AppDeps | undefined;
  if (role !== 'worker') {
    const { score, rescore, rescan, reevaluate, deliver, comment } = queues;
    const queueAdmin = new QueueAdmin(() => ({ score, rescore, rescan, reevaluate, deliver, comment }));
    const parts = worker;
    const local: LocalModel | undefined = parts && { modelVersion: parts.pipeline.modelVersion, isModelReady: () => isModelReady(parts.scorers) };
    api = {
      config,
      log,
      metrics,
      redis,
      articles,
      keys,
      imports,
      rescans,
      review,
      clusters,
      webhooks,
      queueAdmin,
      comments,
      commentReview,
      console: {
        review,
        keys,
        sessions: new SessionStore(redis, keys, config.redisPrefix, config.console.sessionTtlSeconds),
        webhooks,
        queueAdmin,
        dashboard: new DashboardService(db),
        cookieSecure: config.console.cookieSecure,
        sessionTtlSeconds: config.console.sessionTtlSeconds,
        operatorTenant: config.bootstrapTenant,
        commentReview,
        log,
      },
      readiness: readinessCheck({ redis, db, heartbeats, local }),
      async sampleQueues() {
        const counts = await queues.score.getJobCounts('waiting', 'active', 'delayed', 'failed');
        for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ queue: 'score', state }, n);
        for (const queue of ['rescore', 'rescan', 'comment'] as const) {
          const depth = await queues[queue].getJobCounts('waiting', 'active', 'delayed', 'failed');
          for (const [state, n] of Object.entries(depth)) metrics.queueDepth.set({ queue, state }, n);
        }
        const [importCounts, rescanTotals] = await Promise.all([imports.countByStatus(), rescans.progressTotals()]);
        for (const status of ['running', 'completed', 'failed']) metrics.importRescanRuns.set({ kind: 'import', status }, importCounts[status] ?? 0);
        for (const status of ['running', 'paused', 'completed', 'cancelled', 'failed'])
          metrics.importRescanRuns.set({ kind: 'rescan', status }, rescanTotals.byStatus[status] ?? 0);
        metrics.rescanBacklog.set(rescanTotals.backlog);
        // which model versions score right now: an installed version shows here once it is loaded
        const versions = local ? (local.isModelReady() ? [local.modelVersion] : []) : (await heartbeats.ready()).map((w) => w.modelVersion);
        metrics.modelInfo.reset();
        for (const version of versions) metrics.modelInfo.inc({ version });
      },
    };
  }

  return {
    role,
    config,
    log,
    metrics,
    db,
    redis,
    redisUrl,
    queues,
    jobs,
    retry,
    articles,
    comments,
    commentReview,
    keys,
    imports,
    rescans,
    clusters,
    review,
    webhooks,
    reevaluation,
    heartbeats,
    api,
    worker,
    dataLock,
    workerConnection() {
      const connection = createRedisClient(target, 'worker');
      workerConnections.push(connection);
      return connection;
    },
    async close() {
      for (const queue of Object.values(queues)) await queue.close().catch(() => undefined);
      for (const c of workerConnections) c.disconnect();
      redis.disconnect();
      await db.close().catch(() => undefined);
      await worker?.scorers.close();
      await embedded?.stop();
      dataLock?.release();
    },
  };
}
