import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.ts';
import { type AppContext, createContext } from '../../src/context.ts';
import type { Db } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPgDb } from '../../src/db/pg.ts';
import { createPgliteDb } from '../../src/db/pglite.ts';
import { articleInputSchema } from '../../src/domain/article-input.ts';
import { type Decision, trainingLabel } from '../../src/domain/review.ts';
import type { Verdict } from '../../src/domain/types.ts';
import { prepareArticle } from '../../src/services/articles.ts';
import { BACKLOG_BUCKETS, type DashboardData, DashboardService, SCORE_BINS } from '../../src/services/dashboard.ts';
import type { Moderator } from '../../src/services/review.ts';
import { type ScoringPipeline, ScoringService } from '../../src/services/scoring.ts';
import { createTestEnv, dropRedisPrefix, TEST_DATABASE_URL, TEST_REDIS_URL, type TestEnv, uniqueName } from '../helpers/context.ts';

/**
 * Every dashboard figure against a direct count from the base tables (the queries the dashboard
 * ran before migration 081 kept counters for it), on data written through the service paths:
 * submissions and revisions (ArticleService), scores and rescans under another model version
 * (ScoringService), cluster joins and merges (ClusterService), decisions changed, escalated
 * and decided again (the review service). After every step the counters are also checked on
 * their own (articles.decided_revision, clusters.open_items once the dashboard folded its
 * marks, the precision rows), so a counter that drifted fails even where the dashboard's read
 * would have recounted it. On PostgreSQL and on PGlite (the embedded mode).
 */

const DAY = 86_400_000;
const TENANT = 'tenant-counts';

