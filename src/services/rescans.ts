import type { Logger } from 'pino';
import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import type { RescanFilter, RescanStatus } from '../domain/rescans.ts';
import { type JobQueue, type JOBS, type RescanDriverJob, type RescanScoreJob, rescanScoreJobId } from '../jobs/catalog.ts';
import {
  type ChangedItemRow,
  cancelPendingItems,
  changedItems,
  completeRescan,
  countSelected,
  inFlight,
  insertRescan,
  itemCounts,
  lockRescan,
  lockRescanForStep,
  type PendingItem,
  pendingItemsOf,
  progressTotals,
  type RescanRow,
  recordItemFailures,
  recordItemResults,
  rescanIds,
  rescanRow,
  rescanStatus,
  runningRescans,
  selectItems,
  takeStaleItems,
  transitions,
  updateRescanStatus,
} from '../store/rescans.ts';
import type { ScoreOutcome } from './scoring.ts';
import type { ChangeSummary, RescanView } from './views.ts';

/**
 * Rescans: score a tenant's stored articles again (after a model or fusion-config change) and
 * report what changed. State lives in Postgres (`rescans`, `rescan_items`), so a rescan
 * survives API and worker restarts. One driver job per rescan pages through `articles` by id
 * cursor and keeps at most `window` of the tenant's articles in the low-priority `rescore`
 * queue, in jobs of `chunk` articles: every tenant's rescans advance a bounded window at a time
 * and so interleave in the FIFO queue (open-source BullMQ has no fair groups), `addBulk` calls
 * stay small, and Redis holds a window, not the whole rescan (jobs are removed on completion;
 * results are in Postgres).
 *
 *   POST /v1/rescans {"filter": {"verdicts": ["pass"], "configVersionNot": "fusion-2026-11-26.1"}}
 *   -> {"id": "rsc_...", "status": "running", "total": 1234, "done": 0, ...}
 */

/** A changed article as the downloads list it. */
export interface ChangedArticle extends Omit<ChangedItemRow, 'rescoredAt'> {
  rescoredAt: string | null;
}

export interface RescanSettings {
  window: number;
  /** Articles per rescore job. */
  chunk: number;
  stepMs: number;
  /** Pending items older than this are checked against the queue and queued again if lost. */
  lostAfterMs?: number;
}

const TERMINAL: readonly RescanStatus[] = ['completed', 'cancelled', 'failed'];

