import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { seed } from '../review/seed.ts';

/**
 * Every form the console accepts (its POST routes, read from the app) with each hostile
 * value in each field any of them reads, signed in as an operator admin with a valid CSRF
 * token: never a 5xx.
 */

const ORIGIN = 'http://localhost';
const FIELDS = [
  'articleIds',
  'commentIds',
  'templateId',
  'accountClusterId',
  'note',
  'batchId',
  'clusterId',
  'scope',
  'decision',
  'comment',
  'back',
  'keyId',
  'role',
  'name',
  'tenant',
  'queue',
  'jobId',
  'webhookId',
  'lang',
  'key',
];
const HOSTILE = [
  '',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '0000-01-01T00:00:00Z',
  '1e999999',
  '-1',
  'toString',
  '__proto__',
  'x'.repeat(5000),
  '//evil.example',
  '/console/../v1',
  "'; DROP TABLE api_keys; --",
];
/** Valid values for the other fields, so a hostile one is what a route trips on. */
const BASE: Record<string, string> = { scope: 'group', decision: 'human', role: 'submitter', lang: 'zh', back: '/console/queue', queue: 'score' };

/** Form encoding that keeps lone surrogates (as their WTF-8 bytes), as a hostile client may send. */
function encode(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) out += `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`;
    else out += encodeURIComponent(ch);
  }
  return out;
}

describe('console forms: hostile values in every field', () => {
  let env: TestEnv;
  let cookie = '';
  let csrf = '';
  beforeAll(async () => {
    env = await createTestEnv({ env: { BOOTSTRAP_TENANT: 'tenant-h' } });
    const ids = await seed(env.ctx.db, 'tenant-h', [{ externalId: 'h-1', accountId: 'a-1', verdict: 'flag', score: 0.9 }], { batchId: 'bat_h', clusterId: 'cl_h' });
    BASE.articleIds = ids[0]!;
    const form = await env.app.request('/console/login');
    const loginCookie = /sg_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')?.[1];
    const loginCsrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
    const res = await env.app.request('/console/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sg_login=${loginCookie}`, origin: ORIGIN },
      body: new URLSearchParams({ key: await env.keyFor('admin', 'tenant-h'), csrf: loginCsrf, lang: 'en' }).toString(),
    });
    cookie = `sg_session=${/sg_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1]}`;
    csrf = /name="csrf" value="([^"]+)"/.exec(await (await env.app.request('/console/queue', { headers: { cookie } })).text())?.[1] ?? '';
  });
  afterAll(() => env.close());

  it('answers every form with something other than a 5xx', async () => {
    const posts = [...new Set(env.app.routes.filter((r) => r.method === 'POST' && r.path.startsWith('/console/')).map((r) => r.path))].filter((p) => p !== '/console/logout');
    expect(posts).toEqual(expect.arrayContaining(['/console/decide', '/console/keys/create', '/console/keys/revoke', '/console/admin/webhooks/redrive']));
    const failures: string[] = [];
    for (const path of posts) {
      for (const field of FIELDS) {
        await Promise.all(
          HOSTILE.map(async (value) => {
            const fields = { ...BASE, [field]: value };
            const body = [`csrf=${encode(csrf)}`, ...Object.entries(fields).map(([k, v]) => `${k}=${encode(v)}`)].join('&');
            const res = await env.app.request(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: ORIGIN }, body });
            if (res.status >= 500) failures.push(`${path} ${field}=${JSON.stringify(value.slice(0, 30))} -> ${res.status}`);
            await res.body?.cancel();
          }),
        );
      }
    }
    expect(failures).toEqual([]);
    // The session survived it all: the sweep ran signed in to the end.
    expect((await env.app.request('/console/keys', { headers: { cookie } })).status).toBe(200);
  }, 120_000);
});
