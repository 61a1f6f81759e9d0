import type { Db } from '../db/db.ts';
import { storableCopy } from '../domain/fields.ts';

/**
 * The `imports` record with its items (articles an import named) and its per-line errors,
 * mapped here once. Counts only move forward: chunks of one import may commit out of order.
 */

export type ImportStatus = 'running' | 'completed' | 'failed';

export interface ImportRecord {
  id: string;
  status: ImportStatus;
  linesRead: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  bytesRead: number;
  truncated: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  finishedAt: Date | null;
  /** Running with no progress for 10 minutes: the process that read it died. */
  stale: boolean;
  /** Distinct articles it named, how many of them are scored or failed now, and the errors kept. */
  progress: { articles: number; scored: number; failed: number; errors: number };
}

export interface StoredLineError {
  line: number;
  code: string;
  message: string;
  details?: unknown;
}

const IMPORT_COLUMNS = `id, status, lines_read AS "linesRead", accepted, duplicates, rejected, bytes_read::float8 AS "bytesRead", truncated,
  error_code AS "errorCode", error_message AS "errorMessage", created_at AS "createdAt", finished_at AS "finishedAt",
  (status = 'running' AND updated_at < now() - interval '10 minutes') AS stale`;

export async function insertImport(db: Db, row: { id: string; tenantId: string; actor: string }): Promise<void> {
  await db.query('INSERT INTO imports (id, tenant_id, actor) VALUES ($1, $2, $3)', [row.id, row.tenantId, row.actor]);
}

/** One stored chunk: its articles, its line errors and its counts, in the chunk's transaction. */
export async function recordImportChunk(
  tx: Db,
  importId: string,
  chunk: { articleIds: readonly string[]; errors: readonly StoredLineError[]; linesRead: number; accepted: number; duplicates: number; rejected: number; bytesRead: number },
): Promise<void> {
  if (chunk.articleIds.length > 0) {
    await tx.query('INSERT INTO import_items (import_id, article_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [importId, chunk.articleIds]);
  }
  if (chunk.errors.length > 0) {
    await tx.query(
      `INSERT INTO import_errors (import_id, line, code, message, details)
       SELECT $1, x.line, x.code, x.message, x.details FROM jsonb_to_recordset($2::jsonb) AS x(line int, code text, message text, details jsonb)
       ON CONFLICT DO NOTHING`,
      [importId, JSON.stringify(storableCopy(chunk.errors.map((e) => ({ ...e, details: e.details ?? null }))))],
    );
  }
  // Chunks may commit out of order: add this chunk's counts, never move a snapshot back.
  await tx.query(
    `UPDATE imports SET lines_read = GREATEST(lines_read, $2), accepted = accepted + $3, duplicates = duplicates + $4,
            rejected = GREATEST(rejected, $5), bytes_read = GREATEST(bytes_read, $6), updated_at = now()
     WHERE id = $1`,
    [importId, chunk.linesRead, chunk.accepted, chunk.duplicates, chunk.rejected, chunk.bytesRead],
  );
}

export async function finishImport(
  db: Db,
  importId: string,
  end: { status: ImportStatus; error: { code: string; message: string } | null; truncated: boolean; bytesRead: number; linesRead: number; rejected: number },
): Promise<void> {
  await db.query(
    `UPDATE imports SET status = $2, error_code = $3, error_message = $4, truncated = $5, bytes_read = $6,
            lines_read = $7, rejected = $8, updated_at = now(), finished_at = now() WHERE id = $1`,
    [importId, end.status, end.error?.code ?? null, end.error?.message ?? null, end.truncated, end.bytesRead, end.linesRead, end.rejected],
  );
}

export async function importById(db: Db, tenantId: string, id: string): Promise<ImportRecord | null> {
  const rows = await db.query<Omit<ImportRecord, 'progress'>>(`SELECT ${IMPORT_COLUMNS} FROM imports WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  const row = rows[0];
  if (!row) return null;
  const [progress] = await db.query<ImportRecord['progress']>(
    `SELECT count(*)::int AS articles, count(*) FILTER (WHERE a.status = 'scored')::int AS scored,
            count(*) FILTER (WHERE a.status = 'failed')::int AS failed,
            (SELECT count(*)::int FROM import_errors WHERE import_id = $1) AS errors
     FROM import_items i JOIN articles a ON a.id = i.article_id WHERE i.import_id = $1`,
    [id],
  );
  return { ...row, progress: progress ?? { articles: 0, scored: 0, failed: 0, errors: 0 } };
}

/** Stored per-line errors in line order after `afterLine`; null when the tenant has no such import. */
export async function importLineErrors(db: Db, tenantId: string, id: string, afterLine: number, limit: number): Promise<StoredLineError[] | null> {
  const found = await db.query('SELECT 1 FROM imports WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  if (found.length === 0) return null;
  const rows = await db.query<{ line: number; code: string; message: string; details: unknown }>(
    'SELECT line, code, message, details FROM import_errors WHERE import_id = $1 AND line > $2 ORDER BY line LIMIT $3',
    [id, afterLine, limit],
  );
  return rows.map((r) => ({ line: r.line, code: r.code, message: r.message, ...(r.details === null ? {} : { details: r.details }) }));
}

export async function countImportsByStatus(db: Db): Promise<Record<string, number>> {
  const rows = await db.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM imports GROUP BY status');
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
