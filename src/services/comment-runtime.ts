import type { Config } from '../config.ts';
import type { Db } from '../db/db.ts';
import type { Scorer } from '../domain/types.ts';
import { defaultCommentFusionConfig } from '../scoring/comment-fusion.ts';
import { boostingSettingsSchema, CommentBoosting } from '../signals/comment-boosting.ts';
import { commentTemplateSettingsSchema, CommentTemplates } from '../signals/comment-templates.ts';
import { AccountSignals, accountSignalSettingsSchema } from '../signals/index.ts';
import { CommentPipeline, type CommentPipelineParts, CommentScoringService } from './comment-scoring.ts';
import type { RedisClient } from '../infra/redis.ts';

/** What the comment pipeline is built over (the composition root passes its clients and services). */
export interface CommentPipelineDeps {
  redis: RedisClient;
  config: Pick<Config, 'redisPrefix' | 'accountSignals' | 'comments'>;
  articles: CommentPipelineParts['articles'];
  comments: CommentPipelineParts['comments'];
  detector: Scorer | null;
}

/**
 * The comment pipeline of a worker process. Comment timelines are kept apart from article
 * timelines (people comment far more often than they publish), so bursts and cadence are judged
 * against comment habits; near-duplicates of comments are the template index's work, not the
 * article index's. `redisPrefix` puts its state elsewhere (benches measure it apart).
 */
export function buildCommentPipeline(deps: CommentPipelineDeps, redisPrefix = deps.config.redisPrefix): CommentPipeline {
  const retentionSeconds = deps.config.accountSignals.retentionSeconds;
  const account = new AccountSignals(
    deps.redis,
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
    templates: new CommentTemplates(deps.redis, commentTemplateSettingsSchema.parse({ retentionSeconds }), `${redisPrefix}:ct:`),
    boosting: new CommentBoosting(deps.redis, boostingSettingsSchema.parse({ retentionSeconds }), `${redisPrefix}:cb:`),
    account,
    detector: deps.detector,
    detectorMinLength: deps.config.comments.detectorMinLength,
    fusion: defaultCommentFusionConfig,
    articles: deps.articles,
    comments: deps.comments,
  });
}

export function buildCommentScoring(db: Db, deps: CommentPipelineDeps): CommentScoringService {
  return new CommentScoringService(db, buildCommentPipeline(deps));
}
