import { z } from '@hono/zod-openapi';
import { articleInputSchema } from '../domain/article-input.ts';
import { labellingViewSchema } from '../services/views.ts';
import { ARTICLE_STATUSES, LABELS, SEGMENT_HIGHLIGHTS, VERDICTS } from '../domain/types.ts';

/** Shapes of request and response bodies, shared by the routes and the OpenAPI document. */

// Rebuilt from the shape here: a schema created before @hono/zod-openapi extended zod (module
// load order decides that) has no `.openapi` method.
export const ArticleInput = z
  .object(articleInputSchema.shape)
  .strict()
  .openapi('ArticleInput', {
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
    labelling: labellingViewSchema,
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

export const BatchInput = z.object({ articles: z.array(z.unknown()).min(1) }).openapi('BatchInput', { description: 'Up to MAX_BATCH_ITEMS articles, each an ArticleInput.' });

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

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

/** The platform's own id of an article or comment, in the path. */
export const ExternalIdParam = z.object({
  externalId: z
    .string()
    .min(1)
    .max(256)
    .openapi({ param: { name: 'externalId', in: 'path' } }),
});

const ERROR_DESCRIPTIONS = {
  400: 'Malformed JSON, invalid UTF-8 or an empty body',
  401: 'Missing, unknown or revoked API key',
  403: 'The key’s role may not do this',
  404: 'Not found (or another tenant’s)',
  409: 'The target’s state does not allow this',
  413: 'Body, text or batch too large',
  415: 'Wrong Content-Type or Content-Encoding',
  422: 'Schema violation; `details` lists field paths',
  429: 'Rate limited; see Retry-After',
  503: 'Redis or the database is unavailable; nothing was written',
} as const;
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/**
 * The error answers one route can give, each in the error contract:
 * `errorResponses(...AUTH, 404)` for a GET by id. Only the statuses the route can really
 * answer are listed (a GET has no body, so no 400/413/415).
 */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]): { [K in S]: { description: string; content: { 'application/json': { schema: typeof ErrorResponse } } } } {
  const out = {} as { [K in S]: { description: string; content: { 'application/json': { schema: typeof ErrorResponse } } } };
  for (const status of statuses) out[status] = { description: ERROR_DESCRIPTIONS[status], content: { 'application/json': { schema: ErrorResponse } } };
  return out;
}

/** Every /v1 route: authentication, role, rate limit, and a dependency that may be down. */
export const AUTH = [401, 403, 429, 503] as const;
/** A JSON body read through `jsonBody`: malformed, too large, wrong type, schema violation. */
export const JSON_BODY = [400, 413, 415, 422] as const;

/** A JSON response of one schema. */
export const jsonResponse = <S extends z.ZodType>(schema: S, description: string) => ({ description, content: { 'application/json': { schema } } });
