import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { ServiceError } from '../../domain/errors.ts';
import { storableText } from '../../domain/fields.ts';
import { ROLES } from '../../domain/types.ts';
import type { KeyService, KeyRecord } from '../../services/keys.ts';
import type { AppEnv } from '../env.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import { errorResponses } from '../schemas.ts';

/**
 * `/v1/admin/keys` (role admin): API keys while the service runs. An admin manages its own
 * tenant's keys; an admin of the operator tenant (`BOOTSTRAP_TENANT`, whose key `npm start`
 * prints) manages every tenant's, which is how a running embedded service gets keys for a new
 * tenant. Another tenant's key answers 404, as everywhere. The secret is in the creation
 * answer only; the store keeps its hash.
 *
 *   POST /v1/admin/keys {"tenant": "acme", "role": "submitter", "name": "ingest"}
 *   -> 201 {"id": "key_...", "key": "sg_...", "tenantId": "acme", "role": "submitter", "name": "ingest", ...}
 */

export const TenantId = storableText()
  .min(1)
  .max(128)
  .regex(/^[^\u0000-\u001F\u007F]+$/, 'must not contain control characters');

export const KeyCreateInput = z
  .object({
    role: z.enum(ROLES),
    tenant: TenantId.optional().openapi({ description: "The key's tenant; default: the caller's. Another tenant needs an operator key." }),
    name: storableText().max(200).default('').openapi({ description: 'A label for people (who uses the key).' }),
  })
  .strict()
  .openapi('KeyCreateInput', { example: { tenant: 'acme', role: 'submitter', name: 'ingest' } });

export const KeyViewSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    role: z.enum(ROLES),
    name: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiKey');

export const CreatedKeySchema = KeyViewSchema.extend({ key: z.string().openapi({ description: 'The secret: shown in this answer only.' }) }).openapi('CreatedApiKey');
export const KeyListSchema = z.object({ keys: z.array(KeyViewSchema) }).openapi('ApiKeyList');

const ListQuery = z.object({ tenant: TenantId.optional().openapi({ description: "Default: the caller's tenant; all: every tenant (operator keys only)." }) });
const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

const json = <S extends z.ZodType>(description: string, schema: S) => ({ description, content: { 'application/json': { schema } } });
const {
  400: malformed,
  401: unauthorized,
  403: forbidden,
  404: notFound,
  413: tooLarge,
  415: mediaType,
  422: invalid,
  429: limited,
  503: unavailable,
} = errorResponses(400, 401, 403, 404, 413, 415, 422, 429, 503);

const createKeyRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'createKey',
  summary: 'Create an API key (the secret is in this answer only)',
  request: { body: { content: { 'application/json': { schema: KeyCreateInput } }, required: true } },
  responses: {
    201: json('The key and its secret', CreatedKeySchema),
    400: malformed,
    401: unauthorized,
    403: { ...forbidden, description: 'Not an admin, or another tenant without an operator key' },
    413: tooLarge,
    415: mediaType,
    422: invalid,
    429: limited,
    503: unavailable,
  },
});

const listKeysRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listKeys',
  summary: "List API keys (never their secrets): the caller's tenant, or another with an operator key",
  request: { query: ListQuery },
  responses: {
    200: json('The keys, oldest first', KeyListSchema),
    401: unauthorized,
    403: { ...forbidden, description: 'Not an admin, or another tenant without an operator key' },
    422: invalid,
    429: limited,
    503: unavailable,
  },
});

const revokeKeyRoute = createRoute({
  method: 'post',
  path: '/{id}/revoke',
  operationId: 'revokeKey',
  summary: 'Revoke an API key: refused from the next request on (revoking it again changes nothing)',
  request: { params: IdParam },
  responses: { 200: json('The revoked key', KeyViewSchema), 401: unauthorized, 403: forbidden, 404: notFound, 422: invalid, 429: limited, 503: unavailable },
});

export function keyView(k: KeyRecord): z.infer<typeof KeyViewSchema> {
  return { ...k, createdAt: new Date(k.createdAt).toISOString(), revokedAt: k.revokedAt ? new Date(k.revokedAt).toISOString() : null };
}

/**
 * The tenant an admin may manage keys of (undefined: every tenant), or 403: its own, or any
 * (`all`: every one) for an admin of the operator tenant. Shared by the API and the console.
 */
export function keyScope(principal: { tenantId: string }, tenant: string | undefined, operatorTenant: string): string | undefined {
  if (tenant === undefined || tenant === principal.tenantId) return principal.tenantId;
  if (principal.tenantId === operatorTenant) return tenant === 'all' ? undefined : tenant;
  throw new ServiceError('forbidden', "an admin key manages its own tenant's keys; another tenant needs a key of the operator tenant");
}

export interface KeyRouteDeps {
  keys: KeyService;
  /** Admins of this tenant manage every tenant's keys. */
  operatorTenant: string;
  maxBodyBytes: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

export function keyRoutes(deps: KeyRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  app.use('*', requireRole('admin'));
  const scope = (principal: { tenantId: string }, tenant: string | undefined) => keyScope(principal, tenant, deps.operatorTenant);

  app.post('/', jsonBody(deps.maxBodyBytes));
  app.openapi(createKeyRoute, async (c) => {
    const input = c.req.valid('json');
    const principal = c.get('principal');
    const tenant = scope(principal, input.tenant);
    if (tenant === undefined) throw new ServiceError('validation_failed', 'request does not match the schema', [{ path: 'tenant', message: '"all" is not a tenant' }]);
    const created = await deps.keys.create(tenant, input.role, input.name, principal.keyId);
    c.get('log').info({ keyId: created.keyId, tenantId: tenant, role: input.role }, 'api key created');
    const { keyId, key, role, name, createdAt } = created;
    return c.json({ ...keyView({ id: keyId, tenantId: tenant, role, name, createdAt, revokedAt: null }), key }, 201);
  });
  app.openapi(listKeysRoute, async (c) => {
    const tenant = scope(c.get('principal'), c.req.valid('query').tenant);
    return c.json({ keys: (await deps.keys.list({ tenantId: tenant })).map(keyView) }, 200);
  });
  app.openapi(revokeKeyRoute, async (c) => {
    const principal = c.get('principal');
    const operator = principal.tenantId === deps.operatorTenant;
    const revoked = await deps.keys.revoke(c.req.valid('param').id, { tenantId: operator ? undefined : principal.tenantId, actor: principal.keyId });
    if (!revoked) throw new ServiceError('not_found', 'no such key');
    c.get('log').info({ keyId: revoked.id }, 'api key revoked');
    return c.json(keyView(revoked), 200);
  });
  return app;
}
