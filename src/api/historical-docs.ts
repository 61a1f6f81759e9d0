import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { rescanFilterSchema } from '../services/rescans.ts';
import type { AppEnv } from './env.ts';
import { errorResponses, IdParam } from './schemas.ts';

/**
 * OpenAPI entries for the import and rescan routes. Those routes stream bodies (NDJSON in,
 * CSV/JSONL out) so they are plain Hono handlers; their documentation is registered here.
 */

const ImportView = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'completed', 'failed']),
    linesRead: z.number().int().describe('Non-blank lines read: accepted + duplicates + rejected'),
    accepted: z.number().int().describe('New or changed articles, stored and queued for scoring'),
    duplicates: z.number().int().describe('Lines whose content was already stored: no-ops'),
    rejected: z.number().int(),
    articles: z.number().int().describe('Distinct articles the import named'),
    scored: z.number().int(),
    failed: z.number().int(),
    bytesRead: z.number().int().describe('Decompressed bytes read'),
    truncated: z.boolean().describe('Stopped at IMPORT_MAX_BYTES'),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    errorsStored: z.number().int(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Import');

const RescanView = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'paused', 'completed', 'cancelled', 'failed']),
    filter: rescanFilterSchema,
    total: z.number().int(),
    selected: z.number().int(),
    done: z.number().int(),
    failed: z.number().int(),
    skipped: z.number().int(),
    cancelled: z.number().int(),
    inFlight: z.number().int(),
    changed: z.number().int(),
    newlyFlagged: z.number().int(),
    progress: z.number(),
    ratePerSecond: z.number(),
    etaSeconds: z.number().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi('Rescan');

const Transition = z.object({ from: z.string(), to: z.string(), count: z.number().int() });
const ChangeSummary = z
  .object({
    rescanId: z.string(),
    status: z.string(),
    compared: z.number().int(),
    changed: z.number().int(),
    newlyFlagged: z.number().int(),
    verdicts: z.array(Transition),
    labels: z.array(Transition),
    versions: z.array(
      z.object({ fromModel: z.string().nullable(), fromConfig: z.string().nullable(), toModel: z.string().nullable(), toConfig: z.string().nullable(), count: z.number().int() }),
    ),
  })
  .openapi('RescanChanges');

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });

export function registerImportDocs(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/',
    summary: 'Bulk import: a streamed NDJSON body, one article per line (optionally gzip)',
    description:
      'The request streams the whole body and is answered once it is read and stored; scoring continues on the low-priority queue. ' +
      'Lines are the shape of POST /v1/articles; bad lines are counted and listed with their line number without stopping the import. ' +
      'Re-importing the same file changes nothing (duplicates). 413 import_too_large when the decompressed size limit is reached: ' +
      'what was read before stays stored and `error.details.import` holds the counts.',
    request: { body: { content: { 'application/x-ndjson': { schema: z.string() } }, required: true } },
    responses: { 202: json(ImportView, 'Read and stored'), ...errorResponses },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/{id}',
    summary: 'Counts of one import, and how many of its articles are scored',
    request: { params: IdParam },
    responses: { 200: json(ImportView, 'The import'), ...errorResponses },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/{id}/errors',
    summary: 'Per-line errors of one import (first IMPORT_MAX_STORED_ERRORS), in line order',
    request: { params: IdParam, query: z.object({ after: z.string().optional(), limit: z.string().optional() }) },
    responses: {
      200: json(z.object({ errors: z.array(z.object({ line: z.number().int(), code: z.string(), message: z.string(), details: z.unknown().optional() })), next: z.number().int().nullable() }), 'Errors'),
      ...errorResponses,
    },
  });
}

export function registerRescanDocs(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/',
    summary: 'Start a rescan of stored articles (admin); dryRun counts only',
    request: {
      body: {
        content: { 'application/json': { schema: z.object({ filter: rescanFilterSchema.optional(), dryRun: z.boolean().optional() }) } },
        required: true,
      },
    },
    responses: {
      202: json(RescanView, 'Started'),
      200: json(z.object({ dryRun: z.literal(true), count: z.number().int(), filter: rescanFilterSchema }), 'Dry run'),
      ...errorResponses,
    },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/{id}',
    summary: 'Progress of a rescan: total, done, failed, rate, ETA',
    request: { params: IdParam },
    responses: { 200: json(RescanView, 'The rescan'), ...errorResponses },
  });
  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.openAPIRegistry.registerPath({
      method: 'post',
      path: `/{id}/${action}`,
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} a rescan (409 from a state that does not allow it)`,
      request: { params: IdParam },
      responses: { 200: json(RescanView, 'The rescan'), 409: errorResponses[404], ...errorResponses },
    });
  }
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/{id}/changes',
    summary: 'Verdict, label and version transitions over the rescored articles',
    request: { params: IdParam },
    responses: { 200: json(ChangeSummary, 'Summary'), ...errorResponses },
  });
  for (const format of ['csv', 'jsonl'] as const) {
    app.openAPIRegistry.registerPath({
      method: 'get',
      path: `/{id}/changes.${format}`,
      summary: `The articles whose verdict or label changed, as ${format.toUpperCase()} (streamed)`,
      request: { params: IdParam },
      responses: {
        200: { description: 'Download', content: { [format === 'csv' ? 'text/csv' : 'application/x-ndjson']: { schema: z.string() } } },
        ...errorResponses,
      },
    });
  }
}
