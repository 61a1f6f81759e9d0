import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { consoleLogin, ORIGIN } from '../helpers/console.ts';
import { seed } from '../review/seed.ts';

const XSS_TITLE = '<script>window.__xss=1</script>';
const XSS_TEXT = 'Breaking: "><img src=x onerror="window.__xss=2"> and <svg onload=window.__xss=3> plus javascript:alert(1) `tick` &amp; done.';

describe('web console (server side)', () => {
  let env: TestEnv;
  let moderator: string;
  let session: { cookie: string; csrf: string; setCookie: string };
  let ids: string[];
  const tenant = 'tenant-console';
  const get = (path: string, cookie = session.cookie) => env.app.request(path, { headers: { cookie } });
  const post = (path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) => {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const x of ([] as string[]).concat(v)) body.append(k, x);
    return env.app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie, origin: ORIGIN, ...headers },
      body: body.toString(),
    });
  };

  beforeAll(async () => {
    env = await createTestEnv();
    moderator = (await env.ctx.keys.create(tenant, 'moderator')).key;
    ids = await seed(
      env.ctx.db,
      tenant,
      [
        {
          externalId: 'x1',
          accountId: 'acct"><script>window.__xss=4</script>',
          verdict: 'flag',
          score: 0.95,
          title: XSS_TITLE,
          text: XSS_TEXT,
          segments: [{ start: 0, end: 40, probability: 0.9, highlight: 'flag' }],
          reasons: [{ code: 'x', source: 'text', contribution: 0.5, message: { zh: '<b>粗体</b>', en: '<iframe src="//evil">' } }],
        },
        {
          externalId: 'x2',
          accountId: 'acct-2',
          verdict: 'flag',
          score: 0.9,
          text: XSS_TEXT,
          // a window under review (not highlighted) and one stored before windows were calibrated
          segments: [
            { start: 0, end: 20, probability: 0.4, highlight: 'none' },
            { start: 20, end: 40, probability: 0.95 },
          ],
        },
      ],
      { clusterId: 'cl_console', batchId: 'bat_console' },
    );
    session = await consoleLogin(env, moderator);
  });
  afterAll(() => env.close());

  it('signs in with a moderator key into an HttpOnly, SameSite=Strict server-side session', async () => {
    expect(session.cookie).toMatch(/^sg_session=/);
    expect(session.setCookie).toMatch(/HttpOnly/i);
    expect(session.setCookie).toMatch(/SameSite=Strict/i);
    expect(session.setCookie).toMatch(/Path=\/console/);
    expect(session.setCookie).not.toContain(moderator);
    expect((await consoleLogin(env, 'sg_wrong')).cookie).toBe('');
    expect((await consoleLogin(env, await env.keyFor('submitter', tenant))).cookie).toBe('');
    expect((await get('/console/queue', '')).status).toBe(303);
  });

  it('sends security headers: strict CSP without inline script, nosniff, no framing', async () => {
    const res = await get('/console/queue');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const body = await res.text();
    expect(body).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*src=)[^>]*>/);
    expect(body).not.toMatch(/\son[a-z]+=/i);
  });

  it('renders stored XSS attempts inert on every page', async () => {
    await post('/console/decide', { csrf: session.csrf, decision: 'escalate', comment: '<script>window.__xss=5</script>', articleIds: [ids[0]!], back: '/console/queue' });
    const pages = [
      '/console/queue',
      '/console/queue?group=cluster',
      '/console/clusters/cl_console',
      '/console/batches/bat_console',
      `/console/articles/${ids[0]}`,
      `/console/accounts/${encodeURIComponent('acct"><script>window.__xss=4</script>')}`,
      '/console/audit?cluster=cl_console',
      `/console/queue?account=${encodeURIComponent('"><script>window.__xss=6</script>')}&state=all`,
    ];
    for (const path of pages) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      const body = await res.text();
      expect(body, path).not.toContain('<script>window');
      expect(body, path).not.toContain('<img src=x');
      expect(body, path).not.toContain('<svg onload');
      expect(body, path).not.toContain('<iframe');
      expect(body, path).not.toMatch(/"><script/);
    }
    const cluster = await (await get('/console/clusters/cl_console')).text();
    expect(cluster).toContain('&lt;script&gt;window.__xss=1&lt;/script&gt;');
    expect(cluster).toContain('&lt;img src=x onerror=&quot;window.');
    expect(cluster).toMatch(/<mark class="seg p3[ "]/);
    expect(cluster).toContain('data-testid="aligned"');
    const article = await (await get(`/console/articles/${ids[0]}`)).text();
    expect(article).toContain('&lt;script&gt;window.__xss=5&lt;/script&gt;');
  });

  it('preselects nothing, and gives the script what it needs to confirm a decision over several items', async () => {
    for (const path of ['/console/clusters/cl_console', `/console/articles/${ids[0]}`, '/console/batches/bat_console']) {
      const body = await (await get(path)).text();
      expect(body, path).toMatch(/name="articleIds"/);
      expect(body, path).not.toMatch(/<input[^>]*\bchecked\b/);
      expect(body, path).toContain('data-confirm="Apply “{d}” to {n} items?"');
    }
    expect(await (await get('/console/clusters/cl_console')).text()).toContain('data-group-count="2"');
  });

  it('names verdicts, labels and reason sources in Chinese in the Chinese interface', async () => {
    const zh = await consoleLogin(env, moderator, 'zh');
    const body = await (await get('/console/clusters/cl_console', zh.cookie)).text();
    expect(body).toContain('标记');
    expect(body).toContain('AI（未声明）');
    expect(body).toContain('(文本, +');
    expect(body).not.toMatch(/>flag<|ai_undeclared<|\(text, /);
  });

  it('refuses actions without the CSRF token or from another origin', async () => {
    const target = { decision: 'human', articleIds: [ids[1]!], back: '/console/queue' };
    expect((await post('/console/decide', target)).status).toBe(403);
    expect((await post('/console/decide', { ...target, csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await post('/console/decide', { ...target, csrf: session.csrf }, { origin: 'https://evil.example' })).status).toBe(403);
    const events = await env.ctx.db.query("SELECT 1 FROM events WHERE subject_id = $1 AND type = 'review.decided'", [ids[1]]);
    expect(events).toHaveLength(0);
    const ok = await post('/console/decide', { ...target, csrf: session.csrf, back: '//evil.example/x' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toMatch(/^\/console\/queue\?flash=decided%3A1%3A0$/);
  });

  it('keeps pages inside the tenant and ends sessions on logout and on key revocation', async () => {
    const other = await consoleLogin(env, (await env.ctx.keys.create('tenant-console-b', 'moderator')).key);
    for (const path of [
      `/console/articles/${ids[0]}`,
      '/console/clusters/cl_console',
      '/console/batches/bat_console',
      '/console/accounts/acct-2',
      '/console/audit?cluster=cl_console',
    ]) {
      expect((await get(path, other.cookie)).status, path).toBe(404);
    }
    const created = await env.ctx.keys.create(tenant, 'moderator');
    const doomed = await consoleLogin(env, created.key);
    expect((await get('/console/queue', doomed.cookie)).status).toBe(200);
    await env.ctx.keys.revoke(created.keyId);
    expect((await get('/console/queue', doomed.cookie)).status).toBe(303);
    const res = await env.app.request('/console/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: other.cookie, origin: ORIGIN },
      body: new URLSearchParams({ csrf: other.csrf }).toString(),
    });
    expect(res.status).toBe(303);
    expect((await get('/console/queue', other.cookie)).status).toBe(303);
  });

  it('shows the queue dashboard to admins only', async () => {
    const admin = await consoleLogin(env, (await env.ctx.keys.create(tenant, 'admin')).key);
    const res = await get('/console/admin/queues', admin.cookie);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('data-testid="queues"');
    expect(body).toMatch(/<td>deliver<\/td>/);
    expect(body).toMatch(/<td>score<\/td>/);
    expect((await get('/console/admin/queues')).status).toBe(403);
  });

  it('switches the interface to Chinese', async () => {
    const res = await post('/console/lang', { csrf: session.csrf, lang: 'zh', back: '/console/queue' });
    expect(res.status).toBe(303);
    const body = await (await get('/console/queue')).text();
    expect(body).toContain('审核队列');
    expect(body).toContain('lang="zh-CN"');
    await post('/console/lang', { csrf: session.csrf, lang: 'en', back: '/console/queue' });
  });

  it('highlights only windows at a threshold, with a legend in both languages', async () => {
    const flagged = await (await get(`/console/articles/${ids[0]}`)).text();
    expect(flagged).toContain('data-testid="highlight-legend"');
    expect(flagged).toContain('review threshold');
    expect(flagged).toMatch(/<mark class="seg p3[ "]/);
    const other = await (await get(`/console/articles/${ids[1]}`)).text();
    expect(other).toContain('data-testid="highlight-legend"');
    expect(other).not.toMatch(/<mark class="seg/);
    await post('/console/lang', { csrf: session.csrf, lang: 'zh', back: '/console/queue' });
    const zh = await (await get(`/console/articles/${ids[0]}`)).text();
    expect(zh).toContain('达到复核阈值');
    expect(zh).toContain('达到标记阈值');
    await post('/console/lang', { csrf: session.csrf, lang: 'en', back: '/console/queue' });
  });
});
