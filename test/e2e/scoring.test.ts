import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reconciler } from '../../src/services/reconciler.ts';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';

interface ArticleBody {
  id: string;
  status: string;
  revision: number;
  result: null | {
    verdict: string;
    label: string;
    score: number;
    reasons: { code: string; message: { zh: string; en: string } }[];
    modelVersion: string;
    configVersion: string;
    timings: Record<string, number>;
  };
}

const SLOP_ZH =
  '随着科技的不断发展,人工智能已经深刻地改变了我们的生活。首先,它提高了效率。其次,它带来了便利。最后,它创造了价值。' +
  '值得注意的是,我们应该理性看待。综上所述,人工智能在当今社会中扮演着至关重要的角色。让我们一起迎接美好的未来。' +
  '总而言之,只要我们不断努力,就一定能够取得更大的成就。每天5分钟,月入3千,点击关注,转发给更多的朋友。';

describe('end to end: submit, score, read', () => {
  let env: TestEnv;
  let key: string;
  beforeAll(async () => {
    env = await createTestEnv({ workers: true });
    key = await env.keyFor('submitter');
  });
  afterAll(() => env.close());

  const read = async (id: string) => (await (await env.request('GET', `/v1/articles/${id}`, { key })).json()) as ArticleBody;
  const scored = (id: string, revision = 1) =>
    waitFor(async () => {
      const a = await read(id);
      return a.status === 'scored' && a.revision === revision && a.result ? a : undefined;
    });

  it('scores a submitted article and explains the verdict in both languages', async () => {
    const res = await env.request('POST', '/v1/articles', { key, body: { externalId: 'slop-1', accountId: 'acct-1', text: SLOP_ZH } });
    const { id } = (await res.json()) as { id: string };
    const article = await scored(id);
    expect(['pass', 'review', 'flag']).toContain(article.result!.verdict);
    expect(article.result!.modelVersion).toContain('text-signals');
    expect(article.result!.configVersion.length).toBeGreaterThan(0);
    const codes = article.result!.reasons.map((r) => r.code);
    expect(codes.length).toBeGreaterThan(0);
    for (const r of article.result!.reasons) {
      expect(r.message.zh.length).toBeGreaterThan(0);
      expect(r.message.en.length).toBeGreaterThan(0);
    }
    expect(article.result!.timings.totalMs).toBeGreaterThanOrEqual(0);
  });

  it('never labels declared AI content as undeclared', async () => {
    const res = await env.request('POST', '/v1/articles', { key, body: { externalId: 'declared', accountId: 'acct-2', text: SLOP_ZH, declaredAi: true } });
    const { id } = (await res.json()) as { id: string };
    expect((await scored(id)).result!.label).toBe('ai_declared');
  });

  it('scores a batch to completion and reports progress 1', async () => {
    const res = await env.request('POST', '/v1/batches', {
      key,
      body: { articles: Array.from({ length: 20 }, (_, i) => ({ externalId: `batch-${i}`, accountId: `acct-${i % 3}`, text: `第${i}篇。${SLOP_ZH}` })) },
    });
    const { batchId } = (await res.json()) as { batchId: string };
    const batch = await waitFor(async () => {
      const b = (await (await env.request('GET', `/v1/batches/${batchId}`, { key })).json()) as {
        progress: number;
        byStatus: Record<string, number>;
        byVerdict: Record<string, number>;
      };
      return b.progress === 1 ? b : undefined;
    });
    expect(batch.byStatus.scored).toBe(20);
    expect(Object.values(batch.byVerdict).reduce((a, b) => a + b, 0)).toBe(20);
  });

  it('scores each content revision once: resubmitting unchanged content adds no score', async () => {
    const body = { externalId: 'rev', accountId: 'acct-r', text: SLOP_ZH };
    const { id } = (await (await env.request('POST', '/v1/articles', { key, body })).json()) as { id: string };
    await scored(id);
    await env.request('POST', '/v1/articles', { key, body });
    await env.request('POST', '/v1/articles', { key, body: { ...body, text: `${SLOP_ZH}补充一句。` } });
    await scored(id, 2);
    const rows = await env.ctx.db.query<{ revision: number }>('SELECT revision FROM scores WHERE article_id = $1 ORDER BY revision', [id]);
    expect(rows.map((r) => r.revision)).toEqual([1, 2]);
    const events = await env.ctx.db.query<{ type: string }>('SELECT type FROM events WHERE subject_id = $1 ORDER BY id', [id]);
    expect(events.map((e) => e.type)).toEqual(['article.submitted', 'article.scored', 'article.revised', 'article.scored']);
  });

  it('scores the same job twice without a second score row (idempotent processor)', async () => {
    const { id } = (await (await env.request('POST', '/v1/articles', { key, body: { externalId: 'twice', accountId: 'a', text: SLOP_ZH } })).json()) as { id: string };
    await scored(id);
    const again = await env.workers!.scoring.score({ tenantId: 'tenant-a', articleId: id, revision: 1, trigger: 'live' });
    expect(again.kind).toBe('already_scored');
    const rows = await env.ctx.db.query('SELECT id FROM scores WHERE article_id = $1', [id]);
    expect(rows).toHaveLength(1);
  });
});

