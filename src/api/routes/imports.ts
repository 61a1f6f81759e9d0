import type { OpenAPIHono } from '@hono/zod-openapi';
import { OpenAPIHono as Router } from '@hono/zod-openapi';
import { z } from 'zod';
import { ServiceError } from '../../domain/errors.ts';
import { iterateStream } from '../../infra/ndjson.ts';
import type { ImportService } from '../../services/imports.ts';
import type { AppEnv } from '../env.ts';
import { registerImportDocs } from '../historical-docs.ts';
import { respondError } from '../errors.ts';
import { requireRole } from '../middleware.ts';
import { parseOr422 } from './review.ts';

// Line numbers are int4 in the store: a larger or non-finite `after` is a 422, not a database error.
const ErrorsQuery = z.object({
  after: z.coerce.number().int().min(0).max(2 ** 31 - 1).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
});

export interface ImportRouteDeps {
  imports: ImportService;
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

/**
 * `POST /v1/imports`: the request streams the whole NDJSON body (gzip by `Content-Encoding`
 * or by its magic bytes) and is answered once it is read and stored: 202 with the import's
 * counts (scoring goes on in the background on the low-priority queue; poll
 * `GET /v1/imports/{id}` for `scored`). 413 `import_too_large` when the decompressed size
 * limit is reached: what was read before stays stored and the import is `failed`/`truncated`.
 */
export function importRoutes(deps: ImportRouteDeps) {
  const app = new Router<AppEnv>(deps.defaultHook);
  registerImportDocs(app);
  app.use('*', requireRole('submitter', 'admin'));

  app.post('/', async (c) => {
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
    if (run.stopped) return respondError(c, run.stopped.code, run.stopped.message, { import: run.view });
    return c.json(run.view, 202);
  });

  app.get('/:id', async (c) => {
    const view = await deps.imports.get(c.get('principal').tenantId, c.req.param('id'));
    if (!view) throw new ServiceError('not_found', 'no such import');
    return c.json(view, 200);
  });

  app.get('/:id/errors', async (c) => {
    const { after, limit } = parseOr422(ErrorsQuery, c.req.query());
    const errors = await deps.imports.errors(c.get('principal').tenantId, c.req.param('id'), after, limit);
    if (!errors) throw new ServiceError('not_found', 'no such import');
    const last = errors[errors.length - 1];
    return c.json({ errors, next: errors.length === limit && last ? last.line : null }, 200);
  });
  return app;
}
