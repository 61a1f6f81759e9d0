import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp, type Readiness } from './api/app.ts';
import type { AppContext } from './context.ts';
import type { Metrics } from './infra/metrics.ts';
import { QueueAdmin } from './services/queue-admin.ts';
import { consoleDeps } from './console/index.ts';

/**
 * The HTTP half of the service over one context. It never imports the scorers: an `api`
 * process learns whether a model is loaded from the workers' heartbeats.
 */

export const HEARTBEAT_TTL_MS = 30_000;
/** Redis hash where each worker process reports its model version and readiness. */
export const workersKey = (prefix: string) => `${prefix}:workers`;

/** What a local worker (all mode) tells readiness. */
export interface LocalModel {
  modelVersion: string;
  isModelReady(): boolean;
}

/** Redis, database, and a model loaded here (all mode) or in a live worker (api mode). */
export function readinessCheck(ctx: AppContext, local?: LocalModel): () => Promise<Readiness> {
  return async () => {
    const checks: Readiness['checks'] = {};
    try {
      await ctx.redis.ping();
      checks.redis = { ok: true };
    } catch (error) {
      checks.redis = { ok: false, detail: (error as Error).message };
    }
    try {
      await ctx.db.query('SELECT 1');
      checks.database = { ok: true };
    } catch (error) {
      checks.database = { ok: false, detail: (error as Error).message };
    }
    if (local) {
      checks.model = { ok: local.isModelReady(), detail: local.modelVersion };
    } else {
      const workers = await ctx.redis.hgetall(workersKey(ctx.config.redisPrefix)).catch(() => ({}) as Record<string, string>);
      const live = Object.values(workers)
        .map((v) => JSON.parse(v) as { at: number; modelVersion: string; modelReady: boolean })
        .filter((w) => Date.now() - w.at < HEARTBEAT_TTL_MS && w.modelReady);
      checks.model = live[0] ? { ok: true, detail: live[0].modelVersion } : { ok: false, detail: 'no worker with a loaded model' };
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };
}

export function buildApp(ctx: AppContext, local?: LocalModel) {
  const queueAdmin = new QueueAdmin(() => ({ ...ctx.queues, deliver: ctx.deliverQueue }));
  return createApp({
    config: ctx.config,
    log: ctx.log,
    metrics: ctx.metrics,
    redis: ctx.redis,
    articles: ctx.articles,
    keys: ctx.keys,
    imports: ctx.imports,
    rescans: ctx.rescans,
    review: ctx.review,
    clusters: ctx.clusters,
    webhooks: ctx.webhooks,
    queueAdmin,
    comments: ctx.comments,
    commentReview: ctx.commentReview,
    console: consoleDeps(ctx, queueAdmin),
    readiness: readinessCheck(ctx, local),
    async sampleQueues() {
      const counts = await ctx.queues.score.getJobCounts('waiting', 'active', 'delayed', 'failed');
      for (const [state, n] of Object.entries(counts)) ctx.metrics.queueDepth.set({ queue: 'score', state }, n);
      for (const queue of ['rescore', 'rescan', 'comment'] as const) {
        const depth = await ctx.queues[queue].getJobCounts('waiting', 'active', 'delayed', 'failed');
        for (const [state, n] of Object.entries(depth)) ctx.metrics.queueDepth.set({ queue, state }, n);
      }
      const [imports, rescans] = await Promise.all([ctx.imports.countByStatus(), ctx.rescans.progressTotals()]);
      for (const status of ['running', 'completed', 'failed']) ctx.metrics.historicalRuns.set({ kind: 'import', status }, imports[status] ?? 0);
      for (const status of ['running', 'paused', 'completed', 'cancelled', 'failed']) ctx.metrics.historicalRuns.set({ kind: 'rescan', status }, rescans.byStatus[status] ?? 0);
      ctx.metrics.rescanBacklog.set(rescans.backlog);
    },
  });
}

/** Serves the API; resolves once listening. */
export async function startHttp(ctx: AppContext, local?: LocalModel): Promise<{ server: ServerType; port: number; close(): Promise<void> }> {
  const app = buildApp(ctx, local);
  // Handlers still running at shutdown (a client may have hung up, the work has not) finish
  // before the context closes their database and Redis connections under them.
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const fetch = async (request: Request) => {
    inFlight++;
    try {
      return await app.fetch(request);
    } finally {
      if (--inFlight === 0) drained?.();
    }
  };
  return new Promise((resolve) => {
    const { host, port, headersTimeoutMs, requestTimeoutMs, idleTimeoutMs, keepAliveTimeoutMs } = ctx.config.http;
    const serverOptions = {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // How often Node checks the header and request limits (its default, 30 s, would let a
      // short limit run over by that much).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeoutMs / 4)),
    };
    const server = serve({ fetch, hostname: host, port, serverOptions }, (info) => {
      // Nothing sent either way for this long: a stalled body or a silent client is dropped
      // (Node destroys the socket on timeout when no handler takes the event).
      server.setTimeout(idleTimeoutMs);
      resolve({
        server,
        port: info.port,
        async close() {
          const closed = new Promise<void>((done) => server.close(() => done()));
          const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((done) => (drained = done));
          const deadline = new Promise<void>((done) => setTimeout(done, ctx.config.shutdownTimeoutMs).unref());
          await Promise.race([Promise.all([closed, idle]), deadline]);
        },
      });
    });
  });
}

/** A worker process's only HTTP: `GET /metrics` (Prometheus text) and `GET /healthz`. */
export function startMetricsHttp(metrics: Metrics, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** Prints a bootstrap admin key once, on the very first start of an empty store. */
export async function ensureBootstrapKey(ctx: AppContext): Promise<string | null> {
  if ((await ctx.keys.count()) > 0) return null;
  const created = await ctx.keys.create(ctx.config.bootstrapTenant, 'admin', 'bootstrap', 'system:bootstrap');
  return created.key;
}
