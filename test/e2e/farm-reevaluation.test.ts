import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';
import { FARM_CITIES, farmText, NEWS } from '../helpers/farm.ts';
import { loadDataset } from '../signals/scenarios.ts';

async function receiver() {
  const received: { event: string; body: { data: Record<string, unknown> } }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ event: String(req.headers['x-slopguard-event']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: Record<string, unknown> } });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    received,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Versions {
  evaluation: number;
  verdict: string;
  label: string;
  reasons: { code: string; message: { en: string } }[];
}

describe('farms caught from their first post', () => {
  let env: TestEnv;
  let hook: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    hook = await receiver();
    env = await createTestEnv({
      workers: true,
      env: { DETECTOR_ENABLED: 'true', WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', OUTBOX_POLL_MS: '50' },
    });
  });
  afterAll(async () => {
    await env.close();
    await hook.close();
  });

  const versions = (id: string) => env.ctx.db.query<Versions>('SELECT evaluation, verdict, label, reasons FROM scores WHERE article_id = $1 ORDER BY evaluation', [id]);

  it('raises the first members of a farm once the farm shows, with a new score version, an event and a webhook', async () => {
    const tenant = 'tenant-farm';
    const admin = await env.keyFor('admin', tenant);
    const submitter = await env.keyFor('submitter', tenant);
    expect((await env.request('POST', '/v1/webhooks', { key: admin, body: { url: hook.url, events: ['article.verdict_changed'] } })).status).toBe(201);
    const ids: string[] = [];
    for (const [i, city] of FARM_CITIES.entries()) {
      const res = await env.request('POST', '/v1/articles', {
        key: submitter,
        body: { externalId: `farm-${i}`, accountId: `farm-acct-${i}`, text: farmText(city, 30 + i), publishedAt: `2026-11-20T08:00:${String(10 + 3 * i).padStart(2, '0')}Z` },
      });
      ids.push(((await res.json()) as { id: string }).id);
      // Scored one after another, as the farm posts them: the first sees no copies yet.
      await waitFor(async () => (await versions(ids[i]!)).length > 0);
    }
    const first = ids[0]!;
    const [initial] = await versions(first);
    const raised = await waitFor(async () => {
      const v = await versions(first);
      return v.length > 1 ? v : undefined;
    });
    const rank = { pass: 0, review: 1, flag: 2 } as Record<string, number>;
    const latest = raised[raised.length - 1]!;
    expect(rank[latest.verdict]).toBeGreaterThan(rank[initial!.verdict]!);
    expect(latest.reasons[0]!.code).toBe('reevaluated_farm');
    expect(latest.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['near_duplicate', 'coordinated_posting']));

    // The API serves the new version; the audit has the event with its reason; the webhook heard it.
    const view = (await (await env.request('GET', `/v1/articles/${first}`, { key: submitter })).json()) as { result: { verdict: string } };
    expect(view.result.verdict).toBe(latest.verdict);
    const [event] = await env.ctx.db.query<{ payload: { previous: { verdict: string }; reason: { code: string } } }>(
      `SELECT payload FROM events WHERE subject_id = $1 AND type = 'article.verdict_changed'`,
      [first],
    );
    expect(event!.payload).toMatchObject({ previous: { verdict: initial!.verdict }, reason: { code: 'reevaluated_farm' } });
    const heard = await waitFor(async () => hook.received.find((r) => r.event === 'article.verdict_changed' && r.body.data.articleId === first));
    expect(heard.body.data).toMatchObject({ externalId: 'farm-0', verdict: latest.verdict, previous: { verdict: initial!.verdict } });
    // Webhooks carry the labelling decision too: a flag without a label is `suspected`.
    expect(heard.body.data).toHaveProperty('labelling.decision', latest.verdict === 'flag' ? 'suspected' : 'none');
  });

  it('re-evaluates the earlier posts of an account once a later post shows the burst they were part of', async () => {
    const tenant = 'tenant-burst';
    const submitter = await env.keyFor('submitter', tenant);
    const human = loadDataset('dev.jsonl.gz')
      .filter((d) => d.label === 'human' && d.text.length > 300)
      .map((d) => d.text);
    const start = Date.parse('2026-11-22T09:00:00Z');
    const ids: string[] = [];
    for (let i = 0; i < 14; i++) {
      const res = await env.request('POST', '/v1/articles', {
        key: submitter,
        body: { externalId: `burst-${i}`, accountId: 'night-poster', text: human[i]!, publishedAt: new Date(start + i * 40_000).toISOString() },
      });
      ids.push(((await res.json()) as { id: string }).id);
      await waitFor(async () => (await versions(ids[i]!)).length > 0);
    }
    const first = await waitFor(async () => {
      const v = await versions(ids[0]!);
      return v.length > 1 ? v : undefined;
    });
    const rank = { pass: 0, review: 1, flag: 2 } as Record<string, number>;
    const latest = first[first.length - 1]!;
    expect(rank[latest.verdict]).toBeGreaterThan(rank[first[0]!.verdict]!);
    expect(latest.reasons[0]).toMatchObject({ code: 'reevaluated_account' });
    expect(latest.reasons.map((r) => r.code)).toContain('burst');
    expect(latest.verdict).not.toBe('flag');
  });

  it('sends an honest repost (one human news text, attributed, several outlets) at most to review, saying why', async () => {
    const tenant = 'tenant-news';
    const submitter = await env.keyFor('submitter', tenant);
    const outlets = ['xinhua-repost', 'city-daily', 'evening-news', 'county-media'];
    const ids: string[] = [];
    for (const [i, outlet] of outlets.entries()) {
      const text = i === 0 ? NEWS : `${NEWS}（来源：杭州日报，转载请注明出处）`;
      const res = await env.request('POST', '/v1/articles', {
        key: submitter,
        body: { externalId: `news-${i}`, accountId: outlet, text, publishedAt: `2026-11-20T09:00:${String(10 + 5 * i).padStart(2, '0')}Z` },
      });
      ids.push(((await res.json()) as { id: string }).id);
      await waitFor(async () => (await versions(ids[i]!)).length > 0);
    }
    // Wait for the farm evidence to reach the first outlet's article (re-evaluated or left as it was).
    await waitFor(async () => {
      const [cursor] = await env.ctx.db.query<{ behind: number }>(
        `SELECT count(*)::int AS behind FROM events e, outbox_cursors c WHERE c.consumer = 'reevaluation' AND (e.txid, e.id) > (c.txid, c.event_id)`,
      );
      const active = (await env.ctx.queues.reevaluate.getJobCounts('waiting', 'active', 'delayed')) as Record<string, number>;
      return cursor!.behind === 0 && Object.values(active).every((n) => n === 0);
    });
    for (const id of ids) {
      for (const v of await versions(id)) expect(v.verdict).not.toBe('flag');
    }
    const firstVersions = await versions(ids[0]!);
    const last = firstVersions[firstVersions.length - 1]!;
    expect(last.verdict).toBe('review');
    const why = last.reasons.find((r) => r.code === 'reevaluated_farm');
    expect(why?.message.en).toMatch(/attributed repost/);
  });
});
