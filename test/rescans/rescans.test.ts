import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AppContext, createContext } from '../../src/context.ts';
import { createPgDb } from '../../src/db/pg.ts';
import { defaultFusionConfig, type FusionConfig } from '../../src/scoring/fusion-config.ts';
import { createTextSignalsScorer } from '../../src/scoring/text-signals/index.ts';
import { createPipeline } from '../../src/services/pipeline.ts';
import { RescanService } from '../../src/services/rescans.ts';
import type { RescanView } from '../../src/services/views.ts';
import { ScoringService, type ScoringPipeline } from '../../src/services/scoring.ts';
import { type ImportRescanWorkers, startImportRescanWorkers } from '../../src/workers/index.ts';
import { createTestEnv, dropRedisPrefix, TEST_DATABASE_URL, TEST_REDIS_URL, type TestEnv, waitFor } from '../helpers/context.ts';

const SLOP =
  '随着科技的不断发展,人工智能已经深刻地改变了我们的生活。首先,它提高了效率。其次,它带来了便利。最后,它创造了价值。' +
  '值得注意的是,我们应该理性看待。综上所述,人工智能在当今社会中扮演着至关重要的角色。让我们一起迎接美好的未来。';
const HUMAN = '今天下午三点,杭州市西湖区文三路的一家面馆里,老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化。';

const text = createTextSignalsScorer();
await text.load();

/** A scoring pipeline under a given fusion config, optionally slowed down so tests can act mid-rescan. */
function pipeline(fusion: FusionConfig, delayMs = 0): ScoringPipeline {
  const inner = createPipeline({ text, detector: null, zeroShot: null, account: null, fusion });
  return {
    modelVersion: inner.modelVersion,
    configVersion: inner.configVersion,
    async run(article) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return inner.run(article);
    },
  };
}

const V1 = defaultFusionConfig;
/** A new config: text signals alone send to review, declared AI content is flagged. */
const V2: FusionConfig = { ...defaultFusionConfig, version: 'fusion-test-v2', textOnlyReview: 0, declared: { verdict: 'flag', farmVerdict: 'flag' } };

/** Stores `n` articles for a tenant straight in the table (fast); every 10th is declared AI. */
async function seed(ctx: AppContext, tenant: string, n: number): Promise<void> {
  await ctx.db.query(
    `INSERT INTO articles (id, tenant_id, external_id, account_id, text, lang, content_hash, published_at, declared_ai)
     SELECT 'art_' || $1 || '_' || lpad(g::text, 6, '0'), $1, 'x-' || g, 'acct-' || (g % 7),
            CASE WHEN g % 2 = 0 THEN $3 ELSE $4 END || g, 'zh', md5($1 || g), timestamptz '2020-01-01' + g * interval '1 hour', g % 10 = 0
     FROM generate_series(1, $2) AS g`,
    [tenant, n, SLOP, HUMAN],
  );
}

async function scoreAll(ctx: AppContext, scoring: ScoringService, tenant: string): Promise<void> {
  const rows = await ctx.db.query<{ id: string }>('SELECT id FROM articles WHERE tenant_id = $1 ORDER BY id', [tenant]);
  for (let i = 0; i < rows.length; i += 25) {
    await Promise.all(rows.slice(i, i + 25).map((r) => scoring.score({ tenantId: tenant, articleId: r.id, revision: 1, trigger: 'live' })));
  }
}

