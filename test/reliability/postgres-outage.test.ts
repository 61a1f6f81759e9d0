import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../helpers/postgres.ts';
import { freePort } from '../../src/infra/net.ts';

describe('PostgreSQL stops while the API takes traffic and workers score', () => {
  let server: PrivatePostgres;
  let env: TestEnv;
  beforeAll(async () => {
    server = startPrivatePostgres(await freePort());
    env = await createTestEnv({ databaseUrl: server.url, workers: true, env: { SCORE_BACKOFF_MS: '200' } });
  });
  afterAll(async () => {
    server.start();
    await env.close();
    server.destroy();
  });

  it('answers 503 while it is down, loses nothing accepted, and scores everything once it is back', async () => {
    const key = await env.keyFor('submitter');
    const total = 40;
    const res = await env.request('POST', '/v1/batches', {
      key,
      body: {
        articles: Array.from({ length: total }, (_, i) => ({
          externalId: `pg-${i}`,
          accountId: `acct-${i % 5}`,
          text: `第${i}篇。今天下午三点,杭州市西湖区文三路的一家面馆里,老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化。`.repeat(10),
        })),
      },
    });
    expect(res.status).toBe(202);

    server.stop();
    const during = await env.request('POST', '/v1/articles', { key, body: { externalId: 'during', accountId: 'a', text: '停机期间提交的文章。' } });
    expect(during.status).toBe(503);
    expect(((await during.json()) as { error: { code: string } }).error.code).toBe('database_unavailable');
    expect((await env.request('GET', '/v1/articles/by-external-id/pg-1', { key })).status).toBe(503);
    // Keep the outage long enough for workers to hit it: their jobs wait without spending attempts.
    await new Promise((r) => setTimeout(r, 1500));
    server.start();

    await waitFor(
      async () => {
        const rows = await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE status = 'scored'").catch(() => [{ n: 0 }]);
        return rows[0]!.n === total;
      },
      60_000,
      200,
    );
    const scores = await env.ctx.db.query<{ n: number; articles: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT article_id)::int AS articles FROM scores WHERE evaluation = 0',
    );
    expect(scores[0]).toEqual({ n: total, articles: total });
    const failed = await env.ctx.db.query("SELECT id FROM articles WHERE status = 'failed'");
    expect(failed).toHaveLength(0);
  }, 90_000);
});
