/**
 * What the console's charts show: the dashboard's overview of a tenant, an account's timeline
 * with its burst windows and machine-cadence stretch, and a cluster's posts with the
 * near-duplicate links between its accounts. Read-only (but for the rollups and counters the
 * dashboard keeps up to date as it reads them); the SQL is in `store/dashboard.ts`, every query
 * bounded by tenant and by time, by an index of open items or by a row limit
 * (`bench/dashboard.ts` measures them on 1M articles).
 */
import type { Db } from '../db/db.ts';
import { trainingLabel } from '../domain/review.ts';
import {
  accountPosts,
  backlogCounts,
  type ChartVerdict,
  clusterPosts,
  compactPrecision,
  type DayKind,
  foldOpenMarks,
  openClusters,
  precisionCounts,
  replaceRollup,
  rollupRows,
  SCORE_BINS,
  scanDays,
  takeStaleDays,
  typicalPostsPerDay,
} from '../store/dashboard.ts';

export type { ChartVerdict };
export { SCORE_BINS };

export interface DashboardData {
  now: string;
  /** Articles received per UTC day and verdict, oldest day first (`days` of them). */
  volume: VolumeDay[];
  /** Open review items (flag/review, pending or escalated) by age. */
  backlog: { bucket: BacklogBucket; count: number }[];
  backlogOldest: string | null;
  /** Clusters with open items, most open items first. */
  clusters: OpenCluster[];
  /** Moderator-confirmed share of `flag` and `review` verdicts, per model version at decision. */
  precision: PrecisionFigure[];
  /** Score histograms (SCORE_BINS bins over 0..1) of the last 7 UTC days' scorings (today included) and the weeks before. */
  scores: ScoreDistribution;
}

export type VolumeDay = { day: string; pass: number; review: number; flag: number };
export type OpenCluster = { id: string; size: number; accounts: number; open: number };
export type PrecisionFigure = { modelVersion: string; verdict: 'flag' | 'review'; confirmed: number; decided: number };
export type ScoreDistribution = { bins: number; thisWeek: number[]; before: number[]; beforeWeeks: number };

/** The backlog's age buckets, youngest first: the store's backlogCounts numbers them 0..4 by its BACKLOG_BOUNDS_S. */
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
/** Open clusters the dashboard lists. */
const OPEN_CLUSTERS = 8;
/** Precision rows beyond one per key that make the dashboard fold them. */
const PRECISION_FOLD_AT = 64;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const midnight = (now: Date) => Math.floor(now.getTime() / DAY_MS) * DAY_MS;

export class DashboardService {
  constructor(private readonly db: Db) {}

  /**
   * The dashboard of one tenant at `now`: `days` of volume, the backlog, the 8 largest open
   * clusters, precision per model version, and the score distribution of the last 7 days
   * against the `beforeWeeks` weeks before.
   */
  async overview(tenantId: string, now: Date = new Date(), options: { days?: number; beforeWeeks?: number } = {}): Promise<DashboardData> {
    const [volume, backlog, clusters, precision, scores] = await Promise.all([
      this.volume(tenantId, now, options.days),
      this.backlog(tenantId, now),
      this.openClusters(tenantId),
      this.precision(tenantId),
      this.scoreDistribution(tenantId, now, options.beforeWeeks),
    ]);
    return { now: now.toISOString(), volume, backlog: backlog.buckets, backlogOldest: backlog.oldest, clusters, precision, scores };
  }

  /** Articles received per UTC day by verdict, the `days` days up to `now`'s, oldest first. */
  async volume(tenantId: string, now: Date = new Date(), days = 28): Promise<VolumeDay[]> {
    const today = midnight(now);
    const from = today - (days - 1) * DAY_MS;
    const counts = await this.dayCounts(tenantId, 'received', from, days, today);
    return counts.map((c, i) => ({ day: dayOf(from + i * DAY_MS), pass: c.get('pass') ?? 0, review: c.get('review') ?? 0, flag: c.get('flag') ?? 0 }));
  }

  /** Score histograms of the last 7 UTC days' scorings (today included) and of the `beforeWeeks` weeks before. */
  async scoreDistribution(tenantId: string, now: Date = new Date(), beforeWeeks = 3): Promise<ScoreDistribution> {
    const today = midnight(now);
    const scoreDays = 7 * (beforeWeeks + 1);
    const counts = await this.dayCounts(tenantId, 'scored', today - (scoreDays - 1) * DAY_MS, scoreDays, today);
    const thisWeek = new Array<number>(SCORE_BINS).fill(0);
    const before = new Array<number>(SCORE_BINS).fill(0);
    counts.forEach((c, i) => {
      for (const [bin, n] of c) (i >= scoreDays - 7 ? thisWeek : before)[Number(bin)]! += n;
    });
    return { bins: SCORE_BINS, thisWeek, before, beforeWeeks };
  }

