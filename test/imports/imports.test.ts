import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

/** One generated NDJSON line: what it is and what the import must count it as. */
setFlagsFromString('--expose-gc');
/** A full collection, so samples measure what is live, not what the collector has not reached yet. */
const gc = runInNewContext('gc') as () => void;

type Kind = 'valid' | 'duplicate' | 'malformed' | 'invalid' | 'too_long' | 'blank';

const MAX_LINE = 4096;
const BASE_TIME = Date.parse('2019-03-01T00:00:00Z');

function lineOf(n: number, total: number): { kind: Kind; text: string } {
  if (n > total) {
    // A tail that repeats the first articles unchanged: duplicates, not new revisions.
    const i = n - total;
    return { kind: 'duplicate', text: articleLine(i) };
  }
  if (n % 1000 === 0) return { kind: 'malformed', text: `{"externalId": "bad-${n}", ` };
  if (n % 997 === 0) return { kind: 'invalid', text: JSON.stringify({ externalId: `inv-${n}`, accountId: 'a' }) };
  if (n % 5000 === 1 && n > 1) return { kind: 'blank', text: '   ' };
  if (n === 50_003) return { kind: 'too_long', text: JSON.stringify({ externalId: 'long', accountId: 'a', text: 'x'.repeat(MAX_LINE) }) };
  return { kind: 'valid', text: articleLine(n) };
}

function articleLine(n: number): string {
  return JSON.stringify({
    externalId: `e-${n}`,
    accountId: `acct-${n % 500}`,
    title: `第${n}篇`,
    text: `这是第${n}篇历史文章。${'今天下午三点,杭州市西湖区文三路的一家面馆里,老板一边擦桌子一边聊起了这二十年的变化。'}`,
    publishedAt: new Date(BASE_TIME + n * 60_000).toISOString(),
  });
}

/** The body is generated as it is read: the test holds no copy of it. */
function ndjsonStream(total: number, extra: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let n = 1;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (n > total + extra) return controller.close();
      let chunk = '';
      for (let i = 0; i < 200 && n <= total + extra; i++, n++) chunk += `${lineOf(n, total).text}\n`;
      controller.enqueue(encoder.encode(chunk));
    },
  });
}

function expected(total: number, extra: number) {
  const counts: Record<Kind, number> = { valid: 0, duplicate: 0, malformed: 0, invalid: 0, too_long: 0, blank: 0 };
  for (let n = 1; n <= total + extra; n++) counts[lineOf(n, total).kind]++;
  return counts;
}

interface ImportBody {
  id: string;
  status: string;
  linesRead: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  articles: number;
  scored: number;
  truncated: boolean;
  bytesRead: number;
  errorsStored: number;
  error: { code: string } | null;
}

