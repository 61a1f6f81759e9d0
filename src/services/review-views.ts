import { z } from 'zod';
import { DECISIONS, REVIEW_STATES } from '../domain/review.ts';
import { LABELS, VERDICTS } from '../domain/types.ts';
import { labellingViewSchema } from './views.ts';

/**
 * What the review and audit routes answer, declared once: the review service's types are
 * inferred from these schemas, the routes and the console use them, and the OpenAPI document
 * is generated from them (`.meta({ id })` names the component).
 */

const time = z.string().describe('ISO 8601');
const count = z.number().int().min(0);
export const claimSchema = z.object({ moderator: z.string().describe('Key id holding the claim'), expiresAt: time });

export const queueArticleSchema = z.object({
  kind: z.literal('article'),
  id: z.string(),
  externalId: z.string(),
  accountId: z.string(),
  title: z.string().nullable(),
  score: z.number(),
  label: z.enum(LABELS),
  verdict: z.enum(VERDICTS),
  modelVersion: z.string(),
  configVersion: z.string(),
  receivedAt: time,
  state: z.enum(REVIEW_STATES),
  decision: z.enum(DECISIONS).nullable(),
  clusterId: z.string().nullable(),
  clusterSize: count,
  batchId: z.string().nullable(),
  claim: claimSchema.nullable(),
});

export const queueGroupSchema = z.object({
  kind: z.enum(['batch', 'cluster']),
  id: z.string(),
  items: count,
  pending: count,
  escalated: count,
  decided: count,
  flagged: count,
  maxScore: z.number(),
  accounts: count,
  oldestAt: time,
  clusterSize: count.nullable().describe('Members of the whole cluster (not only those in the queue); null for batches'),
  claimedBy: z.array(z.string()).describe('Moderators holding a live claim on some item of the group'),
});

export const queueCountsSchema = z.object({
  total: count,
  byState: z.object({ pending: count, escalated: count, decided: count }),
  byVerdict: z.object({ flag: count, review: count }),
  claimed: count,
});

export const reviewQueueSchema = z
  .object({ items: z.array(z.union([queueArticleSchema, queueGroupSchema])), nextCursor: z.string().nullable(), counts: queueCountsSchema })
  .meta({ id: 'ReviewQueue' });

const reasonSchema = z.object({
  code: z.string(),
  source: z.enum(['model', 'text', 'account', 'policy']),
  contribution: z.number().describe('Signed contribution to the fused score (positive: more AI-like)'),
  message: z.object({ zh: z.string(), en: z.string() }),
  evidence: z.record(z.string(), z.unknown()).optional(),
});

export const reviewArticleSchema = queueArticleSchema
  .omit({ kind: true })
  .extend({
    text: z.string(),
    lang: z.enum(['zh', 'en']),
    declaredAi: z.boolean(),
    publishedAt: time.nullable(),
    reasons: z.array(reasonSchema),
    segments: z.array(z.object({ start: z.number(), end: z.number(), probability: z.number() })).describe('Per-window model probabilities, character offsets'),
    signals: z.record(z.string(), z.unknown()),
    scoreId: z.string().nullable(),
    labelling: labellingViewSchema,
  })
  .meta({ id: 'ReviewArticle' });

export const reviewGroupSchema = z
  .object({
    kind: z.enum(['batch', 'cluster']),
    id: z.string(),
    createdAt: time.nullable(),
    articles: z.array(reviewArticleSchema).describe('Every member the record holds, in queue or not (at most 200, oldest first)'),
    members: count,
    counts: queueCountsSchema,
    cluster: z.object({ accounts: z.array(z.string()), spanSeconds: z.number(), maxSimilarity: z.number().nullable() }).nullable(),
  })
  .meta({ id: 'ReviewGroup' });

export const decisionResultSchema = z
  .object({
    decision: z.enum(DECISIONS),
    target: z.object({ type: z.enum(['selection', 'batch', 'cluster']), id: z.string().nullable() }),
    requested: count,
    decided: count,
    unchanged: count,
    items: z.array(z.object({ articleId: z.string(), state: z.enum(REVIEW_STATES), decision: z.enum(DECISIONS), eventId: z.number().int().nullable() })),
  })
  .meta({ id: 'DecisionResult' });

export const claimResultSchema = z
  .object({ moderator: z.string(), claimed: z.array(z.string()).describe('Article ids now held'), expiresAt: time.nullable(), leaseSeconds: count })
  .meta({ id: 'ClaimResult' });

export const claimRowSchema = z.object({
  articleId: z.string(),
  moderator: z.string(),
  scopeType: z.string().describe('article, selection, batch or cluster: what was claimed'),
  scopeId: z.string().nullable(),
  claimedAt: time.nullable(),
  expiresAt: time.nullable(),
});
export const claimListSchema = z.object({ claims: z.array(claimRowSchema) }).meta({ id: 'ClaimList' });

export const releasedSchema = z.object({ released: count }).meta({ id: 'Released' });

export const auditPageSchema = z
  .object({
    events: z.array(
      z.object({
        id: z.number().int(),
        at: time,
        type: z.string().describe('e.g. article.scored, review.decided, review.bulk_decided'),
        subjectType: z.string(),
        subjectId: z.string(),
        actor: z.string(),
        payload: z.record(z.string(), z.unknown()),
        modelVersion: z.string().nullable(),
        configVersion: z.string().nullable(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'AuditPage' });

const countsBy = z.record(z.string(), count);

export const reviewAccountSchema = z
  .object({
    accountId: z.string(),
    total: count,
    byVerdict: countsBy,
    byLabel: countsBy,
    byState: countsBy,
    articles: z
      .array(queueArticleSchema.omit({ kind: true, score: true }).extend({ status: z.string(), score: z.number().nullable() }))
      .describe('Its latest 500 articles, newest first'),
    signals: z
      .array(
        z.object({
          articleId: z.string(),
          at: time,
          score: z.number().nullable(),
          verdict: z.enum(VERDICTS),
          fired: z.array(z.object({ code: z.string(), strength: z.number(), value: z.number() })),
        }),
      )
      .describe('Account signals that fired on each scored article, oldest first'),
    clusters: z.array(z.object({ id: z.string(), size: count, accountCount: count, articleIds: z.array(z.string()) })),
  })
  .meta({ id: 'ReviewAccount' });

export type ClaimView = z.infer<typeof claimSchema>;
export type QueueArticle = z.infer<typeof queueArticleSchema>;
export type QueueGroup = z.infer<typeof queueGroupSchema>;
export type QueueCounts = z.infer<typeof queueCountsSchema>;
export type ReviewArticle = z.infer<typeof reviewArticleSchema>;
export type GroupDetail = z.infer<typeof reviewGroupSchema>;
export type DecisionResult = z.infer<typeof decisionResultSchema>;
export type ClaimResult = z.infer<typeof claimResultSchema>;
export type ClaimRow = z.infer<typeof claimRowSchema>;
export type AuditEvent = z.infer<typeof auditPageSchema>['events'][number];
export type ReviewAccount = z.infer<typeof reviewAccountSchema>;
