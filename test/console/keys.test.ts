import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

const ORIGIN = 'http://localhost';

describe('console: API keys page for admins', () => {
  let env: TestEnv;
  const sessions: Record<string, { cookie: string; csrf: string }> = {};

  /** Signs in through the login form like a browser. */
  async function login(key: string): Promise<{ cookie: string; csrf: string }> {
    const form = await env.app.request('/console/login');
    const loginCookie = /sg_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')?.[1];
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    const res = await env.app.request('/console/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sg_login=${loginCookie}`, origin: ORIGIN },
      body: new URLSearchParams({ key, csrf, lang: 'en' }).toString(),
    });
    const cookie = `sg_session=${/sg_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1]}`;
    const page = await env.app.request('/console/queue', { headers: { cookie } });
    return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '' };
  }
  const get = (who: string, path: string) => env.app.request(path, { headers: { cookie: sessions[who]!.cookie } });
  const post = (who: string, path: string, fields: Record<string, string>) =>
    env.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: sessions[who]!.cookie, origin: ORIGIN },
      body: new URLSearchParams({ csrf: sessions[who]!.csrf, ...fields }).toString(),
    });
  const probe = (key: string) => env.request('GET', '/v1/articles/by-external-id/none', { key });

  beforeAll(async () => {
    env = await createTestEnv({ env: { BOOTSTRAP_TENANT: 'ops' } });
    sessions.admin = await login(await env.keyFor('admin', 'tenant-a'));
    sessions.operator = await login(await env.keyFor('admin', 'ops'));
    sessions.moderator = await login(await env.keyFor('moderator', 'tenant-a'));
  });
  afterAll(() => env.close());

  it('creates a key shown once, lists it without its secret, revokes it', async () => {
    const created = await post('admin', '/console/keys/create', { role: 'submitter', name: 'web <ingest>' });
    expect(created.status).toBe(201);
    const page = await created.text();
    const secret = /data-testid="secret">(sg_[^<]+)</.exec(page)?.[1];
    expect(secret).toBeDefined();
    expect(page).toContain('web &lt;ingest&gt;');
    expect((await probe(secret!)).status).toBe(404);

    const listed = await (await get('admin', '/console/keys')).text();
    expect(listed).not.toContain(secret);
    const keyId = (await env.ctx.keys.list({ tenantId: 'tenant-a' })).find((k) => k.name === 'web <ingest>')!.id;
    expect(listed).toContain(keyId);
    // Not an operator: no tenant field, and another tenant is refused.
    expect(listed).not.toContain('name="tenant"');
    expect((await post('admin', '/console/keys/create', { role: 'submitter', tenant: 'tenant-b' })).status).toBe(403);

    const revoked = await post('admin', '/console/keys/revoke', { keyId });
    expect(revoked.status).toBe(303);
    expect((await probe(secret!)).status).toBe(401);
  });

  it.each(['/console/accounts/a%00b', '/console/queue?from=0000-01-01T00:00:00Z', '/console/queue?account=x%00', '/console/static/toString'])(
    'answers %s with a 4xx, not a 500',
    async (path) => {
      const res = await get('admin', path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    },
  );

  it("lets the operator create another tenant's key; refuses moderators and a revoke without the CSRF token", async () => {
    const created = await post('operator', '/console/keys/create', { role: 'moderator', tenant: 'tenant-z' });
    expect(created.status).toBe(201);
    const secret = /data-testid="secret">(sg_[^<]+)</.exec(await created.text())![1]!;
    expect((await env.request('GET', '/v1/review/queue', { key: secret })).status).toBe(200);

    expect((await get('moderator', '/console/keys')).status).toBe(403);
    const keyId = (await env.ctx.keys.list({ tenantId: 'tenant-z' }))[0]!.id;
    const forged = await env.app.request('/console/keys/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: sessions.operator!.cookie, origin: ORIGIN },
      body: new URLSearchParams({ keyId }).toString(),
    });
    expect(forged.status).toBe(403);
    expect((await env.request('GET', '/v1/review/queue', { key: secret })).status).toBe(200);
  });
});