export class RescanService {
  private readonly statusCache = new Map<string, { status: RescanStatus; at: number }>();
  private readonly lostCheckedAt = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly jobs: { driver: JobQueue<typeof JOBS.rescanDriver>; chunk: JobQueue<typeof JOBS.rescanChunk> },
    private readonly settings: RescanSettings,
    private readonly log: Logger,
  ) {}

  /** Articles a filter selects now. */
  async count(tenantId: string, filter: RescanFilter): Promise<number> {
    return countSelected(this.db, tenantId, filter);
  }

  /** Records the rescan and queues its driver. */
  async create(who: { tenantId: string; actor: string }, filter: RescanFilter): Promise<RescanView> {
    const total = await this.count(who.tenantId, filter);
    const id = newId('rsc');
    await insertRescan(this.db, { id, tenantId: who.tenantId, actor: who.actor, filter, total });
    await this.queueDriver({ rescanId: id, generation: 1 });
    return (await this.get(who.tenantId, id))!;
  }

  async get(tenantId: string, id: string): Promise<RescanView | null> {
    const row = await this.row(tenantId, id);
    if (!row) return null;
    const counts = await itemCounts(this.db, id);
    const finished = counts.done + counts.failed + counts.skipped;
    const expected = row.exhausted ? row.selected : Math.max(row.total, row.selected);
    let rate = 0;
    if (counts.firstAt && counts.lastAt) {
      if (TERMINAL.includes(row.status)) {
        const span = (counts.lastAt.getTime() - row.createdAt.getTime()) / 1000;
        rate = span > 0 ? finished / span : finished;
      } else {
        const span = Math.min(30, (counts.now.getTime() - counts.firstAt.getTime()) / 1000);
        rate = span > 0 ? counts.recent / span : 0;
      }
    }
    const remaining = Math.max(0, expected - finished - counts.cancelled);
    const eta = row.status === 'running' ? (remaining === 0 ? 0 : rate > 0 ? remaining / rate : null) : TERMINAL.includes(row.status) ? 0 : null;
    return {
      id: row.id,
      status: row.status,
      filter: row.filter,
      total: row.exhausted ? row.selected : row.total,
      selected: row.selected,
      done: counts.done,
      failed: counts.failed,
      skipped: counts.skipped,
      cancelled: counts.cancelled,
      inFlight: counts.pending,
      changed: counts.changed,
      newlyFlagged: counts.newlyFlagged,
      progress: expected === 0 ? 1 : Math.min(1, (finished + counts.cancelled) / expected),
      ratePerSecond: Math.round(rate * 10) / 10,
      etaSeconds: eta === null ? null : Math.ceil(eta),
      error: row.error,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      finishedAt: row.finishedAt ? row.finishedAt.toISOString() : null,
    };
  }

  async list(tenantId: string, limit = 50): Promise<RescanView[]> {
    const ids = await rescanIds(this.db, tenantId, limit);
    const views: RescanView[] = [];
    for (const rescanId of ids) {
      const v = await this.get(tenantId, rescanId);
      if (v) views.push(v);
    }
    return views;
  }

  /** Stops feeding the queue; what is in flight (at most the window) still finishes. */
  async pause(tenantId: string, id: string): Promise<RescanView> {
    await this.transition(tenantId, id, ['running'], 'paused');
    return (await this.get(tenantId, id))!;
  }

  /** Continues from the cursor with a new driver generation. */
  async resume(tenantId: string, id: string): Promise<RescanView> {
    const row = await this.transition(tenantId, id, ['paused', 'running'], 'running', true);
    await this.queueDriver({ rescanId: id, generation: row.generation });
    return (await this.get(tenantId, id))!;
  }

  /** Stops for good: pending items are marked cancelled and their jobs skip scoring. */
  async cancel(tenantId: string, id: string): Promise<RescanView> {
    await this.db.transaction(async (tx) => {
      await this.transitionIn(tx, tenantId, id, ['running', 'paused'], 'cancelled');
      await cancelPendingItems(tx, id);
    });
    this.statusCache.set(id, { status: 'cancelled', at: Date.now() });
    return (await this.get(tenantId, id))!;
  }

  private async transition(tenantId: string, id: string, from: RescanStatus[], to: RescanStatus, bumpGeneration = false): Promise<RescanRow> {
    return this.db.transaction((tx) => this.transitionIn(tx, tenantId, id, from, to, bumpGeneration));
  }

  private async transitionIn(tx: Db, tenantId: string, id: string, from: RescanStatus[], to: RescanStatus, bumpGeneration = false): Promise<RescanRow> {
    const row = await lockRescan(tx, tenantId, id);
    if (!row) throw new ServiceError('not_found', 'no such rescan');
    if (!from.includes(row.status)) {
      throw new ServiceError('conflict', `the rescan is ${row.status}; this needs it ${from.join(' or ')}`, { status: row.status });
    }
    return updateRescanStatus(tx, row, to, `rescan.${to === 'running' ? 'resumed' : to}`, bumpGeneration);
  }

  private async row(tenantId: string, id: string): Promise<RescanRow | null> {
    return rescanRow(this.db, tenantId, id);
  }

  private async queueDriver(job: RescanDriverJob): Promise<void> {
    const existing = await this.jobs.driver.queue.getJob(this.jobs.driver.idOf(job));
    if (existing) {
      const state = await existing.getState();
      if (state === 'failed') await existing.retry('failed');
      if (state !== 'completed') return;
      await existing.remove();
    }
    await this.jobs.driver.add(job);
  }

  /** Queues a driver for every running rescan (worker start): a lost driver job is recreated. */
  async ensureDrivers(): Promise<number> {
    const rows = await runningRescans(this.db);
    for (const r of rows) await this.queueDriver({ rescanId: r.id, generation: r.generation });
    return rows.length;
  }

  /**
   * One driver step: tops the tenant's window up from the cursor, re-queues lost jobs, and
   * completes the rescan once the store is exhausted and nothing is in flight.
   * Returns 'continue' (call again after stepMs) or 'stop'.
   */
  async step(job: RescanDriverJob): Promise<'continue' | 'stop'> {
    const { window } = this.settings;
    const picked = await this.db.transaction(async (tx) => {
      const row = await lockRescanForStep(tx, job.rescanId);
      if (!row || row.generation !== job.generation || row.status !== 'running') return null;
      const { tenant: tenantInFlight, own: ownInFlight } = await inFlight(tx, row.tenantId, row.id);
      if (row.exhausted) {
        if (ownInFlight === 0) {
          await completeRescan(tx, row);
          return { row, items: [], done: true };
        }
        return { row, items: [], done: false };
      }
      // Small, frequent refills (a tenth of the window per step): the queue never runs dry, never
      // holds more than a window, and no step is a burst of work that would delay live jobs.
      const stepChunk = Math.max(10, Math.floor(window / 10));
      if (tenantInFlight > window - stepChunk) return { row, items: [], done: false };
      const room = Math.min(stepChunk, window - tenantInFlight);
      const items = await selectItems(tx, row, room, this.settings.chunk);
      return { row, items, done: false };
    });
    if (!picked) return 'stop';
    if (picked.done) {
      this.log.info({ rescanId: job.rescanId }, 'rescan completed');
      return 'stop';
    }
    await this.enqueue(picked.row.tenantId, job.rescanId, picked.items);
    await this.requeueLost(picked.row.tenantId, job.rescanId);
    return 'continue';
  }

  private async enqueue(tenantId: string, rescanId: string, items: readonly PendingItem[]): Promise<void> {
    const chunks = new Map<string, RescanScoreJob>();
    for (const { chunk, articleId, revision } of items) {
      const job = chunks.get(chunk) ?? { tenantId, rescanId, chunk, items: [] };
      job.items.push({ articleId, revision });
      chunks.set(chunk, job);
    }
    const jobs = [...chunks.values()];
    // Bounded addBulk calls: large ones slow BullMQ down and hold Redis longer.
    for (let i = 0; i < jobs.length; i += 100) {
      await this.jobs.chunk.addBulk(jobs.slice(i, i + 100).map((data) => ({ data })));
    }
  }

  /** Items queued long ago whose job is gone (Redis lost it, or the enqueue failed): queue again. */
  private async requeueLost(tenantId: string, rescanId: string): Promise<void> {
    const lostAfterMs = this.settings.lostAfterMs ?? 30_000;
    // A check per job costs a Redis call: at most one pass per interval per rescan.
    const last = this.lostCheckedAt.get(rescanId) ?? 0;
    if (Date.now() - last < lostAfterMs) return;
    this.lostCheckedAt.set(rescanId, Date.now());
    if (this.lostCheckedAt.size > 10_000) this.lostCheckedAt.clear();
    const stale = await takeStaleItems(this.db, rescanId, lostAfterMs);
    const lostChunks: string[] = [];
    for (const chunk of new Set(stale.map((item) => item.chunk))) {
      if (!(await this.jobs.chunk.queue.getJob(rescanScoreJobId({ rescanId, chunk })))) lostChunks.push(chunk);
    }
    if (lostChunks.length === 0) return;
    // A job that just completed is gone too, but its items are no longer pending.
    const lost = await pendingItemsOf(this.db, rescanId, lostChunks);
    if (lost.length > 0) {
      this.log.warn({ rescanId, count: lost.length }, 'rescan jobs were lost; queueing them again');
      await this.enqueue(tenantId, rescanId, lost);
    }
  }

  /** The rescan's status as a worker sees it, cached for a second. */
  async statusOf(rescanId: string): Promise<RescanStatus | null> {
    const cached = this.statusCache.get(rescanId);
    if (cached && Date.now() - cached.at < 1000) return cached.status;
    const status = await rescanStatus(this.db, rescanId);
    if (status) this.statusCache.set(rescanId, { status, at: Date.now() });
    if (this.statusCache.size > 10_000) this.statusCache.clear();
    return status;
  }

  /**
   * Records the article's verdict after rescoring next to the one it had when selected, with
   * an `article.newly_flagged` event when it now needs review (the review queue reads
   * `articles.verdict`, which the scorer already updated). Many items in one statement (atomic
   * on its own, one round trip). Idempotent: only pending items are recorded; an item whose
   * record was lost (crash before the write) stays pending and is queued again, then recorded.
   */
  async recordResults(job: Pick<RescanScoreJob, 'rescanId' | 'tenantId'>, results: readonly { articleId: string; outcome: ScoreOutcome }[]): Promise<void> {
    if (results.length === 0) return;
    const input = results.map(({ articleId, outcome }) => ({
      rescan_id: job.rescanId,
      article_id: articleId,
      tenant_id: job.tenantId,
      status: outcome.kind === 'superseded' ? ('skipped' as const) : ('done' as const),
      outcome: outcome.kind,
    }));
    await recordItemResults(this.db, input);
  }

  /** After the last attempt (or a permanent failure). */
  async recordFailure(job: Pick<RescanScoreJob, 'rescanId'>, articleIds: readonly string[], reason: string): Promise<void> {
    if (articleIds.length === 0) return;
    await recordItemFailures(this.db, job.rescanId, articleIds, reason.slice(0, 1000));
  }

  /** Counts of verdict, label and version transitions over the rescored items. */
  async changes(tenantId: string, id: string): Promise<ChangeSummary | null> {
    const row = await this.row(tenantId, id);
    if (!row) return null;
    const { verdicts, labels, versions, totals } = await transitions(this.db, id);
    return {
      rescanId: id,
      status: row.status,
      compared: totals?.compared ?? 0,
      changed: totals?.changed ?? 0,
      newlyFlagged: totals?.newlyFlagged ?? 0,
      verdicts,
      labels,
      versions,
    };
  }

  /** The changed articles in article-id order, a page at a time (constant memory for downloads). */
  async *changedArticles(tenantId: string, id: string, pageSize = 1000): AsyncGenerator<ChangedArticle> {
    let after = '';
    for (;;) {
      const rows = await changedItems(this.db, tenantId, id, after, pageSize);
      for (const r of rows) yield { ...r, rescoredAt: r.rescoredAt ? r.rescoredAt.toISOString() : null };
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.articleId;
    }
  }

  /** True when the rescan exists for this tenant (for download routes). */
  /**
   * Over every tenant (metrics): rescans by status, and the articles running or paused ones
   * have still to finish (not yet selected, or selected and pending).
   */
  async progressTotals(): Promise<{ byStatus: Record<string, number>; backlog: number }> {
    const { byStatus, backlog } = await progressTotals(this.db);
    return { byStatus: Object.fromEntries(byStatus.map((r) => [r.status, r.n])), backlog: Math.max(0, backlog) };
  }

  async exists(tenantId: string, id: string): Promise<boolean> {
    return (await this.row(tenantId, id)) !== null;
  }
}
