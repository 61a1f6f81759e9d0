import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ServiceError } from '../../domain/errors.ts';
import { storableText, timestamp } from '../../domain/fields.ts';
import { DECISIONS, GROUPINGS, QUEUE_SORTS, STATE_FILTERS } from '../../domain/review.ts';
import { LABELS } from '../../domain/types.ts';
import type { AuditQuery, ReviewService, ReviewTarget } from '../../services/review.ts';
import type { AppEnv } from '../env.ts';
import { zodIssues } from '../errors.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import {
  type AuditEvent,
  auditPageSchema,
  claimListSchema,
  claimResultSchema,
  decisionResultSchema,
  releasedSchema,
  reviewAccountSchema,
  reviewArticleSchema,
  reviewGroupSchema,
  reviewQueueSchema,
} from '../../services/review-views.ts';
import { AUTH, errorResponses, JSON_BODY, jsonResponse } from '../schemas.ts';

export interface ReviewRouteDeps {
  review: ReviewService;
  maxBodyBytes: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

/** Parses with zod and answers 422 in the error contract when it does not match. */
export function parseOr422<S extends z.ZodType>(schema: S, data: unknown): z.infer<S> {
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new ServiceError('validation_failed', 'request does not match the schema', zodIssues(parsed.error));
  return parsed.data;
}

const id = storableText().min(1).max(128);
const list = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values)));
const isoTime = timestamp();