describe('rescans', () => {
  let env: TestEnv;
  let admin: string;
  let workers: ImportRescanWorkers | undefined;
  beforeAll(async () => {
    env = await createTestEnv({ env: { RESCAN_WINDOW: '40', RESCAN_STEP_MS: '20', RESCORE_CONCURRENCY: '2' } });
    admin = await env.keyFor('admin');
  });
  afterEach(async () => {
    await workers?.close(5000);
    workers = undefined;
  });
  afterAll(() => env.close());

  const api = async <T>(method: string, path: string, body?: unknown, key = admin): Promise<T> => {
    const res = await env.request(method, path, { key, ...(body === undefined ? {} : { body }) });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const view = (id: string, key = admin) => api<RescanView>('GET', `/v1/rescans/${id}`, undefined, key);
  const finished = (id: string, key = admin) => waitFor(async () => ((await view(id, key)).status === 'completed' ? view(id, key) : undefined), 30_000);

  it('reports the verdict changes when the fusion config changes between two scorings', async () => {
    await seed(env.ctx, 'tenant-a', 200);
    await scoreAll(env.ctx, new ScoringService(env.ctx.db, pipeline(V1)), 'tenant-a');
    const v2 = new ScoringService(env.ctx.db, pipeline(V2));
    workers = await startImportRescanWorkers(env.ctx, v2, env.ctx.rescans);

    const dry = await api<{ count: number }>('POST', '/v1/rescans', { filter: { configVersionNot: V2.version }, dryRun: true });
    expect(dry.count).toBe(200);
    const created = await api<RescanView>('POST', '/v1/rescans', { filter: { configVersionNot: V2.version } });
    expect(created).toMatchObject({ status: 'running', total: 200 });
    const done = await finished(created.id);
    expect(done).toMatchObject({ total: 200, selected: 200, done: 200, failed: 0, inFlight: 0, progress: 1, etaSeconds: 0 });

    // The truth, from the score rows themselves: the previous (v1) and the new (v2) per article.
    const truth = await env.ctx.db.query<{ articleId: string; old: string; new: string; oldLabel: string; newLabel: string }>(
      `SELECT o.article_id AS "articleId", o.verdict AS old, n.verdict AS new, o.label AS "oldLabel", n.label AS "newLabel"
       FROM scores o JOIN scores n ON n.article_id = o.article_id AND n.config_version = $2 WHERE o.config_version = $1`,
      [V1.version, V2.version],
    );
    expect(truth).toHaveLength(200);
    const changed = truth.filter((t) => t.old !== t.new || t.oldLabel !== t.newLabel);
    const newlyFlagged = truth.filter((t) => t.old === 'pass' && t.new !== 'pass');
    expect(changed.length).toBeGreaterThan(0);

    const summary = await api<{
      compared: number;
      changed: number;
      newlyFlagged: number;
      verdicts: { from: string; to: string; count: number }[];
      versions: { fromConfig: string; toConfig: string; count: number }[];
    }>('GET', `/v1/rescans/${created.id}/changes`);
    expect(summary.compared).toBe(200);
    expect(summary.changed).toBe(changed.length);
    expect(summary.newlyFlagged).toBe(newlyFlagged.length);
    const counted = new Map<string, number>();
    for (const t of truth) counted.set(`${t.old}>${t.new}`, (counted.get(`${t.old}>${t.new}`) ?? 0) + 1);
    expect(new Map(summary.verdicts.map((v) => [`${v.from}>${v.to}`, v.count]))).toEqual(counted);
    expect(summary.versions).toEqual([expect.objectContaining({ fromConfig: V1.version, toConfig: V2.version, count: 200 })]);

    // Downloads list exactly the changed articles.
    const csv = await (await env.request('GET', `/v1/rescans/${created.id}/changes.csv`, { key: admin })).text();
    const lines = csv.trim().split('\n');
    expect(lines[0]).toContain('articleId,externalId,accountId,oldVerdict,newVerdict');
    expect(
      lines
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
    ).toEqual(changed.map((c) => c.articleId).sort());
    const jsonl = (await (await env.request('GET', `/v1/rescans/${created.id}/changes.jsonl`, { key: admin })).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { articleId: string; oldVerdict: string; newVerdict: string; newConfigVersion: string });
    expect(jsonl).toHaveLength(changed.length);
    expect(jsonl[0]!.newConfigVersion).toBe(V2.version);

    // Newly flagged articles enter the review queue: the event, and articles.verdict is current.
    const events = await env.ctx.db.query<{ subjectId: string }>(`SELECT subject_id AS "subjectId" FROM events WHERE type = 'article.newly_flagged' AND actor = $1`, [
      `rescan:${created.id}`,
    ]);
    expect(events.map((e) => e.subjectId).sort()).toEqual(newlyFlagged.map((t) => t.articleId).sort());
    const current = await env.ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM articles WHERE tenant_id = 'tenant-a' AND config_version = $1 AND verdict IN ('review', 'flag')`,
      [V2.version],
    );
    expect(current[0]!.n).toBe(truth.filter((t) => t.new !== 'pass').length);

    // Rescanning again under the same config is a no-op per article: nothing changes.
    const again = await api<RescanView>('POST', '/v1/rescans', { filter: {} });
    expect(await finished(again.id)).toMatchObject({ done: 200, changed: 0, newlyFlagged: 0 });
    expect((await env.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM scores WHERE evaluation = 0'))[0]!.n).toBe(400);
  });

  it('documents the import and rescan routes in the OpenAPI document', async () => {
    const doc = (await (await env.app.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of [
      '/v1/imports',
      '/v1/imports/{id}',
      '/v1/imports/{id}/errors',
      '/v1/rescans',
      '/v1/rescans/{id}',
      '/v1/rescans/{id}/pause',
      '/v1/rescans/{id}/changes',
      '/v1/rescans/{id}/changes.csv',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });

  it('filters by account, time and verdict; other tenants see nothing; only admins', async () => {
    const count = async (filter: object) => (await api<{ count: number }>('POST', '/v1/rescans', { filter, dryRun: true })).count;
    expect(await count({ accountIds: ['acct-1', 'acct-2'] })).toBe(
      (await env.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM articles WHERE tenant_id = 'tenant-a' AND account_id IN ('acct-1', 'acct-2')`))[0]!.n,
    );
    expect(await count({ publishedFrom: '2020-01-01T10:00:00Z', publishedTo: '2020-01-02T00:00:00Z' })).toBe(14);
    expect(await count({ verdicts: ['none'] })).toBe(0);
    expect(await count({ verdicts: ['flag'] })).toBe(20);
    const other = await env.keyFor('admin', 'tenant-z');
    expect((await api<{ count: number }>('POST', '/v1/rescans', { filter: {}, dryRun: true }, other)).count).toBe(0);
    const submitter = await env.keyFor('submitter');
    expect((await env.request('POST', '/v1/rescans', { key: submitter, body: { dryRun: true } })).status).toBe(403);
    expect((await env.request('POST', '/v1/rescans', { key: admin, body: { filter: { nope: 1 } } })).status).toBe(422);
  });

  it('pauses, resumes and cancels', async () => {
    await seed(env.ctx, 'tenant-p', 400);
    const key = await env.keyFor('admin', 'tenant-p');
    workers = await startImportRescanWorkers(env.ctx, new ScoringService(env.ctx.db, pipeline(V1, 10)), env.ctx.rescans);
    const created = await api<RescanView>('POST', '/v1/rescans', { filter: {} }, key);
    await waitFor(async () => (await view(created.id, key)).done >= 20);
    const paused = await api<RescanView>('POST', `/v1/rescans/${created.id}/pause`, undefined, key);
    expect(paused.status).toBe('paused');
    // What is in flight finishes; nothing more is selected.
    const settled = await waitFor(async () => {
      const v = await view(created.id, key);
      return v.inFlight === 0 ? v : undefined;
    });
    expect(settled.selected).toBeLessThan(400);
    expect(settled.done).toBe(settled.selected);
    expect(settled.etaSeconds).toBeNull();
    expect((await env.request('POST', `/v1/rescans/${created.id}/pause`, { key })).status).toBe(409);
    await new Promise((r) => setTimeout(r, 200));
    expect((await view(created.id, key)).selected).toBe(settled.selected);

    const resumed = await api<RescanView>('POST', `/v1/rescans/${created.id}/resume`, undefined, key);
    expect(resumed.status).toBe('running');
    expect(await finished(created.id, key)).toMatchObject({ done: 400, selected: 400 });

    const second = await api<RescanView>('POST', '/v1/rescans', { filter: {} }, key);
    await waitFor(async () => (await view(second.id, key)).done >= 20);
    const cancelled = await api<RescanView>('POST', `/v1/rescans/${second.id}/cancel`, undefined, key);
    expect(cancelled).toMatchObject({ status: 'cancelled', inFlight: 0 });
    const after = await view(second.id, key);
    expect(after.done + after.cancelled).toBe(after.selected);
    expect(after.done).toBeLessThan(400);
    expect((await env.request('POST', `/v1/rescans/${second.id}/resume`, { key })).status).toBe(409);
  });

  it("shares the rescore queue fairly: two tenants' rescans progress together", async () => {
    await seed(env.ctx, 'tenant-b', 400);
    await seed(env.ctx, 'tenant-c', 400);
    const keyB = await env.keyFor('admin', 'tenant-b');
    const keyC = await env.keyFor('admin', 'tenant-c');
    workers = await startImportRescanWorkers(env.ctx, new ScoringService(env.ctx.db, pipeline(V1, 4)), env.ctx.rescans);
    const b = await api<RescanView>('POST', '/v1/rescans', { filter: {} }, keyB);
    const c = await api<RescanView>('POST', '/v1/rescans', { filter: {} }, keyC);
    // When the first finishes, the other is well along (a FIFO without windows would leave it near 0).
    const first = await waitFor(
      async () => {
        const [vb, vc] = await Promise.all([view(b.id, keyB), view(c.id, keyC)]);
        return vb.status === 'completed' || vc.status === 'completed' ? { vb, vc } : undefined;
      },
      30_000,
      20,
    );
    const laggard = first.vb.status === 'completed' ? first.vc : first.vb;
    expect(laggard.done).toBeGreaterThan(300);
    await finished(b.id, keyB);
    await finished(c.id, keyC);
  });
});

