import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { type Db, isUnavailable } from '../db/db.ts';
import { commentInputSchema, type ParsedCommentInput } from '../domain/comment-input.ts';
import { ServiceError } from '../domain/errors.ts';
import { canonicalText, detectLang } from '../domain/normalize.ts';
import { Coalescer } from '../infra/coalescer.ts';
import { NdjsonFormatError, NdjsonLimitError, type NdjsonStats, readNdjson } from '../infra/ndjson.ts';
import type { CommentJob, JOBS, JobQueue } from '../jobs/catalog.ts';
import type { RedisClient } from '../infra/redis.ts';
import {
  commentByExternalId,
  commentById,
  type CommentUpsert,
  currentCommentScore,
  type PreparedComment,
  type StoredComment,
  type StoredCommentScore,
  templateMembersToReevaluate,
  unfinishedComments,
  upsertComments,
} from '../store/comments.ts';

export type { PreparedComment, StoredComment, StoredCommentScore };

export interface CommentLimits {
  maxTextChars: number;
  /** NDJSON imports: decompressed bytes, longest line, lines per statement, line errors listed. */
  importMaxBytes: number;
  importMaxLineBytes: number;
  importChunkLines: number;
  importMaxErrors: number;
}

/** What an NDJSON import of comments did. */
export interface CommentImportResult {
  linesRead: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  errors: { line: number; code: string; message: string }[];
  /** Set when the import stopped early (what was read before stays stored). */
  stopped: { code: 'import_too_large' | 'bad_request'; message: string } | null;
}

/** Canonicalises and checks one parsed input; the hash covers what is scored. */
export function prepareComment(input: ParsedCommentInput, limits: Pick<CommentLimits, 'maxTextChars'>): PreparedComment {
  if (input.text.length > limits.maxTextChars) {
    throw new ServiceError('text_too_long', `text is longer than ${limits.maxTextChars} characters`, { path: 'text', limit: limits.maxTextChars });
  }
  const text = canonicalText(input.text);
  if (text.length === 0) {
    throw new ServiceError('validation_failed', 'text is empty after removing invisible characters and whitespace', [{ path: 'text', message: 'empty after normalisation' }]);
  }
  const contentHash = createHash('sha256')
    .update([text, input.declaredAi ? '1' : '0', input.articleExternalId, input.parentExternalId ?? '', input.articleAccountId ?? '', input.accountId].join('\u0000'))
    .digest('hex');
  return {
    externalId: input.externalId,
    accountId: input.accountId,
    articleExternalId: input.articleExternalId,
    parentExternalId: input.parentExternalId ?? null,
    articleAccountId: input.articleAccountId ?? null,
    text,
    lang: detectLang(text),
    contentHash,
    postedAt: input.postedAt ? new Date(input.postedAt).toISOString() : null,
    declaredAi: input.declaredAi,
    metadata: input.metadata,
  };
}

export interface CommentSubmitter {
  tenantId: string;
  actor: string;
}

export interface CommentAccepted {
  id: string;
  externalId: string;
  revision: number;
  status: StoredComment['status'];
  changed: boolean;
}

/** One item of a batch or an import: accepted, or refused with a stable code. */
export type CommentItemOutcome = ({ ok: true } & CommentAccepted) | { ok: false; code: string; message: string; details?: unknown };

/**
 * Accepting comments, with the promises of articles: the row is committed before its job is
 * queued, a job that never reached Redis is queued again by the reconciler (`requeueUnfinished`),
 * resubmitting unchanged content is a no-op, and everything is scoped by tenant.
 */
export class CommentService {
  private readonly singles = new Coalescer<{ who: CommentSubmitter; comment: PreparedComment }, { result: CommentAccepted; queued: Promise<void> }>(
    async (items) => {
      const rows = await upsertComments(
        this.db,
        items.map(({ who, comment }) => ({ tenantId: who.tenantId, actor: who.actor, comment })),
      );
      const results = rows.map((r, i) => this.accepted(r, items[i]!.comment));
      const queued = this.enqueue(
        results.map((r, i) => ({ tenantId: items[i]!.who.tenantId, result: r })),
        'live',
      );
      return results.map((result) => ({ result, queued }));
    },
    { conflictKey: ({ who, comment }) => `${who.tenantId}\u0000${comment.externalId}`, maxInFlight: 1, retryAlone: (error) => !isUnavailable(error) },
  );