export const QueueQuerySchema = z.object({
  group: z.enum(GROUPINGS).default('article'),
  sort: z.enum(QUEUE_SORTS).default('priority'),
  state: z.enum(STATE_FILTERS).default('open'),
  verdict: list(['flag', 'review'] as const).optional(),
  label: list(LABELS).optional(),
  minScore: z.coerce.number().min(0).max(1).optional(),
  maxScore: z.coerce.number().min(0).max(1).optional(),
  account: id.optional(),
  batch: id.optional(),
  cluster: id.optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  model: storableText().min(1).max(300).optional(),
  cursor: storableText().max(1000).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type QueueQueryInput = z.infer<typeof QueueQuerySchema>;

/** The service query from parsed query parameters (the console uses the same mapping). */
export function toQueueQuery(q: QueueQueryInput) {
  return {
    group: q.group,
    sort: q.sort,
    state: q.state,
    limit: q.limit,
    cursor: q.cursor ?? null,
    ...(q.verdict?.length ? { verdict: q.verdict } : {}),
    ...(q.label?.length ? { label: q.label } : {}),
    ...(q.minScore !== undefined ? { minScore: q.minScore } : {}),
    ...(q.maxScore !== undefined ? { maxScore: q.maxScore } : {}),
    ...(q.account ? { accountId: q.account } : {}),
    ...(q.batch ? { batchId: q.batch } : {}),
    ...(q.cluster ? { clusterId: q.cluster } : {}),
    ...(q.from ? { from: q.from } : {}),
    ...(q.to ? { to: q.to } : {}),
    ...(q.model ? { modelVersion: q.model } : {}),
  };
}

const TargetFields = {
  articleIds: z.array(id).min(1).optional().openapi({ description: 'A selection (one id: a single item).' }),
  batchId: id.optional().openapi({ description: 'A submission batch: its items in the review queue.' }),
  clusterId: id.optional().openapi({ description: 'An account cluster: its items in the review queue.' }),
};
const oneTarget = (v: { articleIds?: string[] | undefined; batchId?: string | undefined; clusterId?: string | undefined }) =>
  [v.articleIds, v.batchId, v.clusterId].filter((x) => x !== undefined).length === 1;
const targetMessage = { message: 'name exactly one of articleIds, batchId, clusterId' };

export const ClaimBody = z
  .object({ ...TargetFields, leaseSeconds: z.number().int().min(1).max(86_400).optional() })
  .strict()
  .refine(oneTarget, targetMessage)
  .openapi('ClaimInput');
export const ReleaseBody = z.object(TargetFields).strict().refine(oneTarget, targetMessage).openapi('ReleaseInput');
export const DecisionBody = z
  .object({ ...TargetFields, decision: z.enum(DECISIONS), comment: storableText().max(2000).optional() })
  .strict()
  .refine(oneTarget, targetMessage)
  .openapi('DecisionInput', { example: { clusterId: 'cl_3f2a9b', decision: 'confirm_ai_undeclared', comment: 'same farm as last week' } });

export function toTarget(v: { articleIds?: string[] | undefined; batchId?: string | undefined; clusterId?: string | undefined }): ReviewTarget {
  if (v.articleIds) return { type: 'selection', articleIds: v.articleIds };
  if (v.batchId) return { type: 'batch', id: v.batchId };
  return { type: 'cluster', id: v.clusterId as string };
}

export const AuditQuerySchema = z.object({
  article: id.optional(),
  batch: id.optional(),
  cluster: id.optional(),
  actor: id.optional(),
  type: storableText().min(1).max(100).optional(),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/)
    .optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(100),
  format: z.enum(['json', 'jsonl', 'csv']).default('json'),
});

export function toAuditQuery(q: z.infer<typeof AuditQuerySchema>): AuditQuery {
  return {
    limit: q.limit,
    ...(q.article ? { articleId: q.article } : {}),
    ...(q.batch ? { batchId: q.batch } : {}),
    ...(q.cluster ? { clusterId: q.cluster } : {}),
    ...(q.actor ? { actor: q.actor } : {}),
    ...(q.type ? { type: q.type } : {}),
    ...(q.cursor ? { after: Number(q.cursor) } : {}),
  };
}

const CSV_COLUMNS = ['id', 'at', 'type', 'subjectType', 'subjectId', 'actor', 'modelVersion', 'configVersion', 'payload'] as const;

/** RFC 4180 quoting; a cell a spreadsheet would run as a formula is prefixed with '. */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Every event the query matches as JSONL or CSV, paged through by id so memory stays flat.
 * The first page runs before the answer starts, so a bad filter still gets a clean 404.
 */
export async function auditExport(c: Context<AppEnv>, review: ReviewService, tenantId: string, query: AuditQuery, format: 'jsonl' | 'csv') {
  const pageSize = 1000;
  let page = await review.audit(tenantId, { ...query, limit: pageSize });
  const encoder = new TextEncoder();
  const line = (e: AuditEvent) => (format === 'jsonl' ? `${JSON.stringify(e)}\n` : `${CSV_COLUMNS.map((k) => csvCell(e[k])).join(',')}\r\n`);
  let first = true;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        let chunk = format === 'csv' ? `${CSV_COLUMNS.join(',')}\r\n` : '';
        chunk += page.events.map(line).join('');
        controller.enqueue(encoder.encode(chunk));
        if (!page.nextCursor) controller.close();
        return;
      }
      page = await review.audit(tenantId, { ...query, after: Number(page.nextCursor), limit: pageSize });
      controller.enqueue(encoder.encode(page.events.map(line).join('')));
      if (!page.nextCursor) controller.close();
    },
  });
  const type = format === 'jsonl' ? 'application/x-ndjson; charset=utf-8' : 'text/csv; charset=utf-8';
  return c.body(stream, 200, { 'Content-Type': type, 'Content-Disposition': `attachment; filename="audit.${format}"` });
}

const params = (name: string) => z.object({ [name]: id.openapi({ param: { name, in: 'path' } }) });