/**
 * A test env with `n` seeded articles and a rescan of them, driven by hand: its first driver
 * step has run (jobs queued). `startWorkers` starts the rescore workers, closed at the end.
 */
async function withSteppedRescan(
  tenant: string,
  n: number,
  options: { env?: Record<string, string>; lostAfterMs?: number },
  test: (t: { env: TestEnv; rescans: RescanService; rescanId: string; startWorkers: (p: ScoringPipeline) => Promise<void> }) => Promise<void>,
): Promise<void> {
  const env = await createTestEnv(options.env ? { env: options.env } : {});
  let workers: ImportRescanWorkers | undefined;
  try {
    await seed(env.ctx, tenant, n);
    const settings = { window: 500, chunk: 4, stepMs: 20, ...(options.lostAfterMs ? { lostAfterMs: options.lostAfterMs } : {}) };
    const rescans = new RescanService(env.ctx.db, { driver: env.ctx.jobs.rescanDriver, chunk: env.ctx.jobs.rescanChunk }, settings, env.ctx.log);
    const created = await rescans.create({ tenantId: tenant, actor: 'test' }, {});
    expect(await rescans.step({ rescanId: created.id, generation: 1 })).toBe('continue');
    await test({
      env,
      rescans,
      rescanId: created.id,
      startWorkers: async (p) => {
        workers = await startImportRescanWorkers(env.ctx, new ScoringService(env.ctx.db, p), rescans);
      },
    });
  } finally {
    await workers?.close(5000);
    await env.close();
  }
}

