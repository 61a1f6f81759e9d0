import { createRoute, type OpenAPIHono, OpenAPIHono as Router, z } from '@hono/zod-openapi';
import { ServiceError } from '../../domain/errors.ts';
import { iterateStream } from '../../infra/ndjson.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { ImportService } from '../../services/imports.ts';
import { importErrorsPageSchema, importViewSchema } from '../../services/views.ts';
import type { AppEnv } from '../env.ts';
import { requireRole } from '../middleware.ts';
import { AUTH, errorResponses, IdParam, jsonResponse } from '../schemas.ts';

export interface ImportRouteDeps {
  imports: ImportService;
  metrics: Metrics;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/gzip',
  'application/x-gzip',
  'application/octet-stream',
]);

const createImportRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'createImport',
  summary: 'Bulk import: a streamed NDJSON body, one article per line (optionally gzip)',
  description:
    'The request streams the whole body and is answered once it is read and stored; scoring continues on the low-priority queue. ' +
    'Lines are the shape of POST /v1/articles; bad lines are counted and listed with their line number without stopping the import. ' +
    'Re-importing the same file changes nothing (duplicates). 413 import_too_large when the decompressed size limit is reached: ' +
    'what was read before stays stored and `error.details.import` holds the counts.',
  request: {
    body: {
      content: {
        'application/x-ndjson': {
          schema: z.string().openapi({ example: '{"externalId":"post-1","accountId":"acct-7","text":"…"}\n{"externalId":"post-2","accountId":"acct-7","text":"…"}\n' }),
        },
      },
      required: true,
    },
  },
  responses: { 202: jsonResponse(importViewSchema, 'Read and stored'), ...errorResponses(...AUTH, 400, 413, 415) },
});

const getImportRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getImport',
  summary: 'Counts of one import, and how many of its articles are scored',
  request: { params: IdParam },
  responses: { 200: jsonResponse(importViewSchema, 'The import'), ...errorResponses(...AUTH, 404, 422) },
});

const importErrorsRoute = createRoute({
  method: 'get',
  path: '/{id}/errors',
  operationId: 'listImportErrors',
  // Line numbers are int4 in the store: a larger or non-finite `after` is a 422, not a database error.
  summary: 'Per-line errors of one import (first IMPORT_MAX_STORED_ERRORS), in line order',
  request: {
    params: IdParam,
    query: z.object({
      after: z.coerce
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1)
        .default(0)
        .openapi({ description: 'Line number to start after (`next` of the previous page)' }),
      limit: z.coerce.number().int().min(1).max(1000).default(1000),
    }),
  },
  responses: { 200: jsonResponse(importErrorsPageSchema, 'Errors'), ...errorResponses(...AUTH, 404, 422) },
});

/**
 * `POST /v1/imports`: the request streams the whole NDJSON body (gzip by `Content-Encoding`
 * or by its magic bytes) and is answered once it is read and stored: 202 with the import's
 * counts (scoring goes on in the background on the low-priority queue; poll
 * `GET /v1/imports/{id}` for `scored`). 413 `import_too_large` when the decompressed size
 * limit is reached: what was read before stays stored and the import is `failed`/`truncated`.
 */
export function importRoutes(deps: ImportRouteDeps) {
  const app = new Router<AppEnv>(deps.defaultHook);
  app.use('*', requireRole('submitter', 'admin'));

  app.openapi(createImportRoute, async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!NDJSON_TYPES.has(type)) {
      throw new ServiceError('unsupported_media_type', 'send the body as application/x-ndjson (optionally gzip: Content-Encoding: gzip)');
    }
    const encoding = (c.req.header('content-encoding') ?? '').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'identity') {
      throw new ServiceError('unsupported_media_type', `unsupported Content-Encoding ${encoding}: use gzip or none`);
    }
    const body = c.req.raw.body;
    if (!body) throw new ServiceError('bad_request', 'the body is empty: send one article per line');
    const principal = c.get('principal');
    const gzip = encoding === 'gzip' || encoding === 'x-gzip' ? true : 'auto';
    const run = await deps.imports.run({ tenantId: principal.tenantId, actor: principal.keyId }, iterateStream(body), { gzip });
    deps.metrics.importLines.inc({ outcome: 'accepted' }, run.view.accepted);
    deps.metrics.importLines.inc({ outcome: 'duplicate' }, run.view.duplicates);
    deps.metrics.importLines.inc({ outcome: 'rejected' }, run.view.rejected);
    if (run.stopped) throw new ServiceError(run.stopped.code, run.stopped.message, { import: run.view });
    return c.json(run.view, 202);
  });

  app.openapi(getImportRoute, async (c) => {
    const view = await deps.imports.get(c.get('principal').tenantId, c.req.valid('param').id);
    if (!view) throw new ServiceError('not_found', 'no such import');
    return c.json(view, 200);
  });

  app.openapi(importErrorsRoute, async (c) => {
    const { after, limit } = c.req.valid('query');
    const errors = await deps.imports.errors(c.get('principal').tenantId, c.req.valid('param').id, after, limit);
    if (!errors) throw new ServiceError('not_found', 'no such import');
    const last = errors[errors.length - 1];
    return c.json({ errors, next: errors.length === limit && last ? last.line : null }, 200);
  });
  return app;
}
