/**
 * The console dashboard (DashboardService.overview and each of its reads: volume by verdict per
 * day, review backlog by age, largest open clusters, precision per model version, score
 * distribution this week against the weeks before) on an empty store and on BENCH_ARTICLES
 * stored articles (default 1,000,000, over 60 days) with BENCH_DECISIONS moderator decisions
 * (default 100,000) and 20,000 clusters (a heavy backlog: 20% of articles flag/review, 100,000
 * of them open), side by side in one run: p50 and p95 of BENCH_RUNS runs after a first one
 * (which computes the closed days' rollups). Goal: well under a second per dashboard.
 *
 * Also the cost per submitted article of the dashboard's triggers (migrations 080/081): live
 * submissions (the submit upsert, then the score write) with the user triggers of `articles`,
 * `review_state` and `cluster_members` on and off, in alternating rounds, and the time the
 * trigger functions themselves ran (pg_stat_user_functions); without waiting for the WAL flush
 * at commit (synchronous_commit off), which would drown the difference on a slow disk.
 *
 *   npm run bench:dashboard                            (BENCH_ARTICLES, BENCH_DECISIONS, BENCH_RUNS=20)
 *   npm run bench:dashboard -- --keep                  keep the filled schema (its name is printed)
 *   npm run bench:dashboard -- --schema dash1m --keep  fill dash1m once, reuse it in later runs
 *
 * A schema given with --schema that already exists is reused (migrated, refilled only when it
 * holds another size) and never dropped; the machine's load average is printed beside the figures.
 */
import { loadavg } from 'node:os';
import type { Db } from '../src/db/db.ts';
import { createPgDb } from '../src/db/pg.ts';
import { newId } from '../src/domain/ids.ts';
import { DashboardService } from '../src/services/dashboard.ts';
import { upsertArticles } from '../src/store/articles.ts';
import { writeScores } from '../src/store/scores.ts';
import { BENCH_DATABASE_URL, benchStore, fmt } from './lib.ts';

