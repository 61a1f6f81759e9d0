import type { Db } from '../db/db.ts';
import type { Decision } from '../domain/review.ts';

/**
 * The console dashboard's SQL: the per-day rollups of arrivals and scorings (`dashboard_days`,
 * their stale marks and the live scans they are computed from; migration 080), the open review
 * items by age (a partial index of open items), the clusters with the most open items (the
 * `clusters.open_items` counter and the marks of articles that opened or closed since it was
 * folded), the precision rollup (`dashboard_precision`), and the account and cluster charts'
 * reads (migration 081 keeps the counters). Rows are mapped here; the dashboard service
 * (`services/dashboard.ts`) decides which days come from where and shapes the charts.
 *
 * An open review item: an article with a flag or review verdict that is not decided on its
 * current revision (`OPEN_ITEM`, the predicate of the `articles_open` index).
 */

export type DayKind = 'received' | 'scored';
export type ChartVerdict = 'pass' | 'review' | 'flag';

export const SCORE_BINS = 20;
/** Upper bounds of the backlog's age buckets in seconds (1 hour, 1 day, 3 days, 7 days); past the last, 7 days and more. */
export const BACKLOG_BOUNDS_S = [3_600, 86_400, 259_200, 604_800] as const;

/** The predicate of the `articles_open` partial index, on `articles a`. */
const OPEN_ITEM = `a.verdict IN ('flag', 'review') AND a.decided_revision IS DISTINCT FROM a.revision`;
/** The cluster service's per-tenant lock (`store/clusters.ts` lockTenant), as a bigint key. */
const CLUSTER_LOCK = `hashtext('slopguard:clusters:' || $1)`;
const DAY_MS = 86_400_000;

const toIso = (v: Date | string): string => new Date(v).toISOString();

// ---------------------------------------------------------------- day rollups

/**
 * Deletes the stale marks of the days in [fromDay, toDay) that this statement sees and returns
 * their days (once each): those days are computed again. In its own statement before the rollup
 * is read; a mark of a change not committed yet is left for the next dashboard. Marks of days
 * before `fromDay` (a rescan of old articles writes one per transaction and day) are thinned to
 * one per day: a visible mark stands for every change committed before it.
 */
export async function takeStaleDays(db: Db, tenantId: string, kind: DayKind, fromDay: string, toDay: string): Promise<string[]> {
  const rows = await db.query<{ day: string }>(
    `WITH taken AS (
       DELETE FROM dashboard_stale WHERE tenant_id = $1 AND kind = $2 AND day >= $3::date AND day < $4::date RETURNING day
     ), thinned AS (
       DELETE FROM dashboard_stale a WHERE a.tenant_id = $1 AND a.kind = $2 AND a.day < $3::date
          AND EXISTS (SELECT 1 FROM dashboard_stale b WHERE b.tenant_id = a.tenant_id AND b.kind = a.kind AND b.day = a.day AND b.ctid > a.ctid)
     )
     SELECT DISTINCT day::text AS day FROM taken`,
    [tenantId, kind, fromDay, toDay],
  );
  return rows.map((r) => r.day);
}

export interface RollupRow {
  day: string;
  /** A verdict (`received`) or a score bin 0..19 (`scored`); '' marks a computed day. */
  key: string;
  n: number;
}

/** The rollup's rows of the days in [fromDay, toDay), except the `skip` days. */
export async function rollupRows(db: Db, tenantId: string, kind: DayKind, fromDay: string, toDay: string, skip: readonly string[]): Promise<RollupRow[]> {
  const rows = await db.query<RollupRow>(
    `SELECT day::text AS day, key, n FROM dashboard_days
      WHERE tenant_id = $1 AND kind = $2 AND day >= $3::date AND day < $4::date AND NOT (day = ANY($5::date[]))`,
    [tenantId, kind, fromDay, toDay, skip],
  );
  return rows.map((r) => ({ day: r.day, key: r.key, n: Number(r.n) }));
}

