import { z } from '@hono/zod-openapi';
import { articleInputSchema } from '../domain/article-input.ts';
import { AIGC_LABEL_VALUES, LABELLING_DECISIONS } from '../domain/labelling.ts';
import { ARTICLE_STATUSES, LABELS, VERDICTS } from '../domain/types.ts';

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

const AigcEntry = z.object({
  Label: z.enum(AIGC_LABEL_VALUES),
  ContentProducer: z.string(),
  ProduceID: z.string(),
  ReservedCode1: z.string().optional(),
  ContentPropagator: z.string().optional(),
  PropagateID: z.string().optional(),
  ReservedCode2: z.string().optional(),
});

export const LabellingView = z
  .object({
    decision: z.enum(LABELLING_DECISIONS),
    basis: z.enum(['implicit_label', 'declared', 'explicit_label', 'verdict']).nullable(),
    notice: z.object({ zh: z.string(), en: z.string() }).nullable(),
    implicitLabel: AigcEntry.nullable(),
    explicitLabels: z.array(z.object({ phrase: z.string(), where: z.enum(['title', 'start', 'end']), start: z.number().int(), end: z.number().int(), lang: z.enum(['zh', 'en']) })),
    propagation: z.object({ AIGC: AigcEntry.required() }).nullable(),
  })
  .openapi('Labelling', {
    description:
      'The AI-content labelling decision (人工智能生成合成内容标识办法, GB 45438-2025): `confirmed` when the metadata carries an implicit `AIGC` label, `possible` when the user declared AI content or the text carries an explicit label, `suspected` when neither but the verdict is `flag`, else `none`. `notice` is what to show with the content; `propagation` is the `AIGC` entry to write back into its metadata.',
    example: {
      decision: 'possible',
      basis: 'explicit_label',
      notice: { zh: '该内容可能为人工智能生成合成内容', en: 'This content may be AI-generated' },
      implicitLabel: null,
      explicitLabels: [{ phrase: '本文由AI生成', where: 'start', start: 0, end: 7, lang: 'zh' }],
      propagation: { AIGC: { Label: '2', ContentProducer: '', ProduceID: '', ReservedCode1: '', ContentPropagator: 'slopguard', PropagateID: 'post-1', ReservedCode2: '' } },
    },
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
    labelling: LabellingView,
    result: z
      .object({
        score: z.number(),
        label: z.enum(LABELS),
        verdict: z.enum(VERDICTS),
        reasons: z.array(Reason),
        segments: z.array(z.object({ start: z.number(), end: z.number(), probability: z.number() })),
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
