import { OpenAPIHono } from '@hono/zod-openapi';
import type { RedisClient } from '../infra/redis.ts';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Metrics } from '../infra/metrics.ts';
import type { ArticleService } from '../services/articles.ts';
import type { KeyService } from '../services/keys.ts';
import { DOCS_CSP, DOCS_CSS, type OpenApiDoc, renderDocs } from './docs.ts';
import type { AppEnv } from './env.ts';
import { handleError, respondError, zodIssues } from './errors.ts';
import { authenticate, rateLimit, requestContext, storableParams } from './middleware.ts';
import { articleRoutes } from './routes/articles.ts';
import { batchRoutes } from './routes/batches.ts';
import { clusterRoutes } from './routes/clusters.ts';
import type { ClusterService } from '../services/clusters.ts';
import { importRoutes } from './routes/imports.ts';
import { keyRoutes } from './routes/keys.ts';
import { rescanRoutes } from './routes/rescans.ts';
import type { ImportService } from '../services/imports.ts';
import type { RescanService } from '../services/rescans.ts';
import { auditRoutes, reviewRoutes } from './routes/review.ts';
import type { ReviewService } from '../services/review.ts';
import { adminQueueRoutes, webhookRoutes } from './routes/webhooks.ts';
import type { WebhookService } from '../webhooks/service.ts';
import type { QueueAdmin } from '../services/queue-admin.ts';
import type { Readiness } from '../services/readiness.ts';
import { consoleRoutes, type ConsoleDeps } from '../console/index.ts';
import { commentRoutes } from './routes/comments.ts';
import { commentReviewRoutes } from './routes/comment-review.ts';
import type { CommentService } from '../services/comments.ts';
import type { CommentReviewService } from '../services/comment-review.ts';

export interface AppDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  redis: RedisClient;
  articles: ArticleService;
  keys: KeyService;
  imports: ImportService;
  rescans: RescanService;
  review: ReviewService;
  clusters: ClusterService;
  webhooks: WebhookService;
  queueAdmin: QueueAdmin;
  comments: CommentService;
  commentReview: CommentReviewService;
  /** The web console under /console (absent: not served). */
  console?: ConsoleDeps;
  readiness(): Promise<Readiness>;
  /** Samples queue depths into the metrics before a scrape. */
  sampleQueues(): Promise<void>;
}

/** The HTTP API over the services: one router per resource, one error contract. */
export function createApp(deps: AppDeps) {
  const defaultHook = {
    defaultHook: (result: { success: boolean; error?: unknown }, c: Parameters<typeof respondError>[0]) => {
      if (!result.success) {
        const issues = zodIssues(result.error as Parameters<typeof zodIssues>[0]);
        return respondError(c, 'validation_failed', 'request does not match the schema', issues);
      }
      return undefined;
    },
  };
  const app = new OpenAPIHono<AppEnv>(defaultHook);
  app.use('*', requestContext(deps.log, deps.metrics));
  app.onError(handleError);
  app.notFound((c) => respondError(c, 'not_found', `no route for ${c.req.method} ${c.req.path}`));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const readiness = await deps.readiness();
    return c.json(readiness, readiness.ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    await deps.sampleQueues().catch(() => undefined);
    return c.text(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType });
  });
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'slopguard',
      version: '1',
      description: 'Detects undeclared AI-generated articles and content farms.',
      // A private, self-hosted service (package.json: private, UNLICENSED): an SPDX LicenseRef
      // (`identifier` is OpenAPI 3.1; the config's type is 3.0's).
      license: { name: 'UNLICENSED', identifier: 'LicenseRef-slopguard-private' } as { name: string },
    },
    // Relative: OpenAPI resolves it against where this document was served, whatever the host.
    servers: [{ url: '/', description: 'the service that served this document' }],
    security: [{ bearer: [] }],
  };
  app.doc31('/openapi.json', document);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  // Rendered on first request, when every router is mounted; the routes do not change after.
  let docsHtml: string | undefined;
  app.get('/docs', (c) => {
    docsHtml ??= renderDocs(app.getOpenAPI31Document(document) as OpenApiDoc);
    c.header('Content-Security-Policy', DOCS_CSP);
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'same-origin');
    return c.html(docsHtml);
  });
  app.get('/docs.css', (c) => c.body(DOCS_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }));

  const { limits, redisPrefix } = deps.config;
  app.use('/v1/*', authenticate(deps.keys), rateLimit(deps.redis, redisPrefix, limits.rateLimitPerMinute), storableParams());
  app.route(
    '/v1/articles',
    articleRoutes({ articles: deps.articles, propagator: deps.config.labelling.propagator, maxBodyBytes: limits.maxBodyBytes, maxTextChars: limits.maxTextChars, defaultHook }),
  );
  app.route(
    '/v1/batches',
    batchRoutes({
      articles: deps.articles,
      maxBatchBodyBytes: limits.maxBatchBodyBytes,
      maxBatchItems: limits.maxBatchItems,
      maxTextChars: limits.maxTextChars,
      defaultHook,
    }),
  );
  app.route('/v1/review', reviewRoutes({ review: deps.review, maxBodyBytes: limits.maxBodyBytes, defaultHook }));
  app.route('/v1/audit', auditRoutes({ review: deps.review, defaultHook }));
  app.route('/v1/clusters', clusterRoutes({ clusters: deps.clusters, defaultHook }));
  app.route('/v1/webhooks', webhookRoutes({ webhooks: deps.webhooks, maxBodyBytes: limits.maxBodyBytes, defaultHook }));
  app.route('/v1/admin/queues', adminQueueRoutes({ queues: deps.queueAdmin, defaultHook }));
  app.route('/v1/admin/keys', keyRoutes({ keys: deps.keys, operatorTenant: deps.config.bootstrapTenant, maxBodyBytes: limits.maxBodyBytes, defaultHook }));
  if (deps.console) {
    app.use('/console/*', storableParams());
    app.route('/console', consoleRoutes(deps.console));
  }
  app.route('/v1/imports', importRoutes({ imports: deps.imports, metrics: deps.metrics, defaultHook }));
  app.route('/v1/rescans', rescanRoutes({ rescans: deps.rescans, maxBodyBytes: limits.maxBodyBytes, defaultHook }));
  app.route(
    '/v1/comments',
    commentRoutes({
      comments: deps.comments,
      maxBodyBytes: limits.maxBodyBytes,
      maxBatchBodyBytes: limits.maxBatchBodyBytes,
      maxBatchItems: limits.maxBatchItems,
      maxTextChars: limits.maxTextChars,
      defaultHook,
    }),
  );
  app.route('/v1/review/comments', commentReviewRoutes({ review: deps.commentReview, maxBodyBytes: limits.maxBodyBytes, defaultHook }));
  return app;
}
export type App = ReturnType<typeof createApp>;
