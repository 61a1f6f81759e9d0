/**
 * The console dashboard's queries (DashboardService.overview: volume by verdict per day, review
 * backlog by age, largest open clusters, precision per model version, score distribution this
 * week against the weeks before) on an empty store and on BENCH_ARTICLES stored articles
 * (default 1,000,000, over 60 days) with BENCH_DECISIONS moderator decisions (default 100,000)
 * and 20,000 clusters (a heavy backlog: 20% of articles flag/review, 100,000 of them open),
 * side by side in one run. Bulk-loaded with generate_series in its own schema, dropped
 * afterwards. Goal: well under a second per dashboard.
 *
 *   npm run bench:dashboard     (BENCH_ARTICLES, BENCH_DECISIONS, BENCH_RUNS=7)
 */
import { DashboardService } from '../src/services/dashboard.ts';
import { benchStore } from './lib.ts';

const ARTICLES = Number(process.env.BENCH_ARTICLES ?? 1_000_000);
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TENANT = 'bench';
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

async function time(label: string, fn: () => Promise<unknown>): Promise<{ first: number; p50: number; best: number }> {
  const t = performance.now();
  await fn(); // the first computes the closed days' rollups and warms the buffers
  const first = performance.now() - t;
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const r = { first, p50: ms[Math.floor(ms.length / 2)]!, best: ms[0]! };
  console.error(`  ${label}: first ${fmt(first)} ms, then p50 ${fmt(r.p50)} ms, best ${fmt(r.best)} ms`);
  return r;
}

const store = await benchStore('dash');
try {
  const dashboard = new DashboardService(store.db);
  const now = new Date();
  console.error('empty store');
  const empty = await time('overview', () => dashboard.overview(TENANT, now));

  const t0 = performance.now();
  // articles over the last 60 days; verdicts by score: ~80% pass, ~13% review, ~7% flag; two model versions
  await store.db.query(
    `INSERT INTO articles (id, tenant_id, external_id, account_id, text, lang, content_hash, received_at, status, score, label, verdict, model_version, config_version, scored_at)
     SELECT 'art_b' || g, $1, 'ext-' || g, 'acct-' || (g % 50000), 'bench', 'zh', md5(g::text),
            $2::timestamptz - (g::bigint * 5184000 / $3) * interval '1 second', 'scored', s,
            CASE WHEN s >= 0.93 THEN 'ai_undeclared' WHEN s >= 0.8 THEN 'uncertain' ELSE 'human' END,
            CASE WHEN s >= 0.93 THEN 'flag' WHEN s >= 0.8 THEN 'review' ELSE 'pass' END,
            CASE WHEN g::bigint * 5184000 / $3 < 1209600 THEN 'detector@v2' ELSE 'detector@v1' END, 'fusion-1',
            $2::timestamptz - (g::bigint * 5184000 / $3) * interval '1 second'
     FROM generate_series(1, $3::int) AS g, LATERAL (SELECT ((g::bigint * 7919) % 1000) / 1000.0 AS s) x`,
    [TENANT, now, ARTICLES],
  );
  // moderator decisions on the first DECISIONS review/flag articles, each with its event
  await store.db.query(
    `WITH picked AS (
       SELECT id, verdict, model_version, score, row_number() OVER (ORDER BY id) AS n FROM articles
       WHERE tenant_id = $1 AND verdict IN ('flag', 'review') ORDER BY id LIMIT $2),
     ev AS (
       INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
       SELECT $1, 'article', id, 'review.decided', 'mod-' || (n % 20),
              jsonb_build_object('decision', CASE WHEN n % 5 = 0 THEN 'human' ELSE 'confirm_ai_undeclared' END, 'verdict', verdict, 'score', score),
              model_version, 'fusion-1'
       FROM picked RETURNING id AS event_id, subject_id, payload->>'decision' AS decision)
     INSERT INTO review_state (tenant_id, article_id, revision, state, decision, decided_by, decided_at, decisions, last_event_id)
     SELECT $1, subject_id, 1, 'decided', decision, 'mod', now(), 1, event_id FROM ev`,
    [TENANT, DECISIONS],
  );
  // 20,000 clusters of 5 articles each over the review/flag articles after the decided ones
  await store.db.query(`INSERT INTO clusters (id, tenant_id, size, account_count) SELECT 'cl_b' || g, $1, 5, 5 FROM generate_series(1, 20000) AS g`, [TENANT]);
  await store.db.query(
    `INSERT INTO cluster_members (tenant_id, article_id, cluster_id, account_id, posted_at)
     SELECT $1, a.id, 'cl_b' || (1 + (row_number() OVER (ORDER BY a.id) - 1) / 5), a.account_id, a.received_at
     FROM (SELECT id, account_id, received_at FROM articles WHERE tenant_id = $1 AND verdict IN ('flag', 'review') ORDER BY id DESC LIMIT 100000) a`,
    [TENANT],
  );
  // what autovacuum gives a live store: statistics and the visibility map (index-only scans)
  await store.db.query('VACUUM ANALYZE');
  const [counts] = await store.db.query<{ articles: number; decisions: number; members: number }>(
    `SELECT (SELECT count(*) FROM articles)::int AS articles, (SELECT count(*) FROM review_state)::int AS decisions, (SELECT count(*) FROM cluster_members)::int AS members`,
  );
  console.error(`loaded ${counts!.articles} articles, ${counts!.decisions} decisions, ${counts!.members} cluster members in ${fmt((performance.now() - t0) / 1000)} s`);
  console.error('loaded store');
  const loaded = await time('overview', () => dashboard.overview(TENANT, now));
  const d = await dashboard.overview(TENANT, now);
  const open = d.backlog.reduce((s, b) => s + b.count, 0);
  console.log(`\ndashboard (DashboardService.overview; first: computes the closed days' rollups; then ${RUNS} runs)`);
  console.log('| store | first ms | p50 ms | best ms |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| empty | ${fmt(empty.first)} | ${fmt(empty.p50)} | ${fmt(empty.best)} |`);
  console.log(
    `| ${counts!.articles.toLocaleString('en-US')} articles, ${counts!.decisions.toLocaleString('en-US')} decisions | ${fmt(loaded.first)} | ${fmt(loaded.p50)} | ${fmt(loaded.best)} |`,
  );
  console.log(
    `ratio loaded / empty (p50): ${fmt(loaded.p50 / Math.max(empty.p50, 0.001))}x; open backlog ${open}, precision rows ${d.precision.length}, largest open cluster ${d.clusters[0]?.open ?? 0} open`,
  );
} finally {
  await store.drop();
}
