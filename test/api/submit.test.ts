import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, TEST_REDIS_CLUSTER_URL, TEST_REDIS_URL, type TestEnv } from '../helpers/context.ts';

const article = (over: Record<string, unknown> = {}) => ({
  externalId: 'ext-1',
  accountId: 'acct-1',
  text: '今天上午,市民王女士在杭州市富阳区便民中心办理了不动产证,她说:“十多年办不下来的证终于办好了。”',
  ...over,
});

describe('submitting articles', () => {
  let env: TestEnv;
  let submitter: string;
  beforeAll(async () => {
    env = await createTestEnv({ env: { MAX_BODY_BYTES: '65536', MAX_TEXT_CHARS: '5000', MAX_BATCH_ITEMS: '5' } });
    submitter = await env.keyFor('submitter');
  });
  afterAll(() => env.close());

  it('answers 202 with an id, and stores a queued row with a job in the queue', async () => {
    const res = await env.request('POST', '/v1/articles', { key: submitter, body: article() });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string; revision: number; changed: boolean };
    expect(body).toMatchObject({ status: 'queued', revision: 1, changed: true });
    const job = await env.ctx.queues.score.getJob(`score-${body.id}-r1`);
    expect(job?.data).toMatchObject({ articleId: body.id, revision: 1, trigger: 'live' });
    const got = await env.request('GET', `/v1/articles/${body.id}`, { key: submitter });
    expect(got.status).toBe(200);
    expect(await got.json()).toMatchObject({ id: body.id, externalId: 'ext-1', status: 'queued', lang: 'zh', result: null });
  });

  it('treats an unchanged resubmission as a no-op and a changed one as a new revision', async () => {
    const first = (await (await env.request('POST', '/v1/articles', { key: submitter, body: article({ externalId: 'same' }) })).json()) as { id: string };
    const again = await env.request('POST', '/v1/articles', { key: submitter, body: article({ externalId: 'same', metadata: { x: 1 } }) });
    expect(await again.json()).toMatchObject({ id: first.id, revision: 1, changed: false });
    // Invisible characters do not make new content: the text is normalised before hashing.
    const invisible = await env.request('POST', '/v1/articles', {
      key: submitter,
      body: article({ externalId: 'same', text: article().text.replace('市民', '市\u200B民') }),
    });
    expect(await invisible.json()).toMatchObject({ id: first.id, changed: false });
    const changed = await env.request('POST', '/v1/articles', { key: submitter, body: article({ externalId: 'same', text: '完全不同的一篇文章内容。' }) });
    expect(await changed.json()).toMatchObject({ id: first.id, revision: 2, changed: true, status: 'queued' });
    expect(await env.ctx.queues.score.getJob(`score-${first.id}-r2`)).toBeTruthy();
    const byExternal = await env.request('GET', '/v1/articles/by-external-id/same', { key: submitter });
    expect(await byExternal.json()).toMatchObject({ id: first.id, revision: 2 });
  });

  it('coalesces concurrent single submissions without mixing them up', async () => {
    const sends = Array.from({ length: 120 }, (_, i) =>
      env.request('POST', '/v1/articles', { key: submitter, body: article({ externalId: `c-${i % 100}`, text: `第${i % 100}篇:${article().text}` }) }),
    );
    const responses = await Promise.all(sends);
    const answers = (await Promise.all(responses.map(async (r) => ({ http: r.status, ...((await r.json()) as { id: string; externalId: string }) })))) as {
      http: number;
      id: string;
      externalId: string;
    }[];
    expect(answers.filter((a) => a.http !== 202)).toEqual([]);
    // The same externalId sent twice at once names one article.
    const idsByExternal = new Map<string, Set<string>>();
    for (const a of answers) idsByExternal.set(a.externalId, (idsByExternal.get(a.externalId) ?? new Set()).add(a.id));
    expect(idsByExternal.size).toBe(100);
    expect([...idsByExternal.values()].every((ids) => ids.size === 1)).toBe(true);
    const rows = await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE external_id LIKE 'c-%'");
    expect(rows[0]!.n).toBe(100);
  });

  it('accepts a batch, reports per-index errors, and counts progress', async () => {
    const res = await env.request('POST', '/v1/batches', {
      key: submitter,
      body: {
        articles: [
          article({ externalId: 'b1' }),
          { externalId: 'b2' },
          article({ externalId: 'b3', text: 'x'.repeat(6000) }),
          article({ externalId: 'b1', text: '重复' }),
          article({ externalId: 'b4', text: 'Short English text about the council meeting on Tuesday.' }),
        ],
      },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { batchId: string; accepted: { index: number }[]; errors: { index: number; code: string }[] };
    expect(body.accepted.map((a) => a.index)).toEqual([0, 4]);
    expect(body.errors.map((e) => [e.index, e.code])).toEqual([
      [1, 'validation_failed'],
      [2, 'text_too_long'],
      [3, 'duplicate_in_batch'],
    ]);
    const batch = await env.request('GET', `/v1/batches/${body.batchId}`, { key: submitter });
    expect(await batch.json()).toMatchObject({ total: 5, accepted: 2, rejected: 3, byStatus: { queued: 2 }, progress: 0 });
  });

  it('refuses a batch over the item limit with 413', async () => {
    const res = await env.request('POST', '/v1/batches', {
      key: submitter,
      body: { articles: Array.from({ length: 6 }, (_, i) => article({ externalId: `many-${i}` })) },
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  const badInputs: [string, () => Promise<Response>, number, string][] = [
    [
      'malformed JSON',
      () => env.request('POST', '/v1/articles', { key: submitter, raw: '{"externalId": ', headers: { 'content-type': 'application/json' } }),
      400,
      'malformed_json',
    ],
    ['truncated JSON', () => env.request('POST', '/v1/articles', { key: submitter, raw: '[', headers: { 'content-type': 'application/json' } }), 400, 'malformed_json'],
    [
      'invalid UTF-8',
      () => env.request('POST', '/v1/articles', { key: submitter, raw: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_utf8',
    ],
    ['wrong content type', () => env.request('POST', '/v1/articles', { key: submitter, raw: 'hello', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type'],
    ['missing fields', () => env.request('POST', '/v1/articles', { key: submitter, body: { text: 'hi' } }), 422, 'validation_failed'],
    ['wrong types', () => env.request('POST', '/v1/articles', { key: submitter, body: article({ declaredAi: 'yes' }) }), 422, 'validation_failed'],
    ['extra fields', () => env.request('POST', '/v1/articles', { key: submitter, body: article({ score: 0 }) }), 422, 'validation_failed'],
    [
      'lone surrogate',
      () =>
        env.request('POST', '/v1/articles', {
          key: submitter,
          raw: '{"externalId":"s","accountId":"a","text":"bad \\ud800 text"}',
          headers: { 'content-type': 'application/json' },
        }),
      422,
      'validation_failed',
    ],
    ['whitespace-only text', () => env.request('POST', '/v1/articles', { key: submitter, body: article({ text: ' \n\u200B\t ' }) }), 422, 'validation_failed'],
    [
      'deeply nested metadata',
      () => env.request('POST', '/v1/articles', { key: submitter, body: article({ metadata: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } }) }),
      422,
      'validation_failed',
    ],
    ['text over the limit', () => env.request('POST', '/v1/articles', { key: submitter, body: article({ text: '长'.repeat(5001) }) }), 413, 'text_too_long'],
    ['body over the limit', () => env.request('POST', '/v1/articles', { key: submitter, body: article({ text: 'a'.repeat(70_000) }) }), 413, 'payload_too_large'],
    ['control characters in ids', () => env.request('POST', '/v1/articles', { key: submitter, body: article({ externalId: 'a\u0000b' }) }), 422, 'validation_failed'],
    ['no key', () => env.request('POST', '/v1/articles', { body: article() }), 401, 'unauthorized'],
    ['a wrong key', () => env.request('POST', '/v1/articles', { key: 'sg_not-a-real-key', body: article() }), 401, 'unauthorized'],
    ['unknown route', () => env.request('GET', '/v1/nothing-here', { key: submitter }), 404, 'not_found'],
  ];
  it.each(badInputs)('answers %s with the error contract', async (_name, send, status, code) => {
    const res = await send();
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body.error.requestId.length).toBeGreaterThan(0);
  });

  it('gives field paths for schema violations', async () => {
    const res = await env.request('POST', '/v1/articles', { key: submitter, body: { externalId: 'x', accountId: 5, text: 'hi' } });
    const body = (await res.json()) as { error: { details: { path: string }[] } };
    expect(body.error.details.map((d) => d.path)).toContain('accountId');
  });

  it('forbids moderators from submitting and lets them read', async () => {
    const moderator = await env.keyFor('moderator');
    const res = await env.request('POST', '/v1/articles', { key: moderator, body: article({ externalId: 'mod' }) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });

  it('answers 404, not 403, for another tenant’s article and batch', async () => {
    const mine = (await (await env.request('POST', '/v1/articles', { key: submitter, body: article({ externalId: 'private' }) })).json()) as { id: string };
    const other = await env.keyFor('admin', 'tenant-b');
    expect((await env.request('GET', `/v1/articles/${mine.id}`, { key: other })).status).toBe(404);
    expect((await env.request('GET', '/v1/articles/by-external-id/private', { key: other })).status).toBe(404);
    // The same externalId in another tenant is another article.
    const theirs = (await (await env.request('POST', '/v1/articles', { key: other, body: article({ externalId: 'private' }) })).json()) as { id: string };
    expect(theirs.id).not.toBe(mine.id);
  });

  it('refuses a revoked key at once', async () => {
    const created = await env.ctx.keys.create('tenant-a', 'submitter');
    expect((await env.request('GET', '/v1/articles/by-external-id/ext-1', { key: created.key })).status).toBe(200);
    await env.ctx.keys.revoke(created.keyId);
    expect((await env.request('GET', '/v1/articles/by-external-id/ext-1', { key: created.key })).status).toBe(401);
  });

  it('serves health, readiness, metrics, the OpenAPI document and a local docs page', async () => {
    expect((await env.request('GET', '/healthz')).status).toBe(200);
    const ready = (await (await env.request('GET', '/readyz')).json()) as { checks: Record<string, { ok: boolean }> };
    expect(ready.checks.redis?.ok).toBe(true);
    expect(ready.checks.database?.ok).toBe(true);
    const metrics = await (await env.request('GET', '/metrics')).text();
    expect(metrics).toContain('slopguard_http_request_duration_seconds');
    expect(metrics).toContain('slopguard_queue_depth');
    const doc = (await (await env.request('GET', '/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/articles', '/v1/articles/{id}', '/v1/batches', '/v1/batches/{id}']));
    const docsRes = await env.request('GET', '/docs');
    expect(docsRes.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(docsRes.headers.get('x-frame-options')).toBe('DENY');
    expect(docsRes.headers.get('x-content-type-options')).toBe('nosniff');
    const docs = await docsRes.text();
    // Nothing loaded from elsewhere, no inline code.
    expect(docs).not.toMatch(/<script|<style|(src|href)="https?:/);
  });
});

describe.each([
  ['single', TEST_REDIS_URL],
  ['cluster', TEST_REDIS_CLUSTER_URL],
])('rate limiting on %s Redis', (_kind, redisUrl) => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ redisUrl, env: { RATE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(() => env.close());

  it('answers 429 with Retry-After past the per-key limit', async () => {
    const key = await env.keyFor('submitter');
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await env.request('GET', '/v1/articles/by-external-id/none', { key });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    // Another key has its own budget.
    expect((await env.request('GET', '/v1/articles/by-external-id/none', { key: await env.keyFor('submitter') })).status).toBe(404);
  });

  it('counts concurrent requests exactly: they share a Redis increment, each keeps its own count', async () => {
    const keys = [await env.keyFor('submitter'), await env.keyFor('submitter')];
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => env.request('GET', '/v1/articles/by-external-id/none', { key: keys[i % 2]! })));
    for (const key of keys) {
      const mine = answers.filter((_, i) => keys[i % 2] === key);
      expect(mine.map((r) => r.status).sort()).toEqual([404, 404, 404, 429, 429]);
      expect(mine.map((r) => r.headers.get('ratelimit-remaining')).sort()).toEqual(['0', '0', '0', '1', '2']);
    }
  });
});
