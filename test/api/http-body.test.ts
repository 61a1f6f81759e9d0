import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/infra/net.ts';
import { startHttp } from '../../src/api/server.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

/**
 * Bodies over a real socket: one with a declared length takes the adapter's direct read, a
 * chunked one is streamed and cut off at MAX_BODY_BYTES. Both must answer alike.
 */
describe('request bodies over HTTP', () => {
  let env: TestEnv;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let key: string;
  beforeAll(async () => {
    env = await createTestEnv({ env: { PORT: String(await freePort()), MAX_BODY_BYTES: '65536' } });
    http = await startHttp(env.app, env.config);
    key = await env.keyFor('submitter');
  });
  afterAll(async () => {
    await http.close();
    await env.close();
  });

  function post(body: string, chunked: boolean): Promise<{ status: number; body: { id?: string; error?: { code: string } } }> {
    return new Promise((resolve, reject) => {
      const bytes = Buffer.from(body);
      const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
      if (!chunked) headers['content-length'] = String(bytes.length);
      const req = httpRequest({ host: '127.0.0.1', port: http.port, path: '/v1/articles', method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      // Several writes without a declared length: Node sends Transfer-Encoding: chunked.
      for (let i = 0; i < bytes.length; i += 8192) req.write(bytes.subarray(i, i + 8192));
      req.end();
    });
  }

  const article = (externalId: string, text: string) => JSON.stringify({ externalId, accountId: 'acct', text });

  it.each([false, true])('accepts a valid body (chunked: %s)', async (chunked) => {
    const res = await post(article(`ok-${chunked}`, '今天下午三点,老板陈建国一边擦桌子一边聊天。'.repeat(20)), chunked);
    expect(res.status).toBe(202);
    expect(res.body.id).toMatch(/^art_/);
  });

  it.each([false, true])('refuses a body over the limit with 413 (chunked: %s)', async (chunked) => {
    const res = await post(article(`big-${chunked}`, 'a'.repeat(100_000)), chunked);
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe('payload_too_large');
  });

  it.each([false, true])('refuses malformed JSON with 400 (chunked: %s)', async (chunked) => {
    const res = await post('{"externalId":"x",', chunked);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('malformed_json');
  });
});