describe('a rescan whose jobs Redis lost', () => {
  it('queues the pending items again and then completes', () =>
    withSteppedRescan('tenant-l', 50, { lostAfterMs: 150 }, async ({ env, rescans, rescanId, startWorkers }) => {
      expect(await env.ctx.queues.rescore.count()).toBe(13); // chunks of 4
      await env.ctx.queues.rescore.drain(); // Redis lost them (restart without persistence)
      expect(await env.ctx.queues.rescore.count()).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(await rescans.step({ rescanId, generation: 1 })).toBe('continue');
      expect(await env.ctx.queues.rescore.count()).toBe(13);
      await startWorkers(pipeline(V1));
      const done = await waitFor(async () => {
        const v = (await rescans.get('tenant-l', rescanId))!;
        return v.status === 'completed' ? v : undefined;
      });
      expect(done).toMatchObject({ done: 50, failed: 0 });
    }));
});

describe('a rescan chunk with failing articles', () => {
  it('records the rest at once, a missing article as failed at once, and retries only the failing one', () =>
    withSteppedRescan('tenant-f', 8, { env: { SCORE_ATTEMPTS: '2', SCORE_BACKOFF_MS: '20' } }, async ({ env, rescanId, startWorkers }) => {
      const [first, , flaky, missing] = ['art_tenant-f_000001', 'art_tenant-f_000002', 'art_tenant-f_000003', 'art_tenant-f_000004'];
      await env.ctx.db.query('DELETE FROM articles WHERE id = $1', [missing]);
      const runs = new Map<string, number>();
      const inner = pipeline(V1);
      await startWorkers({
        modelVersion: inner.modelVersion,
        configVersion: inner.configVersion,
        async run(article, options) {
          runs.set(article.id, (runs.get(article.id) ?? 0) + 1);
          if (article.id === flaky) throw new Error('model backend hiccup');
          return inner.run(article, options);
        },
      });
      // The job's final failure is recorded by the worker's 'failed' listener, after BullMQ has
      // moved the job: wait for both, and for the other chunk (it may run later on a busy machine).
      await waitFor(async () => {
        if ((await env.ctx.queues.rescore.getFailedCount()) !== 1) return undefined;
        const rows = await env.ctx.db.query<{ status: string }>("SELECT status FROM rescan_items WHERE rescan_id = $1 AND (article_id = $2 OR status = 'pending')", [
          rescanId,
          flaky,
        ]);
        return rows.length === 1 && rows[0]?.status === 'failed' ? true : undefined;
      });
      const items = await env.ctx.db.query<{ article_id: string; status: string; error: string | null }>(
        'SELECT article_id, status, error FROM rescan_items WHERE rescan_id = $1 ORDER BY article_id',
        [rescanId],
      );
      expect(items.filter((i) => i.status === 'done').map((i) => i.article_id)).toHaveLength(6);
      expect(items.find((i) => i.article_id === missing)).toMatchObject({ status: 'failed', error: expect.stringContaining('does not exist') });
      expect(items.find((i) => i.article_id === flaky)).toMatchObject({ status: 'failed', error: 'model backend hiccup' });
      // The retry carried the failing article alone: its chunk-mates ran once.
      const [failedJob] = await env.ctx.queues.rescore.getFailed();
      expect(failedJob!.data.items).toEqual([{ articleId: flaky, revision: 1 }]);
      expect(runs.get(flaky)).toBe(2);
      expect(runs.get(first)).toBe(1);
    }));
});

