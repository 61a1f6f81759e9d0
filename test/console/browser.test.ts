import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { seed } from '../review/seed.ts';

/**
 * The console in a real browser: Debian's headless Chromium driven by playwright-core
 * (never a downloaded browser; `.ci/run` installs `chromium` when missing). Without it the
 * test is skipped, saying why.
 */

const CHROMIUM = '/usr/bin/chromium';
const MISSING = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (Debian: apt-get install -y chromium; .ci/run installs it)`;
if (MISSING) console.warn(`browser test skipped: ${MISSING}`);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

const FARM = [
  '随着科技的不断发展，人工智能已经深刻地改变了我们的生活。',
  '首先，它提高了效率；其次，它带来了便利；最后，它创造了价值。',
  '综上所述，人工智能在当今社会中扮演着至关重要的角色。',
];

describe.skipIf(MISSING !== null)(`web console in Chromium${MISSING ? ` (skipped: ${MISSING})` : ''}`, () => {
  let env: TestEnv;
  let server: ServerType;
  let base: string;
  let browser: Browser;
  let moderator: { key: string; keyId: string };
  const tenant = 'tenant-browser';

  beforeAll(async () => {
    env = await createTestEnv();
    const created = await env.ctx.keys.create(tenant, 'moderator');
    moderator = { key: created.key, keyId: created.keyId };
    const variants = ['今天的城市观察。', '本地新闻速递。', '<script>window.__xss=1</script>热点评论。'];
    await seed(
      env.ctx.db,
      tenant,
      variants.map((intro, i) => {
        // The second farm account rewords one phrase: the aligned view marks it.
        const farm = FARM.join('').replace('我们的生活', i === 1 ? '我们的工作' : '我们的生活');
        const text = `${intro}${farm}点击关注，转发给更多的朋友。`;
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
    // A common laptop width: the cluster page must fit it without sideways scrolling.
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    const dialogs: string[] = [];
    const errors: string[] = [];
    // Confirmations are accepted (and recorded); any other dialog is a failure below.
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void (d.type() === 'confirm' ? d.accept() : d.dismiss());
    });
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${base}/console/queue`);
    await page.waitForURL(/\/console\/login/);
    await page.fill('input[name="key"]', moderator.key);
    await page.click('button[type="submit"]');
    // the dashboard is the landing page; the queue is one click away
    await page.waitForURL(/\/console$/);
    await page.goto(`${base}/console/queue`);
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
    // The words that differ between aligned passages are marked: 工作 in the reworded one, 生活 in the first.
    expect(await page.locator('[data-testid="aligned"] mark.diff').allTextContents()).toEqual(['生活', '工作']);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('cluster-view.png', ARTIFACTS).pathname, fullPage: true });

    // Nothing is selected until the moderator selects it: a key press alone decides nothing.
    expect(await page.textContent('[data-selected-count]')).toBe('0');
    expect(await page.locator('input[name="articleIds"]:checked').count()).toBe(0);
    await page.locator('h1').click();
    await page.keyboard.press('1');
    expect(dialogs).toEqual([expect.stringMatching(/^alert: Select the items first/)]);
    expect(page.url()).not.toMatch(/flash=decided/);
    dialogs.length = 0;

    // Bulk decision over the whole cluster: "1" confirms undeclared AI after a confirmation that shows the count.
    await page.selectOption('select[name="scope"]', 'group');
    await page.fill('input[name="comment"]', 'same farm, three accounts');
    await page.locator('h1').click();
    await Promise.all([page.waitForURL(/flash=decided/), page.keyboard.press('1')]);
    expect(dialogs).toEqual(['confirm: Apply “Confirm: undeclared AI” to 3 items?']);
    dialogs.length = 0;
    expect(await page.textContent('[data-testid="flash"]')).toContain('Decided 3 item(s)');
    expect(await page.textContent('[data-testid="counts"]')).toContain('Decided: 3');

    // The audit log shows the decisions, by this moderator, with the comment.
    await page.click('[data-testid="group-audit"]');
    await page.waitForURL(/\/console\/audit\?cluster=cl_browser/);
    const rows = page.locator('[data-testid="audit-row"]');
    expect(await rows.count()).toBe(4);
    // Newest first.
    const ids = (await rows.locator('td:first-child').allTextContents()).map(Number);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const audit = await page.locator('[data-testid="audit"]').textContent();
    expect(audit).toContain('review.bulk_decided');
    expect(audit).toContain('confirm_ai_undeclared');
    expect(audit).toContain('same farm, three accounts');
    expect(audit).toContain(moderator.keyId);

    // Chinese interface.
    await page.click('[data-testid="lang"]');
    await page.waitForLoadState();
    expect(await page.textContent('h1')).toBe('审计日志');

    // An article page opens with nothing ticked; the Chinese cluster page names verdicts, labels
    // and reason sources in Chinese.
    await page.goto(`${base}/console/clusters/cl_browser`);
    const cards = await page.locator('[data-testid="cards"]').textContent();
    expect(cards).toContain('标记');
    expect(cards).toContain('文本');
    expect(cards).not.toMatch(/\bflag\b|\(text,|ai_undeclared/);
    await page.screenshot({ path: new URL('cluster-view-zh.png', ARTIFACTS).pathname, fullPage: true });
    await page.click('[data-testid="card-title"] >> nth=0');
    await page.waitForURL(/\/console\/articles\//);
    expect(await page.locator('input[name="articleIds"]').count()).toBe(1);
    expect(await page.locator('input[name="articleIds"]:checked').count()).toBe(0);
    await page.screenshot({ path: new URL('article-view.png', ARTIFACTS).pathname, fullPage: true });

    // A cluster of eleven: at 1366 px nothing scrolls sideways, neither the page nor the cards
    // (they used to sit in one row, 3,860 px wide).
    await seed(
      env.ctx.db,
      tenant,
      Array.from({ length: 11 }, (_, i) => ({
        externalId: `wide-${i}`,
        accountId: `wide-account-${i}`,
        verdict: 'flag' as const,
        score: 0.9,
        text: `第${i}号账号。${FARM.join('')}`,
      })),
      { clusterId: 'cl_wide' },
    );
    await page.goto(`${base}/console/clusters/cl_wide`);
    expect(await page.locator('[data-testid="card"]').count()).toBe(11);
    const overflowing = await page.evaluate(() =>
      [document.documentElement, ...Array.from(document.querySelectorAll<HTMLElement>('main *'))]
        .filter(
          (el) => (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') || (el === document.documentElement && el.scrollWidth > window.innerWidth),
        )
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`),
    );
    expect(overflowing).toEqual([]);
    await page.screenshot({ path: new URL('cluster-wide.png', ARTIFACTS).pathname, fullPage: true });

    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