  constructor(
    private readonly db: Db,
    private readonly redis: RedisClient,
    private readonly jobs: { comment: JobQueue<typeof JOBS.comment>; reevaluate: JobQueue<typeof JOBS.commentReevaluate> },
    private readonly limits: CommentLimits,
    private readonly log: Logger,
  ) {}

  private accepted(r: CommentUpsert, c: PreparedComment): CommentAccepted {
    return { id: r.id, externalId: c.externalId, revision: r.revision, status: r.status, changed: r.changed };
  }

  private assertQueueAvailable(): void {
    if (this.redis.status !== 'ready') throw new ServiceError('redis_unavailable', 'the job queue (Redis) is unavailable; retry later');
  }

  /** One comment, coalesced with concurrent single submissions into one statement and one addBulk. */
  async submitOne(who: CommentSubmitter, comment: PreparedComment): Promise<CommentAccepted> {
    this.assertQueueAvailable();
    const { result, queued } = await this.singles.run({ who, comment });
    await queued;
    return result;
  }

  /**
   * Validates and stores many raw items (a batch body or import lines): each bad item gets its
   * own code, the others are stored in one statement; a repeated external id is refused at its
   * later position. When the database refuses the statement for another reason than an
   * outage, each comment is stored on its own so one refused row fails only itself.
   */
  async submitMany(who: CommentSubmitter, raw: readonly unknown[], trigger: CommentJob['trigger']): Promise<CommentItemOutcome[]> {
    this.assertQueueAvailable();
    const outcomes: CommentItemOutcome[] = new Array(raw.length);
    const prepared: { index: number; comment: PreparedComment }[] = [];
    const seen = new Set<string>();
    raw.forEach((item, index) => {
      const parsed = commentInputSchema.safeParse(item);
      if (!parsed.success) {
        outcomes[index] = {
          ok: false,
          code: 'validation_failed',
          message: 'comment is invalid',
          details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        };
        return;
      }
      if (seen.has(parsed.data.externalId)) {
        outcomes[index] = { ok: false, code: 'duplicate_in_batch', message: 'this externalId appears earlier in the same batch' };
        return;
      }
      try {
        prepared.push({ index, comment: prepareComment(parsed.data, this.limits) });
        seen.add(parsed.data.externalId);
      } catch (error) {
        if (!(error instanceof ServiceError)) throw error;
        outcomes[index] = { ok: false, code: error.code, message: error.message, details: error.details };
      }
    });
    if (prepared.length === 0) return outcomes;
    const store = (items: typeof prepared) =>
      upsertComments(
        this.db,
        items.map((p) => ({ tenantId: who.tenantId, actor: who.actor, comment: p.comment })),
      );
    let stored: { index: number; result: CommentAccepted }[] = [];
    try {
      const rows = await store(prepared);
      stored = rows.map((r, i) => ({ index: prepared[i]!.index, result: this.accepted(r, prepared[i]!.comment) }));
    } catch (error) {
      if (isUnavailable(error)) throw error;
      for (const p of prepared) {
        try {
          const [row] = await store([p]);
          stored.push({ index: p.index, result: this.accepted(row!, p.comment) });
        } catch (one) {
          if (isUnavailable(one)) throw one;
          this.log.warn({ err: one, externalId: p.comment.externalId }, 'the database refused one comment; the others are stored');
          outcomes[p.index] = { ok: false, code: 'not_stored', message: 'the database refused this comment; the other items were stored' };
        }
      }
    }
    for (const s of stored) outcomes[s.index] = { ok: true, ...s.result };
    await this.enqueue(
      stored.map((s) => ({ tenantId: who.tenantId, result: s.result })),
      trigger,
    );
    return outcomes;
  }

