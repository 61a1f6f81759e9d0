import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

/** `/v1/admin/keys`: keys while the service runs, walled by tenant like the rest of the API. */

interface KeyRecord {
  id: string;
  tenantId: string;
  role: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
  key?: string;
}

describe('admin API for keys', () => {
  let env: TestEnv;
  let admin: string;
  let operator: string;
  beforeAll(async () => {
    env = await createTestEnv({ env: { BOOTSTRAP_TENANT: 'ops' } });
    admin = await env.keyFor('admin', 'tenant-a');
    operator = await env.keyFor('admin', 'ops');
  });
  afterAll(() => env.close());

  const probe = (key: string) => env.request('GET', '/v1/articles/by-external-id/none', { key });

  it('creates a key that works at once, shows its secret once, and revokes it so it fails at once', async () => {
    const res = await env.request('POST', '/v1/admin/keys', { key: admin, body: { role: 'submitter', name: 'ingest' } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as KeyRecord;
    expect(created).toMatchObject({ tenantId: 'tenant-a', role: 'submitter', name: 'ingest', revokedAt: null });
    expect(created.key).toMatch(/^sg_/);
    expect((await probe(created.key!)).status).toBe(404);

    const list = (await (await env.request('GET', '/v1/admin/keys', { key: admin })).json()) as { keys: KeyRecord[] };
    expect(list.keys.map((k) => k.id)).toContain(created.id);
    expect(JSON.stringify(list)).not.toContain(created.key);
    expect(list.keys.every((k) => k.tenantId === 'tenant-a')).toBe(true);

    const revoked = await env.request('POST', `/v1/admin/keys/${created.id}/revoke`, { key: admin });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as KeyRecord).revokedAt).not.toBeNull();
    expect((await probe(created.key!)).status).toBe(401);
    // Again: nothing changes, no second event.
    expect((await env.request('POST', `/v1/admin/keys/${created.id}/revoke`, { key: admin })).status).toBe(200);
    const events = await env.ctx.db.query<{ type: string; actor: string }>('SELECT type, actor FROM events WHERE subject_id = $1 ORDER BY id', [created.id]);
    expect(events.map((e) => e.type)).toEqual(['api_key.created', 'api_key.revoked']);
    expect(events[0]!.actor).toMatch(/^key_/);
  });

  it("keeps an admin to its own tenant: another tenant's keys are 403 to create or list and 404 to revoke", async () => {
    const other = await env.ctx.keys.create('tenant-b', 'submitter');
    expect((await env.request('POST', '/v1/admin/keys', { key: admin, body: { role: 'admin', tenant: 'tenant-b' } })).status).toBe(403);
    expect((await env.request('GET', '/v1/admin/keys?tenant=tenant-b', { key: admin })).status).toBe(403);
    expect((await env.request('GET', '/v1/admin/keys?tenant=all', { key: admin })).status).toBe(403);
    expect((await env.request('POST', `/v1/admin/keys/${other.keyId}/revoke`, { key: admin })).status).toBe(404);
    expect((await probe(other.key)).status).toBe(404);
  });

  it("lets the operator tenant's admin manage any tenant's keys", async () => {
    const res = await env.request('POST', '/v1/admin/keys', { key: operator, body: { role: 'moderator', tenant: 'tenant-new' } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as KeyRecord;
    expect(created.tenantId).toBe('tenant-new');
    const queue = await env.request('GET', '/v1/review/queue', { key: created.key! });
    expect(queue.status).toBe(200);
    const all = (await (await env.request('GET', '/v1/admin/keys?tenant=all', { key: operator })).json()) as { keys: KeyRecord[] };
    expect(new Set(all.keys.map((k) => k.tenantId))).toEqual(new Set(['tenant-a', 'tenant-b', 'tenant-new', 'ops']));
    expect((await env.request('POST', `/v1/admin/keys/${created.id}/revoke`, { key: operator })).status).toBe(200);
    expect((await env.request('GET', '/v1/review/queue', { key: created.key! })).status).toBe(401);
  });

  it.each([
    [{ role: 'root' }, 'role'],
    [{ role: 'submitter', tenant: '' }, 'tenant'],
    [{ role: 'submitter', tenant: 'a\u0000b' }, 'tenant'],
    [{ role: 'submitter', name: 'x'.repeat(201) }, 'name'],
    [{ role: 'submitter', extra: 1 }, ''],
  ])('refuses %j with 422', async (body, field) => {
    const res = await env.request('POST', '/v1/admin/keys', { key: admin, body });
    expect(res.status).toBe(422);
    const error = ((await res.json()) as { error: { code: string; details: { path: string }[] } }).error;
    expect(error.code).toBe('validation_failed');
    if (field) expect(error.details.map((d) => d.path)).toContain(field);
  });
});
