import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountSignals, type AccountSignalsResult } from '../../src/signals/index.ts';
import { accountSignalSettingsSchema } from '../../src/signals/settings.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { FARM_CITIES, farmText } from '../helpers/farm.ts';
import { seed, type SeedArticle } from '../review/seed.ts';
import { rng } from '../signals/scenarios.ts';

/**
 * The console's charts in real Chromium, drawn from scenario data whose account signals come
 * from the real `AccountSignals` (Redis): a bursty bot account, a six-account farm, and two
 * weeks of detector scores with a shift. Each test asserts what the picture must show and
 * saves a screenshot under test-artifacts/.
 */

const CHROMIUM = '/usr/bin/chromium';
const MISSING = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (Debian: apt-get install -y chromium)`;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const distinct = (i: number) =>
  `第${i}期社区通讯：本周居委会组织了${i % 7}场活动，包括读书会、义诊和垃圾分类讲座。居民${['王', '李', '张', '刘'][i % 4]}先生说，` +
  `这些活动让邻里之间的关系更近了。下周计划在${['东', '西', '南', '北'][i % 4]}门广场举办跳蚤市场，欢迎大家报名参加，编号${i * 37}。`;

async function storeSignals(env: TestEnv, signals: Map<string, AccountSignalsResult>): Promise<void> {
  const rows = [...signals].map(([id, account]) => ({ id, signals: { account } }));
  await env.ctx.db.query(`UPDATE scores s SET signals = x.signals FROM jsonb_to_recordset($1::jsonb) AS x(id text, signals jsonb) WHERE s.article_id = x.id`, [
    JSON.stringify(rows),
  ]);
}

describe.skipIf(MISSING !== null)(`console charts in Chromium${MISSING ? ` (skipped: ${MISSING})` : ''}`, () => {
  let env: TestEnv;
  let server: ServerType;
  let base: string;
  let browser: Browser;
  let key: string;
  const tenant = 'tenant-charts';
  const now = Date.now();
  const burstStart = now - 2 * DAY;
  const burstTimes = Array.from({ length: 14 }, (_, i) => burstStart + i * 40_000 + (i % 3) * 5000);

  beforeAll(async () => {
    env = await createTestEnv();
    key = (await env.ctx.keys.create(tenant, 'admin')).key;
    const settings = accountSignalSettingsSchema.parse({});
    const signals = new AccountSignals(env.ctx.redis, settings, `${env.config.redisPrefix}charts:`, { now: () => now });

    // A bursty bot: irregular history, 14 posts in ten minutes, then a post every 20 minutes.
    const r = rng(7);
    const history = Array.from({ length: 12 }, (_, i) => now - 11 * DAY + i * 0.8 * DAY + Math.floor(r() * 6 * HOUR));
    const cadenceStart = burstStart + 3 * HOUR;
    const cadence = Array.from({ length: 66 }, (_, i) => cadenceStart + i * 20 * MINUTE + Math.floor((r() - 0.5) * 20_000));
    const times = [...history, ...burstTimes, ...cadence];
    const botArticles: SeedArticle[] = times.map((t, i) => ({
      externalId: `bot-${i}`,
      accountId: 'bot-7',
      verdict: 'pass',
      score: 0.1 + 0.3 * r(),
      text: distinct(i),
      receivedAt: new Date(t).toISOString(),
    }));
    const botIds = await seed(env.ctx.db, tenant, botArticles);
    const botSignals = new Map<string, AccountSignalsResult>();
    for (const [i, t] of times.entries()) {
      botSignals.set(botIds[i]!, await signals.observe({ tenantId: tenant, articleId: botIds[i]!, accountId: 'bot-7', text: distinct(i), lang: 'zh', postedAt: t }));
    }
    await storeSignals(env, botSignals);
    // the verdict follows what fired (flag on cadence, review on a burst), as the fusion would raise it
    await env.ctx.db.query(
      `UPDATE articles a SET verdict = CASE WHEN s.signals::text LIKE '%machine_cadence%' THEN 'flag' ELSE 'review' END, score = 0.75
       FROM scores s WHERE s.article_id = a.id AND a.account_id = 'bot-7' AND s.signals->'account'->'signals' <> '[]'::jsonb`,
    );
    // Ordinary accounts of the same tenant: about one post a day (the typical account).
    for (let a = 0; a < 5; a++) {
      await seed(
        env.ctx.db,
        tenant,
        Array.from({ length: 6 }, (_, i) => ({
          externalId: `u${a}-${i}`,
          accountId: `reader-${a}`,
          verdict: 'pass' as const,
          score: 0.2,
          receivedAt: new Date(now - (20 - i * 3) * DAY - a * HOUR).toISOString(),
        })),
      );
    }

    // The farm: six accounts post the same template twice within a minute.
    const farmTimes = FARM_CITIES.flatMap((_, a) => [0, 1].map((k) => now - 3 * HOUR + a * 4000 + k * 30_000));
    const farm: SeedArticle[] = farmTimes.map((t, i) => ({
      externalId: `farm-${i}`,
      accountId: `farm-${Math.floor(i / 2)}`,
      verdict: 'flag',
      score: 0.94,
      text: farmText(FARM_CITIES[Math.floor(i / 2)]!, 40 + i),
      receivedAt: new Date(t).toISOString(),
    }));
    const farmIds = await seed(env.ctx.db, tenant, farm, { clusterId: 'cl_farm' });
    const farmSignals = new Map<string, AccountSignalsResult>();
    for (const [i, t] of farmTimes.entries()) {
      farmSignals.set(
        farmIds[i]!,
        await signals.observe({ tenantId: tenant, articleId: farmIds[i]!, accountId: farm[i]!.accountId, text: farm[i]!.text!, lang: 'zh', postedAt: t }),
      );
    }
    await storeSignals(env, farmSignals);

    // Two weeks of scores with a shift: the weeks before centre low, this week high.
    const weekly = (centre: number, day0: number, span: number, n: number, seedN: number): SeedArticle[] => {
      const g = rng(seedN);
      return Array.from({ length: n }, (_, i) => {
        const score = Math.min(0.99, Math.max(0.01, centre + (g() + g() + g() - 1.5) * 0.25));
        return {
          externalId: `w${seedN}-${i}`,
          accountId: `site-${i % 40}`,
          verdict: score >= 0.9 ? 'flag' : score >= 0.7 ? 'review' : 'pass',
          score,
          receivedAt: new Date(now - day0 * DAY + (i / n) * span * DAY).toISOString(),
        };
      });
    };
    // (this week: the last 7 UTC days, today included; the weeks before end 7.5 days ago at the latest)
    await seed(env.ctx.db, tenant, [...weekly(0.25, 20, 6, 240, 11), ...weekly(0.25, 13.5, 6, 240, 12)]);
    const recent = await seed(env.ctx.db, tenant, weekly(0.7, 5.9, 5.5, 240, 13));
    // Moderators decide some of this week's items: flags mostly confirmed, reviews half of them.
    const open = await env.ctx.db.query<{ id: string; verdict: string }>(
      `SELECT id, verdict FROM articles WHERE id = ANY($1::text[]) AND verdict IN ('flag', 'review') ORDER BY id`,
      [recent],
    );
    const who = { tenantId: tenant, keyId: 'mod-1' };
    const flags = open.filter((a) => a.verdict === 'flag').map((a) => a.id);
    const reviews = open.filter((a) => a.verdict === 'review').map((a) => a.id);
    await env.ctx.review.decide(who, { type: 'selection', articleIds: flags.slice(0, 8) }, 'confirm_ai_undeclared');
    await env.ctx.review.decide(who, { type: 'selection', articleIds: flags.slice(8, 10) }, 'human');
    await env.ctx.review.decide(who, { type: 'selection', articleIds: reviews.slice(0, 5) }, 'confirm_ai_undeclared');
    await env.ctx.review.decide(who, { type: 'selection', articleIds: reviews.slice(5, 10) }, 'human');

    server = serve({ fetch: env.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await env?.close();
  });

  async function signedIn(lang: 'en' | 'zh'): Promise<Page> {
    const context = await browser.newContext({ locale: lang === 'zh' ? 'zh-CN' : 'en-US', viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${base}/console/login?lang=${lang}`);
    await page.fill('input[name="key"]', key);
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/console$/);
    return page;
  }

  /** Charts fit a 1366 px screen: no sideways scrolling, and chart text renders at 10 px or more. */
  async function readable(page: Page, testid: string): Promise<void> {
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1366);
    const heights = await page.locator(`[data-testid="${testid}"] text`).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    expect(heights.length).toBeGreaterThan(0);
    expect(Math.min(...heights)).toBeGreaterThanOrEqual(10);
  }

  it('the account timeline marks the burst window around the burst posts and the machine-cadence stretch', async () => {
    const page = await signedIn('en');
    await page.goto(`${base}/console/accounts/bot-7`);
    const chart = page.locator('[data-testid="account-timeline"]');
    await expect.poll(() => chart.count()).toBe(1);
    expect(await chart.getAttribute('aria-label')).toMatch(/burst window/);
    // every post is drawn, with its verdict's own shape
    expect(await chart.locator('[data-testid="post"]').count()).toBe(12 + 14 + 66);
    expect(await chart.locator('[data-testid="post"][data-verdict="flag"]').count()).toBeGreaterThan(0);
    // a marked window spans the whole 14-post burst, on screen as well as in its data
    const windows = await chart.locator('[data-testid="burst-window"]').evaluateAll((els) =>
      els.map((e) => ({
        start: Date.parse(e.getAttribute('data-start')!),
        end: Date.parse(e.getAttribute('data-end')!),
        box: e.querySelector('rect')!.getBoundingClientRect().toJSON() as DOMRect,
      })),
    );
    const around = windows.find((w) => w.start <= burstTimes[0]! + 1000 && w.end >= burstTimes.at(-1)! - 1000);
    expect(around, JSON.stringify(windows.map((w) => [new Date(w.start), new Date(w.end)]))).toBeDefined();
    const postBoxes = await chart.locator('[data-testid="post"]').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect));
    const burstXs = postBoxes.slice(12, 26).map((b) => b.x + b.width / 2);
    for (const x of burstXs) expect(x).toBeGreaterThanOrEqual(around!.box.x - 1);
    for (const x of burstXs) expect(x).toBeLessThanOrEqual(around!.box.x + around!.box.width + 1);
    expect(await chart.locator('[data-testid="burst-window"] text').first().textContent()).toMatch(/^burst: \d+ posts$/);
    // its dense part is the 14 posts in ten minutes, drawn again in a detail panel where they spread out
    const peak = chart.locator('[data-testid="burst-peak-detail"]');
    expect(await peak.count()).toBe(1);
    expect(await peak.getAttribute('data-posts')).toBe('14');
    expect(await peak.locator('text').textContent()).toMatch(/^14 posts in \d+ min$/);
    const peakBox = (await peak.locator('rect').boundingBox())!;
    expect(peakBox.width).toBeGreaterThan(100);
    const detailXs = await chart.locator('[data-testid="post-detail"]').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().x + e.getBoundingClientRect().width / 2));
    expect(detailXs.filter((x) => x >= peakBox.x && x <= peakBox.x + peakBox.width)).toHaveLength(14);
    // the cadence stretch sits over the regular posts, after the burst
    const cadence = chart.locator('[data-testid="cadence-stretch"]');
    expect(await cadence.count()).toBe(1);
    expect(Date.parse((await cadence.getAttribute('data-start'))!)).toBeGreaterThan(burstTimes.at(-1)!);
    expect(await cadence.textContent()).toMatch(/machine cadence: \d+ intervals, CV 0\.\d\d/);
    // against the tenant's typical account: this account posts far more per active day
    const rate = Number(await chart.locator('[data-testid="rate-account"]').getAttribute('data-value'));
    const typical = Number(await chart.locator('[data-testid="typical-line"]').getAttribute('data-value'));
    expect(rate).toBeGreaterThan(typical * 3);
    await readable(page, 'account-timeline');
    await chart.screenshot({ path: new URL('chart-account-timeline.png', ARTIFACTS).pathname });
    await page.context().close();
  });

  it('the cluster view stacks the farm in one short window and joins all six accounts', async () => {
    const page = await signedIn('zh');
    await page.goto(`${base}/console/clusters/cl_farm`);
    const timeline = page.locator('[data-testid="cluster-timeline"]');
    await expect.poll(() => timeline.count()).toBe(1);
    expect(await timeline.locator('[data-testid="cluster-post"]').count()).toBe(12);
    expect(await timeline.textContent()).toMatch(/秒 内 12 篇/);
    // one row per account, each with its two posts, all within the minute the label states
    const perAccount = await timeline.locator('[data-testid="cluster-post"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-account')));
    expect(FARM_CITIES.map((_, i) => perAccount.filter((a) => a === `farm-${i}`).length)).toEqual([2, 2, 2, 2, 2, 2]);
    const graph = page.locator('[data-testid="cluster-graph"]');
    expect(await graph.locator('[data-testid="graph-node"]').count()).toBe(6);
    const edges = await graph
      .locator('[data-testid="graph-edge"]')
      .evaluateAll((els) => els.map((e) => [e.getAttribute('data-a')!, e.getAttribute('data-b')!, Number(e.getAttribute('data-weight'))] as const));
    expect(edges.length).toBeGreaterThanOrEqual(5);
    for (const [, , w] of edges) expect(w).toBeGreaterThanOrEqual(1);
    // the six accounts are one connected farm
    const reached = new Set(['farm-0']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [a, b] of edges) {
        if (reached.has(a) !== reached.has(b)) {
          reached.add(a);
          reached.add(b);
          grew = true;
        }
      }
    }
    expect([...reached].sort()).toEqual(FARM_CITIES.map((_, i) => `farm-${i}`));
    expect(await graph.getAttribute('aria-label')).toMatch(/^6 个账号之间 \d+ 条近似重复连接/);
    await readable(page, 'cluster-graph');
    await page.screenshot({ path: new URL('chart-cluster.png', ARTIFACTS).pathname, fullPage: true });
    await page.context().close();
  });

  it('the dashboard shows volume, backlog, open clusters, precision per model and the score shift as two distributions', async () => {
    for (const lang of ['en', 'zh'] as const) {
      const page = await signedIn(lang);
      const dash = page.locator('[data-testid="dashboard"]');
      await expect.poll(() => dash.count()).toBe(1);
      // volume: every seeded article of the last 28 days is in a bar
      const volume = await dash.locator('[data-testid="volume-bar"]').evaluateAll((els) => els.reduce((s, e) => s + Number(e.getAttribute('data-count')), 0));
      const [stored] = await env.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM articles WHERE tenant_id = $1 AND received_at >= now() - interval '27 days'`, [
        tenant,
      ]);
      expect(volume).toBeGreaterThanOrEqual(stored!.n);
      // the shift: this week's bars and the weeks-before line are both drawn, apart
      const bars = await dash
        .locator('[data-testid="score-bar-this"]')
        .evaluateAll((els) => els.map((e) => [Number(e.getAttribute('data-bin')), Number(e.getAttribute('data-share'))] as const));
      expect(bars.length).toBeGreaterThan(4);
      const meanBin = bars.reduce((s, [b, v]) => s + b * v, 0) / bars.reduce((s, [, v]) => s + v, 0);
      expect(meanBin).toBeGreaterThan(11);
      expect(await dash.locator('[data-testid="score-line-before"]').count()).toBe(1);
      const line = (await dash.locator('[data-testid="score-line-before"]').boundingBox())!;
      const firstBar = (await dash.locator('[data-testid="score-bar-this"]').first().boundingBox())!;
      expect(line.x).toBeLessThan(firstBar.x);
      expect(Number(await dash.locator('[data-testid="score-shift"]').getAttribute('data-ks'))).toBeGreaterThan(0.5);
      // backlog: the open flag/review items, by age
      const backlog = await dash.locator('[data-testid="backlog-bar"]').evaluateAll((els) => els.reduce((s, e) => s + Number(e.getAttribute('data-count')), 0));
      const [openItems] = await env.ctx.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM articles a LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
         WHERE a.tenant_id = $1 AND a.verdict IN ('flag', 'review') AND (rs.state IS NULL OR rs.state <> 'decided')`,
        [tenant],
      );
      expect(backlog).toBe(openItems!.n);
      // the farm is the largest open cluster, linked
      expect(await dash.locator('[data-testid="cluster-bar"]').first().getAttribute('data-cluster')).toBe('cl_farm');
      // precision per model version: flag 8 of 10, review 5 of 10
      const precision = await dash
        .locator('[data-testid="precision-bar"]')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-verdict')} ${e.getAttribute('data-confirmed')}/${e.getAttribute('data-decided')}`));
      expect(precision).toEqual(['flag 8/10', 'review 5/10']);
      expect(await dash.locator('[data-testid="precision-bar"]').first().textContent()).toContain(lang === 'zh' ? '10 条中确认 8 条（80%）' : '8 of 10 confirmed (80%)');
      await readable(page, 'chart-scores');
      await page.screenshot({ path: new URL(`chart-dashboard-${lang}.png`, ARTIFACTS).pathname, fullPage: true });
      await page.context().close();
    }
  });
});
