import type { Db } from '../db/db.ts';
import type { RescanFilter, RescanStatus } from '../domain/rescans.ts';

/**
 * The rescan record: `rescans` (one row per rescan: filter, status, the driver's id cursor and
 * generation) and `rescan_items` (each selected article with its scoring before and after),
 * with the `rescan.*` events their changes write. Rows are typed here; the rescan service
 * (`services/rescans.ts`) drives the window and queues the jobs.
 */

export interface RescanRow {
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

/** A selected article still to rescore, and the chunk (job) that carries it. */
export interface PendingItem {
  articleId: string;
  revision: number;
  chunk: string;
}

/** The WHERE clause of a filter over `articles`, with parameters numbered from `first`. */
function filterSql(filter: RescanFilter, first: number): { sql: string; params: unknown[] } {
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

// ---------------------------------------------------------------- rescans

/** Articles of the tenant a filter selects now. */
export async function countSelected(db: Db, tenantId: string, filter: RescanFilter): Promise<number> {
  const where = filterSql(filter, 2);
  const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM articles WHERE tenant_id = $1 ${where.sql}`, [tenantId, ...where.params]);
  return rows[0]?.n ?? 0;
}

/** A running rescan at the start of the id order, with its `rescan.created` event. */
export async function insertRescan(db: Db, rescan: { id: string; tenantId: string; actor: string; filter: RescanFilter; total: number }): Promise<void> {
  await db.query(`INSERT INTO rescans (id, tenant_id, actor, filter, status, total, cursor) VALUES ($1, $2, $3, $4::jsonb, 'running', $5, '')`, [
    rescan.id,
    rescan.tenantId,
    rescan.actor,
    JSON.stringify(rescan.filter),
    rescan.total,
  ]);
  await db.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'rescan', $2, 'rescan.created', $3, $4::jsonb)`, [
    rescan.tenantId,
    rescan.id,
    rescan.actor,
    JSON.stringify({ filter: rescan.filter, total: rescan.total }),
  ]);
}

export async function rescanRow(db: Db, tenantId: string, id: string): Promise<RescanRow | null> {
  const rows = await db.query<RescanRow>(`SELECT ${RESCAN_COLUMNS} FROM rescans WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0] ?? null;
}

/** The tenant's latest rescan ids, newest first. */
export async function rescanIds(db: Db, tenantId: string, limit: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>('SELECT id FROM rescans WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2', [tenantId, limit]);
  return rows.map((r) => r.id);
}

/** The rescan row locked for a status change. */
export async function lockRescan(tx: Db, tenantId: string, id: string): Promise<RescanRow | null> {
  const rows = await tx.query<RescanRow>(`SELECT ${RESCAN_COLUMNS} FROM rescans WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]);
  return rows[0] ?? null;
}

/** Sets the status (a new driver generation when `bumpGeneration`) and writes its `rescan.<type>` event. */
export async function updateRescanStatus(tx: Db, row: { tenantId: string; id: string }, to: RescanStatus, eventType: string, bumpGeneration: boolean): Promise<RescanRow> {
  const updated = await tx.query<RescanRow>(
    `UPDATE rescans SET status = $2, generation = generation + $3, updated_at = now(),
              finished_at = CASE WHEN $2 IN ('completed', 'cancelled', 'failed') THEN now() ELSE NULL END
       WHERE id = $1 RETURNING ${RESCAN_COLUMNS}`,
    [row.id, to, bumpGeneration ? 1 : 0],
  );
  await tx.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'rescan', $2, $3, 'system:rescans', '{}')`, [
    row.tenantId,
    row.id,
    eventType,
  ]);
  return updated[0]!;
}

/** Running rescans with their driver generation. */
export async function runningRescans(db: Db): Promise<{ id: string; generation: number }[]> {
  return db.query<{ id: string; generation: number }>(`SELECT id, generation FROM rescans WHERE status = 'running'`);
}

export async function rescanStatus(db: Db, id: string): Promise<RescanStatus | null> {
  const rows = await db.query<{ status: RescanStatus }>('SELECT status FROM rescans WHERE id = $1', [id]);
  return rows[0]?.status ?? null;
}

// ---------------------------------------------------------------- the driver

/** The rescan row locked for a driver step. */
export async function lockRescanForStep(tx: Db, id: string): Promise<RescanRow | null> {
  const rows = await tx.query<RescanRow>(`SELECT ${RESCAN_COLUMNS} FROM rescans WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] ?? null;
}