describe('a rescan queued by a version without chunks', () => {
  it('scores its one-article jobs and completes', () =>
    withSteppedRescan('tenant-o', 3, {}, async ({ env, rescans, rescanId, startWorkers }) => {
      // What the older version left: items without a chunk, one job per article under the article's id.
      await env.ctx.queues.rescore.drain();
      const items = await env.ctx.db.query<{ article_id: string }>('UPDATE rescan_items SET chunk = NULL WHERE rescan_id = $1 RETURNING article_id', [rescanId]);
      await env.ctx.queues.rescore.addBulk(
        items.map(({ article_id: articleId }) => ({
          name: 'rescan',
          data: { tenantId: 'tenant-o', articleId, revision: 1, trigger: 'rescan', rescanId },
          opts: { jobId: `rescan-${rescanId}-${articleId}` },
        })),
      );
      await startWorkers(pipeline(V1));
      const done = await waitFor(async () => {
        const v = (await rescans.get('tenant-o', rescanId))!;
        return v.done === 3 ? v : undefined;
      });
      expect(done).toMatchObject({ done: 3, failed: 0 });
    }));
});

describe('a rescan across a worker and API restart', () => {
  it('continues where it stopped and scores every article once', async () => {
    const env = await createTestEnv({ env: { RESCAN_WINDOW: '30', RESCAN_STEP_MS: '20', RESCORE_CONCURRENCY: '2' } });
    let ctx: AppContext = env.ctx;
    let workers: ImportRescanWorkers | undefined;
    try {
      await seed(ctx, 'tenant-r', 300);
      const created = await ctx.rescans.create({ tenantId: 'tenant-r', actor: 'test' }, {});
      workers = await startImportRescanWorkers(ctx, new ScoringService(ctx.db, pipeline(V1, 8)), ctx.rescans);
      await waitFor(async () => ((await ctx.rescans.get('tenant-r', created.id))!.done >= 60 ? true : undefined));
      // Everything goes down: workers, queues, database pool.
      await workers.close(5000);
      workers = undefined;
      await ctx.close();
      // And comes back over the same schema and key prefix.
      ctx = await createContext(env.config, 'api');
      const midway = (await ctx.rescans.get('tenant-r', created.id))!;
      expect(midway.status).toBe('running');
      expect(midway.done).toBeLessThan(300);
      workers = await startImportRescanWorkers(ctx, new ScoringService(ctx.db, pipeline(V1, 1)), ctx.rescans);
      const done = await waitFor(async () => {
        const v = (await ctx.rescans.get('tenant-r', created.id))!;
        return v.status === 'completed' ? v : undefined;
      }, 30_000);
      expect(done).toMatchObject({ total: 300, selected: 300, done: 300, failed: 0 });
      const scores = await ctx.db.query<{ n: number; articles: number }>('SELECT count(*)::int AS n, count(DISTINCT article_id)::int AS articles FROM scores WHERE evaluation = 0');
      expect(scores[0]).toEqual({ n: 300, articles: 300 });
    } finally {
      await workers?.close(5000);
      await ctx.close();
      const admin = createPgDb(TEST_DATABASE_URL);
      await admin.query(`DROP SCHEMA IF EXISTS ${env.schema} CASCADE`);
      await admin.close();
      await dropRedisPrefix(TEST_REDIS_URL, env.config.redisPrefix);
    }
  });
});
