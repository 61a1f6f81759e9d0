import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { AddressPolicy } from '../../src/webhooks/url-guard.ts';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';
import { seed } from './seed.ts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver on loopback: records every request, answers per path from a script. */
async function startReceiver() {
  const received: Received[] = [];
  const script = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (path.startsWith('/hang')) return; // never answers
      const queue = script.get(path) ?? [];
      const status = queue.length > 1 ? queue.shift()! : (queue[0] ?? 200);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    /** Statuses to answer on a path, in order; the last one repeats. */
    answer(path: string, statuses: number[]) {
      script.set(path, [...statuses]);
    },
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('webhook signatures', () => {
  it('verifies a genuine signature and rejects tampering, staleness and missing headers', () => {
    const secret = 'whsec_test';
    const body = '{"id":"e1","type":"article.flagged"}';
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    const signature = signWebhook(secret, ts, body);
    expect(verifyWebhookSignature({ secret, body, timestamp: String(ts), signature, nowMs: now })).toEqual({ ok: true });
    expect(verifyWebhookSignature({ secret, body: body.replace('e1', 'e2'), timestamp: String(ts), signature, nowMs: now })).toMatchObject({ reason: 'bad_signature' });
    expect(verifyWebhookSignature({ secret: 'whsec_other', body, timestamp: String(ts), signature, nowMs: now })).toMatchObject({ reason: 'bad_signature' });
    expect(verifyWebhookSignature({ secret, body, timestamp: String(ts), signature, nowMs: now + 301_000 })).toMatchObject({ reason: 'stale_timestamp' });
    expect(verifyWebhookSignature({ secret, body, timestamp: String(ts + 1), signature, nowMs: now })).toMatchObject({ reason: 'bad_signature' });
    expect(verifyWebhookSignature({ secret, body, timestamp: null, signature, nowMs: now })).toMatchObject({ reason: 'missing_header' });
  });
});

describe('webhook URL guard', () => {
  const strict = new AddressPolicy([]);
  it.each([
    'http://127.0.0.1:9000/hook',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::1]/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://localhost:8080/',
    'http://metadata.google.internal/',
    'ftp://93.184.216.34/',
    'http://user:pass@93.184.216.34/',
    'not a url',
  ])('refuses %s', async (url) => {
    await expect(strict.check(url)).rejects.toMatchObject({ code: 'validation_failed' });
  });
  it('accepts public addresses, and loopback only where configured', async () => {
    await expect(strict.check('https://93.184.216.34/hook')).resolves.toBeInstanceOf(URL);
    const local = new AddressPolicy(['127.0.0.1/32']);
    await expect(local.check('http://127.0.0.1:9000/hook')).resolves.toBeInstanceOf(URL);
    expect(local.permits('127.0.0.2')).toBe(false);
    expect(local.permits('10.0.0.1')).toBe(false);
  });
});