/** Pending items of the tenant's running and paused rescans (`tenant`), and of this rescan (`own`). */
export async function inFlight(tx: Db, tenantId: string, rescanId: string): Promise<{ tenant: number; own: number }> {
  const [inflight] = await tx.query<{ tenant: number; own: number }>(
    `SELECT count(*)::int AS tenant, count(*) FILTER (WHERE i.rescan_id = $2)::int AS own FROM rescan_items i
         WHERE i.status = 'pending' AND i.rescan_id IN (SELECT id FROM rescans WHERE tenant_id = $1 AND status IN ('running', 'paused'))`,
    [tenantId, rescanId],
  );
  return { tenant: inflight?.tenant ?? 0, own: inflight?.own ?? 0 };
}

/** Completes the rescan with its `rescan.completed` event. */
export async function completeRescan(tx: Db, row: Pick<RescanRow, 'id' | 'tenantId' | 'selected'>): Promise<void> {
  await tx.query(`UPDATE rescans SET status = 'completed', updated_at = now(), finished_at = now() WHERE id = $1`, [row.id]);
  await tx.query(
    `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload)
             VALUES ($1, 'rescan', $2, 'rescan.completed', 'system:rescans', $3::jsonb)`,
    [row.tenantId, row.id, JSON.stringify({ selected: row.selected })],
  );
}

/**
 * Selects up to `room` articles after the cursor into `rescan_items` (with their scoring
 * now, as `old_*`), in chunks of `chunk` by id, and advances the cursor; `exhausted` once a
 * selection comes back short. The items inserted now (not already selected) are returned.
 */
export async function selectItems(tx: Db, row: Pick<RescanRow, 'id' | 'tenantId' | 'cursor' | 'filter'>, room: number, chunk: number): Promise<PendingItem[]> {
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
    [row.id, row.tenantId, row.cursor ?? '', room, chunk, ...where.params],
  );
  const n = result?.n ?? 0;
  await tx.query(`UPDATE rescans SET cursor = COALESCE($2, cursor), selected = selected + $3, exhausted = $4, updated_at = now() WHERE id = $1`, [
    row.id,
    result?.last ?? null,
    result?.items?.length ?? 0,
    n < room,
  ]);
  return result?.items ?? [];
}

/**
 * Up to 200 pending items queued more than `lostAfterMs` ago, marked queued now. Items written
 * before chunks existed were queued one article per job, under the article's id.
 */
export async function takeStaleItems(db: Db, rescanId: string, lostAfterMs: number): Promise<PendingItem[]> {
  return db.query<PendingItem>(
    `UPDATE rescan_items SET enqueued_at = now() WHERE (rescan_id, article_id) IN (
         SELECT rescan_id, article_id FROM rescan_items
         WHERE rescan_id = $1 AND status = 'pending' AND enqueued_at < now() - ($2::int * interval '1 millisecond') LIMIT 200)
       RETURNING article_id AS "articleId", revision, COALESCE(chunk, article_id) AS chunk`,
    [rescanId, lostAfterMs],
  );
}

/** The pending items of the given chunks. */
export async function pendingItemsOf(db: Db, rescanId: string, chunks: readonly string[]): Promise<PendingItem[]> {
  return db.query<PendingItem>(
    `SELECT article_id AS "articleId", revision, COALESCE(chunk, article_id) AS chunk FROM rescan_items
       WHERE rescan_id = $1 AND COALESCE(chunk, article_id) = ANY($2::text[]) AND status = 'pending'`,
    [rescanId, chunks],
  );
}

// ---------------------------------------------------------------- items

export async function cancelPendingItems(tx: Db, rescanId: string): Promise<void> {
  await tx.query(`UPDATE rescan_items SET status = 'cancelled', finished_at = now() WHERE rescan_id = $1 AND status = 'pending'`, [rescanId]);
}

/** An item's result after rescoring: `done`, or `skipped` (superseded), with the scorer's outcome. */
export interface ItemResult {
  rescan_id: string;
  article_id: string;
  tenant_id: string;
  status: 'done' | 'skipped';
  outcome: string;
}

/**
 * Records the pending items' scoring after rescoring (read from `articles`) next to the one
 * they were selected with, and an `article.newly_flagged` event for each that now needs review:
 * one statement.
 */
