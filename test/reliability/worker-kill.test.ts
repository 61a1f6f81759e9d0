import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, spawnService, type TestEnv, waitFor } from '../helpers/context.ts';

/** A real worker process (`src/main.ts worker`) over the test's schema and key prefix. */
function spawnWorker(env: TestEnv): ChildProcess {
  return spawnService(env, 'worker', {
    DETECTOR_ENABLED: 'false',
    SCORE_CONCURRENCY: '2',
    SCORE_LOCK_MS: '1500',
    RECONCILE_INTERVAL_MS: '1000',
    RECONCILE_AFTER_MS: '5000',
  });
}

describe('worker processes stopped for real', () => {
  let env: TestEnv;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await env.close();
  });

  it('SIGKILL mid-queue loses nothing: stalled jobs are recovered and every article is scored exactly once', async () => {
    const key = await env.keyFor('submitter');
    const total = 60;
    const res = await env.request('POST', '/v1/batches', {
      key,
      body: {
        articles: Array.from({ length: total }, (_, i) => ({
          externalId: `k-${i}`,
          accountId: `acct-${i % 7}`,
          text: `第${i}条:随着社会的不断发展,我们的生活发生了翻天覆地的变化。值得注意的是,这一趋势还将持续。`.repeat(20),
        })),
      },
    });
    expect(res.status).toBe(202);
    const countScored = async () => (await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE status = 'scored'"))[0]!.n;

    const first = spawnWorker(env);
    children.push(first);
    await waitFor(async () => (await countScored()) >= 5, 30_000, 20);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const scoredAtKill = await countScored();
    expect(scoredAtKill).toBeLessThan(total);

    const second = spawnWorker(env);
    children.push(second);
    await waitFor(async () => (await countScored()) === total, 60_000, 100);
    const rows = await env.ctx.db.query<{ n: number; articles: number }>(
      // Scorings only (evaluation 0): re-evaluations of a farm add score versions, not scorings.
      'SELECT count(*)::int AS n, count(DISTINCT article_id)::int AS articles FROM scores WHERE evaluation = 0',
    );
    expect(rows[0]).toEqual({ n: total, articles: total });
    const events = await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE type = 'article.scored'");
    expect(events[0]!.n).toBe(total);
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }, 120_000);

  it('SIGTERM stops gracefully (exit 0) and the next worker finishes the rest, each article scored once', async () => {
    const key = await env.keyFor('submitter', 'tenant-term');
    const total = 40;
    await env.request('POST', '/v1/batches', {
      key,
      body: {
        articles: Array.from({ length: total }, (_, i) => ({
          externalId: `t-${i}`,
          accountId: `acct-${i % 5}`,
          text: `第${i}条:今天上午,市民在便民中心办理业务,工作人员耐心解答了每一个问题。`.repeat(20),
        })),
      },
    });
    const countScored = async () => (await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE tenant_id = 'tenant-term' AND status = 'scored'"))[0]!.n;
    const worker = spawnWorker(env);
    children.push(worker);
    await waitFor(async () => (await countScored()) >= 3, 30_000, 20);
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    // A job BullMQ had fetched but not started may stay active until its lock lapses; the next
    // worker returns it as stalled. Either way nothing is lost and nothing is scored twice.
    const next = spawnWorker(env);
    children.push(next);
    await waitFor(async () => (await countScored()) === total, 60_000, 100);
    const rows = await env.ctx.db.query<{ n: number; articles: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT article_id)::int AS articles FROM scores WHERE tenant_id = 'tenant-term' AND evaluation = 0",
    );
    expect(rows[0]).toEqual({ n: total, articles: total });
  }, 90_000);
});