/** Replaces the rollup of the days in [fromDay, toDay) with `rows` (in the caller's transaction). */
export async function replaceRollup(tx: Db, tenantId: string, kind: DayKind, fromDay: string, toDay: string, rows: readonly RollupRow[]): Promise<void> {
  await tx.query(`DELETE FROM dashboard_days WHERE tenant_id = $1 AND kind = $2 AND day >= $3::date AND day < $4::date`, [tenantId, kind, fromDay, toDay]);
  await tx.query(
    `INSERT INTO dashboard_days (tenant_id, kind, day, key, n) SELECT $1, $2, x.day, x.key, x.n FROM jsonb_to_recordset($3::jsonb) AS x(day date, key text, n int)
     ON CONFLICT (tenant_id, kind, day, key) DO UPDATE SET n = EXCLUDED.n`,
    [tenantId, kind, JSON.stringify(rows)],
  );
}

/**
 * Counts of `days` UTC days from `start` (a midnight), straight from the articles (index-only
 * on `articles_tenant_received` / `articles_tenant_scored`): arrivals by verdict (`received`)
 * or scorings by score bin (`scored`: SCORE_BINS bins over 0..1, a score of 1 in the last).
 * `d` is the day's index from `start`.
 */
export async function scanDays(db: Db, tenantId: string, kind: DayKind, start: Date, days: number): Promise<{ d: number; key: string; n: number }[]> {
  const sql =
    kind === 'received'
      ? `SELECT date_bin('1 day', received_at, $2::timestamptz) AS day, verdict AS key, count(*)::int AS n
           FROM articles WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3 AND verdict IS NOT NULL GROUP BY 1, 2`
      : `SELECT date_bin('1 day', scored_at, $2::timestamptz) AS day, (least(width_bucket(score, 0, 1, ${SCORE_BINS}), ${SCORE_BINS}) - 1)::text AS key, count(*)::int AS n
           FROM articles WHERE tenant_id = $1 AND scored_at >= $2 AND scored_at < $3 AND score IS NOT NULL GROUP BY 1, 2`;
  const rows = await db.query<{ day: Date | string; key: string; n: number }>(sql, [tenantId, start, new Date(start.getTime() + days * DAY_MS)]);
  return rows.map((r) => ({ d: Math.round((new Date(r.day).getTime() - start.getTime()) / DAY_MS), key: r.key, n: Number(r.n) }));
}

// ---------------------------------------------------------------- open items

/** Open review items by age at `now` (bucket 0..4 by BACKLOG_BOUNDS_S), with the oldest arrival of each: a scan of the partial index. */
export async function backlogCounts(db: Db, tenantId: string, now: Date): Promise<{ bucket: number; n: number; oldest: string | null }[]> {
  const rows = await db.query<{ bucket: number; n: number; oldest: Date | string | null }>(
    `SELECT width_bucket(date_part('epoch', $2::timestamptz - a.received_at), $3::float8[]) AS bucket, count(*)::int AS n, min(a.received_at) AS oldest
       FROM articles a WHERE a.tenant_id = $1 AND ${OPEN_ITEM} GROUP BY 1`,
    [tenantId, now, BACKLOG_BOUNDS_S],
  );
  return rows.map((r) => ({ bucket: Number(r.bucket), n: Number(r.n), oldest: r.oldest === null ? null : toIso(r.oldest) }));
}

export interface OpenClusterRow {
  id: string;
  size: number;
  accounts: number;
  open: number;
}

/**
 * The live clusters with the most open items (then the largest, then by id), at most `limit`:
 * the counter's index in order, except the clusters of articles marked since the last fold,
 * which are recounted from their members here. Exact at the statement's snapshot: a change
 * either moved the counter in the same commit (cluster joins and merges) or left a mark.
 */
