import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

/**
 * Values the database would refuse (NUL, lone surrogates, years outside its range,
 * non-finite numbers) are refused by validation with 422 and a field path, wherever they
 * arrive: one article, a batch item, an import line, a filter. A refusal by the database
 * itself loses only its own item.
 */

const valid = { externalId: 'ok', accountId: 'acct', text: '一篇正常的文章。' };

type Hostile = { name: string; raw: string; path: string };
/** Raw JSON article bodies: `\\ud800` and `1e999999` cannot be written with JSON.stringify. */
const hostileArticles: Hostile[] = [
  { name: 'a lone surrogate in a metadata key', raw: '{"externalId":"h1","accountId":"a","text":"t","metadata":{"k\\ud800":1}}', path: 'metadata.k\ud800' },
  { name: 'a lone surrogate in a metadata value', raw: '{"externalId":"h2","accountId":"a","text":"t","metadata":{"k":"v\\udc00"}}', path: 'metadata.k' },
  { name: 'NUL in a nested metadata value', raw: '{"externalId":"h3","accountId":"a","text":"t","metadata":{"a":[{"b":"x\\u0000y"}]}}', path: 'metadata.a.0.b' },
  { name: 'a metadata number 1e999999', raw: '{"externalId":"h4","accountId":"a","text":"t","metadata":{"n":1e999999}}', path: 'metadata.n' },
  { name: 'publishedAt in year 0', raw: '{"externalId":"h5","accountId":"a","text":"t","publishedAt":"0000-01-01T00:00:00Z"}', path: 'publishedAt' },
  { name: 'publishedAt in year 1', raw: '{"externalId":"h6","accountId":"a","text":"t","publishedAt":"0001-01-01T00:00:00Z"}', path: 'publishedAt' },
  { name: 'publishedAt in year 50', raw: '{"externalId":"h7","accountId":"a","text":"t","publishedAt":"0050-06-01T00:00:00Z"}', path: 'publishedAt' },
  { name: 'publishedAt before 1970', raw: '{"externalId":"h8","accountId":"a","text":"t","publishedAt":"1969-12-31T23:59:59Z"}', path: 'publishedAt' },
  { name: 'publishedAt after 2100', raw: '{"externalId":"h9","accountId":"a","text":"t","publishedAt":"2101-01-01T00:00:00Z"}', path: 'publishedAt' },
  { name: 'NUL in a URL', raw: '{"externalId":"h10","accountId":"a","text":"t","url":"https://x.example/a\\u0000b"}', path: 'url' },
  { name: 'NUL in a label', raw: '{"externalId":"h11","accountId":"a","text":"t","labels":["a\\u0000"]}', path: 'labels.0' },
];

interface ErrorBody {
  error: { code: string; details?: { path: string }[] };
}

describe('hostile values are refused before the database', () => {
  let env: TestEnv;
  let submitter: string;
  let admin: string;
  beforeAll(async () => {
    env = await createTestEnv();
    submitter = await env.keyFor('submitter');
    admin = await env.keyFor('admin');
  });
  afterAll(() => env.close());

  const post = (path: string, raw: string, key = submitter, type = 'application/json') => env.request('POST', path, { key, raw, headers: { 'content-type': type } });

  it.each(hostileArticles)('one article: $name -> 422 at $path', async (c) => {
    const res = await post('/v1/articles', c.raw);
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.details?.map((d) => d.path)).toContain(c.path);
  });

  it('a batch: each hostile item is listed by index, the good ones are stored', async () => {
    const raw = `{"articles":[${JSON.stringify({ ...valid, externalId: 'b-good-1' })},${hostileArticles.map((h) => h.raw).join(',')},${JSON.stringify({ ...valid, externalId: 'b-good-2' })}]}`;
    const res = await post('/v1/batches', raw);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: { index: number }[]; errors: { index: number; code: string }[] };
    expect(body.accepted.map((a) => a.index)).toEqual([0, hostileArticles.length + 1]);
    expect(body.errors.map((e) => e.index)).toEqual(hostileArticles.map((_, i) => i + 1));
    expect(new Set(body.errors.map((e) => e.code))).toEqual(new Set(['validation_failed']));
  });

  it('a batch whose every item is refused is still recorded, with every item listed', async () => {
    const res = await post(
      '/v1/batches',
      `{"articles":[${hostileArticles
        .slice(0, 3)
        .map((h) => h.raw)
        .join(',')}]}`,
    );
    expect(res.status).toBe(202);
    const body = (await res.json()) as { batchId: string; accepted: unknown[]; errors: { index: number }[] };
    expect(body.accepted).toEqual([]);
    expect(body.errors.map((e) => e.index)).toEqual([0, 1, 2]);
    const batch = (await (await env.request('GET', `/v1/batches/${body.batchId}`, { key: submitter })).json()) as { total: number; rejected: number };
    expect(batch).toMatchObject({ total: 3, rejected: 3 });
  });

  it('an import: hostile lines are counted and listed, the good lines are stored', async () => {
    const lines = [JSON.stringify({ ...valid, externalId: 'i-good-1' }), ...hostileArticles.map((h) => h.raw), JSON.stringify({ ...valid, externalId: 'i-good-2' })];
    const res = await post('/v1/imports', `${lines.join('\n')}\n`, submitter, 'application/x-ndjson');
    expect(res.status).toBe(202);
    const view = (await res.json()) as { id: string; status: string; accepted: number; rejected: number };
    expect(view).toMatchObject({ status: 'completed', accepted: 2, rejected: hostileArticles.length });
    const errors = (await (await env.request('GET', `/v1/imports/${view.id}/errors`, { key: submitter })).json()) as { errors: { line: number; code: string }[] };
    expect(errors.errors.map((e) => e.line)).toEqual(hostileArticles.map((_, i) => i + 2));
  });

  it('dates at both ends of the range are stored and read back unchanged', async () => {
    for (const [externalId, publishedAt, expected] of [
      ['d-min', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
      ['d-max', '2100-12-31T23:59:59Z', '2100-12-31T23:59:59.000Z'],
      ['d-offset', '2026-11-20T08:00:00+08:00', '2026-11-20T00:00:00.000Z'],
    ] as const) {
      expect((await post('/v1/articles', JSON.stringify({ ...valid, externalId, publishedAt }))).status).toBe(202);
      const view = (await (await env.request('GET', `/v1/articles/by-external-id/${externalId}`, { key: submitter })).json()) as { publishedAt: string };
      expect(view.publishedAt).toBe(expected);
    }
  });

  it.each([
    ['/v1/review/queue?from=0000-01-01T00:00:00Z', 'from'],
    ['/v1/review/queue?to=2101-01-01T00:00:00Z', 'to'],
    ['/v1/review/queue?account=a%00b', 'account'],
    ['/v1/review/export?since=0001-01-01T00:00:00Z', 'since'],
    ['/v1/review/accounts/a%00b', null],
    ['/v1/imports/imp_x/errors?after=1.5', 'after'],
    ['/v1/imports/imp_x/errors?after=1e999999', 'after'],
    ['/v1/audit?actor=x%00', 'actor'],
    ['/v1/clusters?cursor=' + Buffer.from(JSON.stringify(['0000-01-01T00:00:00Z', 'c'])).toString('base64url'), null],
    ['/v1/review/queue?cursor=' + Buffer.from(JSON.stringify([0.5, 1e20, 'x'])).toString('base64url'), 'cursor'],
  ])('filter %s -> 422', async (path, field) => {
    const res = await env.request('GET', path, { key: admin });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('validation_failed');
    if (field) expect(body.error.details?.map((d) => d.path).join(' ')).toContain(field);
  });

  it.each(['toString', '__proto__', 'constructor'])('queue named %s is 404, not an inherited member', async (name) => {
    const res = await env.request('GET', `/v1/admin/queues/${name}/jobs`, { key: admin });
    expect(res.status).toBe(404);
  });

  it.each(['publishedFrom', 'publishedTo', 'receivedFrom', 'scoredBefore'])('rescan filter %s in year 0 -> 422', async (field) => {
    const res = await post('/v1/rescans', JSON.stringify({ filter: { [field]: '0000-01-01T00:00:00Z' }, dryRun: true }), admin);
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.details?.map((d) => d.path)).toContain(`filter.${field}`);
  });
});

