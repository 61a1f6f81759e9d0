/**
 * What the console's charts show, read from the record in a few aggregate queries: the
 * dashboard's overview of a tenant, an account's timeline with its burst windows and
 * machine-cadence stretch, and a cluster's posts with the near-duplicate links between its
 * accounts. Read-only; every query is bounded by tenant and by time or by a row limit
 * (`bench/dashboard.ts` measures them on 1M articles).
 */
import type { Db } from '../db/db.ts';
import { trainingLabel } from '../domain/review.ts';
import type { Decision } from '../domain/review.ts';

export type ChartVerdict = 'pass' | 'review' | 'flag';

export interface DashboardData {
  now: string;
  /** Articles received per UTC day and verdict, oldest day first (`days` of them). */
  volume: { day: string; pass: number; review: number; flag: number }[];
  /** Open review items (flag/review, pending or escalated) by age. */
  backlog: { bucket: BacklogBucket; count: number }[];
  backlogOldest: string | null;
  /** Clusters with open items, most open items first. */
  clusters: { id: string; size: number; accounts: number; open: number }[];
  /** Moderator-confirmed share of `flag` and `review` verdicts, per model version at decision. */
  precision: { modelVersion: string; verdict: 'flag' | 'review'; confirmed: number; decided: number }[];
  /** Score histograms (SCORE_BINS bins over 0..1) of the last 7 UTC days' scorings (today included) and the weeks before. */
  scores: { bins: number; thisWeek: number[]; before: number[]; beforeWeeks: number };
}

export const BACKLOG_BUCKETS = ['lt1h', 'lt1d', 'lt3d', 'lt7d', 'ge7d'] as const;
export type BacklogBucket = (typeof BACKLOG_BUCKETS)[number];

export interface TimelinePost {
  id: string;
  at: string;
  verdict: ChartVerdict | null;
  score: number | null;
}

export interface AccountTimelineData {
  accountId: string;
  posts: TimelinePost[];
  /** Detected burst windows (merged when they overlap), with the posts they held. */
  bursts: { start: string; end: string; posts: number }[];
  /** The dense parts of the bursts: counting windows of an hour or less that held 6+ posts, merged. */
  peaks: { start: string; end: string; posts: number }[];
  /** The posting stretch the machine-cadence signal measured, the most recent one. */
  cadence: { start: string; end: string; intervals: number; cv: number } | null;
  /** Posts per active day of this account and of the tenant's median account. */
  perDay: number;
  typicalPerDay: number | null;
  typicalAccounts: number;
}

export interface ClusterGraphData {
  clusterId: string;
  posts: (TimelinePost & { accountId: string })[];
  /** Account pairs joined by near-duplicates: weight = article pairs they share. */
  edges: { a: string; b: string; weight: number }[];
}

const DAY_MS = 86_400_000;
/** Posts in one short counting window that make it a dense part of a burst (the burst signal's own minimum). */
const DENSE_POSTS = 6;
export const SCORE_BINS = 20;

const VERDICT_FILTER = `verdict IN ('flag', 'review')`;

interface SignalsJson {
  account?: {
    signals?: { code: string; value: number; evidence?: Record<string, unknown> }[];
    similar?: { articleId: string; accountId: string }[];
  } | null;
}

export class DashboardService {
  constructor(private readonly db: Db) {}

