import type { Logger } from 'pino';
import type { Db } from '../db/db.ts';
import { articleInputSchema } from '../domain/article-input.ts';
import { ServiceError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { countImportsByStatus, finishImport, importById, importLineErrors, type ImportStatus, insertImport, recordImportChunk } from '../store/imports.ts';
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

import type { ImportLineError, ImportView } from './views.ts';

export interface ImportRun {
  view: ImportView;
  /** Why it stopped early, if it did. */
  stopped: null | { code: 'import_too_large' | 'bad_request'; message: string };
}

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
    await insertImport(this.db, { id, tenantId: who.tenantId, actor: who.actor });
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
      counts.accepted += accepted;
      counts.duplicates += results.length - accepted;
      await this.db.transaction((tx) =>
        recordImportChunk(tx, id, {
          articleIds: results.map((r) => r.id),
          errors: batchErrors,
          linesRead,
          accepted,
          duplicates: results.length - accepted,
          rejected,
          bytesRead: bytes,
        }),
      );
    };
    const finish = async (status: ImportStatus, error: { code: string; message: string } | null, truncated = false) => {
      await finishImport(this.db, id, { status, error, truncated, bytesRead: stats.bytes, linesRead: counts.linesRead, rejected: counts.rejected });
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
        await finish('failed', { code: error instanceof ServiceError ? error.code : 'interrupted', message: (error as Error).message }).catch(() => undefined);
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
    const row = await importById(this.db, tenantId, id);
    if (!row) return null;
    const { progress } = row;
    // A running import that stopped moving: the process that read it died. Its part stays.
    const interrupted = row.stale ? { code: 'interrupted', message: 'no progress for 10 minutes: the importing process stopped' } : null;
    return {
      id: row.id,
      status: interrupted ? 'failed' : row.status,
      linesRead: row.linesRead,
      accepted: row.accepted,
      duplicates: row.duplicates,
      rejected: row.rejected,
      articles: progress.articles,
      scored: progress.scored,
      failed: progress.failed,
      bytesRead: row.bytesRead,
      truncated: row.truncated,
      error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : interrupted,
      errorsStored: progress.errors,
      createdAt: row.createdAt.toISOString(),
      finishedAt: row.finishedAt ? row.finishedAt.toISOString() : null,
    };
  }

  /** Stored per-line errors in line order, after `afterLine`. */
  async errors(tenantId: string, id: string, afterLine = 0, limit = 1000): Promise<ImportLineError[] | null> {
    return importLineErrors(this.db, tenantId, id, afterLine, limit);
  }

  /** Imports by status over every tenant (metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    return countImportsByStatus(this.db);
  }
}