const routes = [
  createRoute({
    method: 'get',
    path: '/queue',
    operationId: 'getReviewQueue',
    summary: 'Review queue: flagged and review items, single or grouped by batch or cluster',
    request: { query: QueueQuerySchema },
    responses: { 200: jsonResponse(reviewQueueSchema, 'A page of the queue with counts and nextCursor'), ...errorResponses(...AUTH, 422) },
  }),
  createRoute({
    method: 'get',
    path: '/articles/{id}',
    operationId: 'getReviewArticle',
    summary: 'One article with its evidence (reasons, segments, signals), review state and claim',
    request: { params: params('id') },
    responses: { 200: jsonResponse(reviewArticleSchema, 'The article'), ...errorResponses(...AUTH, 404, 422) },
  }),
  createRoute({
    method: 'get',
    path: '/batches/{id}',
    operationId: 'getReviewBatch',
    summary: 'A submission batch, its members side by side',
    request: { params: params('id') },
    responses: { 200: jsonResponse(reviewGroupSchema, 'The batch'), ...errorResponses(...AUTH, 404, 422) },
  }),
  createRoute({
    method: 'get',
    path: '/clusters/{id}',
    operationId: 'getReviewCluster',
    summary: 'An account cluster, its members side by side',
    request: { params: params('id') },
    responses: { 200: jsonResponse(reviewGroupSchema, 'The cluster'), ...errorResponses(...AUTH, 404, 422) },
  }),
  createRoute({
    method: 'get',
    path: '/accounts/{accountId}',
    operationId: 'getReviewAccount',
    summary: "An account's articles, verdicts, signals over time and clusters",
    request: { params: params('accountId') },
    responses: { 200: jsonResponse(reviewAccountSchema, 'The account'), ...errorResponses(...AUTH, 404, 422) },
  }),
  createRoute({
    method: 'get',
    path: '/claims',
    operationId: 'listClaims',
    summary: 'Live claims (visible to every moderator)',
    request: { query: z.object({ moderator: id.optional() }) },
    responses: { 200: jsonResponse(claimListSchema, 'Claims'), ...errorResponses(...AUTH, 422) },
  }),
  createRoute({
    method: 'post',
    path: '/claims',
    operationId: 'claimItems',
    summary: 'Claim an item, a selection, a batch or a cluster with a lease (all or nothing; 409 with the holders)',
    request: { body: { content: { 'application/json': { schema: ClaimBody } }, required: true } },
    responses: { 200: jsonResponse(claimResultSchema, 'Claimed'), ...errorResponses(...AUTH, ...JSON_BODY, 404, 409) },
  }),
  createRoute({
    method: 'post',
    path: '/claims/release',
    operationId: 'releaseClaims',
    summary: "Give back the caller's claims on a target",
    request: { body: { content: { 'application/json': { schema: ReleaseBody } }, required: true } },
    responses: { 200: jsonResponse(releasedSchema, 'Released'), ...errorResponses(...AUTH, ...JSON_BODY, 404) },
  }),
  createRoute({
    method: 'post',
    path: '/decisions',
    operationId: 'decideItems',
    summary: 'Decide one item or many in one atomic, idempotent request',
    request: { body: { content: { 'application/json': { schema: DecisionBody } }, required: true } },
    responses: { 200: jsonResponse(decisionResultSchema, 'The decision and the items it changed'), ...errorResponses(...AUTH, ...JSON_BODY, 404, 409) },
  }),
  createRoute({
    method: 'get',
    path: '/export',
    operationId: 'exportLabelled',
    summary: 'Confirmed decisions as JSONL training records ({text,label,lang,source,generator,id,group,orig_label,decision:{at,verdict,score,modelVersion,configVersion}})',
    request: { query: z.object({ since: isoTime.optional(), until: isoTime.optional() }) },
    responses: { 200: { description: 'JSONL', content: { 'application/x-ndjson': { schema: z.string() } } }, ...errorResponses(...AUTH, 422) },
  }),
];