describe('bulk NDJSON import', () => {
  let env: TestEnv;
  let key: string;
  beforeAll(async () => {
    env = await createTestEnv({ env: { IMPORT_MAX_LINE_BYTES: String(MAX_LINE), IMPORT_MAX_BYTES: String(64 * 1024 * 1024), IMPORT_MAX_STORED_ERRORS: '150' } });
    key = await env.keyFor('submitter');
  });
  afterAll(() => env.close());

  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    env.app.request('/v1/imports', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson', ...headers },
      body,
      // Node's fetch Request needs this for a streamed body.
      ...({ duplex: 'half' } as object),
    });

  it('imports 100k generated lines with exact counts, line-numbered errors and bounded memory', async () => {
    const total = 100_000;
    const extra = 100;
    const want = expected(total, extra);
    gc();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const sampler = setInterval(() => {
      gc();
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 1000);
    const started = Date.now();
    const res = await post(ndjsonStream(total, extra));
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    expect(res.status).toBe(202);
    const body = (await res.json()) as ImportBody;
    const rejected = want.malformed + want.invalid + want.too_long;
    expect(body).toMatchObject({
      status: 'completed',
      linesRead: total + extra - want.blank,
      accepted: want.valid,
      duplicates: want.duplicate,
      rejected,
      articles: want.valid,
      truncated: false,
      error: null,
      errorsStored: 150,
    });
    const heapGrowthMb = (peakHeap - before.heapUsed) / 2 ** 20;
    const rssGrowthMb = (peakRss - before.rss) / 2 ** 20;
    console.log(
      `import of ${total + extra} lines (${(body.bytesRead / 2 ** 20).toFixed(1)} MiB) in ${seconds.toFixed(1)} s: ` +
        `${Math.round((total + extra) / seconds)} lines/s; peak live heap +${heapGrowthMb.toFixed(1)} MiB, rss +${rssGrowthMb.toFixed(1)} MiB`,
    );
    // Live heap stays far below the body's size: it was never held whole.
    expect(body.bytesRead / 2 ** 20).toBeGreaterThan(20);
    expect(heapGrowthMb).toBeLessThan(16);

    // Errors carry physical line numbers (blank lines count) and are capped.
    const errors = (await (await env.request('GET', `/v1/imports/${body.id}/errors?limit=20`, { key })).json()) as {
      errors: { line: number; code: string }[];
      next: number | null;
    };
    expect(errors.errors[0]).toMatchObject({ line: 997, code: 'validation_failed' });
    expect(errors.errors[1]).toMatchObject({ line: 1000, code: 'malformed_json' });
    expect(errors.next).toBe(errors.errors[19]!.line);
    const all = await env.ctx.db.query<{ line: number; code: string }>('SELECT line, code FROM import_errors WHERE import_id = $1 ORDER BY line', [body.id]);
    expect(all).toHaveLength(150);

    // publishedAt is kept: account signals see when it was published.
    const article = await env.ctx.articles.getByExternalId('tenant-a', 'e-42');
    expect(article?.publishedAt?.toISOString()).toBe(new Date(BASE_TIME + 42 * 60_000).toISOString());
    // Scored on the low-priority queue, not the live one.
    expect(await env.ctx.queues.score.count()).toBe(0);
    expect(await env.ctx.queues.rescore.count()).toBe(want.valid);

    const view = (await (await env.request('GET', `/v1/imports/${body.id}`, { key })).json()) as ImportBody;
    expect(view).toMatchObject({ id: body.id, accepted: want.valid, scored: 0 });
  }, 300_000);

  it('re-importing the same lines changes nothing', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => articleLine(i + 1)).join('\n');
    const res = await post(gzipSync(lines), { 'content-encoding': 'gzip' });
    const body = (await res.json()) as ImportBody;
    expect(res.status).toBe(202);
    expect(body).toMatchObject({ status: 'completed', linesRead: 300, accepted: 0, duplicates: 300, rejected: 0 });
    const revisions = await env.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM articles WHERE revision > 1');
    expect(revisions[0]!.n).toBe(0);
  });

  it('a later line for the same article wins, also across chunks stored concurrently', async () => {
    const line = (id: string, text: string) => JSON.stringify({ externalId: id, accountId: 'a', text });
    const lines: string[] = [];
    for (let i = 0; i < 1500; i++) lines.push(line(`w-${i % 700}`, `版本${Math.floor(i / 700)}:第${i % 700}篇。`));
    const body = (await (await post(lines.join('\n'))).json()) as ImportBody;
    expect(body).toMatchObject({ linesRead: 1500, accepted: 1500, rejected: 0 });
    const rows = await env.ctx.db.query<{ externalId: string; revision: number; text: string }>(
      `SELECT external_id AS "externalId", revision, text FROM articles WHERE external_id IN ('w-0', 'w-99', 'w-100', 'w-699')`,
    );
    const byId = Object.fromEntries(rows.map((r) => [r.externalId, r]));
    expect(byId['w-0']).toMatchObject({ revision: 3, text: '版本2:第0篇。' });
    expect(byId['w-99']).toMatchObject({ revision: 3, text: '版本2:第99篇。' });
    expect(byId['w-100']).toMatchObject({ revision: 2, text: '版本1:第100篇。' });
    expect(byId['w-699']).toMatchObject({ revision: 2, text: '版本1:第699篇。' });
  });

  it('detects gzip by its magic bytes and reports per-line errors without stopping', async () => {
    const lines = ['{"externalId":"g1","accountId":"a","text":"一篇新文章。"}', 'nope', '{"externalId":"g2","accountId":"a","text":"另一篇。"}'].join('\r\n');
    const res = await post(gzipSync(lines), { 'content-type': 'application/gzip' });
    const body = (await res.json()) as ImportBody;
    expect(body).toMatchObject({ linesRead: 3, accepted: 2, rejected: 1 });
  });

  it('stops a gzip bomb at the decompressed limit: 413, the part before stays accepted', async () => {
    const small = await createTestEnv({ env: { IMPORT_MAX_BYTES: String(1024 * 1024) } });
    try {
      const k = await small.keyFor('submitter');
      const head = Array.from({ length: 50 }, (_, i) => articleLine(i + 1)).join('\n');
      // 256 MiB of newlines and spaces compress to about 256 KiB.
      const bomb = gzipSync(Buffer.concat([Buffer.from(`${head}\n`), Buffer.alloc(256 * 2 ** 20, ' \n')]), { level: 9 });
      expect(bomb.length).toBeLessThan(2 ** 20);
      const before = process.memoryUsage().rss;
      const started = Date.now();
      const res = await small.app.request('/v1/imports', {
        method: 'POST',
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
        body: bomb,
      });
      expect(res.status).toBe(413);
      const body = (await res.json()) as { error: { code: string; details: { import: ImportBody } } };
      expect(body.error.code).toBe('import_too_large');
      const imp = body.error.details.import;
      expect(imp).toMatchObject({ status: 'failed', truncated: true, accepted: 50, rejected: 0 });
      expect(imp.bytesRead).toBe(1024 * 1024);
      expect(Date.now() - started).toBeLessThan(5000);
      expect((process.memoryUsage().rss - before) / 2 ** 20).toBeLessThan(64);
      const again = (await (await small.request('GET', `/v1/imports/${imp.id}`, { key: k })).json()) as ImportBody;
      expect(again).toMatchObject({ status: 'failed', truncated: true, error: { code: 'import_too_large' } });
    } finally {
      await small.close();
    }
  }, 120_000);

  it('keeps what arrived before the client went away, and reports an import whose process died', async () => {
    const encoder = new TextEncoder();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 3) return controller.error(new Error('client aborted'));
        controller.enqueue(encoder.encode(`${Array.from({ length: 400 }, (_, i) => articleLine(10_000 + sent * 400 + i)).join('\n')}\n`));
        sent++;
      },
    });
    const { iterateStream } = await import('../../src/infra/ndjson.ts');
    await expect(env.ctx.imports.run({ tenantId: 'tenant-a', actor: 'test' }, iterateStream(body), { gzip: 'auto' })).rejects.toThrow('client aborted');
    const [row] = await env.ctx.db.query<{ id: string }>("SELECT id FROM imports WHERE actor = 'test'");
    const aborted = await env.ctx.imports.get('tenant-a', row!.id);
    expect(aborted).toMatchObject({ status: 'failed', linesRead: 1200, error: { code: 'interrupted' } });
    expect(aborted!.accepted + aborted!.duplicates).toBe(1200);

    await env.ctx.db.query("UPDATE imports SET status = 'running', error_code = NULL, updated_at = now() - interval '1 hour' WHERE id = $1", [row!.id]);
    expect(await env.ctx.imports.get('tenant-a', row!.id)).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
  });

  it('refuses other content types and needs a submitter or admin key', async () => {
    expect((await post('{}', { 'content-type': 'text/html' })).status).toBe(415);
    const moderator = await env.keyFor('moderator');
    const res = await env.request('POST', '/v1/imports', { key: moderator, raw: '{}', headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(403);
  });
});
