import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { seed } from '../review/seed.ts';

/**
 * Generated hostile values (NUL, lone surrogates, out-of-range dates, non-finite and huge
 * numbers, crafted cursors, deep and odd shapes) thrown at every route the app serves: into
 * every path parameter and every query parameter of the reads, and into every field (and new
 * keys) of a valid body of every write. Whatever comes back, it is not a 5xx. The routes are
 * read from the app itself, so a new route is covered (a write route without a body template
 * fails the first test until it gets one).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ARTICLE = {
  externalId: 'p-1',
  accountId: 'acct-1',
  text: '随着科技的不断发展,人工智能已经深刻地改变了我们的生活。',
  title: '标题',
  url: 'https://news.example/a',
  publishedAt: '2026-11-20T08:00:00+08:00',
  declaredAi: false,
  labels: ['news'],
  metadata: { source: 'rss', tags: ['a', 'b'], rank: 3, nested: { ok: true } },
};

const COMMENT: Json = {
  externalId: 'c-1',
  accountId: 'acct-2',
  articleExternalId: 'p-1',
  articleAccountId: 'acct-1',
  text: '写得真好，受益匪浅！',
  postedAt: '2026-11-20T08:03:00+08:00',
  declaredAi: false,
  metadata: { app: 'ios', rank: 1 },
};

/** A valid body per write route (null: the route reads no body). */
const TEMPLATES: Record<string, Json | 'ndjson'> = {
  'POST /v1/articles': ARTICLE,
  'POST /v1/batches': { articles: [ARTICLE, { ...ARTICLE, externalId: 'p-2' }] },
  'POST /v1/imports': 'ndjson',
  'POST /v1/review/claims': { articleIds: ['art_x'], leaseSeconds: 60 },
  'POST /v1/review/claims/release': { articleIds: ['art_x'] },
  'POST /v1/review/decisions': { articleIds: ['art_x'], decision: 'human', comment: 'looks human' },
  'POST /v1/webhooks': { url: 'http://127.0.0.1:9/hook', events: ['article.flagged'], description: 'd' },
  'PATCH /v1/webhooks/:id': { url: 'http://127.0.0.1:9/hook2', events: ['review.decided'], description: 'e', active: false },
  'DELETE /v1/webhooks/:id': null,
  'POST /v1/webhooks/:id/rotate-secret': null,
  'POST /v1/webhooks/:id/redrive': null,
  'POST /v1/webhooks/:id/deliveries/:deliveryId/redrive': null,
  'POST /v1/admin/queues/:name/jobs/:jobId/retry': null,
  'POST /v1/admin/keys': { role: 'submitter', name: 'n' },
  'POST /v1/admin/keys/:id/revoke': null,
  'POST /v1/rescans': {
    filter: { publishedFrom: '2020-01-01T00:00:00Z', receivedTo: '2030-01-01T00:00:00Z', accountIds: ['a'], verdicts: ['pass'], modelVersionNot: 'm' },
    dryRun: true,
  },
  'POST /v1/rescans/:id/pause': null,
  'POST /v1/rescans/:id/resume': null,
  'POST /v1/rescans/:id/cancel': null,
  'POST /v1/comments': COMMENT,
  'POST /v1/comments/batch': { comments: [COMMENT, { ...COMMENT, externalId: 'c-2', parentExternalId: 'c-1' }] },
  'POST /v1/comments/import': 'ndjson',
  'POST /v1/review/comments/decisions': { templateId: 'tpl_x', decision: 'confirm_ai', note: 'farm' },
};

/** Query parameters no route documents but some read; every read gets these too. */
const EXTRA_QUERY = ['after', 'limit', 'cursor', 'moderator', 'tenant', 'from', 'to', 'since', 'until', 'state', 'format'];

// ------------------------------------------------------------------ hostile values

const INF = { inf: 1 } as const;
const NEG_INF = { inf: -1 } as const;
type Value = Json | typeof INF | typeof NEG_INF | Value[] | { [key: string]: Value };

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\ud83d',
  '\uDBFF\uDFFF',
  '\u202e',
  '\ufeff',
  'null',
  '-1',
  '0',
  '1.5',
  '1e999999',
  '-1e999999',
  'NaN',
  'Infinity',
  '9'.repeat(400),
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '0050-06-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '2101-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '+275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01T00:00:00+99:99',
  "'; DROP TABLE articles; --",
  '../../etc/passwd',
  'toString',
  '__proto__',
  'constructor',
  '%00',
  'a,b,,c',
  'x'.repeat(5000),
  'art_01',
  'key_x',
  'score',
  'failed',
];
const utf16Units = fc
  .array(
    fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n)),
    { maxLength: 12 },
  )
  .map((a) => a.join(''));
