import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttp } from '../../src/api/server.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

/** What a raw socket received until the server closed it. */
function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
  });
}

describe('slow clients over a real socket', () => {
  let env: TestEnv;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let submitter: string;
  beforeAll(async () => {
    env = await createTestEnv({
      env: { PORT: '0', HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_IDLE_TIMEOUT_MS: '3000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '500' },
    });
    submitter = await env.keyFor('submitter');
    http = await startHttp(env.app, env.config);
  });
  afterAll(async () => {
    await http.close();
    await env.close();
  });

  const open = () =>
    new Promise<Socket>((resolve) => {
      const socket = connect(http.port, '127.0.0.1', () => resolve(socket));
    });

  it('answers 408 or closes a body that stops after 13 of 100 declared bytes, while other clients are served', async () => {
    const stalled = await open();
    const closed = untilClosed(stalled);
    stalled.write(`POST /v1/articles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${submitter}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"externalId"`);
    // Served while the stalled body holds its connection.
    const health = await fetch(`http://127.0.0.1:${http.port}/healthz`);
    expect(health.status).toBe(200);
    const submit = await fetch(`http://127.0.0.1:${http.port}/v1/articles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${submitter}`, 'content-type': 'application/json' },
      body: JSON.stringify({ externalId: 'while-stalled', accountId: 'a', text: '正文' }),
    });
    expect(submit.status).toBe(202);
    expect(stalled.destroyed).toBe(false);
    // Before the limits, Node held such a connection for 300 s: past this test's timeout.
    const received = await closed;
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
    const stored = await env.ctx.db.query("SELECT 1 FROM articles WHERE external_id = 'while-stalled'");
    expect(stored).toHaveLength(1);
  });

  it('answers 408 to headers that never finish', async () => {
    const stalled = await open();
    const closed = untilClosed(stalled);
    stalled.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(await closed).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes an idle keep-alive connection', async () => {
    const idle = await open();
    const closed = untilClosed(idle);
    idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const received = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received).toMatch(/keep-alive/i);
  });
});