  /** Open review items (flag/review verdicts not decided on their current revision) by age at `now`, and the oldest one's arrival. */
  async backlog(tenantId: string, now: Date = new Date()): Promise<{ buckets: DashboardData['backlog']; oldest: string | null }> {
    const rows = await backlogCounts(this.db, tenantId, now);
    const buckets = BACKLOG_BUCKETS.map((bucket, i) => ({ bucket, count: rows.find((r) => r.bucket === i)?.n ?? 0 }));
    const oldest = rows
      .map((r) => r.oldest)
      .filter((d): d is string => d !== null)
      .sort()[0];
    return { buckets, oldest: oldest ?? null };
  }

  /**
   * The live clusters with the most open items. Folds the articles marked since the last time
   * into the clusters' counters first (when the cluster service's lock is free); the read is
   * exact either way.
   */
  async openClusters(tenantId: string, limit = OPEN_CLUSTERS): Promise<OpenCluster[]> {
    await foldOpenMarks(this.db, tenantId);
    return openClusters(this.db, tenantId, limit);
  }

  /** Moderator-confirmed share of `flag` and `review` verdicts per model version at decision, by model version then verdict. */
  async precision(tenantId: string): Promise<PrecisionFigure[]> {
    const { rows, stored } = await precisionCounts(this.db, tenantId);
    if (stored - rows.length >= PRECISION_FOLD_AT) await compactPrecision(this.db, tenantId);
    const precision = new Map<string, PrecisionFigure>();
    for (const r of rows) {
      const key = `${r.modelVersion}\u0000${r.verdict}`;
      const p = precision.get(key) ?? { modelVersion: r.modelVersion ?? 'unknown', verdict: r.verdict, confirmed: 0, decided: 0 };
      p.decided += r.n;
      if (trainingLabel(r.decision) === 'ai') p.confirmed += r.n;
      precision.set(key, p);
    }
    return [...precision.values()].sort((a, b) => a.modelVersion.localeCompare(b.modelVersion) || a.verdict.localeCompare(b.verdict));
  }

  /**
   * Counts per UTC day of `days` days from `from` (ms, a midnight): arrivals by verdict
   * (`received`) or scorings by score bin (`scored`). Closed days (3 days old and more) come
   * from the `dashboard_days` rollup, computed here on first use and again when a change
   * marked them stale (the triggers of migrations 080/081); open days are scanned live.
   */
  private async dayCounts(tenantId: string, kind: DayKind, from: number, days: number, today: number): Promise<Map<string, number>[]> {
    const out = Array.from({ length: days }, () => new Map<string, number>());
    const closedEnd = Math.min(today - 2 * DAY_MS, from + days * DAY_MS);
    const indexOf = (day: string) => Math.round((Date.parse(`${day}T00:00:00Z`) - from) / DAY_MS);
    const toCompute: number[] = [];
    if (closedEnd > from) {
      // marks first, in their own statement: a change that commits later marks the day again
      const stale = await takeStaleDays(this.db, tenantId, kind, dayOf(from), dayOf(closedEnd));
      const known = new Set<number>();
      for (const r of await rollupRows(this.db, tenantId, kind, dayOf(from), dayOf(closedEnd), stale)) {
        const i = indexOf(r.day);
        known.add(i);
        if (r.key !== '') out[i]!.set(r.key, r.n);
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
      for (const r of await scanDays(this.db, tenantId, kind, new Date(from + start * DAY_MS), end - start)) out[start + r.d]!.set(r.key, r.n);
      if (start >= open) continue;
      const rollup = Array.from({ length: end - start }, (_, k) => {
        const day = dayOf(from + (start + k) * DAY_MS);
        return [{ day, key: '', n: 0 }, ...[...out[start + k]!].map(([key, n]) => ({ day, key, n }))];
      }).flat();
      await this.db.transaction((tx) => replaceRollup(tx, tenantId, kind, dayOf(from + start * DAY_MS), dayOf(from + end * DAY_MS), rollup));
    }
    return out;
  }

  /** An account's posts (at most 2,000, by posting time) with the windows its signals marked. */
  async accountTimeline(tenantId: string, accountId: string): Promise<AccountTimelineData | null> {
    const rows = await accountPosts(this.db, tenantId, accountId);
    if (rows.length === 0) return null;
    const posts = rows.map((r) => ({ id: r.id, at: r.at, verdict: r.verdict, score: r.score }));
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
    const typical = await typicalPostsPerDay(this.db, tenantId);
    return {
      accountId,
      posts,
      bursts,
      peaks,
      cadence,
      perDay: posts.length / Math.max(1, activeDays),
      typicalPerDay: typical.median,
      typicalAccounts: typical.accounts,
    };
  }

  /** A cluster's members (at most 2,000) and the account pairs their near-duplicates join. */
  async clusterGraph(tenantId: string, clusterId: string): Promise<ClusterGraphData | null> {
    const rows = await clusterPosts(this.db, tenantId, clusterId);
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
      posts: rows.map((r) => ({ id: r.id, accountId: r.accountId, at: r.at, verdict: r.verdict, score: r.score })),
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
