import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { commentInputSchema } from '../../domain/comment-input.ts';
import { ServiceError } from '../../domain/errors.ts';
import { ARTICLE_STATUSES, LABELS, VERDICTS } from '../../domain/types.ts';
import { iterateStream } from '../../infra/ndjson.ts';
import { type CommentService, prepareComment, type StoredComment, type StoredCommentScore } from '../../services/comments.ts';
import type { AppEnv } from '../env.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import { Accepted, AUTH, errorResponses, ExternalIdParam, IdParam, JSON_BODY, jsonResponse } from '../schemas.ts';

export interface CommentRouteDeps {
  comments: CommentService;
  maxBodyBytes: number;
  maxBatchBodyBytes: number;
  maxBatchItems: number;
  maxTextChars: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

export const CommentInput = z
  .object(commentInputSchema.shape)
  .strict()
  .openapi('CommentInput', {
    example: {
      externalId: 'c-88412',
      accountId: 'acct-301',
      articleExternalId: 'post-10293',
      text: '写得真好，受益匪浅！',
      postedAt: '2026-11-20T08:03:00+08:00',
    },
  });

const Reason = z.object({
  code: z.string(),
  source: z.string(),
  contribution: z.number(),
  message: z.object({ zh: z.string(), en: z.string() }),
  evidence: z.record(z.string(), z.unknown()).optional(),
});

export const CommentView = z
  .object({
    id: z.string(),
    externalId: z.string(),
    accountId: z.string(),
    articleExternalId: z.string(),
    parentExternalId: z.string().nullable(),
    revision: z.number().int(),
    status: z.enum(ARTICLE_STATUSES),
    lang: z.enum(['zh', 'en']),
    declaredAi: z.boolean(),
    postedAt: z.string().nullable(),
    receivedAt: z.string(),
    templateId: z.string().nullable().describe('The near-duplicate template the comment shares with others, if any'),
    error: z.string().nullable(),
    result: z
      .object({
        score: z.number(),
        label: z.enum(LABELS),
        verdict: z.enum(VERDICTS),
        reasons: z.array(Reason).describe('Every signal that counted, in zh and en, with evidence (matched passage, template, accounts, bursts)'),
        signals: z.record(z.string(), z.unknown()),
        modelVersion: z.string(),
        configVersion: z.string(),
        scoredAt: z.string(),
        timings: z.record(z.string(), z.number()),
      })
      .nullable(),
  })
  .openapi('Comment');

const CommentBatchInput = z.object({ comments: z.array(z.unknown()).min(1) }).openapi('CommentBatchInput', { description: 'Up to MAX_BATCH_ITEMS comments, each a CommentInput.' });

const ItemError = z.object({ index: z.number().int(), code: z.string(), message: z.string(), details: z.unknown().optional() });
const CommentBatchAccepted = z.object({ accepted: z.array(Accepted.extend({ index: z.number().int() })), errors: z.array(ItemError) }).openapi('CommentBatchAccepted');

const CommentImportView = z
  .object({
    linesRead: z.number().int(),
    accepted: z.number().int().describe('New comments or new revisions, queued for scoring'),
    duplicates: z.number().int().describe('Lines whose comment was already stored with the same content'),
    rejected: z.number().int(),
    errors: z.array(z.object({ line: z.number().int(), code: z.string(), message: z.string() })).describe('The first errors, by line number'),
  })
  .openapi('CommentImport');

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/gzip', 'application/x-gzip']);

const submitRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'submitComment',
  summary: 'Submit one comment for scoring',
  description:
    'Answers 202 once the comment is stored and queued. Resubmitting the same externalId with unchanged content is a no-op that returns the existing id and state; changed content is a new revision, scored again. The article is named by the platform’s id and need not have been submitted.',
  request: { body: { content: { 'application/json': { schema: CommentInput } }, required: true } },
  responses: { 202: jsonResponse(Accepted, 'Accepted'), ...errorResponses(...AUTH, ...JSON_BODY) },
});

const batchRoute = createRoute({
  method: 'post',
  path: '/batch',
  operationId: 'submitCommentBatch',
  summary: 'Submit up to MAX_BATCH_ITEMS comments in one call',
  description: 'Each item is validated on its own: bad items are listed with their index and a stable code and do not reject the others.',
  request: { body: { content: { 'application/json': { schema: CommentBatchInput } }, required: true } },
  responses: { 202: jsonResponse(CommentBatchAccepted, 'Accepted'), ...errorResponses(...AUTH, ...JSON_BODY) },
});

