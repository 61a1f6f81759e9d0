/**
 * The outbox consumer for comments' side effects:
 *   comment.scored          -> webhooks `comment.scored`, and `comment.flagged` for a flag
 *   comment.review_decided  -> one `comment.decided` webhook per decision request (one transaction)
 *   comment.scored into a young template -> its earlier members re-evaluated (`comment-templates`)
 * Idempotent like the article consumers: delivery rows are unique per event id, so a batch
 * handed over again after a crash sends nothing twice.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Db } from '../db/db.ts';
import type { CommentService } from '../services/comments.ts';
import type { WebhookService } from '../webhooks/service.ts';
import { scoredComments } from '../store/comments.ts';
import type { OutboxConsumer, OutboxEvent } from './dispatcher.ts';

const scoreRef = z.object({ scoreId: z.string().min(1) });
const decidedPayload = z.object({ decision: z.string(), note: z.string().nullable().default(null), revision: z.number().int(), target: z.unknown() });

export function commentWebhookConsumer(db: Db, webhooks: WebhookService, log: Logger): OutboxConsumer {
  return {
    name: 'comment-webhooks',
    types: ['comment.scored', 'comment.review_decided'],
    async handle(events: OutboxEvent[]) {
      const scored = events.filter((e) => e.type === 'comment.scored');
      const ids = scored.flatMap((e) => {
        const ref = scoreRef.safeParse(e.payload);
        return ref.success ? [ref.data.scoreId] : [];
      });
      const rows = await scoredComments(db, ids);
      const emits: Promise<unknown>[] = [];
      for (const e of scored) {
        const ref = scoreRef.safeParse(e.payload);
        const row = ref.success ? rows.get(ref.data.scoreId) : undefined;
        if (!row) {
          log.warn({ eventId: e.id }, 'outbox: comment.scored names no stored score; skipped');
          continue;
        }
        const data = {
          commentId: row.commentId,
          externalId: row.externalId,
          accountId: row.accountId,
          articleExternalId: row.articleExternalId,
          revision: row.revision,
          score: row.score,
          label: row.label,
          verdict: row.verdict,
          templateId: row.templateId,
          reasons: row.reasons.map((r) => ({ code: r.code, source: r.source, contribution: r.contribution, message: r.message })),
        };
        emits.push(webhooks.emit(row.tenantId, 'comment.scored', `cscored-${row.scoreId}`, data));
        if (row.verdict === 'flag') emits.push(webhooks.emit(row.tenantId, 'comment.flagged', `cflagged-${row.scoreId}`, data));
      }
      const decisions = new Map<number, OutboxEvent[]>();
      for (const e of events) if (e.type === 'comment.review_decided') decisions.set(e.txid, [...(decisions.get(e.txid) ?? []), e]);
      for (const group of decisions.values()) {
        const items = group.flatMap((e) => {
          const p = decidedPayload.safeParse(e.payload);
          return p.success ? [{ e, p: p.data }] : [];
        });
        const first = items[0];
        if (!first) continue;
        emits.push(
          webhooks.emit(first.e.tenantId, 'comment.decided', `cdecided-${Math.min(...items.map((i) => i.e.id))}-${items.length}`, {
            decision: first.p.decision,
            note: first.p.note,
            actor: first.e.actor,
            decidedAt: new Date(first.e.createdAt).toISOString(),
            target: first.p.target,
            items: items.map(({ e, p }) => ({ commentId: e.subjectId, revision: p.revision, eventId: e.id })),
          }),
        );
      }
      await Promise.all(emits);
    },
  };
}

const templateGrew = z.object({ templateId: z.string().min(1), reevaluateTemplate: z.literal(true) });

/** A comment scored into a young template: the template's earlier members are looked at again. */
export function commentTemplateConsumer(comments: CommentService): OutboxConsumer {
  return {
    name: 'comment-templates',
    types: ['comment.scored'],
    async handle(events: OutboxEvent[]) {
      for (const e of events) {
        const p = templateGrew.safeParse(e.payload);
        if (p.success) await comments.queueTemplateReevaluation(e.id, e.tenantId, p.data.templateId, e.subjectId);
      }
    },
  };
}