const cursorOf = (values: unknown[]) => Buffer.from(JSON.stringify(values, (_k, v: unknown) => (v === INF ? 1e308 * 10 : v))).toString('base64url');

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: utf16Units },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.constantFrom(1e20, -1, 0.5, 2 ** 31, 1.5e308), fc.constant(null)), { maxLength: 4 })
      .map((a) => cursorOf(a)),
  },
);
const hostileNumber: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom<Value>(INF, NEG_INF, 1e308, -1e308, 2 ** 53 + 2, 2 ** 31, -(2 ** 31) - 1, -1, 0, 0.5, 1.5, 86_401, 1e-320),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const { value: hostileValue } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 3 }),
  ),
}));

/** JSON text that may hold what JSON.stringify cannot write: 1e999999 (Infinity once parsed). */
function toJson(v: Value): string {
  if (v === INF) return '1e999999';
  if (v === NEG_INF) return '-1e999999';
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Every place in a value: the paths of all its nodes. */
function paths(v: Value, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object' && v !== INF && v !== NEG_INF) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

type Mutation = { kind: 'replace' | 'addKey' | 'delete'; pick: number; key: string; value: Value };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<Mutation['kind']>('replace', 'replace', 'replace', 'addKey', 'delete'),
  pick: fc.nat(),
  key: hostileString,
  value: hostileValue,
});

function mutate(template: Value, mutations: Mutation[]): Value {
  let doc = structuredClone(template) as Value;
  for (const m of mutations) {
    const all = paths(doc);
    const target = all[m.pick % all.length]!;
    if (target.length === 0) {
      if (m.kind === 'replace') doc = m.value;
      continue;
    }
    let parent = doc as Record<string | number, Value>;
    for (const step of target.slice(0, -1)) parent = parent[step] as Record<string | number, Value>;
    const last = target[target.length - 1]!;
    if (m.kind === 'replace') parent[last] = m.value;
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      const node = parent[last];
      if (node !== null && typeof node === 'object' && !Array.isArray(node) && node !== INF && node !== NEG_INF) (node as Record<string, Value>)[m.key] = m.value;
    }
  }
  return doc;
}