/** `/v1/review`: the moderator's API (roles moderator and admin, tenant-scoped). */
export function reviewRoutes(deps: ReviewRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  for (const route of routes) app.openAPIRegistry.registerPath(route);
  const { review } = deps;
  app.use('*', requireRole('moderator', 'admin'));
  const who = (c: Context<AppEnv>) => ({ tenantId: c.get('principal').tenantId, keyId: c.get('principal').keyId });

  app.get('/queue', async (c) => {
    const q = parseOr422(QueueQuerySchema, c.req.query());
    return c.json(await review.queue(c.get('principal').tenantId, toQueueQuery(q)));
  });
  app.get('/articles/:id', async (c) => c.json(await review.article(c.get('principal').tenantId, c.req.param('id'))));
  app.get('/batches/:id', async (c) => c.json(await review.group(c.get('principal').tenantId, 'batch', c.req.param('id'))));
  app.get('/clusters/:id', async (c) => c.json(await review.group(c.get('principal').tenantId, 'cluster', c.req.param('id'))));
  app.get('/accounts/:accountId', async (c) => c.json(await review.account(c.get('principal').tenantId, c.req.param('accountId'))));
  app.get('/claims', async (c) => c.json({ claims: await review.listClaims(c.get('principal').tenantId, c.req.query('moderator')) }));
  app.post('/claims', jsonBody(deps.maxBodyBytes), async (c) => {
    const body = parseOr422(ClaimBody, await c.req.json());
    return c.json(await review.claim(who(c), toTarget(body), body.leaseSeconds));
  });
  app.post('/claims/release', jsonBody(deps.maxBodyBytes), async (c) => {
    const body = parseOr422(ReleaseBody, await c.req.json());
    return c.json(await review.release(who(c), toTarget(body)));
  });
  app.post('/decisions', jsonBody(deps.maxBodyBytes), async (c) => {
    const body = parseOr422(DecisionBody, await c.req.json());
    return c.json(await review.decide(who(c), toTarget(body), body.decision, body.comment ?? null));
  });
  app.get('/export', async (c) => {
    const q = parseOr422(z.object({ since: isoTime.optional(), until: isoTime.optional() }), c.req.query());
    const tenantId = c.get('principal').tenantId;
    const options = { limit: 1000, ...(q.since ? { since: q.since } : {}), ...(q.until ? { until: q.until } : {}) };
    let page = await review.labelled(tenantId, options);
    const encoder = new TextEncoder();
    let first = true;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!first) page = await review.labelled(tenantId, { ...options, after: page.nextCursor as number });
        first = false;
        if (page.records.length > 0) controller.enqueue(encoder.encode(page.records.map((r) => `${JSON.stringify(r)}\n`).join('')));
        if (page.nextCursor === null) controller.close();
      },
    });
    return c.body(stream, 200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Content-Disposition': 'attachment; filename="labelled.jsonl"' });
  });
  return app;
}

/** `/v1/audit`: the event history of an article, batch, cluster or moderator; JSON pages or a JSONL/CSV export. */
export function auditRoutes(deps: { review: ReviewService; defaultHook: ReviewRouteDeps['defaultHook'] }) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  app.openAPIRegistry.registerPath(
    createRoute({
      method: 'get',
      path: '/',
      operationId: 'getAudit',
      summary: 'Audit: events by article, batch (its own and its articles’), cluster or actor; format=json|jsonl|csv',
      request: { query: AuditQuerySchema },
      responses: {
        200: {
          description: 'Events in id order with nextCursor (format=json), or the whole history as JSONL or CSV',
          content: { 'application/json': { schema: auditPageSchema }, 'application/x-ndjson': { schema: z.string() }, 'text/csv': { schema: z.string() } },
        },
        ...errorResponses(...AUTH, 404, 422),
      },
    }),
  );
  app.use('*', requireRole('moderator', 'admin'));
  app.get('/', async (c) => {
    const q = parseOr422(AuditQuerySchema, c.req.query());
    const tenantId = c.get('principal').tenantId;
    if (q.format !== 'json') return auditExport(c, deps.review, tenantId, toAuditQuery(q), q.format);
    return c.json(await deps.review.audit(tenantId, toAuditQuery(q)));
  });
  return app;
}