  /**
   * The dashboard of one tenant at `now`: `days` of volume, the backlog, the 8 largest open
   * clusters, precision per model version, and the score distribution of the last 7 days
   * against the `beforeWeeks` weeks before.
   */
  async overview(tenantId: string, now: Date = new Date(), options: { days?: number; beforeWeeks?: number } = {}): Promise<DashboardData> {
    const days = options.days ?? 28;
    const beforeWeeks = options.beforeWeeks ?? 3;
    const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
    const from = today - (days - 1) * DAY_MS;
    const scoreDays = 7 * (beforeWeeks + 1);
    const [volumeDays, [backlogRows, clusterRows], precisionRows, scoreDaysCounts] = await Promise.all([
      this.dayCounts(tenantId, 'received', from, days, today),
      this.openItems(tenantId, now),
      // The verdict and model version the moderator saw are in the decision's event.
      this.withMemory((tx) =>
        tx.query<{ modelVersion: string; verdict: 'flag' | 'review'; decision: Decision; n: number }>(
          `SELECT e.model_version AS "modelVersion", e.payload->>'verdict' AS verdict, rs.decision, count(*)::int AS n
           FROM review_state rs JOIN events e ON e.id = rs.last_event_id
           WHERE rs.tenant_id = $1 AND rs.state = 'decided' AND rs.decision <> 'escalate'
             AND e.payload->>'verdict' IN ('flag', 'review')
           GROUP BY 1, 2, 3`,
          [tenantId],
        ),
      ),
      this.dayCounts(tenantId, 'scored', today - (scoreDays - 1) * DAY_MS, scoreDays, today),
    ]);

    const volume = Array.from({ length: days }, (_, i) => {
      const counts = volumeDays[i];
      return { day: new Date(from + i * DAY_MS).toISOString().slice(0, 10), pass: counts?.get('pass') ?? 0, review: counts?.get('review') ?? 0, flag: counts?.get('flag') ?? 0 };
    });
    const backlog = BACKLOG_BUCKETS.map((bucket) => ({ bucket, count: Number(backlogRows.find((r) => r.bucket === bucket)?.n ?? 0) }));
    const oldest = backlogRows
      .map((r) => r.oldest)
      .filter((d): d is Date => d !== null)
      .sort((a, b) => +new Date(a) - +new Date(b))[0];

    const precision = new Map<string, DashboardData['precision'][number]>();
    for (const r of precisionRows) {
      const key = `${r.modelVersion}\u0000${r.verdict}`;
      const p = precision.get(key) ?? { modelVersion: r.modelVersion ?? 'unknown', verdict: r.verdict, confirmed: 0, decided: 0 };
      p.decided += Number(r.n);
      if (trainingLabel(r.decision) === 'ai') p.confirmed += Number(r.n);
      precision.set(key, p);
    }
    const thisWeek = new Array<number>(SCORE_BINS).fill(0);
    const before = new Array<number>(SCORE_BINS).fill(0);
    scoreDaysCounts.forEach((counts, i) => {
      for (const [bin, n] of counts) (i >= scoreDays - 7 ? thisWeek : before)[Number(bin)]! += n;
    });

    return {
      now: now.toISOString(),
      volume,
      backlog,
      backlogOldest: oldest ? new Date(oldest).toISOString() : null,
      clusters: clusterRows.map((r) => ({ id: r.id, size: Number(r.size), accounts: Number(r.accounts), open: Number(r.open) })),
      precision: [...precision.values()].sort((a, b) => a.modelVersion.localeCompare(b.modelVersion) || a.verdict.localeCompare(b.verdict)),
      scores: { bins: SCORE_BINS, thisWeek, before, beforeWeeks },
    };
  }

