import type { Db } from '../db/db.ts';
import type { Decision, Grouping, QueueSort, StateFilter } from '../domain/review.ts';
import type { Label, Verdict } from '../domain/types.ts';
import type { ClusterService } from './clusters.ts';
import type { QueueCounts } from './review-views.ts';
import { ReviewAudit } from './review-audit.ts';
import { ReviewDecisions } from './review-decisions.ts';
import { ReviewQueue } from './review-queue.ts';

/**
 * Moderator review over the record: the queue (flagged and review-verdict articles, alone or
 * grouped by submission batch or account cluster), exclusive leased claims, single and bulk
 * decisions as append-only events with a derived state, account views, audit and the
 * labelled export.
 *
 * Claims and decisions lock the articles they touch (`FOR NO KEY UPDATE`, in id order), so
 * two moderators racing for one item serialise in Postgres and exactly one wins; a claim row
 * whose lease ran out is free and is taken over by a conditional upsert.
 *
 * Example:
 *   const page = await review.queue('t1', { group: 'cluster', sort: 'priority', state: 'open', limit: 20 });
 *   // { items: [{ kind: 'cluster', id: 'cl_…', items: 12, pending: 12, maxScore: 0.91, … }], nextCursor, counts }
 *   await review.claim(who, { type: 'cluster', id: 'cl_…' });           // { claimed: [...12 ids], expiresAt }
 *   await review.decide(who, { type: 'cluster', id: 'cl_…' }, 'confirm_ai_undeclared', 'farm');
 */

export interface Moderator {
  tenantId: string;
  /** The API key id: the actor of every event. */
  keyId: string;
}

export type ReviewTarget = { type: 'selection'; articleIds: string[] } | { type: 'batch'; id: string } | { type: 'cluster'; id: string };

export interface QueueQuery {
  group: Grouping;
  sort: QueueSort;
  state: StateFilter;
  verdict?: ('flag' | 'review')[];
  label?: Label[];
  minScore?: number;
  maxScore?: number;
  accountId?: string;
  batchId?: string;
  clusterId?: string;
  /** Received at or after / before (ISO). */
  from?: string;
  to?: string;
  modelVersion?: string;
  cursor?: string | null;
  limit: number;
}

export interface QueuePage<T> {
  items: T[];
  nextCursor: string | null;
  counts: QueueCounts;
}

export interface AuditQuery {
  articleId?: string;
  batchId?: string;
  clusterId?: string;
  actor?: string;
  type?: string;
  /** The last id of the previous page: the next page starts after it (before it, newest first). */
  after?: number;
  /** Newest first (the console's log); exports and the API default to id order. */
  newestFirst?: boolean;
  limit: number;
}

/** One line of the labelled export: the `../shared/datasets` record format. */
export interface LabelledRecord {
  text: string;
  label: 'human' | 'ai';
  lang: 'zh' | 'en';
  source: string;
  generator: null;
  id: string;
  group: string;
  orig_label: Decision;
  /**
   * What the moderator decided on: when, and the verdict, score and versions the article had
   * then (from the decision's event). A `human` decision on a `flag` or `review` verdict is a
   * false positive of that model version: retraining weighs it as much as a confirmation.
   */
  decision: { at: string; verdict: Verdict | null; score: number | null; modelVersion: string | null; configVersion: string | null };
}

export interface ReviewSettings {
  leaseSeconds: number;
  maxLeaseSeconds: number;
  /** Most articles one claim or decision may touch. */
  maxBulkItems: number;
  /** This platform's name or code for the labelling's propagation metadata (LABEL_PROPAGATOR). */
  propagator?: string;
}

/**
 * Moderator review, split along its seams: reads (`review-queue.ts`), claims and decisions
 * (`review-decisions.ts`), audit and export (`review-audit.ts`); their SQL in `store/review.ts`.
 */
export class ReviewService {
  private readonly reads: ReviewQueue;
  private readonly decisions: ReviewDecisions;
  private readonly log: ReviewAudit;

  constructor(
    db: Db,
    clusters: ClusterService,
    readonly settings: ReviewSettings,
  ) {
    this.reads = new ReviewQueue(db, clusters, settings);
    this.decisions = new ReviewDecisions(db, this.reads, settings);
    this.log = new ReviewAudit(db, this.reads);
  }

  resolveCluster(tenantId: string, id: string) {
    return this.reads.resolveCluster(tenantId, id);
  }
  assertBatch(tenantId: string, id: string) {
    return this.reads.assertBatch(tenantId, id);
  }
  assertArticle(tenantId: string, id: string) {
    return this.reads.assertArticle(tenantId, id);
  }
  queue(tenantId: string, q: QueueQuery) {
    return this.reads.queue(tenantId, q);
  }
  articles(tenantId: string, ids: readonly string[]) {
    return this.reads.articles(tenantId, ids);
  }
  article(tenantId: string, id: string) {
    return this.reads.article(tenantId, id);
  }
  group(tenantId: string, kind: 'batch' | 'cluster', id: string) {
    return this.reads.group(tenantId, kind, id);
  }
  account(tenantId: string, accountId: string) {
    return this.reads.account(tenantId, accountId);
  }
  claim(who: Moderator, target: ReviewTarget, leaseSeconds = this.settings.leaseSeconds) {
    return this.decisions.claim(who, target, leaseSeconds);
  }
  release(who: Moderator, target: ReviewTarget) {
    return this.decisions.release(who, target);
  }
  listClaims(tenantId: string, moderator?: string) {
    return this.decisions.listClaims(tenantId, moderator);
  }
  decide(who: Moderator, target: ReviewTarget, decision: Decision, comment: string | null = null) {
    return this.decisions.decide(who, target, decision, comment);
  }
  audit(tenantId: string, q: AuditQuery) {
    return this.log.audit(tenantId, q);
  }
  labelled(tenantId: string, options: { after?: number; limit: number; since?: string; until?: string }) {
    return this.log.labelled(tenantId, options);
  }
}
