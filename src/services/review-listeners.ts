import type { AppContext } from '../context.ts';
import type { AccountSignalsResult } from '../signals/types.ts';
import type { ScoringService } from './scoring.ts';

/**
 * What follows a committed score, outside the scoring transaction: the article joins its
 * content-farm cluster in the record (the review queue groups by it), and the platform's
 * webhooks are queued (`article.scored`, `article.flagged`). Neither may fail or hold up
 * the score: errors are logged, not thrown, and the HTTP calls happen in the `deliver` worker.
 */
export function attachScoreListeners(ctx: Pick<AppContext, 'clusters' | 'log' | 'webhooks'>, scoring: ScoringService): void {
  scoring.onScored(async (_article, result) => {
    const observation = result.signals.account as AccountSignalsResult | null | undefined;
    // No near-duplicate: nothing to join (most articles; skip the round trips).
    if (!observation || !observation.similar || observation.similar.length === 0) return;
    await ctx.clusters.upsertFromObservation(observation).catch((error: unknown) => ctx.log.warn({ err: error }, 'cluster upsert failed'));
  });
  scoring.onScored(async (article, result) => {
    await ctx.webhooks.emitScored(article, result).catch((error: unknown) => ctx.log.warn({ err: error }, 'could not emit webhooks'));
  });
}
