import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { seed } from '../review/seed.ts';

/**
 * The console in a real browser: Debian's headless Chromium driven by playwright-core
 * (never a downloaded browser; `.ci/run` installs `chromium` when missing).
 */

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

const FARM = [
  '随着科技的不断发展，人工智能已经深刻地改变了我们的生活。',
  '首先，它提高了效率；其次，它带来了便利；最后，它创造了价值。',
  '综上所述，人工智能在当今社会中扮演着至关重要的角色。',
];

describe('web console in Chromium', () => {
  let env: TestEnv;
  let server: ServerType;
  let base: string;
  let browser: Browser;
  let moderator: { key: string; keyId: string };
  const tenant = 'tenant-browser';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    env = await createTestEnv();
    const created = await env.ctx.keys.create(tenant, 'moderator');
    moderator = { key: created.key, keyId: created.keyId };
    const variants = ['今天的城市观察。', '本地新闻速递。', '<script>window.__xss=1</script>热点评论。'];
    await seed(
      env.ctx.db,
      tenant,
      variants.map((intro, i) => {
        const text = `${intro}${FARM.join('')}点击关注，转发给更多的朋友。`;
        return {
          externalId: `farm-${i}`,
          accountId: `farm-account-${i}`,
          verdict: 'flag' as const,
          score: 0.93 - i * 0.01,
          title: i === 2 ? '<img src=x onerror="window.__xss=2">标题' : `农场文章 ${i}`,
          text,
          segments: [
            { start: 0, end: Math.floor(text.length / 2), probability: 0.92, highlight: 'flag' as const },
            { start: Math.floor(text.length / 2), end: text.length, probability: 0.64, highlight: 'none' as const },
          ],
          reasons: [{ code: 'text.template_phrases', source: 'text', contribution: 0.42, message: { zh: '模板化的套话', en: 'Templated stock phrases' } }],
        };
      }),
      { clusterId: 'cl_browser' },
    );
    await seed(env.ctx.db, tenant, [
      { externalId: 'solo-1', accountId: 'solo', verdict: 'review', score: 0.61 },
      { externalId: 'solo-2', accountId: 'solo', verdict: 'flag', score: 0.88 },
    ]);
    server = serve({ fetch: env.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await env?.close();
  });

  it('logs in, filters, opens a cluster, bulk-decides with a shortcut, and sees the audit entry', async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1500, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${base}/console/queue`);
    await page.waitForURL(/\/console\/login/);
    await page.fill('input[name="key"]', moderator.key);
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/console\/queue/);
    expect(await page.textContent('[data-testid="whoami"]')).toContain(moderator.keyId);
    expect(await page.textContent('[data-count="total"]')).toBe('5');
    const cookies = await context.cookies();
    const sessionCookie = cookies.find((c) => c.name === 'sg_session');
    expect(sessionCookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('sg_session');

    // Filter: flagged only, grouped by cluster.
    await page.selectOption('select[name="verdict"]', 'flag');
    await page.selectOption('select[name="group"]', 'cluster');
    await page.click('[data-testid="apply-filters"]');
    await page.waitForURL(/group=cluster/);
    expect(await page.locator('[data-testid="row"]').count()).toBe(1);
    await page.click('[data-testid="group-link"]');
    await page.waitForURL(/\/console\/clusters\/cl_browser/);

    // Side by side, AI-like windows highlighted, shared passages aligned, hostile text inert.
    expect(await page.locator('[data-testid="card"]').count()).toBe(3);
    expect(await page.locator('mark.seg.p3').count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('[data-testid="aligned"] tbody tr').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('[data-testid="cards"]').textContent()).toContain('<script>window.__xss=1</script>');
    expect(await page.locator('[data-testid="cards"] img').count()).toBe(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('cluster-view.png', ARTIFACTS).pathname, fullPage: true });

    // Bulk decision over the whole cluster: all three are selected; "1" confirms undeclared AI.
    expect(await page.textContent('[data-selected-count]')).toBe('3');
    await page.selectOption('select[name="scope"]', 'group');
    await page.fill('input[name="comment"]', 'same farm, three accounts');
    await page.locator('h1').click();
    await Promise.all([page.waitForURL(/flash=decided/), page.keyboard.press('1')]);
    expect(await page.textContent('[data-testid="flash"]')).toContain('Decided 3 item(s)');
    expect(await page.textContent('[data-testid="counts"]')).toContain('Decided: 3');

    // The audit log shows the decisions, by this moderator, with the comment.
    await page.click('[data-testid="group-audit"]');
    await page.waitForURL(/\/console\/audit\?cluster=cl_browser/);
    const rows = page.locator('[data-testid="audit-row"]');
    expect(await rows.count()).toBe(4);
    const audit = await page.locator('[data-testid="audit"]').textContent();
    expect(audit).toContain('review.bulk_decided');
    expect(audit).toContain('confirm_ai_undeclared');
    expect(audit).toContain('same farm, three accounts');
    expect(audit).toContain(moderator.keyId);

    // Chinese interface.
    await page.click('[data-testid="lang"]');
    await page.waitForLoadState();
    expect(await page.textContent('h1')).toBe('审计日志');

    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
