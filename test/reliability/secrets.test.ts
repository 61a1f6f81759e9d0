import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';

describe('API keys never reach the logs', () => {
  let env: TestEnv;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    env = await createTestEnv({ workers: true, logger: pino({ level: 'trace' }, sink) });
  });
  afterAll(() => env.close());

  it('logs requests, errors and jobs at trace level without the key or its hash', async () => {
    const created = await env.ctx.keys.create('tenant-a', 'submitter');
    const wrong = 'sg_thisIsNotAValidKeyButLooksLikeOne0123456789abcd';
    const res = await env.request('POST', '/v1/articles', { key: created.key, body: { externalId: 'log-1', accountId: 'a', text: '日志测试文章,包含足够的内容用于评分。' } });
    const { id } = (await res.json()) as { id: string };
    await env.request('GET', '/v1/articles/x', { key: wrong });
    await env.request('POST', '/v1/articles', { key: created.key, raw: '{bad', headers: { 'content-type': 'application/json' } });
    await waitFor(async () => ((await (await env.request('GET', `/v1/articles/${id}`, { key: created.key })).json()) as { status: string }).status === 'scored');
    const [row] = await env.ctx.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [created.keyId]);
    const log = lines.join('');
    expect(log.length).toBeGreaterThan(0);
    expect(log).toContain('"requestId"');
    for (const secret of [created.key, wrong, row!.key_hash, created.key.slice(3, 20)]) expect(log).not.toContain(secret);
  });
});
