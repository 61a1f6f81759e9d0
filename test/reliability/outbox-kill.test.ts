import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, serviceTail, spawnService, type TestEnv, waitFor } from '../helpers/context.ts';
import { FARM_CITIES, farmText } from '../helpers/farm.ts';

/**
 * The outbox under a real SIGKILL. The first worker commits scores but never runs what follows
 * (its dispatcher is off, and it is killed right after the commits): exactly the window in which
 * the in-process callbacks of before lost the webhook and the cluster join for good.
 */
describe('side effects survive a worker killed right after the commit', () => {
  let env: TestEnv;
  let server: Server;
  const received: { event: string; articleId: string; delivery: string }[] = [];
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { articleId: string } };
        received.push({ event: String(req.headers['x-slopguard-event']), articleId: body.data.articleId, delivery: String(req.headers['x-slopguard-delivery']) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    env = await createTestEnv({ env: { WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await env.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const worker = (extra: Record<string, string>) => {
    const child = spawnService(env, 'worker', {
      // The model decides whether the farm's text alone is doubtful; with it, only the farm makes it so.
      DETECTOR_ENABLED: 'true',
      WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
      OUTBOX_POLL_MS: '50',
      OUTBOX_LEASE_MS: '1500',
      ...extra,
    });
    children.push(child);
    return child;
  };

  it('delivers every webhook exactly once and joins the cluster after a restart, also when a dispatcher died holding its lease', async () => {
    const admin = await env.keyFor('admin');
    const submitter = await env.keyFor('submitter');
    const port = (server.address() as AddressInfo).port;
    expect((await env.request('POST', '/v1/webhooks', { key: admin, body: { url: `http://127.0.0.1:${port}/hook`, events: ['article.scored'] } })).status).toBe(201);
    const ids: string[] = [];
    for (const [i, city] of FARM_CITIES.slice(0, 4).entries()) {
      const res = await env.request('POST', '/v1/articles', {
        key: submitter,
        body: { externalId: `k-${i}`, accountId: `k-acct-${i}`, text: farmText(city, 40 + i), publishedAt: `2026-11-21T10:00:0${i}Z` },
      });
      ids.push(((await res.json()) as { id: string }).id);
    }

    const first = worker({ OUTBOX_DISPATCH: 'false' });
    const scored = async () => (await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE status = 'scored'"))[0]!.n;
    await waitFor(async () => (await scored()) === ids.length, 120_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    // Committed, and nothing after it happened.
    const count = async (sql: string) => (await env.ctx.db.query<{ n: number }>(sql))[0]!.n;
    expect(await count("SELECT count(*)::int AS n FROM events WHERE type = 'article.scored'")).toBe(ids.length);
    expect(await count('SELECT count(*)::int AS n FROM webhook_deliveries')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM cluster_members')).toBe(0);
    expect(received).toHaveLength(0);
    // A dispatcher that died mid-batch: its leases are still held for a while.
    await env.ctx.db.query(`UPDATE outbox_cursors SET leased_by = 'dsp_killed', leased_until = now() + interval '1 second'`);

    const second = worker({});
    await waitFor(async () => {
      if (second.exitCode !== null) throw new Error(`the restarted worker exited (${second.exitCode}):\n${serviceTail(second)}`);
      return received.filter((r) => r.event === 'article.scored').length >= ids.length && (await count('SELECT count(*)::int AS n FROM cluster_members')) === ids.length;
    }, 120_000).catch((e: Error) => {
      throw new Error(`${e.message}; ${received.length} webhooks received; the worker's last output:\n${serviceTail(second)}`);
    });
    const cluster = await env.ctx.clusters.clusterOf('tenant-a', ids[0]!);
    expect(cluster).not.toBeNull();
    expect((await env.ctx.clusters.get('tenant-a', cluster!))?.accounts).toHaveLength(ids.length);

    // The farm showed only after the first article was scored: it is re-evaluated, kill or not.
    const versions = await waitFor(async () => {
      const v = await env.ctx.db.query<{ verdict: string; reasons: { code: string }[] }>('SELECT verdict, reasons FROM scores WHERE article_id = $1 ORDER BY evaluation', [ids[0]]);
      return v.length > 1 ? v : undefined;
    }, 120_000);
    const rank: Record<string, number> = { pass: 0, review: 1, flag: 2 };
    expect(rank[versions[versions.length - 1]!.verdict]).toBeGreaterThan(rank[versions[0]!.verdict]!);
    expect(versions[versions.length - 1]!.reasons[0]!.code).toBe('reevaluated_farm');

    // Replaying every event from the start (a cursor lost, say) sends nothing twice.
    await env.ctx.db.query(`UPDATE outbox_cursors SET txid = 0, event_id = 0 WHERE consumer = 'webhooks'`);
    const last = await count('SELECT max(id)::int AS n FROM events');
    await waitFor(async () => (await count(`SELECT event_id::int AS n FROM outbox_cursors WHERE consumer = 'webhooks'`)) >= last, 120_000);
    const deliveries = await env.ctx.db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status');
    expect(deliveries).toEqual([{ status: 'delivered', n: ids.length }]);
    const scoredHooks = received.filter((r) => r.event === 'article.scored');
    expect(scoredHooks.map((r) => r.articleId).sort()).toEqual([...ids].sort());
    expect(new Set(scoredHooks.map((r) => r.delivery)).size).toBe(ids.length);
  }, 400_000);
});
