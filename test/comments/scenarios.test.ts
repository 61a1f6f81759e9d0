import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildScenario, loadHumanThreads, type Scenario, type ScenarioComment } from '../../src/eval/comment-corpus.ts';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';
import { sharedPath } from '../helpers/shared.ts';

/**
 * The scenarios of issue 16, end to end through the API, the comment worker, real Redis and
 * real PostgreSQL: a comment farm (30 accounts posting 20 templates under 200 articles, in
 * bursts at a machine cadence) among 500 human comments, and one person who always writes
 * short praise. How the corpus is made: `src/eval/comment-corpus.ts`.
 */

interface Verdict {
  externalId: string;
  verdict: string;
  label: string;
}

describe('comment scenarios', () => {
  let env: TestEnv;
  let submitter: string;
  let moderator: string;
  let scenario: Scenario;
  let byId: Map<string, ScenarioComment>;
  let verdicts: Verdict[] = [];

  beforeAll(async () => {
    const datasets = sharedPath('datasets');
    if (!datasets) throw new Error('shared/datasets not found beside the checkout, at /work/shared, or in SLOPGUARD_SHARED_DIR');
    scenario = buildScenario(await loadHumanThreads(datasets));
    byId = new Map(scenario.comments.map((c) => [c.externalId, c]));
    env = await createTestEnv({ workers: true, env: { COMMENT_CONCURRENCY: '8' } });
    submitter = (await env.ctx.keys.create('tenant-farm', 'submitter')).key;
    moderator = (await env.ctx.keys.create('tenant-farm', 'moderator')).key;
    const articles = await env.request('POST', '/v1/batches', { key: submitter, body: { articles: scenario.articles } });
    expect(((await articles.json()) as { accepted: unknown[] }).accepted).toHaveLength(scenario.articles.length);
    for (let i = 0; i < scenario.comments.length; i += 250) {
      const chunk = scenario.comments.slice(i, i + 250).map(({ role: _role, ...c }) => c);
      const res = await env.request('POST', '/v1/comments/batch', { key: submitter, body: { comments: chunk } });
      expect(((await res.json()) as { errors: unknown[] }).errors).toEqual([]);
    }
    const scoredAll = () =>
      waitFor(
        async () => {
          const rows = await env.ctx.db.query<Verdict>(`SELECT external_id AS "externalId", verdict, label FROM comments WHERE tenant_id = 'tenant-farm' AND status = 'scored'`);
          return rows.length === scenario.comments.length && rows;
        },
        120_000,
        200,
      );
    await scoredAll();
    // Re-evaluations of templates' earlier members: planned from the outbox, run on the comment queue.
    await waitFor(
      async () => {
        await env.workers!.dispatcher!.drain();
        const counts = await env.ctx.queues.comment.getJobCounts('waiting', 'active', 'delayed');
        return Object.values(counts).every((n) => n === 0);
      },
      120_000,
      200,
    );
    verdicts = await scoredAll();
  }, 180_000);
  afterAll(() => env?.close());

  const of = (role: ScenarioComment['role']) => verdicts.filter((v) => byId.get(v.externalId)!.role === role);

  it('catches the farm: every farm comment caught, nearly all flagged, first copies included', () => {
    const farm = of('farm');
    expect(farm).toHaveLength(600);
    const flagged = farm.filter((v) => v.verdict === 'flag').length;
    const caught = farm.filter((v) => v.verdict !== 'pass').length;
    // A template's first copies are scored before the others exist; re-evaluation raises them when the template grows.
    expect(flagged / farm.length).toBeGreaterThanOrEqual(0.95);
    expect(caught).toBe(farm.length);
    expect(farm.filter((v) => v.verdict === 'flag').every((v) => v.label === 'ai_undeclared')).toBe(true);
  });

  it('leaves the 500 human comments alone', () => {
    const humans = of('human');
    expect(humans).toHaveLength(500);
    expect(humans.filter((v) => v.verdict === 'flag')).toEqual([]);
    expect(humans.filter((v) => v.verdict !== 'pass').length).toBeLessThanOrEqual(5);
  });

  it('does not flag a person who always writes short praise, on praise alone', () => {
    const praise = of('praiser');
    expect(praise).toHaveLength(30);
    expect(praise.filter((v) => v.verdict !== 'pass')).toEqual([]);
  });

  it('groups the farm for review by template and as one account cluster', async () => {
    const byTemplate = (await (await env.request('GET', '/v1/review/comments?group=template&limit=2000', { key: moderator })).json()) as {
      groups: { key: string; accounts: string[]; comments: { id: string; articleTitle: string | null }[] }[];
    };
    // Farm templates are not mixed with people (two people who paste the same definition may share one).
    const templated = byTemplate.groups.filter((g) => g.key.startsWith('tpl_') && g.accounts.some((a) => a.startsWith('farm-account-')));
    expect(templated.length).toBeGreaterThanOrEqual(18);
    expect(templated.length).toBeLessThanOrEqual(22);
    expect(templated.flatMap((g) => g.accounts).filter((a) => !a.startsWith('farm-account-'))).toEqual([]);
    expect(templated[0]!.comments[0]!.articleTitle).toBeTruthy();
    const byCluster = (await (await env.request('GET', '/v1/review/comments?group=account_cluster&limit=2000', { key: moderator })).json()) as {
      groups: { key: string; accounts: string[] }[];
    };
    expect(byCluster.groups[0]!.key).toMatch(/^acl_/);
    expect(byCluster.groups[0]!.accounts).toHaveLength(30);
  });
});
