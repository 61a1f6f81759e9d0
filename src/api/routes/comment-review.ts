import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { storableText } from '../../domain/fields.ts';
import { COMMENT_GROUPINGS, type CommentReviewService } from '../../services/comment-review.ts';
import { COMMENT_DECISIONS } from '../../store/comments.ts';
import type { AppEnv } from '../env.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import { AUTH, errorResponses, JSON_BODY, jsonResponse } from '../schemas.ts';

export interface CommentReviewRouteDeps {
  review: CommentReviewService;
  maxBodyBytes: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

const id = storableText().min(1).max(256);

export const CommentQueueQuery = z.object({
  group: z.enum(COMMENT_GROUPINGS).default('template'),
  state: z.enum(['open', 'decided', 'all']).default('open'),
  template: id.optional(),
  article: id.optional(),
  cluster: id.optional(),
  limit: z.coerce.number().int().min(1).max(2000).default(500),
});

const Card = z.object({
  id: z.string(),
  externalId: z.string(),
  accountId: z.string(),
  articleExternalId: z.string(),
  articleTitle: z.string().nullable(),
  passage: z.object({ start: z.number().int(), end: z.number().int(), text: z.string() }).nullable().describe('The article passage the comment matches best'),
  text: z.string(),
  score: z.number().nullable(),
  verdict: z.string().nullable(),
  label: z.string().nullable(),
  templateId: z.string().nullable(),
  accountClusterId: z.string().nullable(),
  reviewState: z.enum(['open', 'escalated', 'decided']),
  decision: z.enum(COMMENT_DECISIONS).nullable(),
  reasons: z.array(z.object({ code: z.string(), source: z.string(), contribution: z.number(), message: z.object({ zh: z.string(), en: z.string() }) })),
});

const CommentQueueView = z
  .object({
    total: z.number().int(),
    groups: z.array(
      z.object({
        type: z.enum(COMMENT_GROUPINGS),
        key: z.string(),
        title: z.string().nullable(),
        accounts: z.array(z.string()),
        comments: z.array(Card),
        size: z.number().int().describe('Comments a decision over the whole group touches (every comment of a template, flagged or not)'),
      }),
    ),
  })
  .openapi('CommentReviewQueue');

export const CommentDecisionInput = z
  .object({
    commentIds: z.array(id).min(1).max(10_000).optional(),
    templateId: id.optional(),
    accountClusterId: id.optional(),
    decision: z.enum(COMMENT_DECISIONS),
    note: storableText().max(2000).optional(),
  })
  .strict()
  .refine((v) => [v.commentIds, v.templateId, v.accountClusterId].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of commentIds, templateId, accountClusterId',
  })
  .openapi('CommentDecisionInput', { example: { templateId: 'tpl_3f2a9c0d1e2b3c4d5e6f', decision: 'confirm_ai', note: 'farm template' } });

const CommentDecisionResult = z.object({ decided: z.number().int(), unchanged: z.number().int(), commentIds: z.array(z.string()) }).openapi('CommentDecisionResult');

const queueRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'getCommentReviewQueue',
  summary: 'Flagged and review-verdict comments, grouped by article, template or account cluster',
  description: 'Each comment carries the title of the article it answers and the passage it matches, when the article is stored here. Largest groups first.',
  request: { query: CommentQueueQuery },
  responses: { 200: jsonResponse(CommentQueueView, 'The queue'), ...errorResponses(...AUTH, 422) },
});

const decideRoute = createRoute({
  method: 'post',
  path: '/decisions',
  operationId: 'decideComments',
  summary: 'One decision over selected comments, a whole template cluster or a whole account cluster',
  description:
    'One request, one transaction, idempotent: a comment already decided the same way on the same revision is unchanged. Each change is an append-only `comment.review_decided` event; subscribers get one `comment.decided` webhook.',
  request: { body: { content: { 'application/json': { schema: CommentDecisionInput } }, required: true } },
  responses: { 200: jsonResponse(CommentDecisionResult, 'Decided'), ...errorResponses(...AUTH, ...JSON_BODY, 404) },
});

/** `/v1/review/comments` (moderator, admin). */
export function commentReviewRoutes(deps: CommentReviewRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  app.use('*', requireRole('moderator', 'admin'));
  app.post('/decisions', jsonBody(deps.maxBodyBytes));
  app.openapi(queueRoute, async (c) => c.json(await deps.review.queue(c.get('principal').tenantId, c.req.valid('query')), 200));
  app.openapi(decideRoute, async (c) => {
    const body = c.req.valid('json');
    const p = c.get('principal');
    const target = body.commentIds
      ? { type: 'comments' as const, commentIds: body.commentIds }
      : body.templateId
        ? { type: 'template' as const, templateId: body.templateId }
        : { type: 'account_cluster' as const, clusterId: body.accountClusterId! };
    return c.json(await deps.review.decide({ tenantId: p.tenantId, keyId: p.keyId }, target, body.decision, body.note ?? null), 200);
  });
  return app;
}