describe('a row the database refuses loses only itself', () => {
  let env: TestEnv;
  let submitter: string;
  beforeAll(async () => {
    env = await createTestEnv();
    submitter = await env.keyFor('submitter');
    // A refusal validation cannot foresee (a constraint added by an operator, a trigger):
    // any article whose externalId starts with "poison".
    await env.ctx.db.exec(`
      CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.external_id LIKE 'poison%' THEN RAISE EXCEPTION 'refused by test trigger' USING ERRCODE = '23514'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON articles FOR EACH ROW EXECUTE FUNCTION refuse_poison();`);
  });
  afterAll(() => env.close());

  it('a batch stores every other item and lists the refused one', async () => {
    const articles = ['p-1', 'poison-1', 'p-2', 'p-3'].map((externalId) => ({ ...valid, externalId }));
    const res = await env.request('POST', '/v1/batches', { key: submitter, body: { articles } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { batchId: string; accepted: { index: number }[]; errors: { index: number; code: string }[] };
    expect(body.accepted.map((a) => a.index)).toEqual([0, 2, 3]);
    expect(body.errors).toEqual([expect.objectContaining({ index: 1, code: 'not_stored' })]);
    const batch = (await (await env.request('GET', `/v1/batches/${body.batchId}`, { key: submitter })).json()) as { total: number; accepted: number; rejected: number };
    expect(batch).toMatchObject({ total: 4, accepted: 3, rejected: 1 });
  });

  it('an import stores every other line and lists the refused one', async () => {
    const lines = ['q-1', 'q-2', 'poison-2', 'q-3'].map((externalId) => JSON.stringify({ ...valid, externalId }));
    const res = await env.request('POST', '/v1/imports', { key: submitter, raw: `${lines.join('\n')}\n`, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(202);
    const view = (await res.json()) as { id: string; status: string; accepted: number; rejected: number; linesRead: number };
    expect(view).toMatchObject({ status: 'completed', linesRead: 4, accepted: 3, rejected: 1 });
    const errors = (await (await env.request('GET', `/v1/imports/${view.id}/errors`, { key: submitter })).json()) as { errors: { line: number; code: string }[] };
    expect(errors.errors).toEqual([expect.objectContaining({ line: 3, code: 'not_stored' })]);
  });

  it('concurrent single submissions: only the refused one fails', async () => {
    const ids = ['s-1', 's-2', 'poison-3', 's-4', 's-5'];
    const answers = await Promise.all(ids.map((externalId) => env.request('POST', '/v1/articles', { key: submitter, body: { ...valid, externalId } })));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((_, i) => i !== 2)).toEqual([202, 202, 202, 202]);
    expect(statuses[2]).not.toBe(202);
    const stored = await env.ctx.db.query<{ external_id: string }>("SELECT external_id FROM articles WHERE external_id LIKE 's-%' ORDER BY 1");
    expect(stored.map((r) => r.external_id)).toEqual(['s-1', 's-2', 's-4', 's-5']);
  });
});
