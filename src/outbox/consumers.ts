/**
 * The outbox's consumers: what each committed event sets off.
 *
 *   article.scored          -> webhooks (`article.scored`, `article.flagged`); the cluster join;
 *                              a burst in it re-evaluates the account's earlier posts
 *   cluster.grew            -> re-evaluation of the cluster's earlier members
 *   article.verdict_changed -> webhooks (`article.verdict_changed`, `article.flagged`)
 *   review.decided          -> one `review.decided` webhook per decision (one transaction)
 *
 * Each is idempotent (delivery rows unique per event id, cluster union, deterministic job ids),
 * as the dispatcher hands a batch over again after a crash. An event that cannot be read (a
 * payload from an older shape) is logged and skipped rather than blocking its consumer.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Db } from '../db/db.ts';
import { decideLabelling, implicitLabelOf } from '../domain/labelling.ts';
import { accountSignalSchema } from '../jobs/catalog.ts';
import type { ClusterService } from '../services/clusters.ts';
import type { ReevaluationPlanner } from '../services/reevaluation.ts';
import { externalIds } from '../store/articles.ts';
import { accountObservations, type ScoreWithArticle, scoresWithArticles } from '../store/scores.ts';
import type { ScoredArticle, WebhookService } from '../webhooks/service.ts';
import type { OutboxConsumer, OutboxEvent } from './dispatcher.ts';

const scoreRef = z.object({ scoreId: z.string().min(1) });

/** The scores the events name, with their articles, in one read. */
async function loadScores(db: Db, events: readonly OutboxEvent[]): Promise<Map<string, ScoreWithArticle>> {
  const ids = events.flatMap((e) => {
    const ref = scoreRef.safeParse(e.payload);
    return ref.success ? [ref.data.scoreId] : [];
  });
  if (ids.length === 0) return new Map();
  const rows = await scoresWithArticles(db, ids);
  return new Map(rows.map((r) => [r.scoreId, r]));
}

function scoredArticle(row: ScoreWithArticle, propagator: string): ScoredArticle {
  return {
    tenantId: row.tenantId,
    articleId: row.articleId,
    externalId: row.externalId,
    accountId: row.accountId,
    revision: row.revision,
    scoreId: row.scoreId,
    score: Number(row.score),
    label: row.label,
    verdict: row.verdict,
    reasons: row.reasons,
    labelling: decideLabelling({
      implicit: implicitLabelOf(row.metadata),
      declaredAi: row.declaredAi,
      explicit: row.explicit ?? [],
      verdict: row.verdict,
      contentId: row.externalId,
      propagator,
    }),
  };
}

const decidedPayload = z.object({
  decision: z.string(),
  comment: z.string().nullable().default(null),
  revision: z.number().int(),
  score: z.number(),
  verdict: z.string(),
  label: z.string(),
  target: z.unknown(),
});
const verdictChangedPayload = scoreRef.extend({ previous: z.record(z.string(), z.unknown()), reason: z.record(z.string(), z.unknown()) });

/** Webhook deliveries for scores, re-evaluations and moderator decisions. */
export function webhookConsumer(db: Db, webhooks: WebhookService, propagator: string, log: Logger): OutboxConsumer {
  return {
    name: 'webhooks',
    types: ['article.scored', 'article.verdict_changed', 'review.decided'],
    async handle(events) {
      const scores = await loadScores(
        db,
        events.filter((e) => e.type !== 'review.decided'),
      );
      const emits: Promise<void>[] = [];
      for (const e of events) {
        if (e.type === 'review.decided') continue;
        const ref = scoreRef.safeParse(e.payload);
        const row = ref.success ? scores.get(ref.data.scoreId) : undefined;
        if (!row) {
          log.warn({ eventId: e.id, type: e.type }, 'outbox: event names no stored score; skipped');
          continue;
        }
        if (e.type === 'article.scored') {
          emits.push(webhooks.emitScored(scoredArticle(row, propagator)));
        } else {
          const changed = verdictChangedPayload.safeParse(e.payload);
          if (changed.success) emits.push(webhooks.emitVerdictChanged({ ...scoredArticle(row, propagator), previous: changed.data.previous, reason: changed.data.reason }));
        }
      }
      // One decision request is one transaction: its events become one webhook.
      const decisions = new Map<number, OutboxEvent[]>();
      for (const e of events) if (e.type === 'review.decided') decisions.set(e.txid, [...(decisions.get(e.txid) ?? []), e]);
      if (decisions.size > 0) {
        const ids = [...decisions.values()].flat().map((e) => e.subjectId);
        const externals = new Map((await externalIds(db, ids)).map((r) => [r.id, r.externalId]));
        for (const group of decisions.values()) {
          const items = group.flatMap((e) => {
            const p = decidedPayload.safeParse(e.payload);
            return p.success ? [{ e, p: p.data }] : [];
          });
          const first = items[0];
          if (!first) continue;
          emits.push(
            webhooks.emitDecided({
              tenantId: first.e.tenantId,
              actor: first.e.actor,
              decision: first.p.decision,
              comment: first.p.comment,
              target: first.p.target,
              decidedAt: new Date(first.e.createdAt).toISOString(),
              items: items.map(({ e, p }) => ({
                articleId: e.subjectId,
                externalId: externals.get(e.subjectId) ?? '',
                revision: p.revision,
                eventId: e.id,
                score: p.score,
                verdict: p.verdict,
                label: p.label,
              })),
            }),
          );
        }
      }
      await Promise.all(emits);
    },
  };
}

