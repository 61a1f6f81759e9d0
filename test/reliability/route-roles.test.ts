import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/domain/types.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

/**
 * Every /v1 route x every role: allowed roles get past authorisation (any answer but 401/403),
 * the others get 403 `forbidden`, no key gets 401. The table must list every route the app
 * serves, so a new route cannot ship without deciding who may call it.
 */
const ALL: Role[] = ['submitter', 'moderator', 'admin'];
const READERS = ALL;
const SUBMIT: Role[] = ['submitter', 'admin'];
const MODERATE: Role[] = ['moderator', 'admin'];
const ADMIN: Role[] = ['admin'];

const TABLE: [string, string, Role[]][] = [
  ['POST', '/v1/articles', SUBMIT],
  ['GET', '/v1/articles/:id', READERS],
  ['GET', '/v1/articles/by-external-id/:externalId', READERS],
  ['POST', '/v1/batches', SUBMIT],
  ['GET', '/v1/batches/:id', READERS],
  ['POST', '/v1/imports', SUBMIT],
  ['GET', '/v1/imports/:id', SUBMIT],
  ['GET', '/v1/imports/:id/errors', SUBMIT],
  ['GET', '/v1/clusters', MODERATE],
  ['GET', '/v1/clusters/:id', MODERATE],
  ['GET', '/v1/review/queue', MODERATE],
  ['GET', '/v1/review/articles/:id', MODERATE],
  ['GET', '/v1/review/batches/:id', MODERATE],
  ['GET', '/v1/review/clusters/:id', MODERATE],
  ['GET', '/v1/review/accounts/:accountId', MODERATE],
  ['GET', '/v1/review/claims', MODERATE],
  ['POST', '/v1/review/claims', MODERATE],
  ['POST', '/v1/review/claims/release', MODERATE],
  ['POST', '/v1/review/decisions', MODERATE],
  ['GET', '/v1/review/export', MODERATE],
  ['GET', '/v1/audit', MODERATE],
  ['POST', '/v1/webhooks', ADMIN],
  ['GET', '/v1/webhooks', ADMIN],
  ['GET', '/v1/webhooks/:id', ADMIN],
  ['PATCH', '/v1/webhooks/:id', ADMIN],
  ['DELETE', '/v1/webhooks/:id', ADMIN],
  ['POST', '/v1/webhooks/:id/rotate-secret', ADMIN],
  ['GET', '/v1/webhooks/:id/deliveries', ADMIN],
  ['POST', '/v1/webhooks/:id/redrive', ADMIN],
  ['POST', '/v1/webhooks/:id/deliveries/:deliveryId/redrive', ADMIN],
  ['GET', '/v1/admin/queues', ADMIN],
  ['GET', '/v1/admin/queues/:name/jobs', ADMIN],
  ['POST', '/v1/admin/queues/:name/jobs/:jobId/retry', ADMIN],
  ['POST', '/v1/admin/keys', ADMIN],
  ['GET', '/v1/admin/keys', ADMIN],
  ['POST', '/v1/admin/keys/:id/revoke', ADMIN],
  ['POST', '/v1/rescans', ADMIN],
  ['GET', '/v1/rescans', ADMIN],
  ['GET', '/v1/rescans/:id', ADMIN],
  ['POST', '/v1/rescans/:id/pause', ADMIN],
  ['POST', '/v1/rescans/:id/resume', ADMIN],
  ['POST', '/v1/rescans/:id/cancel', ADMIN],
  ['GET', '/v1/rescans/:id/changes', ADMIN],
  ['GET', '/v1/rescans/:id/changes.csv', ADMIN],
  ['GET', '/v1/rescans/:id/changes.jsonl', ADMIN],
  ['POST', '/v1/comments', SUBMIT],
  ['POST', '/v1/comments/batch', SUBMIT],
  ['POST', '/v1/comments/import', SUBMIT],
  ['GET', '/v1/comments/:id', READERS],
  ['GET', '/v1/comments/by-external-id/:externalId', READERS],
  ['GET', '/v1/review/comments', MODERATE],
  ['POST', '/v1/review/comments/decisions', MODERATE],
];

describe('authorisation: every route x every role', () => {
  let env: TestEnv;
  const keys = {} as Record<Role, string>;
  beforeAll(async () => {
    env = await createTestEnv();
    for (const role of ALL) keys[role] = await env.keyFor(role);
  });
  afterAll(() => env.close());

  it('the table lists every /v1 route the app serves', () => {
    const served = new Set(env.app.routes.filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL').map((r) => `${r.method} ${r.path}`));
    const listed = new Set(TABLE.map(([m, p]) => `${m} ${p}`));
    expect([...served].filter((r) => !listed.has(r))).toEqual([]);
    expect([...listed].filter((r) => !served.has(r))).toEqual([]);
  });

  const cases = TABLE.flatMap(([method, path, allowed]) => ALL.map((role) => [method, path, role, allowed.includes(role)] as const));
  it.each(cases)('%s %s as %s (allowed: %s)', async (method, path, role, allowed) => {
    const url = path.replace(/:[A-Za-z]+/g, 'x1');
    const init = method === 'GET' || method === 'DELETE' ? {} : { body: {} };
    const res = await env.request(method, url, { key: keys[role], ...init });
    if (allowed) {
      expect([401, 403]).not.toContain(res.status);
    } else {
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
  });

  it.each(TABLE)('%s %s without a key is 401', async (method, path) => {
    const res = await env.request(method, path.replace(/:[A-Za-z]+/g, 'x1'), method === 'GET' || method === 'DELETE' ? {} : { body: {} });
    expect(res.status).toBe(401);
  });
});