export async function openClusters(db: Db, tenantId: string, limit: number): Promise<OpenClusterRow[]> {
  const rows = await db.query<OpenClusterRow>(
    `WITH marked AS MATERIALIZED (
       SELECT DISTINCT cm.cluster_id AS id FROM cluster_open_marks m
         JOIN cluster_members cm ON cm.tenant_id = m.tenant_id AND cm.article_id = m.article_id
        WHERE m.tenant_id = $1
     ), recounted AS (
       SELECT c.id, c.size, c.account_count AS accounts,
              (SELECT count(*) FROM cluster_members cm JOIN articles a ON a.tenant_id = cm.tenant_id AND a.id = cm.article_id
                WHERE cm.cluster_id = c.id AND ${OPEN_ITEM})::int AS open
         FROM clusters c JOIN marked ON marked.id = c.id WHERE c.merged_into IS NULL
     ), counted AS (
       SELECT c.id, c.size, c.account_count AS accounts, c.open_items AS open FROM clusters c
        WHERE c.tenant_id = $1 AND c.merged_into IS NULL AND c.open_items > 0 AND NOT EXISTS (SELECT 1 FROM marked WHERE marked.id = c.id)
        ORDER BY c.open_items DESC, c.size DESC, c.id LIMIT $2
     )
     SELECT * FROM (SELECT * FROM recounted WHERE open > 0 UNION ALL SELECT * FROM counted) x ORDER BY open DESC, size DESC, id LIMIT $2`,
    [tenantId, limit],
  );
  return rows.map((r) => ({ id: r.id, size: Number(r.size), accounts: Number(r.accounts), open: Number(r.open) }));
}

/**
 * Folds the tenant's open-item marks into `clusters.open_items`: the marked articles' clusters
 * are recounted and the marks deleted, in one statement (one snapshot). Under the cluster
 * service's tenant lock, tried: when a cluster change holds it (or an article change holds its
 * shared form), nothing is folded and the marks wait for the next dashboard. Whether it folded.
 */
