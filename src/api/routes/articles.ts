import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import { ServiceError } from '../../domain/errors.ts';
import { decideLabelling, detectExplicitLabels, implicitLabelOf } from '../../domain/labelling.ts';
import type { ArticleService, StoredArticle, StoredScore } from '../../services/articles.ts';
import { prepareArticle } from '../../services/articles.ts';
import type { AppEnv } from '../env.ts';
import { jsonBody, requireRole } from '../middleware.ts';
import { Accepted, ArticleInput, ArticleView, AUTH, errorResponses, ExternalIdParam, IdParam, JSON_BODY } from '../schemas.ts';

export interface ArticleRouteDeps {
  articles: ArticleService;
  /** LABEL_PROPAGATOR: written as `ContentPropagator` in the labelling's propagation metadata. */
  propagator: string;
  maxBodyBytes: number;
  maxTextChars: number;
  defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0];
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function articleView(article: StoredArticle, score: StoredScore | null, propagator: string): z.infer<typeof ArticleView> {
  return {
    id: article.id,
    externalId: article.externalId,
    accountId: article.accountId,
    revision: article.revision,
    status: article.status,
    lang: article.lang,
    declaredAi: article.declaredAi,
    title: article.title,
    url: article.url,
    publishedAt: iso(article.publishedAt),
    receivedAt: article.receivedAt.toISOString(),
    error: article.lastError,
    labelling: decideLabelling({
      implicit: implicitLabelOf(article.metadata),
      declaredAi: article.declaredAi,
      explicit: detectExplicitLabels(article),
      verdict: score?.verdict ?? null,
      contentId: article.externalId,
      propagator,
    }),
    result: score
      ? {
          score: score.score,
          label: score.label,
          verdict: score.verdict,
          reasons: score.reasons,
          segments: score.segments,
          signals: score.signals,
          modelVersion: score.modelVersion,
          configVersion: score.configVersion,
          scoredAt: score.createdAt.toISOString(),
          timings: score.timings,
        }
      : null,
  };
}

const submitRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'submitArticle',
  summary: 'Submit one article for scoring',
  description:
    'Answers 202 at once. Resubmitting the same externalId with unchanged content is a no-op that returns the existing id and state; changed content creates a new revision that is scored again.',
  request: { body: { content: { 'application/json': { schema: ArticleInput } }, required: true } },
  responses: { 202: { description: 'Accepted', content: { 'application/json': { schema: Accepted } } }, ...errorResponses(...AUTH, ...JSON_BODY) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getArticle',
  summary: 'Status, verdict, reasons and AI-content labelling of one article',
  request: { params: IdParam },
  responses: { 200: { description: 'The article', content: { 'application/json': { schema: ArticleView } } }, ...errorResponses(...AUTH, 404, 422) },
});

const byExternalRoute = createRoute({
  method: 'get',
  path: '/by-external-id/{externalId}',
  operationId: 'getArticleByExternalId',
  summary: "Look an article up by the platform's id",
  request: {
    params: ExternalIdParam,
  },
  responses: { 200: { description: 'The article', content: { 'application/json': { schema: ArticleView } } }, ...errorResponses(...AUTH, 404, 422) },
});

export function articleRoutes(deps: ArticleRouteDeps) {
  const app = new OpenAPIHono<AppEnv>(deps.defaultHook);
  app.post('/', requireRole('submitter', 'admin'), jsonBody(deps.maxBodyBytes));
  app.openapi(submitRoute, async (c) => {
    const input = c.req.valid('json');
    const prepared = prepareArticle(input, { maxTextChars: deps.maxTextChars });
    const result = await deps.articles.submitOne({ tenantId: c.get('principal').tenantId, actor: c.get('principal').keyId }, prepared);
    return c.json(result, 202);
  });
  app.openapi(getRoute, async (c) => {
    const article = await deps.articles.get(c.get('principal').tenantId, c.req.valid('param').id);
    if (!article) throw new ServiceError('not_found', 'no such article');
    return c.json(articleView(article, await deps.articles.currentScore(article), deps.propagator), 200);
  });
  app.openapi(byExternalRoute, async (c) => {
    const article = await deps.articles.getByExternalId(c.get('principal').tenantId, c.req.valid('param').externalId);
    if (!article) throw new ServiceError('not_found', 'no such article');
    return c.json(articleView(article, await deps.articles.currentScore(article), deps.propagator), 200);
  });
  return app;
}