  /**
   * An NDJSON body, one comment per line (optionally gzip), stored in chunks with constant
   * memory and scored on the comment queue. Bad lines are counted and listed with their line
   * number; re-importing the same file changes nothing (`duplicates`).
   */
  async importNdjson(who: CommentSubmitter, body: AsyncIterable<Uint8Array>, gzip: boolean | 'auto'): Promise<CommentImportResult> {
    const result: CommentImportResult = { linesRead: 0, accepted: 0, duplicates: 0, rejected: 0, errors: [], stopped: null };
    const refuse = (line: number, code: string, message: string) => {
      result.rejected++;
      if (result.errors.length < this.limits.importMaxErrors) result.errors.push({ line, code, message });
    };
    let chunk: { line: number; value: unknown }[] = [];
    const flush = async () => {
      const outcomes = await this.submitMany(
        who,
        chunk.map((c) => c.value),
        'import',
      );
      outcomes.forEach((o, i) => {
        if (o.ok) {
          if (o.changed) result.accepted++;
          else result.duplicates++;
        } else refuse(chunk[i]!.line, o.code, o.message);
      });
      chunk = [];
    };
    const stats: NdjsonStats = { bytes: 0, gzip: false };
    try {
      for await (const item of readNdjson(body, { maxBytes: this.limits.importMaxBytes, maxLineBytes: this.limits.importMaxLineBytes, gzip }, stats)) {
        result.linesRead = item.line;
        if ('error' in item) {
          refuse(item.line, item.error, item.message);
          continue;
        }
        if (item.text.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(item.text);
        } catch {
          refuse(item.line, 'malformed_json', 'the line is not JSON');
          continue;
        }
        chunk.push({ line: item.line, value });
        if (chunk.length >= this.limits.importChunkLines) await flush();
      }
    } catch (error) {
      if (error instanceof NdjsonLimitError) result.stopped = { code: 'import_too_large', message: error.message };
      else if (error instanceof NdjsonFormatError) result.stopped = { code: 'bad_request', message: error.message };
      else throw error;
    }
    if (chunk.length > 0) await flush();
    return result;
  }

  private async enqueue(items: readonly { tenantId: string; result: CommentAccepted }[], trigger: CommentJob['trigger']): Promise<void> {
    const jobs = items.filter((i) => i.result.changed).map(({ tenantId, result }) => ({ data: { tenantId, commentId: result.id, revision: result.revision, trigger } }));
    if (jobs.length === 0) return;
    try {
      await this.jobs.comment.addBulk(jobs);
    } catch (error) {
      // The rows are committed: the reconciler queues them once Redis answers again.
      this.log.warn({ err: error, count: jobs.length }, 'could not queue comment jobs; the reconciler will queue them');
    }
  }

  /** Queues again the accepted comments whose job never reached Redis (job ids dedupe the others). */
  async requeueUnfinished(olderThanMs: number, limit = 1000): Promise<number> {
    const rows = await unfinishedComments(this.db, olderThanMs, limit);
    await this.jobs.comment.addBulk(rows.map((r) => ({ data: { ...r, trigger: 'reconcile' as const } })));
    return rows.length;
  }

  /**
   * After `eventId` (a comment scored into a young template), the template's earlier members
   * below `flag` are queued for re-evaluation: one job per member and event, so planning the
   * same event again adds nothing.
   */
  async queueTemplateReevaluation(eventId: number, tenantId: string, templateId: string, exceptId: string): Promise<number> {
    const members = await templateMembersToReevaluate(this.db, tenantId, templateId, exceptId, 1000);
    await this.jobs.reevaluate.addBulk(
      members.map((m) => ({ data: { tenantId, commentId: m.commentId, revision: m.revision, trigger: 'reevaluate' as const }, key: { eventId } })),
    );
    return members.length;
  }

  get(tenantId: string, id: string): Promise<StoredComment | null> {
    return commentById(this.db, tenantId, id);
  }

  getByExternalId(tenantId: string, externalId: string): Promise<StoredComment | null> {
    return commentByExternalId(this.db, tenantId, externalId);
  }

  currentScore(comment: StoredComment): Promise<StoredCommentScore | null> {
    return currentCommentScore(this.db, comment);
  }
}