/** Percent-encodes like a client would, lone surrogates included (as their WTF-8 bytes). */
function encode(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff)
      out += `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    else out += encodeURIComponent(ch);
  }
  return out;
}

// ------------------------------------------------------------------ the routes

describe('hostile values at every route: never a 5xx', () => {
  let env: TestEnv;
  let admin: string;
  let routes: { method: string; path: string }[];
  let documentedQuery: Map<string, string[]>;
  let realIds: string[] = [];
  beforeAll(async () => {
    env = await createTestEnv({ env: { WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    admin = await env.keyFor('admin');
    // Real resources, so a request that names one gets past "not found" into the deeper code.
    const json = async (method: string, url: string, body: unknown, raw?: string) =>
      (await (
        await env.request(method, url, raw === undefined ? { key: admin, body } : { key: admin, raw, headers: { 'content-type': 'application/x-ndjson' } })
      ).json()) as Record<string, unknown>;
    const article = await json('POST', '/v1/articles', ARTICLE);
    const batch = await json('POST', '/v1/batches', { articles: [{ ...ARTICLE, externalId: 'p-3' }] });
    const imported = await json('POST', '/v1/imports', undefined, `${JSON.stringify({ ...ARTICLE, externalId: 'p-4' })}\n{broken\n`);
    const webhook = await json('POST', '/v1/webhooks', TEMPLATES['POST /v1/webhooks']);
    const rescan = await json('POST', '/v1/rescans', { filter: {}, dryRun: false });
    const submitterKey = await env.ctx.keys.create('tenant-a', 'submitter');
    const seeded = await seed(
      env.ctx.db,
      'tenant-a',
      [
        { externalId: 's-1', accountId: 'acct-1', verdict: 'flag', score: 0.9 },
        { externalId: 's-2', accountId: 'acct-2', verdict: 'review', score: 0.6 },
      ],
      { batchId: 'bat_seeded', clusterId: 'cl_seeded' },
    );
    realIds = [
      article.id,
      batch.batchId,
      imported.id,
      (webhook.webhook as { id?: string } | undefined)?.id,
      rescan.id,
      submitterKey.keyId,
      ...seeded,
      'bat_seeded',
      'cl_seeded',
      'acct-1',
      'score',
      'rescore',
      'deliver',
    ].filter((x): x is string => typeof x === 'string');
    expect(realIds).toHaveLength(14);
    const seen = new Set<string>();
    routes = env.app.routes
      .filter((r) => r.path.startsWith('/v1/') && r.method !== 'ALL')
      .filter((r) => !seen.has(`${r.method} ${r.path}`) && Boolean(seen.add(`${r.method} ${r.path}`)))
      .map((r) => ({ method: r.method, path: r.path }));
    const doc = env.app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    documentedQuery = new Map();
    for (const [p, item] of Object.entries(doc.paths ?? {})) {
      for (const [method, op] of Object.entries(item as Record<string, { parameters?: { in: string; name: string }[] }>)) {
        const names = (op.parameters ?? []).filter((x) => x.in === 'query').map((x) => x.name);
        documentedQuery.set(`${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`, names);
      }
    }
  });
  afterAll(() => env.close());

  it('knows a body for every write route the app serves', () => {
    const writes = routes.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    expect(writes.length).toBeGreaterThan(15);
    expect(writes.filter((w) => !(w in TEMPLATES))).toEqual([]);
  });

  // Thrown, so fast-check's report names the request and the answer.
  const check = async (label: string, res: Response) => {
    if (res.status >= 500) throw new Error(`${label} -> ${res.status} ${(await res.text()).slice(0, 300)}`);
    await res.body?.cancel();
  };
  const pathArb = (path: string) => {
    const names = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    return fc.tuple(...names.map(() => fc.oneof({ weight: 1, arbitrary: hostileString }, { weight: 2, arbitrary: fc.constantFrom(...realIds) })));
  };
  const fill = (path: string, values: string[]) => {
    let i = 0;
    return path.replace(/:(\w+)/g, () => encode(values[i++] ?? 'x') || 'x');
  };

  it('reads: hostile path and query parameters', async () => {
    const reads = routes.filter((r) => r.method === 'GET');
    expect(reads.length).toBeGreaterThan(20);
    for (const route of reads) {
      const names = [...new Set([...(documentedQuery.get(`GET ${route.path}`) ?? []), ...EXTRA_QUERY])];
      await fc.assert(
        fc.asyncProperty(pathArb(route.path), fc.dictionary(fc.constantFrom(...names), hostileString, { maxKeys: 4 }), async (params, query) => {
          const qs = Object.entries(query)
            .map(([k, v]) => `${k}=${encode(v)}`)
            .join('&');
          const url = `${fill(route.path, params)}${qs ? `?${qs}` : ''}`;
          return check(`GET ${url}`, await env.request('GET', url, { key: admin }));
        }),
        { numRuns: 60 },
      );
    }
  }, 300_000);

  /** The real resource a path names, by the collection before each parameter. */
  const realPath = (path: string) =>
    path.replace(/([^/]*)\/:(\w+)/g, (_m, collection: string, name: string) => {
      const prefix = { imports: 'imp_', webhooks: 'whk_', rescans: 'rsc_', articles: 'art_', batches: 'bat_', clusters: 'cl_', accounts: 'acct', keys: 'key_', queues: 'score' }[
        collection
      ];
      const id = (prefix && realIds.find((x) => x.startsWith(prefix))) ?? (name === 'name' ? 'score' : 'x1');
      return `${collection}/${encodeURIComponent(id)}`;
    });

  it('reads: every query parameter of every read, each hostile constant, on a real resource', async () => {
    let sent = 0;
    for (const route of routes.filter((r) => r.method === 'GET')) {
      const path = realPath(route.path);
      // Documented parameters, and those some handlers read without documenting them.
      for (const name of new Set([...(documentedQuery.get(`GET ${route.path}`) ?? []), 'after', 'limit', 'moderator', 'tenant'])) {
        await Promise.all(
          HOSTILE_STRINGS.map(async (value) => {
            await check(`GET ${path}?${name}=${value.slice(0, 40)}`, await env.request('GET', `${path}?${name}=${encode(value)}`, { key: admin }));
            sent++;
          }),
        );
      }
    }
    expect(sent).toBeGreaterThan(3000);
  }, 300_000);

  it('writes: hostile values in every field of a valid body, and hostile path parameters', async () => {
    for (const route of routes.filter((r) => r.method !== 'GET')) {
      const template = TEMPLATES[`${route.method} ${route.path}`];
      await fc.assert(
        fc.asyncProperty(pathArb(route.path), fc.array(mutation, { minLength: 0, maxLength: 3 }), fc.array(mutation, { maxLength: 2 }), async (params, m1, m2) => {
          const url = fill(route.path, params);
          const label = `${route.method} ${url}`;
          if (template === null || template === undefined) return check(label, await env.request(route.method, url, { key: admin }));
          if (template === 'ndjson') {
            const lines = [toJson(mutate(ARTICLE, m1)), toJson(mutate({ ...ARTICLE, externalId: 'p-2' }, m2)), toJson(ARTICLE)];
            const raw = `${lines.join('\n')}\n`;
            return check(`${label} ${raw.slice(0, 300)}`, await env.request('POST', url, { key: admin, raw, headers: { 'content-type': 'application/x-ndjson' } }));
          }
          const raw = toJson(mutate(template, m1));
          return check(`${label} ${raw.slice(0, 300)}`, await env.request(route.method, url, { key: admin, raw, headers: { 'content-type': 'application/json' } }));
        }),
        { numRuns: 60 },
      );
    }
  }, 300_000);
});