  /**
   * Counts per UTC day of `days` days from `from` (ms, a midnight): arrivals by verdict
   * (`received`) or scorings by score bin (`scored`). Closed days (3 days old and more) come
   * from the `dashboard_days` rollup, computed here on first use and again when a change
   * marked them stale (migration 080's triggers); open days are scanned live.
   */
  private async dayCounts(tenantId: string, kind: 'received' | 'scored', from: number, days: number, today: number): Promise<Map<string, number>[]> {
    const out = Array.from({ length: days }, () => new Map<string, number>());
    const closedEnd = Math.min(today - 2 * DAY_MS, from + days * DAY_MS);
    const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const indexOf = (day: string) => Math.round((Date.parse(`${day}T00:00:00Z`) - from) / DAY_MS);
    const toCompute: number[] = [];
    if (closedEnd > from) {
      // marks first, in their own statement: a change that commits later marks the day again
      const stale = await this.db.query<{ day: string }>(
        `DELETE FROM dashboard_stale WHERE tenant_id = $1 AND kind = $2 AND day >= $3::date AND day < $4::date RETURNING day::text AS day`,
        [tenantId, kind, dayOf(from), dayOf(closedEnd)],
      );
      const rows = await this.db.query<{ day: string; key: string; n: number }>(
        `SELECT day::text AS day, key, n FROM dashboard_days WHERE tenant_id = $1 AND kind = $2 AND day >= $3::date AND day < $4::date AND NOT (day = ANY($5::date[]))`,
        [tenantId, kind, dayOf(from), dayOf(closedEnd), stale.map((r) => r.day)],
      );
      const known = new Set<number>();
      for (const r of rows) {
        const i = indexOf(r.day);
        known.add(i);
        if (r.key !== '') out[i]!.set(r.key, Number(r.n));
      }
      for (let i = 0; i * DAY_MS + from < closedEnd; i++) if (!known.has(i)) toCompute.push(i);
    }
    // contiguous runs of closed days to compute, then the open days
    const runs: [number, number][] = [];
    for (const i of toCompute) {
      const last = runs[runs.length - 1];
      if (last && last[1] === i) last[1] = i + 1;
      else runs.push([i, i + 1]);
    }
    const open = Math.max(0, Math.round((closedEnd - from) / DAY_MS));
    for (const [start, end] of [...runs, [open, days] as [number, number]]) {
      if (end <= start) continue;
      const counts = await this.scanDays(tenantId, kind, from + start * DAY_MS, from + end * DAY_MS);
      for (const r of counts) out[start + r.d]!.set(r.key, r.n);
      if (start >= open) continue;
      const rollup = Array.from({ length: end - start }, (_, k) => [
        { day: dayOf(from + (start + k) * DAY_MS), key: '', n: 0 },
        ...[...out[start + k]!].map(([key, n]) => ({ day: dayOf(from + (start + k) * DAY_MS), key, n })),
      ]).flat();
      await this.db.transaction(async (tx) => {
        await tx.query(`DELETE FROM dashboard_days WHERE tenant_id = $1 AND kind = $2 AND day >= $3::date AND day < $4::date`, [
          tenantId,
          kind,
          dayOf(from + start * DAY_MS),
          dayOf(from + end * DAY_MS),
        ]);
        await tx.query(
          `INSERT INTO dashboard_days (tenant_id, kind, day, key, n) SELECT $1, $2, x.day, x.key, x.n FROM jsonb_to_recordset($3::jsonb) AS x(day date, key text, n int)
           ON CONFLICT (tenant_id, kind, day, key) DO UPDATE SET n = EXCLUDED.n`,
          [tenantId, kind, JSON.stringify(rollup)],
        );
      });
    }
    return out;
  }

  /** Counts by day (index from `start`) and key of one range of days, from the articles. */
  private scanDays(tenantId: string, kind: 'received' | 'scored', start: number, end: number): Promise<{ d: number; key: string; n: number }[]> {
    // days as whole numbers since `start` (formatting every row's date in SQL doubles the cost)
    const sql =
      kind === 'received'
        ? `SELECT floor(extract(epoch FROM received_at - $2::timestamptz) / 86400)::int AS d, verdict AS key, count(*)::int AS n
           FROM articles WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3 AND verdict IS NOT NULL GROUP BY 1, 2`
        : `SELECT floor(extract(epoch FROM scored_at - $2::timestamptz) / 86400)::int AS d, least(floor(score * ${SCORE_BINS}), ${SCORE_BINS - 1})::int::text AS key, count(*)::int AS n
           FROM articles WHERE tenant_id = $1 AND scored_at >= $2 AND scored_at < $3 AND score IS NOT NULL GROUP BY 1, 2`;
    return this.db.query<{ d: number; key: string; n: number }>(sql, [tenantId, new Date(start), new Date(end)]);
  }

