import type { Logger } from 'pino';
import { z } from 'zod';
import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { storableText, timestamp } from '../domain/fields.ts';
import { newId } from '../domain/ids.ts';
import { LABELS, VERDICTS } from '../domain/types.ts';
import { type JobQueue, type JOBS, type RescanDriverJob, type RescanScoreJob, rescanScoreJobId } from '../jobs/catalog.ts';
import type { ScoreOutcome } from './scoring.ts';

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

const iso = timestamp();
const idString = storableText().min(1).max(256);

export const rescanFilterSchema = z
  .object({
    publishedFrom: iso.optional().describe('publishedAt >= this'),
    publishedTo: iso.optional().describe('publishedAt < this'),
    receivedFrom: iso.optional().describe('receivedAt >= this'),
    receivedTo: iso.optional().describe('receivedAt < this'),
    accountIds: z.array(idString).min(1).max(1000).optional(),
    verdicts: z.array(z.enum([...VERDICTS, 'none'])).min(1).optional().describe("current verdict; 'none': never scored"),
    labels: z.array(z.enum([...LABELS, 'none'])).min(1).optional().describe("current label; 'none': never scored"),
    modelVersionNot: storableText().min(1).max(300).optional().describe('scored by another model version (or never scored)'),
    configVersionNot: storableText().min(1).max(300).optional().describe('scored under another fusion config version (or never scored)'),
    scoredBefore: iso.optional().describe('last scored before this time (or never scored)'),
  })
  .strict();
export type RescanFilter = z.infer<typeof rescanFilterSchema>;

export type RescanStatus = 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';

import type { ChangeSummary, RescanView, Transition } from './views.ts';

export interface ChangedArticle {
  articleId: string;
  externalId: string;
  accountId: string;
  oldVerdict: string | null;
  newVerdict: string | null;
  oldLabel: string | null;
  newLabel: string | null;
  oldScore: number | null;
  newScore: number | null;
  oldModelVersion: string | null;
  newModelVersion: string | null;
  oldConfigVersion: string | null;
  newConfigVersion: string | null;
  newlyFlagged: boolean;
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

interface RescanRow {
  id: string;
  tenantId: string;
  status: RescanStatus;
  filter: RescanFilter;
  total: number;
  selected: number;
  cursor: string | null;
  exhausted: boolean;
  generation: number;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

const RESCAN_COLUMNS = `id, tenant_id AS "tenantId", status, filter, total, selected, cursor, exhausted, generation, error,
  created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;

/** The WHERE clause of a filter over `articles`, with parameters numbered from `first`. */
export function filterSql(filter: RescanFilter, first: number): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${first + params.length - 1}`;
  };
  if (filter.publishedFrom) clauses.push(`published_at >= ${p(filter.publishedFrom)}::timestamptz`);
  if (filter.publishedTo) clauses.push(`published_at < ${p(filter.publishedTo)}::timestamptz`);
  if (filter.receivedFrom) clauses.push(`received_at >= ${p(filter.receivedFrom)}::timestamptz`);
  if (filter.receivedTo) clauses.push(`received_at < ${p(filter.receivedTo)}::timestamptz`);
  if (filter.accountIds) clauses.push(`account_id = ANY(${p(filter.accountIds)}::text[])`);
  for (const [column, values] of [
    ['verdict', filter.verdicts],
    ['label', filter.labels],
  ] as const) {
    if (!values) continue;
    const named = values.filter((v) => v !== 'none');
    const none = values.includes('none');
    const parts = [...(named.length > 0 ? [`${column} = ANY(${p(named)}::text[])`] : []), ...(none ? [`${column} IS NULL`] : [])];
    clauses.push(`(${parts.join(' OR ')})`);
  }
  if (filter.modelVersionNot) clauses.push(`model_version IS DISTINCT FROM ${p(filter.modelVersionNot)}`);
  if (filter.configVersionNot) clauses.push(`config_version IS DISTINCT FROM ${p(filter.configVersionNot)}`);
  if (filter.scoredBefore) clauses.push(`(scored_at IS NULL OR scored_at < ${p(filter.scoredBefore)}::timestamptz)`);
  return { sql: clauses.length > 0 ? clauses.map((c) => `AND ${c}`).join(' ') : '', params };
}

