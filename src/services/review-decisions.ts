import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { type Decision, stateAfter } from '../domain/review.ts';
import {
  claimConflicts,
  insertBulkDecided,
  insertDecisionEvents,
  iso,
  liveClaims,
  lockArticles,
  lockForDecision,
  Params,
  queueIds,
  releaseClaims,
  upsertClaims,
  upsertReviewState,
} from '../store/review.ts';
import type { ClaimResult, ClaimRow, DecisionResult } from './review-views.ts';
import type { Moderator, ReviewSettings, ReviewTarget } from './review.ts';
import type { ReviewQueue } from './review-queue.ts';

/**
 * Claims and decisions: exclusive leased claims, single and bulk decisions as append-only
 * events with a derived state.
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
export class ReviewDecisions {
  constructor(
    private readonly db: Db,
    private readonly queue: ReviewQueue,
    readonly settings: ReviewSettings,
  ) {}

  // ---------------------------------------------------------------- claims and decisions

  /** Article ids a target names; for groups, their open queue items. 404 for unknown targets. */
  private async targetIds(tenantId: string, target: ReviewTarget, openOnly: boolean): Promise<{ ids: string[]; scopeId: string | null }> {
    if (target.type === 'selection') {
      const ids = [...new Set(target.articleIds)];
      if (ids.length > this.settings.maxBulkItems) {
        throw new ServiceError('payload_too_large', `at most ${this.settings.maxBulkItems} articles per request`, { limit: this.settings.maxBulkItems });
      }
      return { ids, scopeId: null };
    }
    const params = new Params();
    const scope = target.type === 'batch' ? { batchId: target.id } : { clusterId: target.id };
    const base = await this.queue.filteredBase(tenantId, { group: 'article', sort: 'priority', state: 'all', limit: 1, ...scope }, params);
    const ids = await queueIds(this.db, base, params, openOnly);
    if (ids.length > this.settings.maxBulkItems) {
      throw new ServiceError('payload_too_large', `the ${target.type} holds more than ${this.settings.maxBulkItems} open items; decide a selection`, {
        limit: this.settings.maxBulkItems,
      });
    }
    const scopeId = target.type === 'cluster' ? await this.queue.resolveCluster(tenantId, target.id) : target.id;
    return { ids, scopeId };
  }

  /**
   * Claims every item of the target for `leaseSeconds`, all or nothing: when another
   * moderator holds a live claim on any of them, nothing is claimed and the answer is 409
   * with the holders. Claiming again what one holds renews the lease.
   */
  async claim(who: Moderator, target: ReviewTarget, leaseSeconds = this.settings.leaseSeconds): Promise<ClaimResult> {
    const lease = Math.min(Math.max(1, Math.floor(leaseSeconds)), this.settings.maxLeaseSeconds);
    const { ids, scopeId } = await this.targetIds(who.tenantId, target, true);
    const scopeType = target.type === 'selection' ? (ids.length === 1 ? 'article' : 'selection') : target.type;
    return this.db.transaction(async (tx) => {
      const locked = await lockArticles(tx, who.tenantId, ids);
      if (locked.length !== ids.length) {
        const found = new Set(locked);
        throw new ServiceError('not_found', 'no such article', { missing: ids.filter((id) => !found.has(id)).slice(0, 50) });
      }
      const claimed = await upsertClaims(tx, {
        tenantId: who.tenantId,
        moderator: who.keyId,
        scopeType,
        scopeId: scopeId ?? (ids.length === 1 ? (ids[0] ?? null) : null),
        leaseSeconds: lease,
        ids,
      });
      if (claimed.length !== ids.length) {
        const conflicts = await claimConflicts(tx, who.tenantId, ids, who.keyId);
        throw new ServiceError('conflict', 'another moderator holds some of these items', {
          conflicts: conflicts.map((c) => ({ ...c, expiresAt: iso(c.expiresAt) })),
        });
      }
      return {
        moderator: who.keyId,
        claimed: claimed.map((c) => c.id).sort(),
        expiresAt: iso(claimed[0]?.expiresAt ?? null),
        leaseSeconds: lease,
      };
    });
  }

  /** Gives back the caller's claims on the target's items. */
  async release(who: Moderator, target: ReviewTarget): Promise<{ released: number }> {
    const { ids } = await this.targetIds(who.tenantId, target, false);
    return { released: await releaseClaims(this.db, who.tenantId, who.keyId, ids) };
  }

  /** Live claims of the tenant, optionally of one moderator. */
  async listClaims(tenantId: string, moderator?: string): Promise<ClaimRow[]> {
    const rows = await liveClaims(this.db, tenantId, moderator ?? null);
    return rows.map((r) => ({ ...r, claimedAt: iso(r.claimedAt), expiresAt: iso(r.expiresAt) }));
  }

  /**
   * Decides every item of the target in one transaction: all or nothing. Unknown ids answer
   * 404, unscored ones and items another moderator holds 409; an item already carrying this
   * decision on its current revision is left alone (idempotent), every other one gets a
   * `review.decided` event (actor, comment, model and config version at the time) and its
   * derived state. The caller's claims on the items are released.
   */
  async decide(who: Moderator, target: ReviewTarget, decision: Decision, comment: string | null = null): Promise<DecisionResult> {
    const { ids, scopeId } = await this.targetIds(who.tenantId, target, false);
    const outcome = await this.db.transaction(async (tx) => {
      const rows = await lockForDecision(tx, who.tenantId, ids);
      if (rows.length !== ids.length) {
        const found = new Set(rows.map((r) => r.id));
        throw new ServiceError('not_found', 'no such article', { missing: ids.filter((id) => !found.has(id)).slice(0, 50) });
      }
      const unscored = rows.filter((r) => r.status !== 'scored');
      if (unscored.length > 0) {
        throw new ServiceError('conflict', 'some articles are not scored yet', { unscored: unscored.map((r) => r.id).slice(0, 50) });
      }
      const held = rows.filter((r) => r.holder !== null && r.holder !== who.keyId);
      if (held.length > 0) {
        throw new ServiceError('conflict', 'another moderator holds some of these items', {
          conflicts: held.slice(0, 100).map((r) => ({ articleId: r.id, moderator: r.holder })),
        });
      }
      const changed = rows.filter((r) => !(r.reviewedRevision === r.revision && r.current === decision));
      const targetRef = { type: target.type, id: scopeId };
      let eventIds = new Map<string, number>();
      if (changed.length > 0) {
        eventIds = await insertDecisionEvents(
          tx,
          who.tenantId,
          who.keyId,
          changed.map((r) => ({
            id: r.id,
            model_version: r.modelVersion,
            config_version: r.configVersion,
            payload: {
              decision,
              comment,
              previous: r.reviewedRevision === r.revision ? r.current : null,
              revision: r.revision,
              score: Number(r.score),
              verdict: r.verdict,
              label: r.label,
              target: targetRef,
              bulk: ids.length,
            },
          })),
        );
        await upsertReviewState(
          tx,
          { tenantId: who.tenantId, moderator: who.keyId, state: stateAfter(decision), decision, comment },
          changed.map((r) => ({ id: r.id, revision: r.revision, event_id: eventIds.get(r.id) })),
        );
        if (target.type !== 'selection') {
          await insertBulkDecided(tx, {
            tenantId: who.tenantId,
            subjectType: target.type,
            subjectId: scopeId,
            actor: who.keyId,
            payload: { decision, comment, items: ids.length, decided: changed.length },
          });
        }
      }
      await releaseClaims(tx, who.tenantId, who.keyId, ids);
      const result: DecisionResult = {
        decision,
        target: targetRef,
        requested: ids.length,
        decided: changed.length,
        unchanged: ids.length - changed.length,
        items: rows.map((r) => ({ articleId: r.id, state: stateAfter(decision), decision, eventId: eventIds.get(r.id) ?? null })),
      };
      return result;
    });
    // The platform's webhook hears of it through the `review.decided` events just committed
    // (the outbox: `outbox/dispatcher.ts`), not from here.
    return outcome;
  }
}