/** Scores read from the text: `s1=` under detector@v1, `s2=` under detector@v2 (a rescan under a new model). */
function pipeline(version: 'v1' | 'v2'): ScoringPipeline {
  return {
    modelVersion: `detector@${version}`,
    configVersion: 'fusion-test',
    async run(article) {
      const m = /s1=([0-9.]+) s2=([0-9.]+)/.exec(article.text);
      const score = Number(m?.[version === 'v1' ? 1 : 2] ?? 0);
      const verdict: Verdict = score >= 0.93 ? 'flag' : score >= 0.8 ? 'review' : 'pass';
      return { score, label: verdict === 'pass' ? 'human' : verdict === 'flag' ? 'ai_undeclared' : 'uncertain', verdict, reasons: [], segments: [], signals: {}, timings: {} };
    },
  };
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The dashboard as the pre-081 queries computed it, straight from articles, review_state, events and cluster_members. */
async function directCounts(db: Db, tenantId: string, now: Date): Promise<Omit<DashboardData, 'now'>> {
  const today = Math.floor(now.getTime() / DAY) * DAY;
  const from = today - 27 * DAY;
  const volumeRows = await db.query<{ day: string; verdict: string; n: number }>(
    `SELECT ((received_at AT TIME ZONE 'UTC')::date)::text AS day, verdict, count(*)::int AS n FROM articles
      WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3 AND verdict IS NOT NULL GROUP BY 1, 2`,
    [tenantId, new Date(from), new Date(today + DAY)],
  );
  const volume = Array.from({ length: 28 }, (_, i) => {
    const day = dayOf(from + i * DAY);
    const n = (v: string) => Number(volumeRows.find((r) => r.day === day && r.verdict === v)?.n ?? 0);
    return { day, pass: n('pass'), review: n('review'), flag: n('flag') };
  });
  const scoreRows = await db.query<{ recent: boolean; bin: number; n: number }>(
    `SELECT scored_at >= $3 AS recent, least(floor(score * ${SCORE_BINS}), ${SCORE_BINS - 1})::int AS bin, count(*)::int AS n FROM articles
      WHERE tenant_id = $1 AND scored_at >= $2 AND scored_at < $4 AND score IS NOT NULL GROUP BY 1, 2`,
    [tenantId, new Date(from), new Date(today - 6 * DAY), new Date(today + DAY)],
  );
  const thisWeek = new Array<number>(SCORE_BINS).fill(0);
  const before = new Array<number>(SCORE_BINS).fill(0);
  for (const r of scoreRows) (r.recent ? thisWeek : before)[r.bin]! += Number(r.n);
  const open = `SELECT a.id, a.received_at FROM articles a
     WHERE a.tenant_id = $1 AND a.verdict IN ('flag', 'review')
       AND NOT EXISTS (SELECT 1 FROM review_state rs WHERE rs.tenant_id = a.tenant_id AND rs.article_id = a.id AND rs.revision = a.revision AND rs.state = 'decided')`;
  const backlogRows = await db.query<{ bucket: string; n: number; oldest: Date }>(
    `SELECT CASE WHEN age < interval '1 hour' THEN 'lt1h' WHEN age < interval '1 day' THEN 'lt1d'
                 WHEN age < interval '3 days' THEN 'lt3d' WHEN age < interval '7 days' THEN 'lt7d' ELSE 'ge7d' END AS bucket,
            count(*)::int AS n, min(received_at) AS oldest
       FROM (SELECT $2::timestamptz - received_at AS age, received_at FROM (${open}) o) x GROUP BY 1`,
    [tenantId, now],
  );
  const oldest = backlogRows.map((r) => new Date(r.oldest).getTime()).sort((a, b) => a - b)[0];
  const clusters = await db.query<{ id: string; size: number; accounts: number; open: number }>(
    `SELECT c.id, c.size, c.account_count AS accounts, o.open
       FROM (SELECT cm.cluster_id, count(*)::int AS open FROM (${open}) o JOIN cluster_members cm ON cm.tenant_id = $1 AND cm.article_id = o.id GROUP BY 1) o
       JOIN clusters c ON c.id = o.cluster_id AND c.merged_into IS NULL
      ORDER BY o.open DESC, c.size DESC, c.id LIMIT 8`,
    [tenantId],
  );
  const precisionRows = await db.query<{ modelVersion: string | null; verdict: 'flag' | 'review'; decision: Decision; n: number }>(
    `SELECT e.model_version AS "modelVersion", e.payload->>'verdict' AS verdict, rs.decision, count(*)::int AS n
       FROM review_state rs JOIN events e ON e.id = rs.last_event_id
      WHERE rs.tenant_id = $1 AND rs.state = 'decided' AND rs.decision <> 'escalate' AND e.payload->>'verdict' IN ('flag', 'review')
      GROUP BY 1, 2, 3`,
    [tenantId],
  );
  const precision = new Map<string, DashboardData['precision'][number]>();
  for (const r of precisionRows) {
    const key = `${r.modelVersion}\u0000${r.verdict}`;
    const p = precision.get(key) ?? { modelVersion: r.modelVersion ?? 'unknown', verdict: r.verdict, confirmed: 0, decided: 0 };
    p.decided += Number(r.n);
    if (trainingLabel(r.decision) === 'ai') p.confirmed += Number(r.n);
    precision.set(key, p);
  }
  return {
    volume,
    backlog: BACKLOG_BUCKETS.map((bucket) => ({ bucket, count: Number(backlogRows.find((r) => r.bucket === bucket)?.n ?? 0) })),
    backlogOldest: oldest === undefined ? null : new Date(oldest).toISOString(),
    clusters: clusters.map((c) => ({ id: c.id, size: Number(c.size), accounts: Number(c.accounts), open: Number(c.open) })),
    precision: [...precision.values()].sort((a, b) => a.modelVersion.localeCompare(b.modelVersion) || a.verdict.localeCompare(b.verdict)),
    scores: { bins: SCORE_BINS, thisWeek, before, beforeWeeks: 3 },
  };
}

/** The counters against the base tables, each on its own (run after a dashboard read, which folds the cluster marks). */
async function counterDrift(db: Db, tenantId: string): Promise<Record<string, unknown[]>> {
  const decidedRevision = await db.query(
    `SELECT a.id, a.decided_revision, rs.revision, rs.state FROM articles a
       LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
      WHERE a.tenant_id = $1 AND a.decided_revision IS DISTINCT FROM (CASE WHEN rs.state = 'decided' THEN rs.revision END)`,
    [tenantId],
  );
  const openItems = await db.query(
    `SELECT c.id, c.open_items, x.n FROM clusters c
       LEFT JOIN (SELECT cm.cluster_id, count(*)::int AS n FROM cluster_members cm
                    JOIN articles a ON a.tenant_id = cm.tenant_id AND a.id = cm.article_id
                    LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
                   WHERE a.verdict IN ('flag', 'review') AND NOT (rs.state IS NOT DISTINCT FROM 'decided' AND rs.revision = a.revision)
                   GROUP BY 1) x ON x.cluster_id = c.id
      WHERE c.tenant_id = $1 AND c.open_items <> COALESCE(x.n, 0)`,
    [tenantId],
  );
  const marks = await db.query('SELECT article_id FROM cluster_open_marks WHERE tenant_id = $1', [tenantId]);
  const precision = await db.query(
    `WITH stored AS (SELECT COALESCE(model_version, '(null)') AS model_version, verdict, decision, sum(n)::int AS n FROM dashboard_precision WHERE tenant_id = $1 GROUP BY 1, 2, 3),
          direct AS (SELECT COALESCE(e.model_version, '(null)') AS model_version, e.payload->>'verdict' AS verdict, rs.decision, count(*)::int AS n
                       FROM review_state rs JOIN events e ON e.id = rs.last_event_id
                      WHERE rs.tenant_id = $1 AND rs.state = 'decided' AND rs.decision <> 'escalate' AND e.payload->>'verdict' IN ('flag', 'review')
                      GROUP BY 1, 2, 3)
     SELECT * FROM stored s FULL JOIN direct d USING (model_version, verdict, decision)
      WHERE s.n IS DISTINCT FROM d.n AND NOT (s.n = 0 AND d.n IS NULL)`,
    [tenantId],
  );
  return { decidedRevision, openItems, marks, precision };
}

interface Services {
  db: Db;
  ctx: AppContext;
}

function scenario(name: string, open: () => Promise<Services & { close(): Promise<void> }>) {
  describe(`dashboard figures against direct counts (${name})`, () => {
    let s: Services & { close(): Promise<void> };
    let dashboard: DashboardService;
    let v1: ScoringService;
    let v2: ScoringService;
    let moderator: Moderator;
    const ids = new Map<string, { id: string; revision: number }>();
    const posted = new Map<string, string>();

    beforeAll(async () => {
      s = await open();
      dashboard = new DashboardService(s.db);
      v1 = new ScoringService(s.db, pipeline('v1'));
      v2 = new ScoringService(s.db, pipeline('v2'));
      const key = await s.ctx.keys.create(TENANT, 'moderator');
      moderator = { tenantId: TENANT, keyId: key.keyId };
    });
    afterAll(() => s?.close());

    /** Submits (or revises) articles through the article service and scores them under `scorer`. */
    async function submit(articles: { ext: string; account: string; s1: number; s2: number; note?: string }[], scorer = v1): Promise<void> {
      for (const a of articles) {
        const input = articleInputSchema.parse({
          externalId: a.ext,
          accountId: a.account,
          text: `Article ${a.ext}${a.note ? ` (${a.note})` : ''}: the council met on Tuesday to discuss the new bridge. s1=${a.s1} s2=${a.s2}`,
        });
        const result = await s.ctx.articles.submitOne({ tenantId: TENANT, actor: 'test' }, prepareArticle(input, { maxTextChars: 100_000 }));
        ids.set(a.ext, { id: result.id, revision: result.revision });
        if (result.changed) {
          const outcome = await scorer.score({ tenantId: TENANT, articleId: result.id, revision: result.revision, trigger: 'live' });
          expect(outcome.kind).toBe('scored');
        }
        const [row] = await s.db.query<{ at: Date }>('SELECT received_at AS at FROM articles WHERE id = $1', [result.id]);
        posted.set(a.ext, new Date(row!.at).toISOString());
      }
    }
    const idOf = (ext: string) => ids.get(ext)!.id;

    /** A rescan under detector@v2: the current revisions scored again through the scoring service. */
    async function rescan(exts: string[]): Promise<void> {
      for (const ext of exts) {
        const { id, revision } = ids.get(ext)!;
        await v2.score({ tenantId: TENANT, articleId: id, revision, trigger: 'rescan' });
      }
    }

    /** A near-duplicate observation: `ext` and its near-duplicates from other accounts, joined (and merged) by the cluster service. */
    async function join(ext: string, account: string, similar: [string, string][]): Promise<string | null> {
      return s.ctx.clusters.upsertFromObservation({
        tenantId: TENANT,
        articleId: idOf(ext),
        accountId: account,
        postedAt: posted.get(ext)!,
        firstObservation: true,
        clusterId: null,
        similar: similar.map(([e, acc], i) => ({ articleId: idOf(e), accountId: acc, postedAt: posted.get(e)!, similarity: 0.9 - i * 0.01 })),
      });
    }

    const decide = (exts: string[], decision: Decision) => s.ctx.review.decide(moderator, { type: 'selection', articleIds: exts.map(idOf) }, decision);

    /** Moves articles back in time (arrival and scoring), to spread them over the backlog's buckets and the charts' days. */
    async function age(exts: string[], ms: number): Promise<void> {
      await s.db.query(
        `UPDATE articles SET received_at = received_at - $2 * interval '1 millisecond', scored_at = scored_at - $2 * interval '1 millisecond' WHERE id = ANY($1::text[])`,
        [exts.map(idOf), ms],
      );
    }

    async function check(step: string): Promise<DashboardData> {
      const now = new Date();
      const shown = await dashboard.overview(TENANT, now);
      expect({ step, ...shown }).toEqual({ step, now: now.toISOString(), ...(await directCounts(s.db, TENANT, now)) });
      // shown again (the closed days from the rollup, the clusters from the folded counters)
      expect({ step, ...(await dashboard.overview(TENANT, now)) }).toEqual({ step, ...shown });
      expect({ step, ...(await counterDrift(s.db, TENANT)) }).toEqual({ step, decidedRevision: [], openItems: [], marks: [], precision: [] });
      return shown;
    }

    it('matches after submissions, scores, cluster joins and merges', async () => {
      await submit([
        // a farm of flagged and review items over five accounts
        ...Array.from({ length: 8 }, (_, i) => ({ ext: `farm-${i}`, account: `farm-acct-${i % 5}`, s1: i % 3 === 0 ? 0.85 : 0.95, s2: 0.5 })),
        // a second farm, merged into the first later
        ...Array.from({ length: 5 }, (_, i) => ({ ext: `ring-${i}`, account: `ring-acct-${i}`, s1: 0.96, s2: 0.97 })),
        // ordinary articles: passes, a few review items
        ...Array.from({ length: 12 }, (_, i) => ({ ext: `news-${i}`, account: `news-acct-${i % 4}`, s1: i % 4 === 0 ? 0.82 : 0.1 + i * 0.02, s2: i % 3 === 0 ? 0.94 : 0.2 })),
      ]);
      await check('scored, no clusters');
      await age(['news-0', 'news-1', 'farm-7'], 2 * 3_600_000);
      await age(['news-4', 'news-5', 'ring-4'], 2 * DAY);
      await age(['news-8', 'news-9', 'farm-6'], 5 * DAY);
      await age(['news-10', 'news-11', 'farm-5'], 12 * DAY);
      const aged = await check('aged');
      // the data reaches every backlog bucket and both score histograms
      expect(aged.backlog.every((b) => b.count > 0)).toBe(true);
      expect(
        Math.min(
          aged.scores.thisWeek.reduce((a, b) => a + b),
          aged.scores.before.reduce((a, b) => a + b),
        ),
      ).toBeGreaterThan(0);

      expect(
        await join('farm-1', 'farm-acct-1', [
          ['farm-0', 'farm-acct-0'],
          ['farm-2', 'farm-acct-2'],
        ]),
      ).not.toBeNull();
      await join('farm-3', 'farm-acct-3', [
        ['farm-2', 'farm-acct-2'],
        ['farm-4', 'farm-acct-4'],
      ]);
      await join('ring-1', 'ring-acct-1', [
        ['ring-0', 'ring-acct-0'],
        ['ring-2', 'ring-acct-2'],
      ]);
      await join('news-3', 'news-acct-3', [['news-0', 'news-acct-0']]);
      await check('three clusters');
      // farm-5 and ring-3 join, then farm-6 links the farm and the ring: a merge
      await join('farm-5', 'farm-acct-0', [['farm-1', 'farm-acct-1']]);
      await join('ring-3', 'ring-acct-3', [
        ['ring-1', 'ring-acct-1'],
        ['ring-4', 'ring-acct-4'],
      ]);
      await join('farm-6', 'farm-acct-1', [
        ['farm-3', 'farm-acct-3'],
        ['ring-2', 'ring-acct-2'],
      ]);
      const [live] = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clusters WHERE tenant_id = $1 AND merged_into IS NULL', [TENANT]);
      expect(live!.n).toBe(2);
      const merged = await check('merged');
      expect(merged.clusters.map((c) => c.open)).toEqual([expect.any(Number), expect.any(Number)]);
      expect(merged.clusters[0]!.open).toBeGreaterThan(5);
    });

    it('matches after decisions, changed decisions, escalations and a decided cluster', async () => {
      await decide(['farm-0', 'farm-1', 'ring-0'], 'confirm_ai_undeclared');
      await decide(['news-0', 'news-4'], 'human');
      await decide(['farm-2'], 'escalate');
      await check('decided');
      // decisions changed: overturned, then confirmed again; a decided item escalated (open again), then decided
      await decide(['farm-0'], 'human');
      await decide(['news-0'], 'ai_declared_ok');
      await decide(['farm-1'], 'escalate');
      await check('changed');
      await decide(['farm-1', 'farm-2'], 'confirm_ai_undeclared');
      const [cluster] = await s.db.query<{ id: string }>('SELECT cluster_id AS id FROM cluster_members WHERE tenant_id = $1 AND article_id = $2', [TENANT, idOf('ring-1')]);
      await s.ctx.review.decide(moderator, { type: 'cluster', id: cluster!.id }, 'confirm_ai_undeclared');
      const decided = await check('cluster decided');
      expect(decided.precision.map((p) => p.verdict)).toEqual(['flag', 'review']);
      // confirmed and overturned ones among them
      expect(decided.precision.some((p) => p.decided > p.confirmed) && decided.precision.every((p) => p.confirmed > 0)).toBe(true);
    });

    it('matches after revisions, rescans under another model that re-flag decided and passed items, and new joins', async () => {
      // a decided article revised: open again once scored (its decision was on the old revision)
      await submit([{ ext: 'farm-1', account: 'farm-acct-1', s1: 0.95, s2: 0.95, note: 'edited' }]);
      // a revised article waiting for its score: no verdict, not open
      await s.ctx.articles.submitOne(
        { tenantId: TENANT, actor: 'test' },
        prepareArticle(articleInputSchema.parse({ externalId: 'farm-3', accountId: 'farm-acct-3', text: 'Article farm-3 rewritten. s1=0.99 s2=0.99' }), { maxTextChars: 100_000 }),
      );
      await check('revised');
      // a rescan under detector@v2: passes become flags (in and out of clusters), flags become passes, decided ones re-flagged
      await rescan(['news-0', 'news-3', 'news-6', 'news-9', 'farm-0', 'farm-4', 'ring-0', 'ring-2', 'news-2']);
      await check('rescanned');
      await decide(['news-3', 'farm-4'], 'human');
      await join('news-6', 'news-acct-2', [
        ['news-9', 'news-acct-1'],
        ['farm-7', 'farm-acct-2'],
      ]);
      const rescanned = await check('decided after the rescan, joined');
      expect(new Set(rescanned.precision.map((p) => p.modelVersion))).toEqual(new Set(['detector@v1', 'detector@v2']));
    });

    it('keeps the counters exact under concurrent decisions, joins and rescans', async () => {
      await submit(Array.from({ length: 12 }, (_, i) => ({ ext: `race-${i}`, account: `race-acct-${i}`, s1: 0.95, s2: i % 2 ? 0.1 : 0.96 })));
      await join('race-0', 'race-acct-0', [['race-1', 'race-acct-1']]);
      const work: Promise<unknown>[] = [];
      for (let i = 2; i < 12; i++) {
        work.push(join(`race-${i}`, `race-acct-${i}`, [[`race-${i - 1}`, `race-acct-${i - 1}`]]));
        work.push(decide([`race-${i - 2}`], i % 3 ? 'confirm_ai_undeclared' : 'human'));
        if (i % 2) work.push(rescan([`race-${i}`]));
        // the dashboard folds its marks meanwhile
        work.push(dashboard.openClusters(TENANT));
      }
      await Promise.all(work);
      await check('after the race');
    });
  });
}

scenario('PostgreSQL', async () => {
  const env: TestEnv = await createTestEnv();
  return { db: env.ctx.db, ctx: env.ctx, close: () => env.close() };
});

scenario('PGlite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-dash-'));
  const prefix = uniqueName('sgt');
  const ctx = await createContext(buildConfig({ DATA_DIR: dir, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'silent', DETECTOR_ENABLED: 'false' }), 'api');
  return {
    db: ctx.db,
    ctx,
    async close() {
      await ctx.close();
      await dropRedisPrefix(TEST_REDIS_URL, prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** Applies the migrations up to `last` (included) as `migrate` does, so the next `migrate` call upgrades from there. */
async function migrateUpTo(db: Db, last: string): Promise<void> {
  const dir = new URL('../../src/db/migrations/', import.meta.url);
  await db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const file of readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f) && f <= last)
    .sort()) {
    await db.transaction(async (tx) => {
      await tx.exec(readFileSync(new URL(file, dir), 'utf8'));
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
    });
  }
}

