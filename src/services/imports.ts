import type { Logger } from 'pino';
import type { Db } from '../db/db.ts';
import { articleInputSchema } from '../domain/article-input.ts';
import { ServiceError } from '../domain/errors.ts';
import { storableCopy } from '../domain/fields.ts';
import { newId } from '../domain/ids.ts';
import { NdjsonFormatError, NdjsonLimitError, type NdjsonStats, readNdjson } from '../infra/ndjson.ts';
import { type ArticleService, isStoreFailure, type PreparedArticle, prepareArticle, type SubmitResult, type Submitter } from './articles.ts';

/**
 * Bulk NDJSON import: one article per line, in the shape of `POST /v1/articles`. The body is
 * read as a stream and stored in chunks (one transaction and one bounded `addBulk` each)
 * through the same `ArticleService.submit` as live submissions, so re-importing the same file
 * is a no-op per line (`duplicates`) and `publishedAt` is kept. The `ArticleService` given here
 * queues on the low-priority `rescore` queue, so an import never delays live traffic.
 */

export interface ImportSettings {
  maxBytes: number;
  maxLineBytes: number;
  chunkLines: number;
  maxStoredErrors: number;
  maxTextChars: number;
}

export type ImportStatus = 'running' | 'completed' | 'failed';

import type { ImportLineError, ImportView } from './views.ts';

export interface ImportRun {
  view: ImportView;
  /** Why it stopped early, if it did. */
  stopped: null | { code: 'import_too_large' | 'bad_request'; message: string };
}

interface Row {
  id: string;
  status: ImportStatus;
  linesRead: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  bytesRead: string | number;
  truncated: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  finishedAt: Date | null;
  stale: boolean;
}

const ROW_COLUMNS = `id, status, lines_read AS "linesRead", accepted, duplicates, rejected, bytes_read AS "bytesRead", truncated,
  error_code AS "errorCode", error_message AS "errorMessage", created_at AS "createdAt", finished_at AS "finishedAt",
  (status = 'running' AND updated_at < now() - interval '10 minutes') AS stale`;

/** Chunks being stored at once (each its own transaction). */
const STORES_IN_FLIGHT = 2;

/** Text-heavy lines: also flush a chunk once it holds this many bytes of text. */
const CHUNK_TEXT_BYTES = 8 * 1024 * 1024;

export class ImportService {
  constructor(
    private readonly db: Db,
    private readonly articles: ArticleService,
    private readonly settings: ImportSettings,
    private readonly log: Logger,
  ) {}

