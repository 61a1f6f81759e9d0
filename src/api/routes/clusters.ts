import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ServiceError } from '../../domain/errors.ts';
import { type ClusterService, InvalidCursorError } from '../../services/clusters.ts';
import type { AppEnv } from '../env.ts';
import { requireRole } from '../middleware.ts';
import { AUTH, errorResponses } from '../schemas.ts';

export interface ClusterRouteDeps {
  clusters: ClusterService;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

const Cluster = z
  .object({
    id: z.string(),
    size: z.number().int(),
    accountCount: z.number().int(),
    accounts: z.array(z.string()),
    articleIds: z.array(z.string()),
    firstPostedAt: z.string().nullable(),
    lastPostedAt: z.string().nullable(),
    spanSeconds: z.number(),
    maxSimilarity: z.number().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Cluster');

const listRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listClusters',
  summary: 'Content-farm candidates: near-duplicate articles across accounts',
  description: 'Newest first, with their accounts, articles and time span. Cursor pagination.',
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().max(512).optional(),
      minAccounts: z.coerce.number().int().min(2).max(10_000).default(2),
    }),
  },
  responses: {
    200: { description: 'A page of clusters', content: { 'application/json': { schema: z.object({ clusters: z.array(Cluster), nextCursor: z.string().nullable() }) } } },
    ...errorResponses(...AUTH, 422),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getCluster',
  summary: 'One cluster with up to 1,000 member articles',
  request: {
    params: z.object({
      id: z
        .string()
        .min(1)
        .max(64)
        .openapi({ param: { name: 'id', in: 'path' } }),
    }),
  },
  responses: { 200: { description: 'The cluster', content: { 'application/json': { schema: Cluster } } }, ...errorResponses(...AUTH, 404, 422) },
});

export function clusterRoutes(deps: ClusterRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  app.use('*', requireRole('moderator', 'admin'));
  app.openapi(listRoute, async (c) => {
    const { limit, cursor, minAccounts } = c.req.valid('query');
    try {
      const page = await deps.clusters.list(c.get('principal').tenantId, { limit, cursor: cursor ?? null, minAccounts });
      return c.json({ clusters: page.clusters.map(({ tenantId: _tenant, ...rest }) => rest), nextCursor: page.nextCursor }, 200);
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new ServiceError('validation_failed', 'invalid cursor', [{ path: 'cursor', message: 'invalid cursor' }]);
      throw error;
    }
  });
  app.openapi(getRoute, async (c) => {
    const cluster = await deps.clusters.get(c.get('principal').tenantId, c.req.valid('param').id, { memberLimit: 1000 });
    if (!cluster) throw new ServiceError('not_found', 'no such cluster');
    const { tenantId: _tenant, ...rest } = cluster;
    return c.json(rest, 200);
  });
  return app;
}