/**
 * A store written before migration 081 (straight to the tables, as 080's code left them): the
 * upgrade backfills the decided revisions, the clusters' open items and the precision rollup,
 * and the dashboard shows what the direct counts show.
 */
async function upgradeCheck(db: Db): Promise<void> {
  await migrateUpTo(db, '080_dashboard.sql');
  const now = new Date();
  // 60 articles over 20 days; every third a second revision; verdicts by score
  await db.query(
    `INSERT INTO articles (id, tenant_id, external_id, account_id, text, lang, content_hash, revision, received_at, status, score, label, verdict, model_version, config_version, scored_at)
     SELECT 'art_u' || g, $1, 'ext-' || g, 'acct-' || (g % 7), 'text', 'en', md5(g::text), 1 + (g % 3 = 0)::int,
            $2::timestamptz - g * interval '8 hours', 'scored', s,
            CASE WHEN s >= 0.93 THEN 'ai_undeclared' WHEN s >= 0.8 THEN 'uncertain' ELSE 'human' END,
            CASE WHEN s >= 0.93 THEN 'flag' WHEN s >= 0.8 THEN 'review' ELSE 'pass' END,
            CASE WHEN g < 30 THEN 'detector@v2' ELSE 'detector@v1' END, 'fusion-1', $2::timestamptz - g * interval '8 hours'
       FROM generate_series(1, 60) AS g, LATERAL (SELECT CASE WHEN g % 2 = 0 THEN 0.95 WHEN g % 5 = 0 THEN 0.85 ELSE 0.3 END AS s) x`,
    [TENANT, now],
  );
  // decisions: on the current revision or the one before, confirmed, overturned, escalated; one event without a model version
  await db.query(
    `WITH picked AS (
       SELECT id, revision, verdict, score, model_version, row_number() OVER (ORDER BY id) AS n FROM articles
        WHERE tenant_id = $1 AND verdict IN ('flag', 'review') ORDER BY id LIMIT 24),
     ev AS (
       INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
       SELECT $1, 'article', id, 'review.decided', 'mod',
              jsonb_build_object('decision', CASE WHEN n % 4 = 0 THEN 'human' WHEN n % 7 = 0 THEN 'escalate' WHEN n % 5 = 0 THEN 'ai_declared_ok' ELSE 'confirm_ai_undeclared' END,
                                 'verdict', verdict, 'score', score, 'revision', revision - (n % 6 = 0)::int),
              CASE WHEN n = 3 THEN NULL ELSE model_version END, 'fusion-1'
         FROM picked RETURNING id AS event_id, subject_id, payload)
     INSERT INTO review_state (tenant_id, article_id, revision, state, decision, decided_by, decided_at, decisions, last_event_id)
     SELECT $1, subject_id, (payload->>'revision')::int, CASE WHEN payload->>'decision' = 'escalate' THEN 'escalated' ELSE 'decided' END,
            payload->>'decision', 'mod', now(), 1, event_id FROM ev`,
    [TENANT],
  );
  // clusters: two live ones, one merged into the first (no members left), a member whose article is not stored
  await db.query(
    `INSERT INTO clusters (id, tenant_id, size, account_count, merged_into) VALUES ('cl_u1', $1, 20, 7, NULL), ('cl_u2', $1, 10, 7, NULL), ('cl_u3', $1, 0, 0, 'cl_u1')`,
    [TENANT],
  );
  await db.query(
    `INSERT INTO cluster_members (tenant_id, article_id, cluster_id, account_id, posted_at)
     SELECT $1, 'art_u' || g, CASE WHEN g <= 40 THEN 'cl_u1' ELSE 'cl_u2' END, 'acct-' || (g % 7), now() FROM generate_series(1, 60) AS g WHERE g % 2 = 0 OR g % 5 = 0
     UNION ALL SELECT $1, 'art_missing', 'cl_u2', 'acct-x', now()`,
    [TENANT],
  );
  const before = await directCounts(db, TENANT, now);
  expect(await migrate(db)).toEqual(['081_dashboard_counts.sql']);
  const shown = await new DashboardService(db).overview(TENANT, now);
  expect(shown).toEqual({ now: now.toISOString(), ...before });
  expect(shown.clusters.length).toBe(2);
  expect(shown.precision.map((p) => p.modelVersion)).toEqual(['detector@v1', 'detector@v1', 'detector@v2', 'detector@v2', 'unknown']);
  expect(await counterDrift(db, TENANT)).toEqual({ decidedRevision: [], openItems: [], marks: [], precision: [] });
}

describe('an upgraded store (080 to 081) shows the same figures', () => {
  it('on PostgreSQL', async () => {
    const schema = uniqueName('t_');
    const admin = createPgDb(TEST_DATABASE_URL);
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = createPgDb(TEST_DATABASE_URL, { schema });
    try {
      await upgradeCheck(db);
    } finally {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    }
  });

  it('on PGlite', async () => {
    const db = await createPgliteDb();
    try {
      await upgradeCheck(db);
    } finally {
      await db.close();
    }
  });
});
