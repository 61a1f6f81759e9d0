import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { QueueAdmin } from '../../services/queue-admin.ts';
import { LISTABLE_STATES } from '../../services/queue-admin.ts';
import { WEBHOOK_EVENTS, type WebhookService } from '../../services/webhooks.ts';
import { storableText } from '../../domain/fields.ts';
import type { AppEnv } from '../env.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import { errorResponses } from '../schemas.ts';
import { parseOr422 } from './review.ts';

export interface WebhookRouteDeps {
  webhooks: WebhookService;
  maxBodyBytes: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

const WebhookInput = z
  .object({
    url: storableText().min(1).max(2000),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
    description: storableText().max(500).optional(),
  })
  .strict()
  .openapi('WebhookInput', { example: { url: 'https://platform.example/slopguard', events: ['article.flagged', 'review.decided'] } });
const WebhookPatch = z
  .object({
    url: storableText().min(1).max(2000).optional(),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).optional(),
    description: storableText().max(500).optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .openapi('WebhookPatch');
const DeliveryQuery = z.object({ status: z.enum(['pending', 'delivered', 'dead', 'cancelled']).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) });

const json = (description: string) => ({ description, content: { 'application/json': { schema: z.object({}).passthrough() } } });
const idParam = z.object({ id: z.string().min(1).max(128).openapi({ param: { name: 'id', in: 'path' } }) });
const body = <S extends z.ZodType>(schema: S) => ({ body: { content: { 'application/json': { schema } }, required: true } });

const routes = [
  createRoute({ method: 'post', path: '/', summary: 'Subscribe a URL to events; the signing secret is in this answer only', request: body(WebhookInput), responses: { 201: json('The webhook and its secret'), ...errorResponses } }),
  createRoute({ method: 'get', path: '/', summary: "The tenant's webhooks with delivery counts", responses: { 200: json('Webhooks'), ...errorResponses } }),
  createRoute({ method: 'get', path: '/{id}', summary: 'One webhook', request: { params: idParam }, responses: { 200: json('The webhook'), ...errorResponses } }),
  createRoute({ method: 'patch', path: '/{id}', summary: 'Change url, events, description or active', request: { params: idParam, ...body(WebhookPatch) }, responses: { 200: json('The webhook'), ...errorResponses } }),
  createRoute({ method: 'delete', path: '/{id}', summary: 'Delete (pending deliveries are cancelled)', request: { params: idParam }, responses: { 204: { description: 'Deleted' }, ...errorResponses } }),
  createRoute({ method: 'post', path: '/{id}/rotate-secret', summary: 'Replace the signing secret (returned once)', request: { params: idParam }, responses: { 200: json('The new secret'), ...errorResponses } }),
  createRoute({ method: 'get', path: '/{id}/deliveries', summary: 'Deliveries, newest first; status=dead lists the dead-letter state', request: { params: idParam, query: DeliveryQuery }, responses: { 200: json('Deliveries'), ...errorResponses } }),
  createRoute({ method: 'post', path: '/{id}/redrive', summary: 'Send every dead delivery of the webhook again', request: { params: idParam }, responses: { 200: json('Redriven ids'), ...errorResponses } }),
  createRoute({ method: 'post', path: '/{id}/deliveries/{deliveryId}/redrive', summary: 'Send one dead delivery again', request: { params: idParam.extend({ deliveryId: z.string().min(1).max(128).openapi({ param: { name: 'deliveryId', in: 'path' } }) }) }, responses: { 200: json('Redriven id'), ...errorResponses } }),
];

/** `/v1/webhooks`: per-tenant subscriptions, deliveries and their dead-letter state (admin). */
export function webhookRoutes(deps: WebhookRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  for (const route of routes) app.openAPIRegistry.registerPath(route);
  const { webhooks } = deps;
  app.use('*', requireRole('admin'));
  app.post('/', jsonBody(deps.maxBodyBytes), async (c) => {
    const input = parseOr422(WebhookInput, await c.req.json());
    const p = c.get('principal');
    return c.json(await webhooks.create(p.tenantId, p.keyId, input), 201);
  });
  app.get('/', async (c) => c.json({ webhooks: await webhooks.list(c.get('principal').tenantId) }));
  app.get('/:id', async (c) => c.json(await webhooks.get(c.get('principal').tenantId, c.req.param('id'))));
  app.patch('/:id', jsonBody(deps.maxBodyBytes), async (c) => {
    const patch = parseOr422(WebhookPatch, await c.req.json());
    const p = c.get('principal');
    return c.json(await webhooks.update(p.tenantId, p.keyId, c.req.param('id'), patch));
  });
  app.delete('/:id', async (c) => {
    const p = c.get('principal');
    await webhooks.remove(p.tenantId, p.keyId, c.req.param('id'));
    return c.body(null, 204);
  });
  app.post('/:id/rotate-secret', async (c) => {
    const p = c.get('principal');
    return c.json(await webhooks.rotateSecret(p.tenantId, p.keyId, c.req.param('id')));
  });
  app.get('/:id/deliveries', async (c) => {
    const q = parseOr422(DeliveryQuery, c.req.query());
    return c.json({ deliveries: await webhooks.deliveries(c.get('principal').tenantId, c.req.param('id'), { limit: q.limit, ...(q.status ? { status: q.status } : {}) }) });
  });
  app.post('/:id/redrive', async (c) => {
    const p = c.get('principal');
    return c.json(await webhooks.redrive(p.tenantId, p.keyId, c.req.param('id')));
  });
  app.post('/:id/deliveries/:deliveryId/redrive', async (c) => {
    const p = c.get('principal');
    return c.json(await webhooks.redrive(p.tenantId, p.keyId, c.req.param('id'), c.req.param('deliveryId')));
  });
  return app;
}

/** `/v1/admin/queues`: the queue dashboard's JSON (admin). */
export function adminQueueRoutes(deps: { queues: QueueAdmin; defaultHook: WebhookRouteDeps['defaultHook'] }) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  const JobsQuery = z.object({ state: z.enum(LISTABLE_STATES).default('failed'), limit: z.coerce.number().int().min(1).max(500).default(50) });
  const nameParam = z.object({ name: z.string().min(1).max(64).openapi({ param: { name: 'name', in: 'path' } }) });
  app.openAPIRegistry.registerPath(createRoute({ method: 'get', path: '/', summary: 'Job counts per queue', responses: { 200: json('Queues'), ...errorResponses } }));
  app.openAPIRegistry.registerPath(createRoute({ method: 'get', path: '/{name}/jobs', summary: "The tenant's jobs in a state", request: { params: nameParam, query: JobsQuery }, responses: { 200: json('Jobs'), ...errorResponses } }));
  app.openAPIRegistry.registerPath(
    createRoute({ method: 'post', path: '/{name}/jobs/{jobId}/retry', summary: 'Retry a failed job', request: { params: nameParam.extend({ jobId: z.string().min(1).max(300).openapi({ param: { name: 'jobId', in: 'path' } }) }) }, responses: { 200: json('Retried'), ...errorResponses } }),
  );
  app.use('*', requireRole('admin'));
  app.get('/', async (c) => c.json({ queues: await deps.queues.overview() }));
  app.get('/:name/jobs', async (c) => {
    const q = parseOr422(JobsQuery, c.req.query());
    return c.json({ jobs: await deps.queues.jobs(c.req.param('name'), q.state, c.get('principal').tenantId, q.limit) });
  });
  app.post('/:name/jobs/:jobId/retry', async (c) => c.json(await deps.queues.retry(c.req.param('name'), c.req.param('jobId'), c.get('principal').tenantId)));
  return app;
}
