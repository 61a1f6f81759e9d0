import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { type Decision, stateAfter } from '../domain/review.ts';
import type { Label, Verdict } from '../domain/types.ts';
import type { ClaimResult, ClaimRow, DecisionResult } from './review-views.ts';
import { iso, Params, stateCondition } from './review-queries.ts';
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
    const rows = await this.db.query<{ id: string }>(`WITH q AS (${base}) SELECT id FROM q WHERE ${openOnly ? stateCondition('open') : 'true'} ORDER BY id`, params.values);
    if (rows.length > this.settings.maxBulkItems) {
      throw new ServiceError('payload_too_large', `the ${target.type} holds more than ${this.settings.maxBulkItems} open items; decide a selection`, {
        limit: this.settings.maxBulkItems,
      });
    }
    const scopeId = target.type === 'cluster' ? await this.queue.resolveCluster(tenantId, target.id) : target.id;
    return { ids: rows.map((r) => r.id), scopeId };
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
      const locked = await tx.query<{ id: string }>('SELECT id FROM articles WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR NO KEY UPDATE', [who.tenantId, ids]);
      if (locked.length !== ids.length) {
        const found = new Set(locked.map((r) => r.id));
        throw new ServiceError('not_found', 'no such article', { missing: ids.filter((id) => !found.has(id)).slice(0, 50) });
      }
      const claimed = await tx.query<{ id: string; expiresAt: Date }>(
        `INSERT INTO review_claims AS rc (tenant_id, article_id, moderator, scope_type, scope_id, expires_at)
         SELECT $1, x.id, $2, $3, $4, now() + make_interval(secs => $5) FROM unnest($6::text[]) AS x(id) ORDER BY x.id
         ON CONFLICT (tenant_id, article_id) DO UPDATE
           SET moderator = EXCLUDED.moderator, scope_type = EXCLUDED.scope_type, scope_id = EXCLUDED.scope_id,
               claimed_at = CASE WHEN rc.moderator = EXCLUDED.moderator AND rc.expires_at > now() THEN rc.claimed_at ELSE now() END,
               expires_at = EXCLUDED.expires_at
           WHERE rc.expires_at <= now() OR rc.moderator = EXCLUDED.moderator
         RETURNING article_id AS id, expires_at AS "expiresAt"`,
        [who.tenantId, who.keyId, scopeType, scopeId ?? (ids.length === 1 ? ids[0] : null), lease, ids],
      );
      if (claimed.length !== ids.length) {
        const conflicts = await tx.query<{ articleId: string; moderator: string; expiresAt: Date }>(
          `SELECT article_id AS "articleId", moderator, expires_at AS "expiresAt" FROM review_claims
           WHERE tenant_id = $1 AND article_id = ANY($2::text[]) AND moderator <> $3 AND expires_at > now() ORDER BY article_id LIMIT 100`,
          [who.tenantId, ids, who.keyId],
        );
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
    const rows = await this.db.query('DELETE FROM review_claims WHERE tenant_id = $1 AND moderator = $2 AND article_id = ANY($3::text[]) RETURNING article_id', [
      who.tenantId,
      who.keyId,
      ids,
    ]);
    return { released: rows.length };
  }

  /** Live claims of the tenant, optionally of one moderator. */
  async listClaims(tenantId: string, moderator?: string): Promise<ClaimRow[]> {
    const rows = await this.db.query<{ articleId: string; moderator: string; scopeType: string; scopeId: string | null; claimedAt: Date; expiresAt: Date }>(
      `SELECT article_id AS "articleId", moderator, scope_type AS "scopeType", scope_id AS "scopeId", claimed_at AS "claimedAt", expires_at AS "expiresAt"
       FROM review_claims WHERE tenant_id = $1 AND expires_at > now() AND ($2::text IS NULL OR moderator = $2)
       ORDER BY expires_at, article_id LIMIT 5000`,
      [tenantId, moderator ?? null],
    );
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
      const rows = await tx.query<{
        id: string;
        revision: number;
        status: string;
        score: number;
        label: Label;
        verdict: Verdict;
        modelVersion: string;
        configVersion: string;
        reviewedRevision: number | null;
        current: Decision | null;
        holder: string | null;
      }>(
        `SELECT a.id, a.revision, a.status, a.score, a.label, a.verdict,
                a.model_version AS "modelVersion", a.config_version AS "configVersion",
                rs.revision AS "reviewedRevision", rs.decision AS current, cl.moderator AS holder
         FROM articles a
         LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
         LEFT JOIN review_claims cl ON cl.tenant_id = a.tenant_id AND cl.article_id = a.id AND cl.expires_at > now()
         WHERE a.tenant_id = $1 AND a.id = ANY($2::text[]) ORDER BY a.id FOR NO KEY UPDATE OF a`,
        [who.tenantId, ids],
      );
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
      const eventIds = new Map<string, number>();
      if (changed.length > 0) {
        const inserted = await tx.query<{ id: number; subjectId: string }>(
          `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload, model_version, config_version)
           SELECT $1, 'article', x.id, 'review.decided', $2, x.payload, x.model_version, x.config_version
           FROM jsonb_to_recordset($3::jsonb) AS x(id text, payload jsonb, model_version text, config_version text)
           RETURNING id, subject_id AS "subjectId"`,
          [
            who.tenantId,
            who.keyId,
            JSON.stringify(
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
            ),
          ],
        );
        for (const e of inserted) eventIds.set(e.subjectId, Number(e.id));
        await tx.query(
          `INSERT INTO review_state AS rs (tenant_id, article_id, revision, state, decision, comment, decided_by, decided_at, decisions, last_event_id)
           SELECT $1, x.id, x.revision, $3, $4, $5, $2, now(), 1, x.event_id
           FROM jsonb_to_recordset($6::jsonb) AS x(id text, revision int, event_id bigint)
           ON CONFLICT (tenant_id, article_id) DO UPDATE
             SET revision = EXCLUDED.revision, state = EXCLUDED.state, decision = EXCLUDED.decision, comment = EXCLUDED.comment,
                 decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at, decisions = rs.decisions + 1,
                 last_event_id = EXCLUDED.last_event_id`,
          [
            who.tenantId,
            who.keyId,
            stateAfter(decision),
            decision,
            comment,
            JSON.stringify(changed.map((r) => ({ id: r.id, revision: r.revision, event_id: eventIds.get(r.id) }))),
          ],
        );
        if (target.type !== 'selection') {
          await tx.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, $2, $3, 'review.bulk_decided', $4, $5::jsonb)`, [
            who.tenantId,
            target.type,
            scopeId,
            who.keyId,
            JSON.stringify({ decision, comment, items: ids.length, decided: changed.length }),
          ]);
        }
      }
      await tx.query('DELETE FROM review_claims WHERE tenant_id = $1 AND moderator = $2 AND article_id = ANY($3::text[])', [who.tenantId, who.keyId, ids]);
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
