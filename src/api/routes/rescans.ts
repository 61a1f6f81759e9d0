import { createRoute, type OpenAPIHono, OpenAPIHono as Router, z } from '@hono/zod-openapi';
import { ServiceError } from '../../domain/errors.ts';
import type { ChangedArticle, RescanService } from '../../services/rescans.ts';
import { changeSummarySchema, rescanCreateSchema, rescanDryRunSchema, rescanListSchema, rescanViewSchema } from '../../services/views.ts';
import type { AppEnv } from '../env.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import { AUTH, errorResponses, IdParam, JSON_BODY, jsonResponse } from '../schemas.ts';

export interface RescanRouteDeps {
  rescans: RescanService;
  maxBodyBytes: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

const createRescanRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'createRescan',
  summary: 'Start a rescan of stored articles (admin); dryRun counts only',
  request: { body: { content: { 'application/json': { schema: rescanCreateSchema } }, required: true } },
  responses: {
    202: jsonResponse(rescanViewSchema, 'Started'),
    200: jsonResponse(rescanDryRunSchema, 'Dry run: how many articles match'),
    ...errorResponses(...AUTH, ...JSON_BODY),
  },
});
const listRescansRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listRescans',
  summary: "The tenant's latest rescans, newest first",
  responses: { 200: jsonResponse(rescanListSchema, 'Rescans'), ...errorResponses(...AUTH) },
});
const getRescanRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getRescan',
  summary: 'Progress of a rescan: total, done, failed, rate, ETA',
  request: { params: IdParam },
  responses: { 200: jsonResponse(rescanViewSchema, 'The rescan'), ...errorResponses(...AUTH, 404, 422) },
});
const actionRoute = (action: 'pause' | 'resume' | 'cancel') =>
  createRoute({
    method: 'post',
    path: `/{id}/${action}`,
    operationId: `${action}Rescan`,
    summary: `${action[0]!.toUpperCase()}${action.slice(1)} a rescan (409 from a state that does not allow it)`,
    request: { params: IdParam },
    responses: { 200: jsonResponse(rescanViewSchema, 'The rescan'), ...errorResponses(...AUTH, 404, 409, 422) },
  });
const changesRoute = createRoute({
  method: 'get',
  path: '/{id}/changes',
  operationId: 'getRescanChanges',
  summary: 'Verdict, label and version transitions over the rescored articles',
  request: { params: IdParam },
  responses: { 200: jsonResponse(changeSummarySchema, 'Summary'), ...errorResponses(...AUTH, 404, 422) },
});
const downloadRoute = (format: 'csv' | 'jsonl') =>
  createRoute({
    method: 'get',
    path: `/{id}/changes.${format}`,
    operationId: format === 'csv' ? 'downloadRescanChangesCsv' : 'downloadRescanChangesJsonl',
    summary: `The articles whose verdict or label changed, as ${format.toUpperCase()} (streamed)`,
    request: { params: IdParam },
    responses: {
      200: { description: 'Download', content: { [format === 'csv' ? 'text/csv' : 'application/x-ndjson']: { schema: z.string() } } },
      ...errorResponses(...AUTH, 404, 422),
    },
  });

const CSV_COLUMNS: (keyof ChangedArticle)[] = [
  'articleId',
  'externalId',
  'accountId',
  'oldVerdict',
  'newVerdict',
  'oldLabel',
  'newLabel',
  'oldScore',
  'newScore',
  'oldModelVersion',
  'newModelVersion',
  'oldConfigVersion',
  'newConfigVersion',
  'newlyFlagged',
  'rescoredAt',
];

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  // Quote when needed; a leading = + - @ is prefixed so spreadsheets do not run it as a formula.
  const safe = /^[=+\-@]/.test(s) && typeof value === 'string' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function download(rows: AsyncGenerator<ChangedArticle>, format: 'csv' | 'jsonl'): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let header = format === 'csv';
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (header) {
        header = false;
        controller.enqueue(encoder.encode(`${CSV_COLUMNS.join(',')}\n`));
        return;
      }
      let text = '';
      for (let i = 0; i < 500; i++) {
        const next = await rows.next();
        if (next.done) {
          if (text) controller.enqueue(encoder.encode(text));
          controller.close();
          return;
        }
        text += format === 'csv' ? `${CSV_COLUMNS.map((k) => csvCell(next.value[k])).join(',')}\n` : `${JSON.stringify(next.value)}\n`;
      }
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      await rows.return(undefined);
    },
  });
}

/**
 * Rescans (admin): create with a filter (`dryRun` counts only), watch, pause/resume/cancel,
 * and read what changed: a summary of transitions and downloads of the changed articles.
 */
export function rescanRoutes(deps: RescanRouteDeps) {
  const app = new Router<AppEnv>(deps.defaultHook);
  app.use('*', requireRole('admin'));
  const tenant = (c: { get(key: 'principal'): { tenantId: string } }) => c.get('principal').tenantId;

  app.post('/', jsonBody(deps.maxBodyBytes));
  app.openapi(createRescanRoute, async (c) => {
    const { filter, dryRun } = c.req.valid('json');
    const principal = c.get('principal');
    if (dryRun) return c.json({ dryRun: true as const, filter, count: await deps.rescans.count(principal.tenantId, filter) }, 200);
    return c.json(await deps.rescans.create({ tenantId: principal.tenantId, actor: principal.keyId }, filter), 202);
  });

  app.openapi(listRescansRoute, async (c) => c.json({ rescans: await deps.rescans.list(tenant(c)) }, 200));

  app.openapi(getRescanRoute, async (c) => {
    const view = await deps.rescans.get(tenant(c), c.req.valid('param').id);
    if (!view) throw new ServiceError('not_found', 'no such rescan');
    return c.json(view, 200);
  });

  app.openapi(actionRoute('pause'), async (c) => c.json(await deps.rescans.pause(tenant(c), c.req.valid('param').id), 200));
  app.openapi(actionRoute('resume'), async (c) => c.json(await deps.rescans.resume(tenant(c), c.req.valid('param').id), 200));
  app.openapi(actionRoute('cancel'), async (c) => c.json(await deps.rescans.cancel(tenant(c), c.req.valid('param').id), 200));

  app.openapi(changesRoute, async (c) => {
    const summary = await deps.rescans.changes(tenant(c), c.req.valid('param').id);
    if (!summary) throw new ServiceError('not_found', 'no such rescan');
    return c.json(summary, 200);
  });

  for (const format of ['csv', 'jsonl'] as const) {
    app.openapi(downloadRoute(format), async (c) => {
      const { id } = c.req.valid('param');
      if (!(await deps.rescans.exists(tenant(c), id))) throw new ServiceError('not_found', 'no such rescan');
      const stream = download(deps.rescans.changedArticles(tenant(c), id), format);
      return c.body(stream, 200, {
        'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        'Content-Disposition': `attachment; filename="rescan-${id}-changes.${format}"`,
      });
    });
  }
  return app;
}