const ARTICLES = Number(process.env.BENCH_ARTICLES ?? 1_000_000);
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 100_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const SUBMITS = Number(process.env.BENCH_SUBMITS ?? 500);
const SUBMIT_ROUNDS = Number(process.env.BENCH_SUBMIT_ROUNDS ?? 6);
const TENANT = 'bench';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const KEEP = process.argv.includes('--keep');
const SCHEMA = argValue('--schema');

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Timing {
  first: number;
  p50: number;
  p95: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function time(label: string, fn: () => Promise<unknown>): Promise<Timing> {
  const t = performance.now();
  await fn();
  const first = performance.now() - t;
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const r = { first, p50: quantile(ms, 0.5), p95: quantile(ms, 0.95) };
  console.error(`  ${label}: first ${fmt(first)} ms, then p50 ${fmt(r.p50)} ms, p95 ${fmt(r.p95)} ms`);
  return r;
}

/** The dashboard's reads, each on its own (the overview runs them together). */
function reads(dashboard: DashboardService, tenant: string, now: Date): [string, () => Promise<unknown>][] {
  return [
    ['volume (28 days by verdict)', () => dashboard.volume(tenant, now)],
    ['scores (this week vs 3 before)', () => dashboard.scoreDistribution(tenant, now)],
    ['backlog by age', () => dashboard.backlog(tenant, now)],
    ['largest open clusters', () => dashboard.openClusters(tenant)],
    ['precision per model version', () => dashboard.precision(tenant)],
  ];
}

async function measure(db: Db, tenant: string, now: Date): Promise<{ overview: Timing; parts: [string, Timing][]; load: string }> {
  const dashboard = new DashboardService(db);
  const overview = await time('overview', () => dashboard.overview(tenant, now));
  const parts: [string, Timing][] = [];
  for (const [label, fn] of reads(dashboard, tenant, now)) parts.push([label, await time(label, fn)]);
  return { overview, parts, load: load() };
}

/** Bulk-loads the full store (generate_series), unless the schema already holds this size; returns the `now` it was filled at. */
async function fill(db: Db): Promise<Date> {
  await db.query('CREATE TABLE IF NOT EXISTS bench_fill (now timestamptz NOT NULL, articles int NOT NULL, decisions int NOT NULL)');
  const [done] = await db.query<{ now: Date; articles: number; decisions: number }>('SELECT now, articles, decisions FROM bench_fill');
  if (done && done.articles === ARTICLES && done.decisions === DECISIONS) {
    console.error(`reusing the filled store (filled at ${new Date(done.now).toISOString()})`);
    return new Date(done.now);
  }
  if (done) throw new Error(`the schema holds ${done.articles} articles / ${done.decisions} decisions: drop it or choose another --schema`);
  const [any] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM articles WHERE tenant_id = $1 LIMIT 1) x', [TENANT]);
  if (any?.n) throw new Error('the schema holds a partial fill: drop it or choose another --schema');
  const now = new Date();
  const t0 = performance.now();
  // articles over the last 60 days; verdicts by score: ~80% pass, ~13% review, ~7% flag; two model versions
  await db.query(
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
  await db.query(
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
  await db.query(`INSERT INTO clusters (id, tenant_id, size, account_count) SELECT 'cl_b' || g, $1, 5, 5 FROM generate_series(1, 20000) AS g`, [TENANT]);
  await db.query(
    `INSERT INTO cluster_members (tenant_id, article_id, cluster_id, account_id, posted_at)
     SELECT $1, a.id, 'cl_b' || (1 + (row_number() OVER (ORDER BY a.id) - 1) / 5), a.account_id, a.received_at
     FROM (SELECT id, account_id, received_at FROM articles WHERE tenant_id = $1 AND verdict IN ('flag', 'review') ORDER BY id DESC LIMIT 100000) a`,
    [TENANT],
  );
  await db.query('INSERT INTO bench_fill (now, articles, decisions) VALUES ($1, $2, $3)', [now, ARTICLES, DECISIONS]);
  console.error(`filled in ${fmt((performance.now() - t0) / 1000)} s (load ${load()})`);
  return now;
}

/** A live submission as the API and the score worker write it: the submit upsert, then the score write. */
async function submitOne(db: Db, tenant: string, g: number): Promise<void> {
  const s = ((g * 7919) % 1000) / 1000;
  const verdict = s >= 0.93 ? 'flag' : s >= 0.8 ? 'review' : 'pass';
  const id = newId('art');
  const [row] = await upsertArticles(db, [
    {
      idx: 0,
      bidx: 0,
      tenant_id: tenant,
      actor: 'bench',
      id,
      external_id: `sub-${g}`,
      account_id: `acct-${g % 500}`,
      title: null,
      url: null,
      text: `bench article ${g}`,
      lang: 'en',
      content_hash: `h${g}`,
      published_at: null,
      declared_ai: false,
      labels: [],
      metadata: {},
    },
  ]);
  await writeScores(
    db,
    [
      {
        score_id: newId('scr'),
        article_id: row!.id,
        tenant_id: tenant,
        revision: row!.revision,
        content_hash: `h${g}`,
        score: s,
        label: verdict === 'pass' ? 'human' : verdict === 'flag' ? 'ai_undeclared' : 'uncertain',
        verdict,
        reasons: [],
        segments: [],
        signals: {},
        timings: {},
        trigger: 'live',
        payload: {},
      },
    ],
    { modelVersion: 'detector@v2', configVersion: 'fusion-1' },
  );
}

/**
 * Per live submission: wall time with the user triggers on and off (alternating rounds of
 * SUBMITS, medians) and the trigger functions' own time (pg_stat_user_functions).
 */
async function submitCost(schema: string): Promise<{ on: number; off: number; fnMs: number; load: string }> {
  const db = createPgDb(BENCH_DATABASE_URL, { schema, max: 1 });
  try {
    // the trigger cost is CPU, not the commit's WAL flush (which would drown it on a slow disk)
    await db.query(`SET track_functions = 'pl'`);
    await db.query('SET synchronous_commit = off');
    const tables = ['articles', 'review_state', 'cluster_members'];
    const fnTime = async () => {
      await db.query('SELECT pg_stat_force_next_flush()');
      await db.query('SELECT 1');
      await db.query('SELECT pg_stat_clear_snapshot()');
      const [r] = await db.query<{ ms: number }>(`SELECT COALESCE(sum(total_time), 0)::float8 AS ms FROM pg_stat_user_functions WHERE schemaname = $1`, [schema]);
      return Number(r?.ms ?? 0);
    };
    const on: number[] = [];
    const off: number[] = [];
    let fnMs = 0;
    let g = 0;
    for (let round = 0; round < SUBMIT_ROUNDS * 2; round++) {
      const enabled = round % 2 === 0;
      for (const t of tables) await db.query(`ALTER TABLE ${t} ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER USER`);
      const before = enabled ? await fnTime() : 0;
      const t0 = performance.now();
      for (let i = 0; i < SUBMITS; i++) await submitOne(db, 'submit', ++g);
      const per = (performance.now() - t0) / SUBMITS;
      if (enabled) {
        on.push(per);
        fnMs += (await fnTime()) - before;
      } else off.push(per);
    }
    for (const t of tables) await db.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
    const median = (xs: number[]) =>
      quantile(
        [...xs].sort((a, b) => a - b),
        0.5,
      );
    return { on: median(on), off: median(off), fnMs: fnMs / (SUBMITS * SUBMIT_ROUNDS), load: load() };
  } finally {
    await db.close();
  }
}

const empty = await benchStore('dash');
const full = await benchStore('dash', { ...(SCHEMA ? { schema: SCHEMA } : {}), keep: KEEP });
try {
  console.error(`load average at start: ${load()}`);
  const now = new Date();
  console.error('empty store');
  const e = await measure(empty.db, TENANT, now);
  console.error('per-submit trigger cost (empty store)');
  const submit = await submitCost(empty.schema);
  console.error(`  on ${fmt(submit.on, 3)} ms, off ${fmt(submit.off, 3)} ms, trigger functions ${fmt(submit.fnMs, 3)} ms per submit`);

  if (full.migrated.length > 0 && full.existed) console.error(`migrated the kept schema ${full.schema}: ${full.migrated.join(', ')}`);
  const filledAt = await fill(full.db);
  // what autovacuum gives a live store: statistics and the visibility map (index-only scans)
  const tables = await full.db.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = $1`, [full.schema]);
  await full.db.query(`VACUUM ANALYZE ${tables.map((t) => t.name).join(', ')}`);
  // the closed days' rollups are computed again by the first run, as on a store never shown
  await full.db.query('DELETE FROM dashboard_days WHERE tenant_id = $1', [TENANT]);
  const [counts] = await full.db.query<{ articles: number; decisions: number; members: number }>(
    `SELECT (SELECT count(*) FROM articles WHERE tenant_id = $1)::int AS articles, (SELECT count(*) FROM review_state WHERE tenant_id = $1)::int AS decisions,
            (SELECT count(*) FROM cluster_members WHERE tenant_id = $1)::int AS members`,
    [TENANT],
  );
  console.error(`full store: ${counts!.articles} articles, ${counts!.decisions} decisions, ${counts!.members} cluster members (schema ${full.schema})`);
  const f = await measure(full.db, TENANT, filledAt);
  const d = await new DashboardService(full.db).overview(TENANT, filledAt);
  const open = d.backlog.reduce((s, b) => s + b.count, 0);

  const size = `${counts!.articles.toLocaleString('en-US')} articles, ${counts!.decisions.toLocaleString('en-US')} decisions`;
  console.log(`\ndashboard (first: computes the closed days' rollups; then ${RUNS} runs), ms`);
  console.log(`| read | empty p50 | empty p95 | ${size}: first | p50 | p95 |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  const row = (label: string, a: Timing, b: Timing) => `| ${label} | ${fmt(a.p50)} | ${fmt(a.p95)} | ${fmt(b.first)} | ${fmt(b.p50)} | ${fmt(b.p95)} |`;
  console.log(row('**overview**', e.overview, f.overview));
  e.parts.forEach(([label, t], i) => console.log(row(label, t, f.parts[i]![1])));
  console.log(`load average (1, 5, 15 min): empty ${e.load}; full ${f.load}`);
  console.log(
    `ratio full / empty (overview p50): ${fmt(f.overview.p50 / Math.max(e.overview.p50, 0.001))}x; open backlog ${open}, precision rows ${d.precision.length}, largest open cluster ${d.clusters[0]?.open ?? 0} open`,
  );
  console.log(`\nper live submission (submit upsert + score write, ${SUBMIT_ROUNDS} rounds of ${SUBMITS} each way, medians), ms`);
  console.log('| triggers on | triggers off | difference | trigger functions |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| ${fmt(submit.on, 3)} | ${fmt(submit.off, 3)} | ${fmt(submit.on - submit.off, 3)} | ${fmt(submit.fnMs, 3)} |`);
  console.log(`load average (1, 5, 15 min): ${submit.load}`);
  if (KEEP || full.existed) console.log(`\nkept schema ${full.schema} (reuse: --schema ${full.schema} --keep)`);
} finally {
  await empty.drop();
  await full.drop();
}
