import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';

/**
 * The bad-input corpus: every case gets a clear 4xx with a stable code, or is accepted and
 * stored verbatim (hostile-looking text is data, not a threat); none crashes the process or
 * corrupts what is stored. Grows with every bug.
 */

const valid = { externalId: 'ok', accountId: 'acct', text: '一篇正常的文章。' };
const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

type Case = { name: string; body?: unknown; raw?: string | Uint8Array; type?: string; status: number; code?: string };

const rejected: Case[] = [
  { name: 'empty body', raw: '', status: 400, code: 'malformed_json' },
  { name: 'truncated JSON', raw: '{"externalId":"a","accountId":"b","text":"c"', status: 400, code: 'malformed_json' },
  { name: 'JSON with trailing garbage', raw: '{"externalId":"a"} xyz', status: 400, code: 'malformed_json' },
  { name: 'a JSON array', body: [valid], status: 422, code: 'validation_failed' },
  { name: 'JSON null', raw: 'null', status: 422, code: 'validation_failed' },
  { name: 'a number for a string', body: { ...valid, externalId: 12 }, status: 422, code: 'validation_failed' },
  { name: 'a huge number', raw: '{"externalId":1e309,"accountId":"a","text":"b"}', status: 422, code: 'validation_failed' },
  { name: 'a date far out of range', body: { ...valid, publishedAt: '99999-01-01T00:00:00Z' }, status: 422, code: 'validation_failed' },
  { name: 'a date without a time zone', body: { ...valid, publishedAt: '2026-01-01 10:00' }, status: 422, code: 'validation_failed' },
  { name: 'an over-long externalId', body: { ...valid, externalId: 'x'.repeat(300) }, status: 422, code: 'validation_failed' },
  { name: 'an over-long title', body: { ...valid, title: 't'.repeat(1001) }, status: 422, code: 'validation_failed' },
  { name: 'a javascript: URL', body: { ...valid, url: 'javascript:alert(1)' }, status: 422, code: 'validation_failed' },
  { name: 'too many labels', body: { ...valid, labels: Array.from({ length: 40 }, (_, i) => `l${i}`) }, status: 422, code: 'validation_failed' },
  { name: 'metadata nested 10,000 deep', raw: `{"externalId":"d","accountId":"a","text":"t","metadata":${deep(10_000)}}`, status: 422, code: 'validation_failed' },
  { name: 'metadata over 16 KB', body: { ...valid, metadata: { blob: 'x'.repeat(20_000) } }, status: 422, code: 'validation_failed' },
  { name: 'a lone surrogate in the title', raw: '{"externalId":"s","accountId":"a","text":"ok","title":"\\udfff"}', status: 422, code: 'validation_failed' },
  { name: 'emoji-free whitespace-only text', body: { ...valid, text: '\u3000 \t\n\u200B\u2066' }, status: 422, code: 'validation_failed' },
  { name: 'NUL in the account id', body: { ...valid, accountId: 'a\u0000' }, status: 422, code: 'validation_failed' },
  { name: 'a 10 MB body', raw: JSON.stringify({ ...valid, text: 'a'.repeat(10 * 1024 * 1024) }), status: 413, code: 'payload_too_large' },
  {
    name: 'invalid UTF-8 in a string',
    raw: new Uint8Array([...Buffer.from('{"externalId":"'), 0xc3, 0x28, ...Buffer.from('","accountId":"a","text":"t"}')]),
    status: 400,
    code: 'invalid_utf8',
  },
  { name: 'form-encoded body', raw: 'externalId=a&text=b', type: 'application/x-www-form-urlencoded', status: 415, code: 'unsupported_media_type' },
];

describe('bad input corpus', () => {
  let env: TestEnv;
  let key: string;
  beforeAll(async () => {
    env = await createTestEnv({ workers: true });
    key = await env.keyFor('submitter');
  });
  afterAll(() => env.close());

  it.each(rejected)('refuses $name with $status $code', async (c) => {
    const res = await env.request('POST', '/v1/articles', {
      key,
      ...(c.body === undefined ? { raw: c.raw as BodyInit } : { body: c.body }),
      headers: { 'content-type': c.type ?? 'application/json' },
    });
    expect(res.status).toBe(c.status);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe(c.code);
  });

  const accepted: [string, Record<string, unknown>, (stored: { text: string; externalId: string }) => void][] = [
    [
      'HTML and script tags, stored verbatim',
      { externalId: 'html', text: '<script>alert(1)</script><img src=x onerror=alert(2)> 正文' },
      (a) => expect(a.text).toContain('<script>alert(1)</script>'),
    ],
    [
      'SQL-looking strings',
      { externalId: "1'; DROP TABLE articles;--", text: "Robert'); DROP TABLE students;-- 正文" },
      (a) => expect(a.externalId).toBe("1'; DROP TABLE articles;--"),
    ],
    ['a path-traversal-looking id', { externalId: '../../etc/passwd', text: '正文内容' }, (a) => expect(a.externalId).toBe('../../etc/passwd')],
    ['emoji-only text', { externalId: 'emoji', text: '😀😀🎉🎉🔥' }, (a) => expect(a.text).toBe('😀😀🎉🎉🔥')],
    ['right-to-left overrides (removed)', { externalId: 'rtl', text: 'abc\u202Edef\u202C 正文' }, (a) => expect(a.text).toBe('abcdef 正文')],
    ['NUL and control characters in text (removed)', { externalId: 'nul', text: 'a\u0000b\u0007c 正文' }, (a) => expect(a.text).toBe('abc 正文')],
    ['a single 200,000-character line', { externalId: 'long', text: '长'.repeat(200_000) }, (a) => expect(a.text.length).toBe(200_000)],
  ];

  it.each(accepted)('accepts %s and scores it', async (_name, over, check) => {
    const res = await env.request('POST', '/v1/articles', { key, body: { accountId: 'acct', ...over } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const [stored] = await env.ctx.db.query<{ text: string; externalId: string }>('SELECT text, external_id AS "externalId" FROM articles WHERE id = $1', [id]);
    check(stored!);
    const scored = await waitFor(async () => {
      const a = (await (await env.request('GET', `/v1/articles/${id}`, { key })).json()) as { status: string };
      return a.status === 'scored' || a.status === 'failed' ? a : undefined;
    }, 60_000);
    expect(scored.status).toBe('scored');
  });

  it('answers lookups of hostile ids with 404 and keeps serving', async () => {
    for (const id of ['..%2F..%2Fetc%2Fpasswd', '%00', "1'%20OR%20'1'='1", 'x'.repeat(64)]) {
      const res = await env.request('GET', `/v1/articles/${id}`, { key });
      expect([404, 422]).toContain(res.status);
    }
    const found = await env.request('GET', `/v1/articles/by-external-id/${encodeURIComponent("1'; DROP TABLE articles;--")}`, { key });
    expect(found.status).toBe(200);
    expect((await env.request('GET', '/healthz')).status).toBe(200);
  });

  it('refuses garbage authorization headers with 401', async () => {
    for (const header of ['Bearer', 'Basic abc', `Bearer ${'a'.repeat(5000)}`, 'bearer  two words']) {
      const res = await env.app.request('/v1/articles/x', { headers: { authorization: header } });
      expect(res.status).toBe(401);
    }
  });
});