describe('the 202 promise: the reconciler queues accepted articles whose job was lost', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(() => env.close());

  it('re-queues a committed row with no job, and leaves queued jobs alone', async () => {
    const key = await env.keyFor('submitter');
    const lost = (await (await env.request('POST', '/v1/articles', { key, body: { externalId: 'lost', accountId: 'a', text: SLOP_ZH } })).json()) as { id: string };
    const kept = (await (await env.request('POST', '/v1/articles', { key, body: { externalId: 'kept', accountId: 'a', text: SLOP_ZH } })).json()) as { id: string };
    // Redis lost the job (e.g. a restart without persistence) after the row was committed.
    await env.ctx.queues.score.remove(`score-${lost.id}-r1`);
    expect(await env.ctx.queues.score.getJob(`score-${lost.id}-r1`)).toBeUndefined();
    const reconciler = new Reconciler(env.ctx.db, { live: env.ctx.jobs.score, imported: env.ctx.jobs.importScore }, env.ctx.articles, 0, env.ctx.log);
    expect(await reconciler.runOnce()).toBe(1);
    expect(await env.ctx.queues.score.getJob(`score-${lost.id}-r1`)).toBeTruthy();
    expect(await env.ctx.queues.score.getJob(`score-${kept.id}-r1`)).toBeTruthy();
    expect(await reconciler.runOnce()).toBe(0);
  });
});

describe('end to end with the shipped transformer detector', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ workers: true, env: { DETECTOR_ENABLED: 'true' } });
  });
  afterAll(() => env.close());

  it('loads the model once, reports it ready, and scores with per-window segments', async () => {
    const ready = (await (await env.request('GET', '/readyz')).json()) as { ready: boolean; checks: { model: { ok: boolean; detail: string } } };
    expect(ready.checks.model.ok).toBe(true);
    expect(ready.checks.model.detail).toMatch(/^slopguard-detector/);
    const key = await env.keyFor('submitter');
    const text = SLOP_ZH.repeat(4);
    const { id } = (await (await env.request('POST', '/v1/articles', { key, body: { externalId: 'model-1', accountId: 'a', text } })).json()) as { id: string };
    const article = await waitFor(async () => {
      const a = (await (await env.request('GET', `/v1/articles/${id}`, { key })).json()) as ArticleBody & {
        result: { segments: { start: number; end: number; probability: number }[]; reasons: { code: string }[] } | null;
      };
      return a.status === 'scored' ? a : undefined;
    }, 60_000);
    expect(article.result!.modelVersion).toMatch(/^slopguard-detector/);
    expect(article.result!.reasons.map((r) => r.code)).toContain('model_probability');
    const segments = article.result!.segments;
    expect(segments.length).toBeGreaterThan(0);
    expect(segments[0]!.start).toBe(0);
    expect(segments.at(-1)!.end).toBe(text.length);
  }, 90_000);
});

describe('end to end with the zero-shot scorer switched on (tiny test GPT-2)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ workers: true, env: { ZEROSHOT_OBSERVER: 'tiny-gpt2' } });
  });
  afterAll(() => env.close());

  it('records perplexity statistics with the verdict and names the model in the version', async () => {
    const key = await env.keyFor('submitter');
    const { id } = (await (await env.request('POST', '/v1/articles', { key, body: { externalId: 'zs-1', accountId: 'a', text: SLOP_ZH } })).json()) as { id: string };
    const article = await waitFor(async () => {
      const a = (await (await env.request('GET', `/v1/articles/${id}`, { key })).json()) as ArticleBody & {
        result: { signals: { zeroShot?: { features: Record<string, number> } } } | null;
      };
      return a.status === 'scored' ? a : undefined;
    }, 60_000);
    expect(article.result!.modelVersion).toContain('zeroshot:tiny-gpt2');
    expect(article.result!.signals.zeroShot?.features.log_ppl).toBeGreaterThan(0);
    expect(article.result!.reasons.map((r) => r.code)).toContain('zeroshot_binoculars');
  }, 90_000);
});
