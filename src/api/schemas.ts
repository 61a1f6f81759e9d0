import { z } from '@hono/zod-openapi';
import { articleInputSchema } from '../domain/article-input.ts';
import { ARTICLE_STATUSES, LABELS, SEGMENT_HIGHLIGHTS, VERDICTS } from '../domain/types.ts';

/** Shapes of request and response bodies, shared by the routes and the OpenAPI document. */

// Rebuilt from the shape here: a schema created before @hono/zod-openapi extended zod (module
// load order decides that) has no `.openapi` method.
export const ArticleInput = z.object(articleInputSchema.shape).strict().openapi('ArticleInput', {
  example: {
    externalId: 'post-10293',
    accountId: 'acct-77',
    title: '城市观察',
    text: '随着科技的不断发展,人工智能已经深刻地改变了我们的生活……',
    publishedAt: '2026-11-20T08:00:00+08:00',
  },
});

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      requestId: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

export const Accepted = z
  .object({
    id: z.string(),
    externalId: z.string(),
    revision: z.number().int(),
    status: z.enum(ARTICLE_STATUSES),
    changed: z.boolean(),
  })
  .openapi('Accepted');

const Reason = z.object({
  code: z.string(),
  source: z.string(),
  contribution: z.number(),
  message: z.object({ zh: z.string(), en: z.string() }),
  evidence: z.record(z.string(), z.unknown()).optional(),
});

export const ArticleView = z
  .object({
    id: z.string(),
    externalId: z.string(),
    accountId: z.string(),
    revision: z.number().int(),
    status: z.enum(ARTICLE_STATUSES),
    lang: z.enum(['zh', 'en']),
    declaredAi: z.boolean(),
    title: z.string().nullable(),
    url: z.string().nullable(),
    publishedAt: z.string().nullable(),
    receivedAt: z.string(),
    error: z.string().nullable(),
    result: z
      .object({
        score: z.number(),
        label: z.enum(LABELS),
        verdict: z.enum(VERDICTS),
        reasons: z.array(Reason),
        segments: z.array(z.object({ start: z.number(), end: z.number(), probability: z.number(), highlight: z.enum(SEGMENT_HIGHLIGHTS).optional() })),
        signals: z.record(z.string(), z.unknown()),
        modelVersion: z.string(),
        configVersion: z.string(),
        scoredAt: z.string(),
        timings: z.record(z.string(), z.number()),
      })
      .nullable(),
  })
  .openapi('Article');

export const BatchInput = z
  .object({ articles: z.array(z.unknown()).min(1) })
  .openapi('BatchInput', { description: 'Up to MAX_BATCH_ITEMS articles, each an ArticleInput.' });

export const BatchAccepted = z
  .object({
    batchId: z.string(),
    accepted: z.array(Accepted.extend({ index: z.number().int() })),
    errors: z.array(z.object({ index: z.number().int(), code: z.string(), message: z.string(), details: z.unknown().optional() })),
  })
  .openapi('BatchAccepted');

export const BatchView = z
  .object({
    id: z.string(),
    total: z.number().int(),
    accepted: z.number().int(),
    rejected: z.number().int(),
    createdAt: z.string(),
    byStatus: z.record(z.enum(ARTICLE_STATUSES), z.number().int()),
    byVerdict: z.record(z.enum(VERDICTS), z.number().int()),
    progress: z.number(),
  })
  .openapi('Batch');

export const IdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: 'id', in: 'path' } }) });

export const errorResponses = {
  400: { description: 'Malformed JSON or invalid UTF-8', content: { 'application/json': { schema: ErrorResponse } } },
  401: { description: 'Missing or invalid API key', content: { 'application/json': { schema: ErrorResponse } } },
  403: { description: 'Role not allowed', content: { 'application/json': { schema: ErrorResponse } } },
  404: { description: 'Not found (or another tenant’s)', content: { 'application/json': { schema: ErrorResponse } } },
  413: { description: 'Body or text too large', content: { 'application/json': { schema: ErrorResponse } } },
  415: { description: 'Not application/json', content: { 'application/json': { schema: ErrorResponse } } },
  422: { description: 'Schema violation, with field paths', content: { 'application/json': { schema: ErrorResponse } } },
  429: { description: 'Rate limited; see Retry-After', content: { 'application/json': { schema: ErrorResponse } } },
  503: { description: 'Redis or the database is unavailable', content: { 'application/json': { schema: ErrorResponse } } },
} as const;