export async function recordItemResults(db: Db, input: readonly ItemResult[]): Promise<void> {
  await db.query(
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

/** Marks the articles' pending items failed with the reason. */
export async function recordItemFailures(db: Db, rescanId: string, articleIds: readonly string[], reason: string): Promise<void> {
  await db.query(
    `UPDATE rescan_items SET status = 'failed', error = $3, finished_at = now()
       WHERE rescan_id = $1 AND article_id = ANY($2::text[]) AND status = 'pending'`,
    [rescanId, articleIds, reason],
  );
}

export interface ItemCounts {
  done: number;
  failed: number;
  skipped: number;
  cancelled: number;
  pending: number;
  changed: number;
  newlyFlagged: number;
  /** Items finished in the last 30 seconds. */
  recent: number;
  firstAt: Date | null;
  lastAt: Date | null;
  now: Date;
}

/** The rescan's items by status, with the first and last finish and the database's now. */
export async function itemCounts(db: Db, rescanId: string): Promise<ItemCounts> {
  const [c] = await db.query<ItemCounts>(
    `SELECT count(*) FILTER (WHERE status = 'done')::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed,
              count(*) FILTER (WHERE status = 'skipped')::int AS skipped, count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled,
              count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE changed)::int AS changed,
              count(*) FILTER (WHERE newly_flagged)::int AS "newlyFlagged",
              count(*) FILTER (WHERE finished_at > now() - interval '30 seconds')::int AS recent,
              min(finished_at) AS "firstAt", max(finished_at) AS "lastAt", now() AS now
       FROM rescan_items WHERE rescan_id = $1`,
    [rescanId],
  );
  return c!;
}

export interface TransitionRow {
  from: string;
  to: string;
  count: number;
}

export interface VersionTransitionRow {
  fromModel: string | null;
  fromConfig: string | null;
  toModel: string | null;
  toConfig: string | null;
  count: number;
}

/** Verdict, label and version transitions over the rescored items, most frequent first, and their totals. */
export async function transitions(
  db: Db,
  rescanId: string,
): Promise<{
  verdicts: TransitionRow[];
  labels: TransitionRow[];
  versions: VersionTransitionRow[];
  totals: { compared: number; changed: number; newlyFlagged: number } | undefined;
}> {
  const verdicts = await db.query<TransitionRow>(
    `SELECT COALESCE(old_verdict, 'none') AS "from", COALESCE(new_verdict, 'none') AS "to", count(*)::int AS count
       FROM rescan_items WHERE rescan_id = $1 AND status = 'done' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
    [rescanId],
  );
  const labels = await db.query<TransitionRow>(
    `SELECT COALESCE(old_label, 'none') AS "from", COALESCE(new_label, 'none') AS "to", count(*)::int AS count
       FROM rescan_items WHERE rescan_id = $1 AND status = 'done' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
    [rescanId],
  );
  const versions = await db.query<VersionTransitionRow>(
    `SELECT old_model_version AS "fromModel", old_config_version AS "fromConfig", new_model_version AS "toModel",
              new_config_version AS "toConfig", count(*)::int AS count
       FROM rescan_items WHERE rescan_id = $1 AND status = 'done' GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC`,
    [rescanId],
  );
  const [totals] = await db.query<{ compared: number; changed: number; newlyFlagged: number }>(
    `SELECT count(*)::int AS compared, count(*) FILTER (WHERE changed)::int AS changed, count(*) FILTER (WHERE newly_flagged)::int AS "newlyFlagged"
       FROM rescan_items WHERE rescan_id = $1 AND status = 'done'`,
    [rescanId],
  );
  return { verdicts, labels, versions, totals };
}

export interface ChangedItemRow {
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
  rescoredAt: Date | null;
}

/** A page of the changed items after article id `after`, in article-id order. */
export async function changedItems(db: Db, tenantId: string, rescanId: string, after: string, pageSize: number): Promise<ChangedItemRow[]> {
  return db.query<ChangedItemRow>(
    `SELECT i.article_id AS "articleId", a.external_id AS "externalId", a.account_id AS "accountId",
                i.old_verdict AS "oldVerdict", i.new_verdict AS "newVerdict", i.old_label AS "oldLabel", i.new_label AS "newLabel",
                i.old_score AS "oldScore", i.new_score AS "newScore", i.old_model_version AS "oldModelVersion",
                i.new_model_version AS "newModelVersion", i.old_config_version AS "oldConfigVersion",
                i.new_config_version AS "newConfigVersion", i.newly_flagged AS "newlyFlagged", i.finished_at AS "rescoredAt"
         FROM rescan_items i JOIN articles a ON a.id = i.article_id
         WHERE i.rescan_id = $1 AND a.tenant_id = $2 AND i.changed AND i.article_id > $3
         ORDER BY i.article_id LIMIT $4`,
    [rescanId, tenantId, after, pageSize],
  );
}

// ---------------------------------------------------------------- metrics

/** Over every tenant: rescans by status, and the articles running or paused ones have still to finish. */
export async function progressTotals(db: Db): Promise<{ byStatus: { status: string; n: number }[]; backlog: number }> {
  const byStatus = await db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM rescans GROUP BY status`);
  const backlog = await db.query<{ n: string | number }>(
    `SELECT COALESCE(sum(r.total - r.selected), 0) + (SELECT count(*) FROM rescan_items i JOIN rescans a ON a.id = i.rescan_id
         WHERE a.status IN ('running', 'paused') AND i.status = 'pending') AS n
       FROM rescans r WHERE r.status IN ('running', 'paused')`,
  );
  return { byStatus, backlog: Number(backlog[0]?.n ?? 0) };
}