  /**
   * The backlog by age and the clusters with the most open items, from one read of the open
   * items (flag/review verdicts not decided on their current revision).
   */
  private async openItems(
    tenantId: string,
    now: Date,
  ): Promise<[{ bucket: BacklogBucket; n: number; oldest: Date | null }[], { id: string; size: number; accounts: number; open: number }[]]> {
    const rows = await this.withMemory((tx) =>
      tx.query<{ kind: 'backlog' | 'cluster'; key: string; n: number; oldest: Date | null; size: number | null; accounts: number | null }>(
        `WITH open AS MATERIALIZED (
         SELECT a.id, a.received_at FROM articles a
         WHERE a.tenant_id = $1 AND a.${VERDICT_FILTER}
           AND NOT EXISTS (SELECT 1 FROM review_state rs WHERE rs.tenant_id = a.tenant_id AND rs.article_id = a.id
                           AND rs.revision = a.revision AND rs.state = 'decided'))
       SELECT 'backlog' AS kind, bucket AS key, count(*)::int AS n, min(received_at) AS oldest, NULL::int AS size, NULL::int AS accounts
       FROM (SELECT CASE WHEN age < interval '1 hour' THEN 'lt1h' WHEN age < interval '1 day' THEN 'lt1d'
                         WHEN age < interval '3 days' THEN 'lt3d' WHEN age < interval '7 days' THEN 'lt7d' ELSE 'ge7d' END AS bucket, received_at
             FROM (SELECT $2::timestamptz - received_at AS age, received_at FROM open) x) b
       GROUP BY bucket
       UNION ALL
       (SELECT 'cluster', c.id, o.open, NULL, c.size, c.account_count
        FROM (SELECT cm.cluster_id, count(*)::int AS open FROM open JOIN cluster_members cm ON cm.tenant_id = $1 AND cm.article_id = open.id
              GROUP BY cm.cluster_id) o
        JOIN clusters c ON c.id = o.cluster_id AND c.merged_into IS NULL
        ORDER BY o.open DESC, c.size DESC, c.id LIMIT 8)`,
        [tenantId, now],
      ),
    );
    return [
      rows.filter((r) => r.kind === 'backlog').map((r) => ({ bucket: r.key as BacklogBucket, n: Number(r.n), oldest: r.oldest })),
      rows.filter((r) => r.kind === 'cluster').map((r) => ({ id: r.key, size: Number(r.size), accounts: Number(r.accounts), open: Number(r.n) })),
    ];
  }

