import type { AppContext } from '../context.ts';
import type { AccountSignalsResult } from '../signals/types.ts';
import type { ScoringService } from './scoring.ts';

/**
 * What follows a committed score, outside the scoring transaction: the article joins its
 * content-farm cluster in the record (the review queue groups by it), and the platform's
 * webhooks are queued. Neither may fail or slow the score: errors are logged, not thrown.
 */
export function attachScoreListeners(ctx: Pick<AppContext, 'clusters' | 'log'>, scoring: ScoringService): void {
  scoring.onScored(async (_article, result) => {
    const observation = result.signals.account as AccountSignalsResult | null | undefined;
    if (!observation || !observation.similar) return;
    await ctx.clusters.upsertFromObservation(observation).catch((error: unknown) => ctx.log.warn({ err: error }, 'cluster upsert failed'));
  });
}