describe('webhooks end to end', () => {
  let env: TestEnv;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let n = 0;
  const tenantKeys = async () => {
    const tenant = `tenant-w${++n}`;
    return {
      tenant,
      admin: (await env.ctx.keys.create(tenant, 'admin')).key,
      moderator: (await env.ctx.keys.create(tenant, 'moderator')).key,
      submitter: (await env.ctx.keys.create(tenant, 'submitter')).key,
    };
  };
  const subscribe = async (key: string, path: string, events: string[]) => {
    const res = await env.request('POST', '/v1/webhooks', { key, body: { url: receiver.url(path), events } });
    expect(res.status).toBe(201);
    return (await res.json()) as { webhook: { id: string }; secret: string };
  };
  const deliveries = async (key: string, id: string, status?: string) =>
    (
      (await (await env.request('GET', `/v1/webhooks/${id}/deliveries${status ? `?status=${status}` : ''}`, { key })).json()) as {
        deliveries: { id: string; status: string; attempts: number; lastStatusCode: number | null; eventType: string }[];
      }
    ).deliveries;

  beforeAll(async () => {
    receiver = await startReceiver();
    env = await createTestEnv({
      workers: true,
      env: { WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', WEBHOOK_ATTEMPTS: '3', WEBHOOK_BACKOFF_MS: '50', WEBHOOK_TIMEOUT_MS: '1000' },
    });
  });
  afterAll(async () => {
    await env.close();
    await receiver.close();
  });

  it('signs article.scored for a scored article; the receiver verifies it; the article joins its cluster', async () => {
    const k = await tenantKeys();
    const { secret } = await subscribe(k.admin, '/scored', ['article.scored', 'article.flagged']);
    const text =
      'The city council approved the new riverside bridge on Tuesday after a long debate about costs, traffic and the impact on local fishing. ' +
      'Residents who spoke at the meeting were divided, with some praising the plan and others worried about noise during two years of construction work.';
    const ids: string[] = [];
    for (const account of ['farm-a', 'farm-b', 'farm-c']) {
      const res = await env.request('POST', '/v1/articles', { key: k.submitter, body: { externalId: `dup-${account}`, accountId: account, text } });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const got = await waitFor(
      async () =>
        receiver.received.filter((r) => r.path === '/scored' && r.headers['x-slopguard-event'] === 'article.scored').length >= 3 &&
        receiver.received.filter((r) => r.path === '/scored'),
    );
    for (const r of got) {
      expect(
        verifyWebhookSignature({ secret, body: r.body, timestamp: r.headers['x-slopguard-timestamp'] as string, signature: r.headers['x-slopguard-signature'] as string }),
      ).toEqual({ ok: true });
      expect(
        verifyWebhookSignature({ secret, body: `${r.body} `, timestamp: r.headers['x-slopguard-timestamp'] as string, signature: r.headers['x-slopguard-signature'] as string }).ok,
      ).toBe(false);
    }
    const payload = JSON.parse(got.find((r) => r.headers['x-slopguard-event'] === 'article.scored')!.body) as {
      type: string;
      tenantId: string;
      data: { articleId: string; verdict: string };
    };
    expect(payload).toMatchObject({ type: 'article.scored', tenantId: k.tenant });
    expect(ids).toContain(payload.data.articleId);
    // The cluster listener recorded the near-duplicates across accounts.
    const cluster = await waitFor(() => env.ctx.clusters.clusterOf(k.tenant, ids[2]!));
    const summary = await env.ctx.clusters.get(k.tenant, cluster);
    expect(summary?.accounts.length).toBeGreaterThanOrEqual(2);
  });

  it('sends review.decided once per decision request, with every changed item', async () => {
    const k = await tenantKeys();
    const { secret } = await subscribe(k.admin, '/decided', ['review.decided']);
    const ids = await seed(env.ctx.db, k.tenant, [
      { externalId: 'x1', accountId: 'a', verdict: 'flag', score: 0.9 },
      { externalId: 'x2', accountId: 'a', verdict: 'flag', score: 0.9 },
    ]);
    await env.request('POST', '/v1/review/decisions', { key: k.moderator, body: { articleIds: ids, decision: 'confirm_ai_undeclared', comment: 'farm' } });
    await env.request('POST', '/v1/review/decisions', { key: k.moderator, body: { articleIds: ids, decision: 'confirm_ai_undeclared' } });
    const [hit] = await waitFor(async () => {
      const h = receiver.received.filter((r) => r.path === '/decided');
      return h.length > 0 && h;
    });
    const body = JSON.parse(hit!.body) as { type: string; data: { decision: string; items: { articleId: string }[] } };
    expect(body.type).toBe('review.decided');
    expect(body.data.items.map((i) => i.articleId).sort()).toEqual([...ids].sort());
    expect(
      verifyWebhookSignature({ secret, body: hit!.body, timestamp: hit!.headers['x-slopguard-timestamp'] as string, signature: hit!.headers['x-slopguard-signature'] as string }),
    ).toEqual({ ok: true });
    // The repeated (idempotent) decision changed nothing and sent nothing.
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.filter((r) => r.path === '/decided')).toHaveLength(1);
  });

  it('retries a 500 with backoff, dead-letters after the limit, and an admin redrives it', async () => {
    const k = await tenantKeys();
    receiver.answer('/flaky', [500, 500, 200]);
    receiver.answer('/down', [500]);
    const flaky = await subscribe(k.admin, '/flaky', ['review.decided']);
    const down = await subscribe(k.admin, '/down', ['review.decided']);
    const [id] = await seed(env.ctx.db, k.tenant, [{ externalId: 'r1', accountId: 'a', verdict: 'flag', score: 0.9 }]);
    await env.request('POST', '/v1/review/decisions', { key: k.moderator, body: { articleIds: [id], decision: 'human' } });

    const delivered = await waitFor(async () => (await deliveries(k.admin, flaky.webhook.id)).find((d) => d.status === 'delivered'));
    expect(delivered).toMatchObject({ attempts: 3, lastStatusCode: 200 });
    expect(receiver.received.filter((r) => r.path === '/flaky')).toHaveLength(3);
    // Every attempt of one delivery carries the same delivery id (receivers dedupe on it).
    expect(new Set(receiver.received.filter((r) => r.path === '/flaky').map((r) => r.headers['x-slopguard-delivery'])).size).toBe(1);

    const [dead] = await waitFor(async () => {
      const d = await deliveries(k.admin, down.webhook.id, 'dead');
      return d.length > 0 && d;
    });
    expect(dead).toMatchObject({ attempts: 3, lastStatusCode: 500 });
    expect(receiver.received.filter((r) => r.path === '/down')).toHaveLength(3);
    const failedJobs = (await (await env.request('GET', '/v1/admin/queues/deliver/jobs?state=failed', { key: k.admin })).json()) as { jobs: { data: { deliveryId: string } }[] };
    expect(failedJobs.jobs.map((j) => j.data.deliveryId)).toContain(dead!.id);

    receiver.answer('/down', [200]);
    const redriven = await env.request('POST', `/v1/webhooks/${down.webhook.id}/deliveries/${dead!.id}/redrive`, { key: k.admin });
    expect(await redriven.json()).toEqual({ redriven: [dead!.id] });
    const after = await waitFor(async () => (await deliveries(k.admin, down.webhook.id)).find((d) => d.status === 'delivered'));
    expect(after.id).toBe(dead!.id);
    expect((await env.request('POST', `/v1/webhooks/${down.webhook.id}/deliveries/${dead!.id}/redrive`, { key: k.admin })).status).toBe(409);
  });

  it('re-queues a pending delivery whose job was lost', async () => {
    const k = await tenantKeys();
    const { webhook } = await subscribe(k.admin, '/lost', ['review.decided']);
    // A delivery row committed while Redis was unreachable: no job was ever queued.
    await env.ctx.db.query(
      `INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_type, event_id, payload, updated_at)
       VALUES ('dlv_lost', $1, $2, 'review.decided', 'evt-lost', '{"id":"evt-lost"}', now() - interval '1 hour')`,
      [k.tenant, webhook.id],
    );
    expect(await env.ctx.webhooks.requeueStale(60_000)).toBe(1);
    await waitFor(async () => (await deliveries(k.admin, webhook.id)).find((d) => d.id === 'dlv_lost' && d.status === 'delivered'));
    expect(await env.ctx.webhooks.requeueStale(60_000)).toBe(0);
  });

  it('never holds up scoring: a receiver that hangs does not delay the verdict', async () => {
    const k = await tenantKeys();
    await subscribe(k.admin, '/hang', ['article.scored']);
    const res = await env.request('POST', '/v1/articles', {
      key: k.submitter,
      body: { externalId: 'h1', accountId: 'h', text: 'A short note about the weather in the harbour town this morning, with rain expected later.' },
    });
    const { id } = (await res.json()) as { id: string };
    const started = Date.now();
    await waitFor(async () => ((await (await env.request('GET', `/v1/articles/${id}`, { key: k.submitter })).json()) as { status: string }).status === 'scored', 10_000);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('validates URLs, is for admins, and keeps webhooks inside their tenant', async () => {
    const k = await tenantKeys();
    const other = await tenantKeys();
    const bad = await env.request('POST', '/v1/webhooks', { key: k.admin, body: { url: 'http://10.0.0.5/hook', events: ['article.flagged'] } });
    expect(bad.status).toBe(422);
    expect((await env.request('POST', '/v1/webhooks', { key: k.admin, body: { url: 'http://169.254.169.254/', events: ['article.flagged'] } })).status).toBe(422);
    expect((await env.request('GET', '/v1/webhooks', { key: k.moderator })).status).toBe(403);
    expect((await env.request('GET', '/v1/admin/queues', { key: k.moderator })).status).toBe(403);
    const { webhook } = await subscribe(k.admin, '/iso', ['article.flagged']);
    const rotated = (await (await env.request('POST', `/v1/webhooks/${webhook.id}/rotate-secret`, { key: k.admin })).json()) as { secret: string };
    expect(rotated.secret).toMatch(/^whsec_/);
    const patched = await env.request('PATCH', `/v1/webhooks/${webhook.id}`, { key: k.admin, body: { active: false } });
    expect(((await patched.json()) as { active: boolean }).active).toBe(false);
    for (const [method, path, body] of [
      ['GET', `/v1/webhooks/${webhook.id}`],
      ['PATCH', `/v1/webhooks/${webhook.id}`, { active: true }],
      ['GET', `/v1/webhooks/${webhook.id}/deliveries`],
      ['POST', `/v1/webhooks/${webhook.id}/redrive`],
      ['POST', `/v1/webhooks/${webhook.id}/rotate-secret`],
      ['POST', `/v1/webhooks/${webhook.id}/deliveries/dlv_x/redrive`],
      ['DELETE', `/v1/webhooks/${webhook.id}`],
    ] as [string, string, unknown?][]) {
      const res = await env.request(method, path, { key: other.admin, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect(((await (await env.request('GET', '/v1/webhooks', { key: other.admin })).json()) as { webhooks: unknown[] }).webhooks).toHaveLength(0);
    const queues = (await (await env.request('GET', '/v1/admin/queues', { key: k.admin })).json()) as { queues: { name: string }[] };
    expect(queues.queues.map((q) => q.name)).toEqual(expect.arrayContaining(['score', 'deliver']));
    expect((await env.request('DELETE', `/v1/webhooks/${webhook.id}`, { key: k.admin })).status).toBe(204);
    expect((await env.request('GET', `/v1/webhooks/${webhook.id}`, { key: k.admin })).status).toBe(404);
  });
});