/** A selected article still to rescore, and the chunk (job) that carries it. */
interface PendingItem {
  articleId: string;
  revision: number;
  chunk: string;
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
    const where = filterSql(filter, 2);
    const rows = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM articles WHERE tenant_id = $1 ${where.sql}`, [
      tenantId,
      ...where.params,
    ]);
    return rows[0]?.n ?? 0;
  }

  /** Records the rescan and queues its driver. */
  async create(who: { tenantId: string; actor: string }, filter: RescanFilter): Promise<RescanView> {
    const total = await this.count(who.tenantId, filter);
    const id = newId('rsc');
    await this.db.query(
      `INSERT INTO rescans (id, tenant_id, actor, filter, status, total, cursor) VALUES ($1, $2, $3, $4::jsonb, 'running', $5, '')`,
      [id, who.tenantId, who.actor, JSON.stringify(filter), total],
    );
    await this.db.query(
      `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'rescan', $2, 'rescan.created', $3, $4::jsonb)`,
      [who.tenantId, id, who.actor, JSON.stringify({ filter, total })],
    );
    await this.queueDriver({ rescanId: id, generation: 1 });
    return (await this.get(who.tenantId, id))!;
  }

  async get(tenantId: string, id: string): Promise<RescanView | null> {
    const row = await this.row(tenantId, id);
    if (!row) return null;
    const [c] = await this.db.query<{
      done: number;
      failed: number;
      skipped: number;
      cancelled: number;
      pending: number;
      changed: number;
      newlyFlagged: number;
      recent: number;
      firstAt: Date | null;
      lastAt: Date | null;
      now: Date;
    }>(
      `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(*) FILTER (WHERE status = 'skipped')::int AS skipped, count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
              count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE changed)::int AS changed,
              count(*) FILTER (WHERE newly_flagged)::int AS "newlyFlagged",
              count(*) FILTER (WHERE finished_at > now() - interval '30 seconds')::int AS recent,
              min(finished_at) AS "firstAt", max(finished_at) AS "lastAt", now() AS now
       FROM rescan_items WHERE rescan_id = $1`,
      [id],
    );
    const counts = c!;
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
    const rows = await this.db.query<{ id: string }>('SELECT id FROM rescans WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2', [tenantId, limit]);
    const views: RescanView[] = [];
    for (const r of rows) {
      const v = await this.get(tenantId, r.id);
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
      await tx.query(`UPDATE rescan_items SET status = 'cancelled', finished_at = now() WHERE rescan_id = $1 AND status = 'pending'`, [id]);
    });
    this.statusCache.set(id, { status: 'cancelled', at: Date.now() });
    return (await this.get(tenantId, id))!;
  }

  private async transition(tenantId: string, id: string, from: RescanStatus[], to: RescanStatus, bumpGeneration = false): Promise<RescanRow> {
    return this.db.transaction((tx) => this.transitionIn(tx, tenantId, id, from, to, bumpGeneration));
  }

  private async transitionIn(tx: Db, tenantId: string, id: string, from: RescanStatus[], to: RescanStatus, bumpGeneration = false): Promise<RescanRow> {
    const rows = await tx.query<RescanRow>(`SELECT ${RESCAN_COLUMNS} FROM rescans WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]);
    const row = rows[0];
    if (!row) throw new ServiceError('not_found', 'no such rescan');
    if (!from.includes(row.status)) {
      throw new ServiceError('conflict', `the rescan is ${row.status}; this needs it ${from.join(' or ')}`, { status: row.status });
    }
    const updated = await tx.query<RescanRow>(
      `UPDATE rescans SET status = $2, generation = generation + $3, updated_at = now(),
              finished_at = CASE WHEN $2 IN ('completed', 'cancelled', 'failed') THEN now() ELSE NULL END
       WHERE id = $1 RETURNING ${RESCAN_COLUMNS}`,
      [id, to, bumpGeneration ? 1 : 0],
    );
    await tx.query(
      `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'rescan', $2, $3, 'system:rescans', '{}')`,
      [tenantId, id, `rescan.${to === 'running' ? 'resumed' : to}`],
    );
    return updated[0]!;
  }

  private async row(tenantId: string, id: string): Promise<RescanRow | null> {
    const rows = await this.db.query<RescanRow>(`SELECT ${RESCAN_COLUMNS} FROM rescans WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
    return rows[0] ?? null;
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
    const rows = await this.db.query<{ id: string; generation: number }>(`SELECT id, generation FROM rescans WHERE status = 'running'`);
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
      const rows = await tx.query<RescanRow>(`SELECT ${RESCAN_COLUMNS} FROM rescans WHERE id = $1 FOR UPDATE`, [job.rescanId]);
      const row = rows[0];
      if (!row || row.generation !== job.generation || row.status !== 'running') return null;
      const [inflight] = await tx.query<{ tenant: number; own: number }>(
        `SELECT count(*)::int AS tenant, count(*) FILTER (WHERE i.rescan_id = $2)::int AS own FROM rescan_items i
         WHERE i.status = 'pending' AND i.rescan_id IN (SELECT id FROM rescans WHERE tenant_id = $1 AND status IN ('running', 'paused'))`,
        [row.tenantId, row.id],
      );
      const tenantInFlight = inflight?.tenant ?? 0;
      const ownInFlight = inflight?.own ?? 0;
      if (row.exhausted) {
        if (ownInFlight === 0) {
          await tx.query(`UPDATE rescans SET status = 'completed', updated_at = now(), finished_at = now() WHERE id = $1`, [row.id]);
          await tx.query(
            `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload)
             VALUES ($1, 'rescan', $2, 'rescan.completed', 'system:rescans', $3::jsonb)`,
            [row.tenantId, row.id, JSON.stringify({ selected: row.selected })],
          );
          return { row, items: [], done: true };
        }
        return { row, items: [], done: false };
      }
      // Small, frequent refills (a tenth of the window per step): the queue never runs dry, never
      // holds more than a window, and no step is a burst of work that would delay live jobs.
      const stepChunk = Math.max(10, Math.floor(window / 10));
      if (tenantInFlight > window - stepChunk) return { row, items: [], done: false };
      const room = Math.min(stepChunk, window - tenantInFlight);
      const where = filterSql(row.filter, 6);
      const [result] = await tx.query<{ n: number; last: string | null; items: PendingItem[] | null }>(
        `WITH picked AS (
           SELECT id, revision, score, label, verdict, model_version, config_version FROM articles
           WHERE tenant_id = $2 AND id > $3 ${where.sql} ORDER BY id LIMIT $4
         ), numbered AS (
           SELECT picked.*, (row_number() OVER (ORDER BY id) - 1) / $5 AS part FROM picked
         ), chunked AS (
           SELECT numbered.*, min(id) OVER (PARTITION BY part) AS chunk FROM numbered
         ), inserted AS (
           INSERT INTO rescan_items (rescan_id, article_id, revision, chunk, old_score, old_label, old_verdict, old_model_version, old_config_version)
           SELECT $1, id, revision, chunk, score, label, verdict, model_version, config_version FROM chunked
           ON CONFLICT DO NOTHING RETURNING article_id, revision, chunk
         )
         SELECT (SELECT count(*) FROM picked)::int AS n, (SELECT max(id) FROM picked) AS last,
                (SELECT json_agg(json_build_object('articleId', article_id, 'revision', revision, 'chunk', chunk)) FROM inserted) AS items`,
        [row.id, row.tenantId, row.cursor ?? '', room, this.settings.chunk, ...where.params],
      );
      const n = result?.n ?? 0;
      await tx.query(
        `UPDATE rescans SET cursor = COALESCE($2, cursor), selected = selected + $3, exhausted = $4, updated_at = now() WHERE id = $1`,
        [row.id, result?.last ?? null, result?.items?.length ?? 0, n < room],
      );
      return { row, items: result?.items ?? [], done: false };
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
    // Items written before chunks existed were queued one article per job, under the article's id.
    const stale = await this.db.query<PendingItem>(
      `UPDATE rescan_items SET enqueued_at = now() WHERE (rescan_id, article_id) IN (
         SELECT rescan_id, article_id FROM rescan_items
         WHERE rescan_id = $1 AND status = 'pending' AND enqueued_at < now() - ($2::int * interval '1 millisecond') LIMIT 200)
       RETURNING article_id AS "articleId", revision, COALESCE(chunk, article_id) AS chunk`,
      [rescanId, lostAfterMs],
    );
    const lostChunks: string[] = [];
    for (const chunk of new Set(stale.map((item) => item.chunk))) {
      if (!(await this.jobs.chunk.queue.getJob(rescanScoreJobId({ rescanId, chunk })))) lostChunks.push(chunk);
    }
    if (lostChunks.length === 0) return;
    // A job that just completed is gone too, but its items are no longer pending.
    const lost = await this.db.query<PendingItem>(
      `SELECT article_id AS "articleId", revision, COALESCE(chunk, article_id) AS chunk FROM rescan_items
       WHERE rescan_id = $1 AND COALESCE(chunk, article_id) = ANY($2::text[]) AND status = 'pending'`,
      [rescanId, lostChunks],
    );
    if (lost.length > 0) {
      this.log.warn({ rescanId, count: lost.length }, 'rescan jobs were lost; queueing them again');
      await this.enqueue(tenantId, rescanId, lost);
    }
  }

  /** The rescan's status as a worker sees it, cached for a second. */
  async statusOf(rescanId: string): Promise<RescanStatus | null> {
    const cached = this.statusCache.get(rescanId);
    if (cached && Date.now() - cached.at < 1000) return cached.status;
    const rows = await this.db.query<{ status: RescanStatus }>('SELECT status FROM rescans WHERE id = $1', [rescanId]);
    const status = rows[0]?.status ?? null;
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
      status: outcome.kind === 'superseded' ? 'skipped' : 'done',
      outcome: outcome.kind,
    }));
    await this.db.query(
      `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(rescan_id text, article_id text, tenant_id text, status text, outcome text)
       ), a AS (
         SELECT input.*, ar.score, ar.label, ar.verdict, ar.model_version, ar.config_version
         FROM input JOIN articles ar ON ar.id = input.article_id
       ), item AS (
         UPDATE rescan_items i SET status = a.status, outcome = a.outcome, finished_at = now(),
           new_score = a.score, new_label = a.label, new_verdict = a.verdict,
           new_model_version = a.model_version, new_config_version = a.config_version,
           changed = (a.status = 'done' AND (i.old_verdict IS DISTINCT FROM a.verdict OR i.old_label IS DISTINCT FROM a.label)),
           newly_flagged = (a.status = 'done' AND COALESCE(i.old_verdict, 'pass') NOT IN ('review', 'flag') AND a.verdict IN ('review', 'flag'))
         FROM a WHERE i.rescan_id = a.rescan_id AND i.article_id = a.article_id AND i.status = 'pending'
         RETURNING i.*, a.tenant_id
       )
       INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
       SELECT item.tenant_id, 'article', item.article_id, 'article.newly_flagged', 'rescan:' || item.rescan_id, jsonb_build_object(
                'rescanId', item.rescan_id, 'revision', item.revision,
                'from', jsonb_build_object('verdict', item.old_verdict, 'label', item.old_label,
                                           'modelVersion', item.old_model_version, 'configVersion', item.old_config_version),
                'to', jsonb_build_object('verdict', item.new_verdict, 'label', item.new_label, 'score', item.new_score,
                                         'modelVersion', item.new_model_version, 'configVersion', item.new_config_version)),
              item.new_model_version, item.new_config_version
       FROM item WHERE item.newly_flagged`,
      [JSON.stringify(input)],
    );
  }

  /** After the last attempt (or a permanent failure). */
  async recordFailure(job: Pick<RescanScoreJob, 'rescanId'>, articleIds: readonly string[], reason: string): Promise<void> {
    if (articleIds.length === 0) return;
    await this.db.query(
      `UPDATE rescan_items SET status = 'failed', error = $3, finished_at = now()
       WHERE rescan_id = $1 AND article_id = ANY($2::text[]) AND status = 'pending'`,
      [job.rescanId, articleIds, reason.slice(0, 1000)],
    );
  }

  /** Counts of verdict, label and version transitions over the rescored items. */
  async changes(tenantId: string, id: string): Promise<ChangeSummary | null> {
    const row = await this.row(tenantId, id);
    if (!row) return null;
    const verdicts = await this.db.query<Transition>(
      `SELECT COALESCE(old_verdict, 'none') AS "from", COALESCE(new_verdict, 'none') AS "to", count(*)::int AS count
       FROM rescan_items WHERE rescan_id = $1 AND status = 'done' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
      [id],
    );
    const labels = await this.db.query<Transition>(
      `SELECT COALESCE(old_label, 'none') AS "from", COALESCE(new_label, 'none') AS "to", count(*)::int AS count
       FROM rescan_items WHERE rescan_id = $1 AND status = 'done' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
      [id],
    );
    const versions = await this.db.query<ChangeSummary['versions'][number]>(
      `SELECT old_model_version AS "fromModel", old_config_version AS "fromConfig", new_model_version AS "toModel",
              new_config_version AS "toConfig", count(*)::int AS count
       FROM rescan_items WHERE rescan_id = $1 AND status = 'done' GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC`,
      [id],
    );
    const [totals] = await this.db.query<{ compared: number; changed: number; newlyFlagged: number }>(
      `SELECT count(*)::int AS compared, count(*) FILTER (WHERE changed)::int AS changed, count(*) FILTER (WHERE newly_flagged)::int AS "newlyFlagged"
       FROM rescan_items WHERE rescan_id = $1 AND status = 'done'`,
      [id],
    );
    return { rescanId: id, status: row.status, compared: totals?.compared ?? 0, changed: totals?.changed ?? 0, newlyFlagged: totals?.newlyFlagged ?? 0, verdicts, labels, versions };
  }

  /** The changed articles in article-id order, a page at a time (constant memory for downloads). */
  async *changedArticles(tenantId: string, id: string, pageSize = 1000): AsyncGenerator<ChangedArticle> {
    let after = '';
    for (;;) {
      const rows = await this.db.query<ChangedArticle & { rescoredAt: Date | null }>(
        `SELECT i.article_id AS "articleId", a.external_id AS "externalId", a.account_id AS "accountId",
                i.old_verdict AS "oldVerdict", i.new_verdict AS "newVerdict", i.old_label AS "oldLabel", i.new_label AS "newLabel",
                i.old_score AS "oldScore", i.new_score AS "newScore", i.old_model_version AS "oldModelVersion",
                i.new_model_version AS "newModelVersion", i.old_config_version AS "oldConfigVersion",
                i.new_config_version AS "newConfigVersion", i.newly_flagged AS "newlyFlagged", i.finished_at AS "rescoredAt"
         FROM rescan_items i JOIN articles a ON a.id = i.article_id
         WHERE i.rescan_id = $1 AND a.tenant_id = $2 AND i.changed AND i.article_id > $3
         ORDER BY i.article_id LIMIT $4`,
        [id, tenantId, after, pageSize],
      );
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
    const byStatus = await this.db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM rescans GROUP BY status`);
    const backlog = await this.db.query<{ n: string | number }>(
      `SELECT COALESCE(sum(r.total - r.selected), 0) + (SELECT count(*) FROM rescan_items i JOIN rescans a ON a.id = i.rescan_id
         WHERE a.status IN ('running', 'paused') AND i.status = 'pending') AS n
       FROM rescans r WHERE r.status IN ('running', 'paused')`,
    );
    return { byStatus: Object.fromEntries(byStatus.map((r) => [r.status, r.n])), backlog: Math.max(0, Number(backlog[0]?.n ?? 0)) };
  }

  async exists(tenantId: string, id: string): Promise<boolean> {
    return (await this.row(tenantId, id)) !== null;
  }
}
