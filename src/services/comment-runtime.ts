import type { AppContext } from '../context.ts';
import type { Scorer } from '../domain/types.ts';
import { defaultCommentFusionConfig } from '../scoring/comment-fusion.ts';
import { boostingSettingsSchema, CommentBoosting } from '../signals/comment-boosting.ts';
import { commentTemplateSettingsSchema, CommentTemplates } from '../signals/comment-templates.ts';
import { AccountSignals, accountSignalSettingsSchema } from '../signals/index.ts';
import { CommentPipeline, CommentScoringService } from './comment-scoring.ts';

/**
 * The comment scoring service of a worker process, over the context's clients and the
 * process's detector. Comment timelines are kept apart from article timelines (people comment
 * far more often than they publish), so bursts and cadence are judged against comment habits;
 * near-duplicates of comments are the template index's work, not the article index's.
 */
export function buildCommentScoring(ctx: AppContext, detector: Scorer | null): CommentScoringService {
  return new CommentScoringService(ctx.db, buildCommentPipeline(ctx, detector));
}

/** The pipeline alone, its Redis state under `redisPrefix` (benches measure it apart from the store). */
export function buildCommentPipeline(ctx: AppContext, detector: Scorer | null, redisPrefix = ctx.config.redisPrefix): CommentPipeline {
  const { config } = ctx;
  const retentionSeconds = config.accountSignals.retentionSeconds;
  const account = new AccountSignals(
    ctx.redis,
    accountSignalSettingsSchema.parse({
      retentionSeconds,
      // A person may write a few dozen comments a day; a burst is measured against that.
      burst: { baselineFloorPerDay: 20, minPosts: 8 },
      // Bots comment every few seconds or minutes; a daily habit is not a machine.
      cadence: { maxMeanIntervalSeconds: 3600 },
      // No article-style near-duplicate index for comments: too short for it.
      nearDuplicate: { minShingles: 1_000_000 },
    }),
    `${redisPrefix}:csig:`,
  );
  return new CommentPipeline({
    templates: new CommentTemplates(ctx.redis, commentTemplateSettingsSchema.parse({ retentionSeconds }), `${redisPrefix}:ct:`),
    boosting: new CommentBoosting(ctx.redis, boostingSettingsSchema.parse({ retentionSeconds }), `${redisPrefix}:cb:`),
    account,
    detector,
    detectorMinLength: config.comments.detectorMinLength,
    fusion: defaultCommentFusionConfig,
    articles: ctx.articles,
    comments: ctx.comments,
  });
}