  /** Aggregates over 100k rows hash in memory instead of sorting on disk (the default 4 MB spills). */
  private withMemory<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL work_mem = '32MB'`);
      return fn(tx);
    });
  }

  /** An account's posts (at most 2,000, by posting time) with the windows its signals marked. */
  async accountTimeline(tenantId: string, accountId: string): Promise<AccountTimelineData | null> {
    const rows = await this.db.query<{ id: string; at: Date; verdict: ChartVerdict | null; score: number | null; signals: SignalsJson | null }>(
      `SELECT a.id, COALESCE(a.published_at, a.received_at) AS at, a.verdict, a.score, s.signals
       FROM articles a
       LEFT JOIN LATERAL (SELECT s.signals FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                          AND s.model_version = a.model_version AND s.config_version = a.config_version
                          ORDER BY s.evaluation DESC LIMIT 1) s ON true
       WHERE a.tenant_id = $1 AND a.account_id = $2
       ORDER BY at, a.id LIMIT 2000`,
      [tenantId, accountId],
    );
    if (rows.length === 0) return null;
    const posts = rows.map((r) => ({ id: r.id, at: new Date(r.at).toISOString(), verdict: r.verdict, score: r.score === null ? null : Number(r.score) }));
    const windows: { start: number; end: number }[] = [];
    const dense: { start: number; end: number }[] = [];
    let cadence: AccountTimelineData['cadence'] = null;
    rows.forEach((r, i) => {
      for (const s of r.signals?.account?.signals ?? []) {
        const e = s.evidence ?? {};
        if (s.code === 'burst') {
          const start = Date.parse(String(e.burstStart ?? e.windowStart));
          const end = Date.parse(String(e.windowEnd ?? posts[i]!.at));
          if (Number.isFinite(start) && Number.isFinite(end)) windows.push({ start: Math.min(start, end), end: Math.max(start, end) });
          // dense: the shortest counting window (an hour at most) that held a burst's worth of posts
          const counts = (e.windowCounts ?? {}) as Record<string, number>;
          const w = Object.keys(counts)
            .map(Number)
            .filter((sec) => sec <= 3600 && (counts[String(sec)] ?? 0) >= DENSE_POSTS)
            .sort((a, b) => a - b)[0];
          const at = Date.parse(posts[i]!.at);
          if (w !== undefined) dense.push({ start: at - w * 1000, end: at });
        } else if (s.code === 'machine_cadence') {
          const intervals = Number(e.intervals ?? 0);
          // the stretch: the `intervals` gaps before this post, among the account's own posts
          const first = posts[Math.max(0, i - intervals)]!;
          cadence = { start: first.at, end: posts[i]!.at, intervals, cv: Number(e.cv ?? s.value) };
        }
      }
    });
    const times = posts.map((p) => Date.parse(p.at));
    const withPosts = (w: { start: number; end: number }) => ({
      start: new Date(w.start).toISOString(),
      end: new Date(w.end).toISOString(),
      posts: times.filter((t) => t >= w.start && t <= w.end).length,
    });
    const bursts = mergeWindows(windows).map(withPosts);
    // a counting window starts before its first post: it is drawn from the first post it holds
    const peaks = mergeWindows(dense).map((w) => withPosts({ start: times.find((t) => t >= w.start) ?? w.start, end: w.end }));
    const activeDays = new Set(posts.map((p) => p.at.slice(0, 10))).size;
    // The typical account: the median over this tenant's accounts of posts per active day.
    const [typical] = await this.db.query<{ median: number | null; accounts: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY per_day) AS median, count(*)::int AS accounts
       FROM (SELECT count(*)::float8 / count(DISTINCT date_trunc('day', COALESCE(published_at, received_at) AT TIME ZONE 'UTC')) AS per_day
             FROM articles WHERE tenant_id = $1 GROUP BY account_id) x`,
      [tenantId],
    );
    return {
      accountId,
      posts,
      bursts,
      peaks,
      cadence,
      perDay: posts.length / Math.max(1, activeDays),
      typicalPerDay: typical?.median === null || typical?.median === undefined ? null : Number(typical.median),
      typicalAccounts: Number(typical?.accounts ?? 0),
    };
  }

  /** A cluster's members (at most 2,000) and the account pairs their near-duplicates join. */
  async clusterGraph(tenantId: string, clusterId: string): Promise<ClusterGraphData | null> {
    const rows = await this.db.query<{ id: string; accountId: string; at: Date; verdict: ChartVerdict | null; score: number | null; signals: SignalsJson | null }>(
      `SELECT cm.article_id AS id, cm.account_id AS "accountId", cm.posted_at AS at, a.verdict, a.score, s.signals
       FROM cluster_members cm
       LEFT JOIN articles a ON a.tenant_id = cm.tenant_id AND a.id = cm.article_id
       LEFT JOIN LATERAL (SELECT s.signals FROM scores s WHERE s.article_id = a.id AND s.content_hash = a.content_hash
                          AND s.model_version = a.model_version AND s.config_version = a.config_version
                          ORDER BY s.evaluation DESC LIMIT 1) s ON true
       WHERE cm.tenant_id = $1 AND cm.cluster_id = $2
       ORDER BY cm.posted_at, cm.article_id LIMIT 2000`,
      [tenantId, clusterId],
    );
    if (rows.length === 0) return null;
    const accountOf = new Map(rows.map((r) => [r.id, r.accountId]));
    const pairs = new Set<string>();
    const edges = new Map<string, { a: string; b: string; weight: number }>();
    for (const r of rows) {
      for (const s of r.signals?.account?.similar ?? []) {
        const other = accountOf.get(s.articleId);
        if (!other || other === r.accountId) continue;
        const pair = [r.id, s.articleId].sort().join('\u0000');
        if (pairs.has(pair)) continue;
        pairs.add(pair);
        const [a, b] = [r.accountId, other].sort() as [string, string];
        const key = `${a}\u0000${b}`;
        const e = edges.get(key) ?? { a, b, weight: 0 };
        e.weight += 1;
        edges.set(key, e);
      }
    }
    return {
      clusterId,
      posts: rows.map((r) => ({ id: r.id, accountId: r.accountId, at: new Date(r.at).toISOString(), verdict: r.verdict, score: r.score === null ? null : Number(r.score) })),
      edges: [...edges.values()].sort((x, y) => y.weight - x.weight || x.a.localeCompare(y.a) || x.b.localeCompare(y.b)),
    };
  }
}

function mergeWindows(ws: { start: number; end: number }[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const w of [...ws].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else out.push({ ...w });
  }
  return out;
}