export async function foldOpenMarks(db: Db, tenantId: string): Promise<boolean> {
  const [pending] = await db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM cluster_open_marks WHERE tenant_id = $1) AS any', [tenantId]);
  if (!pending?.any) return false;
  return db.transaction(async (tx) => {
    const [lock] = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${CLUSTER_LOCK}) AS ok`, [tenantId]);
    if (!lock?.ok) return false;
    await tx.query(
      `WITH m AS (DELETE FROM cluster_open_marks WHERE tenant_id = $1 RETURNING article_id),
            d AS (SELECT DISTINCT cm.cluster_id FROM m JOIN cluster_members cm ON cm.tenant_id = $1 AND cm.article_id = m.article_id)
       UPDATE clusters c
          SET open_items = (SELECT count(*) FROM cluster_members cm JOIN articles a ON a.tenant_id = cm.tenant_id AND a.id = cm.article_id
                             WHERE cm.cluster_id = c.id AND ${OPEN_ITEM})
         FROM d WHERE c.id = d.cluster_id`,
      [tenantId],
    );
    return true;
  });
}

// ---------------------------------------------------------------- precision

export interface PrecisionRow {
  modelVersion: string | null;
  verdict: 'flag' | 'review';
  decision: Decision;
  n: number;
}

/**
 * Decided (not escalated) flag/review items per model version, verdict and decision at the
 * decision: the rollup's rows summed (decisions append +1/-1 rows), and how many rows it holds.
 */
export async function precisionCounts(db: Db, tenantId: string): Promise<{ rows: PrecisionRow[]; stored: number }> {
  const rows = await db.query<PrecisionRow & { stored: number }>(
    `SELECT model_version AS "modelVersion", verdict, decision, sum(n)::int AS n, count(*)::int AS stored
       FROM dashboard_precision WHERE tenant_id = $1 GROUP BY 1, 2, 3`,
    [tenantId],
  );
  return {
    rows: rows.filter((r) => Number(r.n) > 0).map((r) => ({ modelVersion: r.modelVersion, verdict: r.verdict, decision: r.decision, n: Number(r.n) })),
    stored: rows.reduce((s, r) => s + Number(r.stored), 0),
  };
}

/**
 * Folds the tenant's precision rows into one per key. Safe beside decisions and another fold:
 * it deletes and sums only the rows its snapshot sees, and a row another fold deleted first is
 * skipped.
 */
export async function compactPrecision(db: Db, tenantId: string): Promise<void> {
  await db.query(
    `WITH d AS (DELETE FROM dashboard_precision WHERE tenant_id = $1 RETURNING model_version, verdict, decision, n)
     INSERT INTO dashboard_precision (tenant_id, model_version, verdict, decision, n)
     SELECT $1, model_version, verdict, decision, sum(n)::int FROM d GROUP BY model_version, verdict, decision HAVING sum(n) <> 0`,
    [tenantId],
  );
}

// ---------------------------------------------------------------- account and cluster charts

/** What the charts read of an article's current score: its account signals. */
export interface SignalsJson {
  account?: {
    signals?: { code: string; value: number; evidence?: Record<string, unknown> }[];
    similar?: { articleId: string; accountId: string }[];
  } | null;
}

export interface ChartPostRow {
  id: string;
  /** ISO time: the post's publication time, else its arrival. */
  at: string;
  verdict: ChartVerdict | null;
  score: number | null;
  signals: SignalsJson | null;
}

const CURRENT_SIGNALS = `LEFT JOIN LATERAL (SELECT s.signals FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                          AND s.model_version = a.model_version AND s.config_version = a.config_version
                          ORDER BY s.evaluation DESC LIMIT 1) s ON true`;

const chartPost = (r: { id: string; at: Date | string; verdict: ChartVerdict | null; score: number | null; signals: SignalsJson | null }): ChartPostRow => ({
  id: r.id,
  at: toIso(r.at),
  verdict: r.verdict,
  score: r.score === null ? null : Number(r.score),
  signals: r.signals,
});

/** An account's posts (at most 2,000, by posting time, then id) with their current score's signals. */
export async function accountPosts(db: Db, tenantId: string, accountId: string): Promise<ChartPostRow[]> {
  const rows = await db.query<{ id: string; at: Date; verdict: ChartVerdict | null; score: number | null; signals: SignalsJson | null }>(
    `SELECT a.id, COALESCE(a.published_at, a.received_at) AS at, a.verdict, a.score, s.signals
       FROM articles a
       ${CURRENT_SIGNALS}
       WHERE a.tenant_id = $1 AND a.account_id = $2
       ORDER BY at, a.id LIMIT 2000`,
    [tenantId, accountId],
  );
  return rows.map(chartPost);
}

/** The median over the tenant's accounts of posts per active (UTC) day, and how many accounts. */
export async function typicalPostsPerDay(db: Db, tenantId: string): Promise<{ median: number | null; accounts: number }> {
  const [row] = await db.query<{ median: number | null; accounts: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY per_day) AS median, count(*)::int AS accounts
       FROM (SELECT count(*)::float8 / count(DISTINCT date_trunc('day', COALESCE(published_at, received_at) AT TIME ZONE 'UTC')) AS per_day
               FROM articles WHERE tenant_id = $1 GROUP BY account_id) x`,
    [tenantId],
  );
  return { median: row?.median === null || row?.median === undefined ? null : Number(row.median), accounts: Number(row?.accounts ?? 0) };
}

/** A cluster's members (at most 2,000, by posting time, then article id) with their article's verdict, score and signals. */
export async function clusterPosts(db: Db, tenantId: string, clusterId: string): Promise<(ChartPostRow & { accountId: string })[]> {
  const rows = await db.query<{ id: string; accountId: string; at: Date; verdict: ChartVerdict | null; score: number | null; signals: SignalsJson | null }>(
    `SELECT cm.article_id AS id, cm.account_id AS "accountId", cm.posted_at AS at, a.verdict, a.score, s.signals
       FROM cluster_members cm
       LEFT JOIN articles a ON a.tenant_id = cm.tenant_id AND a.id = cm.article_id
       ${CURRENT_SIGNALS}
       WHERE cm.tenant_id = $1 AND cm.cluster_id = $2
       ORDER BY cm.posted_at, cm.article_id LIMIT 2000`,
    [tenantId, clusterId],
  );
  return rows.map((r) => ({ ...chartPost(r), accountId: r.accountId }));
}
