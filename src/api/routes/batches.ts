import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { articleInputSchema } from '../../domain/article-input.ts';
import { ServiceError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { type ArticleService, isStoreFailure, type PreparedArticle, prepareArticle } from '../../services/articles.ts';
import type { AppEnv } from '../env.ts';
import { zodIssues } from '../errors.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import { AUTH, BatchAccepted, BatchInput, BatchView, errorResponses, IdParam, JSON_BODY } from '../schemas.ts';

export interface BatchRouteDeps {
  articles: ArticleService;
  maxBatchBodyBytes: number;
  maxBatchItems: number;
  maxTextChars: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

interface ItemError {
  index: number;
  code: string;
  message: string;
  details?: unknown;
}

const submitRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'submitBatch',
  summary: 'Submit up to 1,000 articles in one call',
  description: 'Each item is validated on its own: bad items are listed with their index and do not reject the others.',
  request: { body: { content: { 'application/json': { schema: BatchInput } }, required: true } },
  responses: { 202: { description: 'Accepted', content: { 'application/json': { schema: BatchAccepted } } }, ...errorResponses(...AUTH, ...JSON_BODY) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getBatch',
  summary: 'Counts by status and verdict, and progress, of one batch',
  request: { params: IdParam },
  responses: { 200: { description: 'The batch', content: { 'application/json': { schema: BatchView } } }, ...errorResponses(...AUTH, 404, 422) },
});

export function batchRoutes(deps: BatchRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  app.post('/', requireRole('submitter', 'admin'), jsonBody(deps.maxBatchBodyBytes));
  app.openapi(submitRoute, async (c) => {
    const { articles } = c.req.valid('json');
    if (articles.length > deps.maxBatchItems) {
      throw new ServiceError('payload_too_large', `a batch holds at most ${deps.maxBatchItems} articles`, { limit: deps.maxBatchItems });
    }
    const errors: ItemError[] = [];
    const prepared: PreparedArticle[] = [];
    const indexes: number[] = [];
    const seen = new Set<string>();
    articles.forEach((item, index) => {
      const parsed = articleInputSchema.safeParse(item);
      if (!parsed.success) {
        errors.push({ index, code: 'validation_failed', message: 'article is invalid', details: zodIssues(parsed.error) });
        return;
      }
      if (seen.has(parsed.data.externalId)) {
        errors.push({ index, code: 'duplicate_in_batch', message: 'this externalId appears earlier in the same batch' });
        return;
      }
      try {
        prepared.push(prepareArticle(parsed.data, { maxTextChars: deps.maxTextChars }));
        indexes.push(index);
        seen.add(parsed.data.externalId);
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        errors.push({ index, code: error.code, message: error.message, details: error.details });
      }
    });
    const principal = c.get('principal');
    const batchId = newId('bat');
    const results = await deps.articles.submit({ tenantId: principal.tenantId, actor: principal.keyId }, prepared, {
      id: batchId,
      total: articles.length,
      rejected: errors.length,
      indexes,
    });
    const accepted = [];
    for (const [i, outcome] of results.entries()) {
      if (isStoreFailure(outcome)) errors.push({ index: indexes[i]!, code: outcome.code, message: outcome.message });
      else accepted.push({ ...outcome, index: indexes[i]! });
    }
    errors.sort((a, b) => a.index - b.index);
    return c.json({ batchId, accepted, errors }, 202);
  });
  app.openapi(getRoute, async (c) => {
    const batch = await deps.articles.batch(c.get('principal').tenantId, c.req.valid('param').id);
    if (!batch) throw new ServiceError('not_found', 'no such batch');
    return c.json({ ...batch, createdAt: batch.createdAt.toISOString() }, 200);
  });
  return app;
}
