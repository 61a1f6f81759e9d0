import { createHash } from 'node:crypto';
import type { RedisClient } from '../infra/redis.ts';
import type { Logger } from 'pino';
import { type Db, isUnavailable } from '../db/db.ts';
import type { ParsedArticleInput } from '../domain/article-input.ts';
import { ServiceError } from '../domain/errors.ts';
import { implicitLabelOf } from '../domain/labelling.ts';
import { isId, newId } from '../domain/ids.ts';
import { Coalescer } from '../infra/coalescer.ts';
import { articleByExternalId, articleById, articlesByExternalId, batchRow, batchStatusCounts, insertBatch, type StoredArticle, upsertArticles } from '../store/articles.ts';
import { currentScore, type StoredScore } from '../store/scores.ts';

export type { StoredArticle } from '../store/articles.ts';
export type { StoredScore } from '../store/scores.ts';
import { canonicalText, detectLang } from '../domain/normalize.ts';
import type { ArticleStatus, Verdict } from '../domain/types.ts';
import type { JobQueue, JOBS, ScoreJob } from '../jobs/catalog.ts';

/** Which queue an article's scoring job goes to: `live` (score) or `import` (rescore, below live traffic). */
export type ScoringLane = 'live' | 'import';

/** An article ready to store: canonical text, language and content hash computed. */
export interface PreparedArticle {
  externalId: string;
  accountId: string;
  title: string | null;
  url: string | null;
  text: string;
  lang: 'zh' | 'en';
  contentHash: string;
  publishedAt: string | null;
  declaredAi: boolean;
  labels: string[];
  metadata: Record<string, unknown>;
}

export interface SubmitResult {
  id: string;
  externalId: string;
  revision: number;
  status: ArticleStatus;
  /** False when the same content was already stored: nothing was queued. */
  changed: boolean;
}

/** An item of a batch or import the database refused although it passed validation; the others are stored. */
export interface StoreFailure {
  failed: true;
  code: 'not_stored';
  message: string;
}

export function isStoreFailure(outcome: SubmitResult | StoreFailure): outcome is StoreFailure {
  return 'failed' in outcome;
}

export interface ArticleLimits {
  maxTextChars: number;
}

/**
 * Canonicalises and checks one parsed input. The hash covers what is scored (title, text,
 * declared label, implicit AI label), so other metadata-only changes are not new revisions.
 */
export function prepareArticle(input: ParsedArticleInput, limits: ArticleLimits): PreparedArticle {
  if (input.text.length > limits.maxTextChars) {
    throw new ServiceError('text_too_long', `text is longer than ${limits.maxTextChars} characters`, {
      path: 'text',
      limit: limits.maxTextChars,
    });
  }
  const text = canonicalText(input.text);
  if (text.length === 0) {
    throw new ServiceError('validation_failed', 'text is empty after removing invisible characters and whitespace', [{ path: 'text', message: 'empty after normalisation' }]);
  }
  const title = input.title === undefined ? null : canonicalText(input.title) || null;
  // The implicit AI label declares like `declaredAi` does, so it is part of what is scored;
  // without one the hash is what it always was.
  const implicit = implicitLabelOf(input.metadata);
  const contentHash = createHash('sha256')
    .update(`${title ?? ''}\u0000${text}\u0000${input.declaredAi ? 1 : 0}${implicit ? `\u0000AIGC:${implicit.Label}` : ''}`)
    .digest('hex');
  return {
    externalId: input.externalId,
    accountId: input.accountId,
    title,
    url: input.url ?? null,
    text,
    lang: detectLang(text),
    contentHash,
    publishedAt: input.publishedAt ? new Date(input.publishedAt).toISOString() : null,
    declaredAi: input.declaredAi,
    labels: input.labels,
    metadata: input.metadata,
  };
}

export interface Submitter {
  tenantId: string;
  /** Who submitted, for the event log (an API key id, `import:<id>`...). */
  actor: string;
}

export interface BatchSummary {
  id: string;
  total: number;
  accepted: number;
  rejected: number;
  createdAt: Date;
  byStatus: Record<ArticleStatus, number>;
  byVerdict: Record<Verdict, number>;
  progress: number;
}

/**
 * Accepting articles: the row is committed before the job is queued, and a reconciler
 * re-queues any accepted row whose job never reached Redis, so a 202 is a promise.
 */
