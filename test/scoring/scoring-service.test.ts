import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFusionConfig } from '../../src/scoring/fusion-config.ts';
import { createTextSignalsScorer } from '../../src/scoring/text-signals/index.ts';
import { createPipeline } from '../../src/services/pipeline.ts';
import { ScoringService, type ScoringPipeline } from '../../src/services/scoring.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';

const text = createTextSignalsScorer();
await text.load();
const inner = createPipeline({ text, detector: null, zeroShot: null, account: null, fusion: defaultFusionConfig });

/** The real text pipeline, except that articles whose text contains POISON get a reason Postgres refuses (NUL in jsonb). */
const poisoning: ScoringPipeline = {
  modelVersion: inner.modelVersion,
  configVersion: inner.configVersion,
  async run(article) {
    const result = await inner.run(article);
    if (!article.text.includes('POISON')) return result;
    return { ...result, reasons: [...result.reasons, { code: 'bad', source: 'text', contribution: 0, message: { en: 'x\u0000', zh: 'x' } }] };
  },
};

describe('ScoringService under concurrency', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
    await env.ctx.db.query(
      `INSERT INTO articles (id, tenant_id, external_id, account_id, text, lang, content_hash)
       SELECT 'art_c' || g, 't', 'x-' || g, 'acct', CASE WHEN g = 7 THEN 'POISON ' ELSE '' END || '今天下午三点,老板一边擦桌子一边聊天。' || g, 'zh', md5('c' || g)
       FROM generate_series(1, 40) AS g`,
    );
  });
  afterAll(() => env.close());

  it('shares statements between concurrent jobs, writes each score once, and fails only the job whose row is refused', async () => {
    let statements = 0;
    const db = env.ctx.db;
    const counting = {
      ...db,
      query: ((sql: string, params?: readonly unknown[]) => {
        statements++;
        return db.query(sql, params);
      }) as typeof db.query,
    };
    const scoring = new ScoringService(counting, poisoning);
    const jobs = Array.from({ length: 40 }, (_, i) => ({ tenantId: 't', articleId: `art_c${i + 1}`, revision: 1, trigger: 'live' as const }));
    const outcomes = await Promise.all(jobs.map((job) => scoring.score(job).catch((error: Error) => error)));
    const failed = outcomes.filter((o) => o instanceof Error);
    expect(failed).toHaveLength(1);
    expect(outcomes[6]).toBeInstanceOf(Error);
    expect(outcomes.filter((o) => !(o instanceof Error) && o.kind === 'scored')).toHaveLength(39);
    // One read and one write per job would be 80 statements; the failed write batch adds its retries.
    expect(statements).toBeLessThan(60);

    const rows = await env.ctx.db.query<{ status: string; n: number }>(
      `SELECT a.status, count(s.id)::int AS n FROM articles a LEFT JOIN scores s ON s.article_id = a.id GROUP BY a.id, a.status ORDER BY a.id`,
    );
    expect(rows.filter((r) => r.status === 'scored' && r.n === 1)).toHaveLength(39);
    expect(rows.filter((r) => r.status === 'scoring' && r.n === 0)).toHaveLength(1);
    const events = await env.ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'article.scored'`);
    expect(events[0]!.n).toBe(39);

    // Scoring again is a no-op for every scored article.
    const again = await Promise.all(jobs.filter((_, i) => i !== 6).map((job) => scoring.score(job)));
    expect(new Set(again.map((o) => o.kind))).toEqual(new Set(['already_scored']));
  });
});