  /**
   * Reads the whole body, storing as it goes, and resolves with the final counts. A limit
   * reached or a corrupt gzip stream stops the import (status `failed`, the lines before
   * stay accepted); a dependency failure marks it failed and throws.
   */
  async run(who: Submitter, body: AsyncIterable<Uint8Array>, options: { gzip: boolean | 'auto' }): Promise<ImportRun> {
    this.articles.assertQueueAvailable();
    const id = newId('imp');
    await this.db.query('INSERT INTO imports (id, tenant_id, actor) VALUES ($1, $2, $3)', [id, who.tenantId, who.actor]);
    const submitter: Submitter = { tenantId: who.tenantId, actor: `import:${id}` };
    const stats: NdjsonStats = { bytes: 0, gzip: false };
    const counts = { linesRead: 0, accepted: 0, duplicates: 0, rejected: 0, errorsKept: 0 };
    let chunk: PreparedArticle[] = [];
    let chunkLines: number[] = [];
    let chunkExternalIds = new Set<string>();
    let chunkTextBytes = 0;
    let errors: ImportLineError[] = [];

    const reject = (error: ImportLineError) => {
      counts.rejected++;
      if (counts.errorsKept < this.settings.maxStoredErrors) {
        counts.errorsKept++;
        errors.push(error);
      }
    };
    // Up to STORES_IN_FLIGHT chunks are stored while the next is parsed: memory stays bounded
    // (that many chunks), and a chunk naming an article of a chunk still being stored waits
    // for it, so a later line always wins and two upserts never lock the same rows.
    let inFlight: { done: Promise<void>; ids: Set<string> }[] = [];
    const flush = async () => {
      const batch = chunk;
      const batchLines = chunkLines;
      const batchIds = chunkExternalIds;
      const batchErrors = errors;
      chunk = [];
      chunkLines = [];
      chunkExternalIds = new Set();
      chunkTextBytes = 0;
      errors = [];
      for (const other of [...inFlight]) {
        if (inFlight.length >= STORES_IN_FLIGHT || [...batchIds].some((x) => other.ids.has(x))) await other.done;
      }
      const entry = { done: store(batch, batchLines, batchErrors), ids: batchIds };
      inFlight.push(entry);
      void entry.done.then(
        () => {
          inFlight = inFlight.filter((e) => e !== entry);
        },
        () => undefined, // awaited (and thrown) by the next flush or drain
      );
    };
    const drain = async () => {
      await flush();
      await Promise.all(inFlight.map((e) => e.done));
    };
    const store = async (batch: PreparedArticle[], lines: number[], batchErrors: ImportLineError[]) => {
      const linesRead = counts.linesRead;
      const bytes = stats.bytes;
      const outcomes = batch.length > 0 ? await this.articles.submit(submitter, batch, undefined, 'import') : [];
      const results: SubmitResult[] = [];
      for (const [i, outcome] of outcomes.entries()) {
        if (!isStoreFailure(outcome)) results.push(outcome);
        // A line the database refused is a rejected line like any other; the chunk's others stay.
        else if (counts.errorsKept < this.settings.maxStoredErrors) {
          counts.rejected++;
          counts.errorsKept++;
          batchErrors.push({ line: lines[i]!, code: outcome.code, message: outcome.message });
        } else counts.rejected++;
      }
      const rejected = counts.rejected;
      let accepted = 0;
      for (const r of results) if (r.changed) accepted++;
      await this.db.transaction(async (tx) => {
        if (results.length > 0) {
          await tx.query(
            `INSERT INTO import_items (import_id, article_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
            [id, results.map((r) => r.id)],
          );
        }
        if (batchErrors.length > 0) {
          await tx.query(
            `INSERT INTO import_errors (import_id, line, code, message, details)
             SELECT $1, x.line, x.code, x.message, x.details FROM jsonb_to_recordset($2::jsonb) AS x(line int, code text, message text, details jsonb)
             ON CONFLICT DO NOTHING`,
            [id, JSON.stringify(storableCopy(batchErrors.map((e) => ({ ...e, details: e.details ?? null }))))],
          );
        }
        counts.accepted += accepted;
        counts.duplicates += results.length - accepted;
        // Chunks may commit out of order: add this chunk's counts, never move a snapshot back.
        await tx.query(
          `UPDATE imports SET lines_read = GREATEST(lines_read, $2), accepted = accepted + $3, duplicates = duplicates + $4,
                  rejected = GREATEST(rejected, $5), bytes_read = GREATEST(bytes_read, $6), updated_at = now()
           WHERE id = $1`,
          [id, linesRead, accepted, results.length - accepted, rejected, bytes],
        );
      });
    };
    const finish = async (status: ImportStatus, error: { code: string; message: string } | null, truncated = false) => {
      await this.db.query(
        `UPDATE imports SET status = $2, error_code = $3, error_message = $4, truncated = $5, bytes_read = $6,
                lines_read = $7, rejected = $8, updated_at = now(), finished_at = now() WHERE id = $1`,
        [id, status, error?.code ?? null, error?.message ?? null, truncated, stats.bytes, counts.linesRead, counts.rejected],
      );
    };

    let stopped: ImportRun['stopped'] = null;
    try {
      const lines = readNdjson(body, { maxBytes: this.settings.maxBytes, maxLineBytes: this.settings.maxLineBytes, gzip: options.gzip }, stats);
      for await (const item of lines) {
        counts.linesRead++;
        if ('error' in item) {
          reject({ line: item.line, code: item.error, message: item.message });
        } else {
          const prepared = this.parseLine(item.line, item.text, reject);
          if (prepared) {
            // The multi-row upsert cannot touch one row twice: a repeated id starts a new chunk.
            if (chunkExternalIds.has(prepared.externalId)) await flush();
            chunk.push(prepared);
            chunkLines.push(item.line);
            chunkExternalIds.add(prepared.externalId);
            chunkTextBytes += prepared.text.length * 2;
          }
        }
        if (chunk.length >= this.settings.chunkLines || chunkTextBytes >= CHUNK_TEXT_BYTES || errors.length >= this.settings.chunkLines) {
          await flush();
        }
      }
      await drain();
    } catch (error) {
      if (error instanceof NdjsonLimitError) {
        stopped = { code: 'import_too_large', message: error.message };
      } else if (error instanceof NdjsonFormatError) {
        stopped = { code: 'bad_request', message: error.message };
      } else {
        this.log.warn({ err: error, importId: id }, 'import failed');
        // The lines that arrived complete are kept (a no-op if the store itself is what failed).
        await drain().catch(() => undefined);
        await finish('failed', { code: error instanceof ServiceError ? error.code : 'interrupted', message: (error as Error).message }).catch(
          () => undefined,
        );
        throw error;
      }
      // What was complete before the stop stays accepted.
      await drain();
    }
    await finish(stopped ? 'failed' : 'completed', stopped, stopped?.code === 'import_too_large');
    const view = await this.get(who.tenantId, id);
    if (!view) throw new ServiceError('internal_error', 'import row vanished');
    return { view, stopped };
  }

  private parseLine(line: number, text: string, reject: (e: ImportLineError) => void): PreparedArticle | null {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      reject({ line, code: 'malformed_json', message: `not valid JSON: ${(error as Error).message}` });
      return null;
    }
    const parsed = articleInputSchema.safeParse(json);
    if (!parsed.success) {
      reject({
        line,
        code: 'validation_failed',
        message: 'article is invalid',
        details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      });
      return null;
    }
    try {
      return prepareArticle(parsed.data, { maxTextChars: this.settings.maxTextChars });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      reject({ line, code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) });
      return null;
    }
  }

  async get(tenantId: string, id: string): Promise<ImportView | null> {
    const rows = await this.db.query<Row>(`SELECT ${ROW_COLUMNS} FROM imports WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
    const row = rows[0];
    if (!row) return null;
    const [progress] = await this.db.query<{ articles: number; scored: number; failed: number; errors: number }>(
      `SELECT count(*)::int AS articles, count(*) FILTER (WHERE a.status = 'scored')::int AS scored,
              count(*) FILTER (WHERE a.status = 'failed')::int AS failed,
              (SELECT count(*)::int FROM import_errors WHERE import_id = $1) AS errors
       FROM import_items i JOIN articles a ON a.id = i.article_id WHERE i.import_id = $1`,
      [id],
    );
    // A running import that stopped moving: the process that read it died. Its part stays.
    const interrupted = row.stale ? { code: 'interrupted', message: 'no progress for 10 minutes: the importing process stopped' } : null;
    return {
      id: row.id,
      status: interrupted ? 'failed' : row.status,
      linesRead: row.linesRead,
      accepted: row.accepted,
      duplicates: row.duplicates,
      rejected: row.rejected,
      articles: progress?.articles ?? 0,
      scored: progress?.scored ?? 0,
      failed: progress?.failed ?? 0,
      bytesRead: Number(row.bytesRead),
      truncated: row.truncated,
      error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : interrupted,
      errorsStored: progress?.errors ?? 0,
      createdAt: row.createdAt.toISOString(),
      finishedAt: row.finishedAt ? row.finishedAt.toISOString() : null,
    };
  }

  /** Stored per-line errors in line order, after `afterLine`. */
  async errors(tenantId: string, id: string, afterLine = 0, limit = 1000): Promise<ImportLineError[] | null> {
    const found = await this.db.query('SELECT 1 FROM imports WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
    if (found.length === 0) return null;
    const rows = await this.db.query<{ line: number; code: string; message: string; details: unknown }>(
      'SELECT line, code, message, details FROM import_errors WHERE import_id = $1 AND line > $2 ORDER BY line LIMIT $3',
      [id, afterLine, limit],
    );
    return rows.map((r) => ({ line: r.line, code: r.code, message: r.message, ...(r.details === null ? {} : { details: r.details }) }));
  }

  /** Imports by status over every tenant (metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM imports GROUP BY status`);
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