export class ArticleService {
  // A flush is released once its statement commits, and its addBulk overlaps the next
  // flush's statement; each request still answers only after its job is queued.
  private readonly singles = new Coalescer<{ who: Submitter; article: PreparedArticle }, { result: SubmitResult; queued: Promise<void> }>(
    async (items) => {
      const results = await this.store(items);
      const queued = this.enqueueChanged(results.map((result, i) => ({ tenantId: items[i]!.who.tenantId, result })));
      return results.map((result) => ({ result, queued }));
    },
    // The same article twice in one statement would make the upsert touch a row twice. One
    // refused row fails only its own request, not the concurrent ones that shared its statement.
    {
      conflictKey: ({ who, article }) => `${who.tenantId}\u0000${article.externalId}`,
      maxInFlight: 1,
      retryAlone: (error) => !isUnavailable(error),
    },
  );

  constructor(
    private readonly db: Db,
    private readonly redis: RedisClient,
    /** Live submissions go to `score`; imported ones to `rescore`, below live traffic. */
    private readonly jobs: { live: JobQueue<typeof JOBS.score>; imported: JobQueue<typeof JOBS.importScore> },
    private readonly log: Logger,
  ) {}

  /** Fails fast instead of writing rows that then wait for a queue that is not there. */
  assertQueueAvailable(): void {
    if (this.redis.status !== 'ready') {
      throw new ServiceError('redis_unavailable', 'the job queue (Redis) is unavailable; retry later');
    }
  }

  /**
   * Stores prepared articles (unchanged ones are no-ops) and queues the changed ones.
   * With `batch`, the batch and its items are recorded in the same statement. When the
   * database refuses that statement for a reason other than an outage, each article is stored
   * on its own: one refused row becomes a `StoreFailure` at its position and the others are
   * kept (the batch is then recorded with the ones stored).
   */
  async submit(
    who: Submitter,
    articles: readonly PreparedArticle[],
    batch?: { id: string; total: number; rejected: number; kind?: string; indexes: readonly number[] },
    lane: ScoringLane = 'live',
  ): Promise<(SubmitResult | StoreFailure)[]> {
    this.assertQueueAvailable();
    if (articles.length === 0 && !batch) return [];
    let outcomes: (SubmitResult | StoreFailure)[];
    try {
      // The batch's tenant from the caller: a batch whose every item was refused has no article to take it from.
      outcomes = await this.store(
        articles.map((article) => ({ who, article })),
        batch && { ...batch, tenantId: who.tenantId },
      );
    } catch (error) {
      if (isUnavailable(error) || articles.length === 0) throw error;
      outcomes = await this.storeEach(who, articles, batch);
    }
    const stored = outcomes.filter((o): o is SubmitResult => !isStoreFailure(o));
    await this.enqueueChanged(
      stored.map((result) => ({ tenantId: who.tenantId, result })),
      lane,
    );
    return outcomes;
  }

  private async storeEach(
    who: Submitter,
    articles: readonly PreparedArticle[],
    batch?: { id: string; total: number; rejected: number; kind?: string; indexes: readonly number[] },
  ): Promise<(SubmitResult | StoreFailure)[]> {
    const outcomes: (SubmitResult | StoreFailure)[] = [];
    for (const article of articles) {
      try {
        const [result] = await this.store([{ who, article }]);
        outcomes.push(result!);
      } catch (error) {
        if (isUnavailable(error)) throw error;
        const sqlState = (error as { code?: unknown }).code;
        this.log.warn({ err: error, externalId: article.externalId }, 'the database refused one article; the others are stored');
        outcomes.push({
          failed: true,
          code: 'not_stored',
          message: `the database refused this article${typeof sqlState === 'string' ? ` (SQLSTATE ${sqlState})` : ''}; the other items were stored`,
        });
      }
    }
    if (batch) {
      const items = outcomes.flatMap((o, i) => (isStoreFailure(o) ? [] : [{ idx: batch.indexes[i] ?? i, article_id: o.id }]));
      await insertBatch(this.db, {
        id: batch.id,
        tenantId: who.tenantId,
        kind: batch.kind ?? 'batch',
        total: batch.total,
        accepted: items.length,
        rejected: batch.rejected + outcomes.length - items.length,
        items,
      });
    }
    return outcomes;
  }

  /**
   * One article, coalesced with the single submissions of concurrent requests: under load
   * many requests share one statement, one commit and one addBulk.
   */
  async submitOne(who: Submitter, article: PreparedArticle): Promise<SubmitResult> {
    this.assertQueueAvailable();
    const { result, queued } = await this.singles.run({ who, article });
    await queued;
    return result;
  }