const importRoute = createRoute({
  method: 'post',
  path: '/import',
  operationId: 'importComments',
  summary: 'Bulk import: a streamed NDJSON body, one comment per line (optionally gzip)',
  description:
    'Lines are the shape of POST /v1/comments. Answered once the body is read and stored; bad lines are counted and listed with their line number. Re-importing the same file changes nothing (duplicates). 413 import_too_large past IMPORT_MAX_BYTES decompressed: what was read stays stored and `error.details.import` holds the counts.',
  request: {
    body: {
      content: { 'application/x-ndjson': { schema: z.string().openapi({ example: '{"externalId":"c-1","accountId":"u-1","articleExternalId":"post-1","text":"…"}\n' }) } },
      required: true,
    },
  },
  responses: { 202: jsonResponse(CommentImportView, 'Read and stored'), ...errorResponses(...AUTH, 400, 413, 415) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getComment',
  summary: 'Status, verdict and reasons of one comment',
  request: { params: IdParam },
  responses: { 200: jsonResponse(CommentView, 'The comment'), ...errorResponses(...AUTH, 404, 422) },
});

const byExternalRoute = createRoute({
  method: 'get',
  path: '/by-external-id/{externalId}',
  operationId: 'getCommentByExternalId',
  summary: "Look a comment up by the platform's id",
  request: {
    params: ExternalIdParam,
  },
  responses: { 200: jsonResponse(CommentView, 'The comment'), ...errorResponses(...AUTH, 404, 422) },
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function commentView(c: StoredComment, score: StoredCommentScore | null): z.infer<typeof CommentView> {
  return {
    id: c.id,
    externalId: c.externalId,
    accountId: c.accountId,
    articleExternalId: c.articleExternalId,
    parentExternalId: c.parentExternalId,
    revision: c.revision,
    status: c.status,
    lang: c.lang,
    declaredAi: c.declaredAi,
    postedAt: iso(c.postedAt),
    receivedAt: c.receivedAt.toISOString(),
    templateId: c.templateId,
    error: c.lastError,
    result: score
      ? {
          score: Number(score.score),
          label: score.label,
          verdict: score.verdict,
          reasons: score.reasons,
          signals: score.signals,
          modelVersion: score.modelVersion,
          configVersion: score.configVersion,
          scoredAt: score.createdAt.toISOString(),
          timings: score.timings,
        }
      : null,
  };
}

/** `/v1/comments`: submit (one, a batch, an NDJSON import) and read verdicts. */
export function commentRoutes(deps: CommentRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  const who = (c: { get(k: 'principal'): { tenantId: string; keyId: string } }) => ({ tenantId: c.get('principal').tenantId, actor: c.get('principal').keyId });
  app.post('/', requireRole('submitter', 'admin'), jsonBody(deps.maxBodyBytes));
  app.post('/batch', requireRole('submitter', 'admin'), jsonBody(deps.maxBatchBodyBytes));
  app.post('/import', requireRole('submitter', 'admin'));

  app.openapi(submitRoute, async (c) => {
    const prepared = prepareComment(c.req.valid('json'), { maxTextChars: deps.maxTextChars });
    return c.json(await deps.comments.submitOne(who(c), prepared), 202);
  });

  app.openapi(batchRoute, async (c) => {
    const { comments } = c.req.valid('json');
    if (comments.length > deps.maxBatchItems) {
      throw new ServiceError('payload_too_large', `a batch holds at most ${deps.maxBatchItems} comments`, { limit: deps.maxBatchItems });
    }
    const outcomes = await deps.comments.submitMany(who(c), comments, 'live');
    const accepted = [];
    const errors = [];
    for (const [index, o] of outcomes.entries()) {
      if (o.ok) {
        const { ok: _ok, ...rest } = o;
        accepted.push({ ...rest, index });
      } else {
        const { ok: _ok, ...rest } = o;
        errors.push({ ...rest, index });
      }
    }
    return c.json({ accepted, errors }, 202);
  });

  app.openapi(importRoute, async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!NDJSON_TYPES.has(type)) throw new ServiceError('unsupported_media_type', 'send the body as application/x-ndjson (optionally gzip: Content-Encoding: gzip)');
    const encoding = (c.req.header('content-encoding') ?? '').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'gzip' && encoding !== 'identity')
      throw new ServiceError('unsupported_media_type', `unsupported Content-Encoding ${encoding}: use gzip or none`);
    const body = c.req.raw.body;
    if (!body) throw new ServiceError('bad_request', 'the body is empty: send one comment per line');
    const result = await deps.comments.importNdjson(who(c), iterateStream(body), encoding === 'gzip' ? true : 'auto');
    const { stopped, ...view } = result;
    if (stopped) throw new ServiceError(stopped.code, stopped.message, { import: view });
    return c.json(view, 202);
  });

  app.openapi(getRoute, async (c) => {
    const comment = await deps.comments.get(c.get('principal').tenantId, c.req.valid('param').id);
    if (!comment) throw new ServiceError('not_found', 'no such comment');
    return c.json(commentView(comment, await deps.comments.currentScore(comment)), 200);
  });

  app.openapi(byExternalRoute, async (c) => {
    const comment = await deps.comments.getByExternalId(c.get('principal').tenantId, c.req.valid('param').externalId);
    if (!comment) throw new ServiceError('not_found', 'no such comment');
    return c.json(commentView(comment, await deps.comments.currentScore(comment)), 200);
  });
  return app;
}
