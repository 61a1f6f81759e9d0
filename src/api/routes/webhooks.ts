import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { QueueAdmin } from '../../services/queue-admin.ts';
import { LISTABLE_STATES, queueJobsSchema, queueOverviewSchema } from '../../services/views.ts';
import type { WebhookService } from '../../webhooks/service.ts';
import {
  deliveryListSchema,
  DELIVERY_STATUSES,
  redrivenSchema,
  WEBHOOK_EVENTS,
  webhookCreatedSchema,
  webhookListSchema,
  webhookSecretSchema,
  webhookViewSchema,
} from '../../webhooks/views.ts';
import { storableText } from '../../domain/fields.ts';
import type { AppEnv } from '../env.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import { AUTH, errorResponses, JSON_BODY, jsonResponse } from '../schemas.ts';

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
const DeliveryQuery = z.object({ status: z.enum(DELIVERY_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) });

const idParam = z.object({
  id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const body = <S extends z.ZodType>(schema: S) => ({ body: { content: { 'application/json': { schema } }, required: true } });
const BY_ID = [...AUTH, 404, 422] as const;

const createWebhookRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'createWebhook',
  summary: 'Subscribe a URL to events; the signing secret is in this answer only',
  request: body(WebhookInput),
  responses: { 201: jsonResponse(webhookCreatedSchema, 'The webhook and its secret'), ...errorResponses(...AUTH, ...JSON_BODY) },
});
const listWebhooksRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listWebhooks',
  summary: "The tenant's webhooks with delivery counts",
  responses: { 200: jsonResponse(webhookListSchema, 'Webhooks'), ...errorResponses(...AUTH) },
});
const getWebhookRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getWebhook',
  summary: 'One webhook',
  request: { params: idParam },
  responses: { 200: jsonResponse(webhookViewSchema, 'The webhook'), ...errorResponses(...BY_ID) },
});
const updateWebhookRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  operationId: 'updateWebhook',
  summary: 'Change url, events, description or active',
  request: { params: idParam, ...body(WebhookPatch) },
  responses: { 200: jsonResponse(webhookViewSchema, 'The webhook'), ...errorResponses(...BY_ID, ...JSON_BODY) },
});
const deleteWebhookRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  operationId: 'deleteWebhook',
  summary: 'Delete (pending deliveries are cancelled)',
  request: { params: idParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(...BY_ID) },
});
const rotateSecretRoute = createRoute({
  method: 'post',
  path: '/{id}/rotate-secret',
  operationId: 'rotateWebhookSecret',
  summary: 'Replace the signing secret (returned once)',
  request: { params: idParam },
  responses: { 200: jsonResponse(webhookSecretSchema, 'The new secret'), ...errorResponses(...BY_ID) },
});
const deliveriesRoute = createRoute({
  method: 'get',
  path: '/{id}/deliveries',
  operationId: 'listWebhookDeliveries',
  summary: 'Deliveries, newest first; status=dead lists the dead-letter state',
  request: { params: idParam, query: DeliveryQuery },
  responses: { 200: jsonResponse(deliveryListSchema, 'Deliveries'), ...errorResponses(...BY_ID) },
});
const redriveRoute = createRoute({
  method: 'post',
  path: '/{id}/redrive',
  operationId: 'redriveWebhook',
  summary: 'Send every dead delivery of the webhook again',
  request: { params: idParam },
  responses: { 200: jsonResponse(redrivenSchema, 'Redriven ids'), ...errorResponses(...BY_ID) },
});
const redriveDeliveryRoute = createRoute({
  method: 'post',
  path: '/{id}/deliveries/{deliveryId}/redrive',
  operationId: 'redriveWebhookDelivery',
  summary: 'Send one dead delivery again',
  request: {
    params: idParam.extend({
      deliveryId: z
        .string()
        .min(1)
        .max(128)
        .openapi({ param: { name: 'deliveryId', in: 'path' } }),
    }),
  },
  responses: { 200: jsonResponse(redrivenSchema, 'Redriven id'), ...errorResponses(...BY_ID, 409) },
});