  private async store(
    items: readonly { who: Submitter; article: PreparedArticle }[],
    batch?: { id: string; tenantId: string; total: number; rejected: number; kind?: string; indexes: readonly number[] },
  ): Promise<SubmitResult[]> {
    const records = items.map(({ who, article: a }, idx) => ({
      idx,
      bidx: batch?.indexes[idx] ?? idx,
      tenant_id: who.tenantId,
      actor: who.actor,
      id: newId('art'),
      external_id: a.externalId,
      account_id: a.accountId,
      title: a.title,
      url: a.url,
      text: a.text,
      lang: a.lang,
      content_hash: a.contentHash,
      published_at: a.publishedAt,
      declared_ai: a.declaredAi,
      labels: a.labels,
      metadata: a.metadata,
    }));
    const rows = await upsertArticles(this.db, records, batch);
    // A row committed by a concurrent statement after this one's snapshot is neither
    // upserted (same content) nor visible to it: read those back now.
    const unseen = rows.filter((r) => r.id === null).map((r) => items[r.idx]!);
    if (unseen.length > 0) {
      const found = await articlesByExternalId(
        this.db,
        unseen.map((u) => ({ tenantId: u.who.tenantId, externalId: u.article.externalId })),
      );
      const byKey = new Map(found.map((f) => [`${f.tenantId}\u0000${f.externalId}`, f]));
      for (const r of rows) {
        if (r.id !== null) continue;
        const item = items[r.idx]!;
        const f = byKey.get(`${item.who.tenantId}\u0000${item.article.externalId}`);
        if (!f) throw new Error(`article ${item.article.externalId} was neither stored nor found`);
        Object.assign(r, { id: f.id, revision: f.revision, status: f.status, changed: false });
      }
    }
    return rows.map((r, i) => ({
      id: r.id,
      externalId: items[i]!.article.externalId,
      revision: r.revision,
      status: r.status,
      changed: r.changed,
    }));
  }

  private async enqueueChanged(items: readonly { tenantId: string; result: SubmitResult }[], lane: ScoringLane = 'live'): Promise<void> {
    const byTenant = new Map<string, SubmitResult[]>();
    for (const { tenantId, result } of items) {
      if (result.changed) byTenant.set(tenantId, [...(byTenant.get(tenantId) ?? []), result]);
    }
    for (const [tenantId, results] of byTenant) await this.enqueue(tenantId, results, 'live', lane);
  }

  /**
   * Queues scoring jobs with deterministic ids. A failure here is logged, not thrown: the
   * rows are committed and the reconciler queues them once Redis answers again.
   */
  async enqueue(tenantId: string, items: readonly { id: string; revision: number }[], trigger: ScoreJob['trigger'], lane: ScoringLane = 'live'): Promise<void> {
    const jobs = lane === 'live' ? this.jobs.live : this.jobs.imported;
    for (let i = 0; i < items.length; i += 1000) {
      const chunk = items.slice(i, i + 1000).map((item) => ({ data: { tenantId, articleId: item.id, revision: item.revision, trigger } }));
      try {
        await jobs.addBulk(chunk);
      } catch (error) {
        this.log.warn({ err: error, count: chunk.length }, 'enqueue failed; the reconciler will queue these articles');
        return;
      }
    }
  }

  async get(tenantId: string, id: string): Promise<StoredArticle | null> {
    if (!isId('art', id)) return null;
    return articleById(this.db, tenantId, id);
  }

  async getByExternalId(tenantId: string, externalId: string): Promise<StoredArticle | null> {
    // Control characters are refused at submission (and NUL cannot even reach Postgres).
    if (/[\u0000-\u001F\u007F]/.test(externalId)) return null;
    return articleByExternalId(this.db, tenantId, externalId);
  }

  /** The stored score of the article's current content under its current model/config (its latest re-evaluation). */
  async currentScore(article: StoredArticle): Promise<StoredScore | null> {
    return currentScore(this.db, article);
  }

  async batch(tenantId: string, id: string): Promise<BatchSummary | null> {
    if (!isId('bat', id)) return null;
    const found = await batchRow(this.db, tenantId, id);
    if (!found) return null;
    const counts = await batchStatusCounts(this.db, id);
    const byStatus: Record<ArticleStatus, number> = { queued: 0, scoring: 0, scored: 0, failed: 0 };
    const byVerdict: Record<Verdict, number> = { pass: 0, review: 0, flag: 0 };
    for (const c of counts) {
      byStatus[c.status] += c.n;
      if (c.verdict) byVerdict[c.verdict] += c.n;
    }
    const done = byStatus.scored + byStatus.failed;
    return { ...found, byStatus, byVerdict, progress: found.accepted === 0 ? 1 : done / found.accepted };
  }
}
