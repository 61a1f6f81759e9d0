import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, spawnService, type TestEnv, waitFor } from '../helpers/context.ts';
import { freePort } from '../../src/infra/net.ts';

/** A real API process (`src/main.ts api`) over the test's schema and key prefix. */
async function spawnApi(env: TestEnv, port: number): Promise<ChildProcess> {
  const child = spawnService(env, 'api', { PORT: String(port) });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, 30_000, 100);
  return child;
}

describe('the API process killed with SIGKILL during batch submissions', () => {
  let env: TestEnv;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await env.close();
  });

  it('keeps every acknowledged article, and resending everything is safe', async () => {
    const key = await env.keyFor('submitter');
    const batches = Array.from({ length: 30 }, (_, b) => ({
      articles: Array.from({ length: 100 }, (_, i) => ({ externalId: `k-${b}-${i}`, accountId: `acct-${i % 9}`, text: `第${b}批第${i}篇:今天上午,市民在便民中心办理业务。` })),
    }));
    const port = await freePort();
    const api = await spawnApi(env, port);
    children.push(api);
    const post = (p: number, body: unknown) =>
      fetch(`http://127.0.0.1:${p}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    const acknowledged: string[] = [];
    const sends = batches.map(async (body, b) => {
      await new Promise((r) => setTimeout(r, b * 15));
      const res = await post(port, body).catch(() => null);
      if (res?.status === 202) acknowledged.push(...body.articles.map((a) => a.externalId));
    });
    // Kill it while batches are in flight.
    await waitFor(async () => acknowledged.length >= 300, 30_000, 5);
    api.kill('SIGKILL');
    await Promise.all(sends);
    expect(acknowledged.length).toBeLessThan(3000);

    const stored = new Set((await env.ctx.db.query<{ externalId: string }>('SELECT external_id AS "externalId" FROM articles')).map((r) => r.externalId));
    for (const id of acknowledged) expect(stored.has(id)).toBe(true);

    // The platform resends everything it is not sure about: a new API process takes it.
    const port2 = await freePort();
    children.push(await spawnApi(env, port2));
    for (const body of batches) {
      const res = await post(port2, body);
      expect(res.status).toBe(202);
      const answer = (await res.json()) as { accepted: { externalId: string; changed: boolean }[]; errors: unknown[] };
      expect(answer.errors).toEqual([]);
      for (const a of answer.accepted) expect(a.changed).toBe(!stored.has(a.externalId));
    }
    const rows = await env.ctx.db.query<{ n: number; distinct: number }>('SELECT count(*)::int AS n, count(DISTINCT external_id)::int AS distinct FROM articles');
    expect(rows[0]).toEqual({ n: 3000, distinct: 3000 });
    const revisions = await env.ctx.db.query('SELECT id FROM articles WHERE revision > 1');
    expect(revisions).toHaveLength(0);
  }, 120_000);
});
