import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../src/infra/redis-server.ts';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';

const TEXT = '今天下午三点,杭州市西湖区文三路的一家面馆里,老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化。';

describe('Redis goes down and comes back (AOF on)', () => {
  let dir: string;
  let redis: EmbeddedRedis;
  let env: TestEnv;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sg-redis-'));
    redis = await startEmbeddedRedis(dir);
    port = Number(new URL(redis.url).port);
    env = await createTestEnv({ env: { REDIS_URL: redis.url }, role: 'all' });
  });
  afterAll(async () => {
    await env.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 while Redis is down, writes nothing half-done, and scores what it accepted once Redis is back', async () => {
    const key = await env.keyFor('submitter');
    const accepted = await env.request('POST', '/v1/articles', { key, body: { externalId: 'before', accountId: 'a', text: TEXT } });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };

    await redis.stop();
    await waitFor(async () => env.ctx.redis.status !== 'ready');
    const started = Date.now();
    const refused = await env.request('POST', '/v1/articles', { key, body: { externalId: 'during', accountId: 'a', text: TEXT } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('redis_unavailable');
    expect(Date.now() - started).toBeLessThan(2000);
    const during = await env.ctx.db.query("SELECT 1 FROM articles WHERE external_id = 'during'");
    expect(during).toHaveLength(0);
    // Reads keep working from the database.
    expect((await env.request('GET', `/v1/articles/${id}`, { key })).status).toBe(200);

    redis = await startEmbeddedRedis(dir, port);
    await waitFor(async () => env.ctx.redis.status === 'ready', 15_000);
    const { startWorkers } = await import('../../src/workers/index.ts');
    const workers = await startWorkers(env.ctx, env.ctx.worker!, { reconcile: false });
    try {
      const scored = await waitFor(async () => {
        const a = (await (await env.request('GET', `/v1/articles/${id}`, { key })).json()) as { status: string };
        return a.status === 'scored' ? a : undefined;
      });
      expect(scored.status).toBe('scored');
    } finally {
      await workers.close();
    }
  });
});

describe('Redis restarted while submissions and scoring run', () => {
  let dir: string;
  let redis: EmbeddedRedis;
  let env: TestEnv;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sg-redis-'));
    redis = await startEmbeddedRedis(dir);
    env = await createTestEnv({
      env: { REDIS_URL: redis.url, RECONCILE_INTERVAL_MS: '500', RECONCILE_AFTER_MS: '1000' },
      workers: true,
      workerOptions: { reconcile: true },
    });
  });
  afterAll(async () => {
    await env.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scores every article it answered 202 for, and stores none it refused', async () => {
    const key = await env.keyFor('submitter');
    const port = Number(new URL(redis.url).port);
    const accepted: string[] = [];
    const refused: string[] = [];
    let n = 0;
    const submitFor = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const externalId = `r-${n++}`;
        const res = await env.request('POST', '/v1/articles', { key, body: { externalId, accountId: `a-${n % 4}`, text: `${externalId}:${TEXT}` } });
        (res.status === 202 ? accepted : refused).push(externalId);
        if (res.status !== 202) expect(res.status).toBe(503);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await submitFor(800);
    await redis.stop();
    await submitFor(500);
    redis = await startEmbeddedRedis(dir, port);
    await waitFor(async () => env.ctx.redis.status === 'ready', 15_000);
    await submitFor(800);

    expect(refused.length).toBeGreaterThan(0);
    const count = async (sql: string, ids: string[]) => (await env.ctx.db.query<{ n: number }>(sql, [ids]))[0]!.n;
    expect(await count('SELECT count(*)::int AS n FROM articles WHERE external_id = ANY($1)', refused)).toBe(0);
    await waitFor(
      async () => (await count("SELECT count(*)::int AS n FROM articles WHERE status = 'scored' AND external_id = ANY($1)", accepted)) === accepted.length,
      60_000,
      200,
    );
    expect(await count('SELECT count(*)::int AS n FROM scores s JOIN articles a ON a.id = s.article_id WHERE a.external_id = ANY($1) AND s.evaluation = 0', accepted)).toBe(
      accepted.length,
    );
  }, 90_000);
});