/** `/v1/webhooks`: per-tenant subscriptions, deliveries and their dead-letter state (admin). */
export function webhookRoutes(deps: WebhookRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  const { webhooks } = deps;
  app.use('*', requireRole('admin'));
  app.post('/', jsonBody(deps.maxBodyBytes));
  app.patch('/:id', jsonBody(deps.maxBodyBytes));
  app.openapi(createWebhookRoute, async (c) => {
    const p = c.get('principal');
    return c.json(await webhooks.create(p.tenantId, p.keyId, c.req.valid('json')), 201);
  });
  app.openapi(listWebhooksRoute, async (c) => c.json({ webhooks: await webhooks.list(c.get('principal').tenantId) }, 200));
  app.openapi(getWebhookRoute, async (c) => c.json(await webhooks.get(c.get('principal').tenantId, c.req.valid('param').id), 200));
  app.openapi(updateWebhookRoute, async (c) => {
    const p = c.get('principal');
    return c.json(await webhooks.update(p.tenantId, p.keyId, c.req.valid('param').id, c.req.valid('json')), 200);
  });
  app.openapi(deleteWebhookRoute, async (c) => {
    const p = c.get('principal');
    await webhooks.remove(p.tenantId, p.keyId, c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(rotateSecretRoute, async (c) => {
    const p = c.get('principal');
    return c.json(await webhooks.rotateSecret(p.tenantId, p.keyId, c.req.valid('param').id), 200);
  });
  app.openapi(deliveriesRoute, async (c) => {
    const q = c.req.valid('query');
    return c.json(
      { deliveries: await webhooks.deliveries(c.get('principal').tenantId, c.req.valid('param').id, { limit: q.limit, ...(q.status ? { status: q.status } : {}) }) },
      200,
    );
  });
  app.openapi(redriveRoute, async (c) => {
    const p = c.get('principal');
    return c.json(await webhooks.redrive(p.tenantId, p.keyId, c.req.valid('param').id), 200);
  });
  app.openapi(redriveDeliveryRoute, async (c) => {
    const p = c.get('principal');
    const { id, deliveryId } = c.req.valid('param');
    return c.json(await webhooks.redrive(p.tenantId, p.keyId, id, deliveryId), 200);
  });
  return app;
}

const retriedSchema = z.object({ retried: z.string() }).meta({ id: 'Retried' });

/** `/v1/admin/queues`: the queue dashboard's JSON (admin). */
export function adminQueueRoutes(deps: { queues: QueueAdmin; defaultHook: WebhookRouteDeps['defaultHook'] }) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  const JobsQuery = z.object({ state: z.enum(LISTABLE_STATES).default('failed'), limit: z.coerce.number().int().min(1).max(500).default(50) });
  const nameParam = z.object({
    name: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: 'name', in: 'path' } }),
  });
  app.use('*', requireRole('admin'));
  app.openapi(
    createRoute({
      method: 'get',
      path: '/',
      operationId: 'listQueues',
      summary: 'Job counts per queue',
      responses: { 200: jsonResponse(queueOverviewSchema, 'Queues'), ...errorResponses(...AUTH) },
    }),
    async (c) => c.json({ queues: await deps.queues.overview() }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/{name}/jobs',
      operationId: 'listQueueJobs',
      summary: "The tenant's jobs in a state",
      request: { params: nameParam, query: JobsQuery },
      responses: { 200: jsonResponse(queueJobsSchema, 'Jobs'), ...errorResponses(...AUTH, 404, 422) },
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json({ jobs: await deps.queues.jobs(c.req.valid('param').name, q.state, c.get('principal').tenantId, q.limit) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/{name}/jobs/{jobId}/retry',
      operationId: 'retryQueueJob',
      summary: 'Retry a failed job',
      request: {
        params: nameParam.extend({
          jobId: z
            .string()
            .min(1)
            .max(300)
            .openapi({ param: { name: 'jobId', in: 'path' } }),
        }),
      },
      responses: { 200: jsonResponse(retriedSchema, 'Retried'), ...errorResponses(...AUTH, 404, 409, 422) },
    }),
    async (c) => {
      const { name, jobId } = c.req.valid('param');
      return c.json(await deps.queues.retry(name, jobId, c.get('principal').tenantId), 200);
    },
  );
  return app;
}