/** The parts of a stored observation the cluster join reads (written by `signals/account-signals.ts`). */
const observationSchema = z.object({
  tenantId: z.string(),
  articleId: z.string(),
  accountId: z.string(),
  postedAt: z.string(),
  firstObservation: z.boolean(),
  similar: z.array(z.object({ articleId: z.string(), accountId: z.string(), similarity: z.number(), postedAt: z.string() })),
  clusterId: z.string().nullable(),
  signals: z.array(accountSignalSchema).default([]),
});

/** The observations of scored articles that found near-duplicates (most find none: one cheap read). */
async function loadObservations(
  db: Db,
  events: readonly OutboxEvent[],
  which: 'similar' | 'burst',
): Promise<{ eventId: number; observation: z.infer<typeof observationSchema> }[]> {
  const ids = events.flatMap((e) => {
    const ref = scoreRef.safeParse(e.payload);
    return ref.success ? [ref.data.scoreId] : [];
  });
  if (ids.length === 0) return [];
  const rows = await accountObservations(db, ids, which);
  const byScore = new Map(rows.map((r) => [r.scoreId, r.account]));
  return events.flatMap((e) => {
    const ref = scoreRef.safeParse(e.payload);
    const parsed = ref.success && byScore.has(ref.data.scoreId) ? observationSchema.safeParse(byScore.get(ref.data.scoreId)) : null;
    return parsed?.success ? [{ eventId: e.id, observation: parsed.data }] : [];
  });
}

/** Scored articles with cross-account near-duplicates join their content-farm cluster. */
export function clusterConsumer(db: Db, clusters: ClusterService): OutboxConsumer {
  return {
    name: 'clusters',
    types: ['article.scored'],
    async handle(events) {
      const found = await loadObservations(db, events, 'similar');
      // Concurrent upserts share one transaction per batch (ClusterService coalesces them).
      await Promise.all(found.map(({ observation }) => clusters.upsertFromObservation(observation)));
    },
  };
}

const clusterGrew = z.object({ clusterId: z.string(), accounts: z.number().int().positive(), size: z.number().int().positive(), trigger: z.string() });
/** Signals that, seen in a later post, say the earlier posts of the window were part of it. */
const CARRIED_SIGNALS = new Set(['burst', 'machine_cadence']);

/** Earlier articles re-evaluated when a farm forms or grows, or an account's later post shows a burst. */
export function reevaluationConsumer(db: Db, planner: ReevaluationPlanner, log: Logger): OutboxConsumer {
  return {
    name: 'reevaluation',
    types: ['cluster.grew', 'article.scored'],
    async handle(events) {
      for (const e of events.filter((x) => x.type === 'cluster.grew')) {
        const p = clusterGrew.safeParse(e.payload);
        if (!p.success) {
          log.warn({ eventId: e.id }, 'outbox: unreadable cluster.grew; skipped');
          continue;
        }
        await planner.planCluster(e.id, e.tenantId, { kind: 'cluster', ...p.data });
      }
      const bursts = await loadObservations(
        db,
        events.filter((x) => x.type === 'article.scored'),
        'burst',
      );
      for (const { eventId, observation } of bursts) {
        const carried = observation.signals.filter((s) => CARRIED_SIGNALS.has(s.code));
        const burst = carried.find((s) => s.code === 'burst');
        const from = burst?.evidence.burstStart;
        if (!burst || typeof from !== 'string') continue;
        await planner.planAccount(
          eventId,
          observation.tenantId,
          { kind: 'account', accountId: observation.accountId, trigger: observation.articleId, signals: carried },
          { from, to: observation.postedAt },
        );
      }
    },
  };
}
