import type { OpenAPIHono } from '@hono/zod-openapi';
import { OpenAPIHono as Router } from '@hono/zod-openapi';
import { z } from 'zod';
import { ServiceError } from '../../domain/errors.ts';
import { type ChangedArticle, rescanFilterSchema, type RescanService } from '../../services/rescans.ts';
import type { AppEnv } from '../env.ts';
import { registerRescanDocs } from '../historical-docs.ts';
import { zodIssues } from '../errors.ts';
import { jsonBody, requireRole } from '../middleware.ts';

export interface RescanRouteDeps {
  rescans: RescanService;
  maxBodyBytes: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

const createSchema = z.object({ filter: rescanFilterSchema.default({}), dryRun: z.boolean().default(false) }).strict();

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
  registerRescanDocs(app);
  app.use('*', requireRole('admin'));
  const tenant = (c: { get(key: 'principal'): { tenantId: string } }) => c.get('principal').tenantId;

  app.post('/', jsonBody(deps.maxBodyBytes), async (c) => {
    const parsed = createSchema.safeParse(await c.req.json());
    if (!parsed.success) throw new ServiceError('validation_failed', 'request does not match the schema', zodIssues(parsed.error));
    const principal = c.get('principal');
    if (parsed.data.dryRun) {
      return c.json({ dryRun: true, filter: parsed.data.filter, count: await deps.rescans.count(principal.tenantId, parsed.data.filter) }, 200);
    }
    const view = await deps.rescans.create({ tenantId: principal.tenantId, actor: principal.keyId }, parsed.data.filter);
    return c.json(view, 202);
  });

  app.get('/', async (c) => c.json({ rescans: await deps.rescans.list(tenant(c)) }, 200));

  app.get('/:id', async (c) => {
    const view = await deps.rescans.get(tenant(c), c.req.param('id'));
    if (!view) throw new ServiceError('not_found', 'no such rescan');
    return c.json(view, 200);
  });

  app.post('/:id/pause', async (c) => c.json(await deps.rescans.pause(tenant(c), c.req.param('id')), 200));
  app.post('/:id/resume', async (c) => c.json(await deps.rescans.resume(tenant(c), c.req.param('id')), 200));
  app.post('/:id/cancel', async (c) => c.json(await deps.rescans.cancel(tenant(c), c.req.param('id')), 200));

  app.get('/:id/changes', async (c) => {
    const summary = await deps.rescans.changes(tenant(c), c.req.param('id'));
    if (!summary) throw new ServiceError('not_found', 'no such rescan');
    return c.json(summary, 200);
  });

  for (const format of ['csv', 'jsonl'] as const) {
    app.get(`/:id/changes.${format}`, async (c) => {
      const id = c.req.param('id');
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
