import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeSummarySchema, importErrorsPageSchema, importViewSchema, rescanDryRunSchema, rescanListSchema, rescanViewSchema } from '../../src/services/views.ts';
import { deliveryListSchema, webhookCreatedSchema, webhookListSchema, webhookViewSchema } from '../../src/webhooks/views.ts';
import {
  auditPageSchema,
  claimListSchema,
  claimResultSchema,
  decisionResultSchema,
  releasedSchema,
  reviewAccountSchema,
  reviewArticleSchema,
  reviewGroupSchema,
  reviewQueueSchema,
} from '../../src/services/review-views.ts';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { seed } from '../review/seed.ts';

type Op = { operationId?: string; parameters?: unknown[]; requestBody?: unknown; responses: Record<string, unknown> };
type Doc = { paths: Record<string, Record<string, Op>>; servers?: unknown[] };

describe('the OpenAPI document and /docs', () => {
  let env: TestEnv;
  let doc: Doc;
  let text: string;
  beforeAll(async () => {
    env = await createTestEnv({ env: { WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    text = await (await env.request('GET', '/openapi.json')).text();
    doc = JSON.parse(text) as Doc;
  });
  afterAll(async () => {
    await env.close();
  });

  const operations = () => Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: text, absoluteRef: 'openapi.json', config });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
    expect(doc.servers?.length).toBeGreaterThan(0);
    expect(operations().length).toBeGreaterThan(40);
  });

  it('lists only the errors each route can give', () => {
    for (const { path, method, op } of operations()) {
      const statuses = Object.keys(op.responses);
      const where = `${method.toUpperCase()} ${path}`;
      // Every /v1 route authenticates and is rate limited.
      expect(statuses, where).toEqual(expect.arrayContaining(['401', '403', '429', '503']));
      // No body: nothing to be malformed, too large or of the wrong type.
      if (!op.requestBody) for (const s of ['400', '413', '415']) expect(statuses, where).not.toContain(s);
      // Nothing to look up or validate: no 404 or 422.
      if (!op.requestBody && !op.parameters?.length) for (const s of ['404', '422']) expect(statuses, where).not.toContain(s);
      expect(statuses, where).not.toContain('500');
    }
    const get = doc.paths['/v1/articles/{id}']!.get!;
    expect(Object.keys(get.responses).sort()).toEqual(['200', '401', '403', '404', '422', '429', '503']);
  });

  it('/docs shows request and response schemas with their fields and examples, not $refs, and no script', async () => {
    const res = await env.request('GET', '/docs');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain('$ref');
    expect(html).not.toMatch(/<script|(src|href)="https?:/);
    // ArticleInput's fields and its example; the Import view's fields, resolved from its component.
    for (const field of ['externalId', 'accountId', 'publishedAt', 'declaredAi', 'linesRead', 'duplicates', 'etaSeconds', 'newlyFlagged']) {
      expect(html).toContain(`<code>${field}</code>`);
    }
    expect(html).toContain('城市观察');
    expect(html).toContain('Example');
    // The GET of one article lists its real errors only.
    const section = html.slice(html.indexOf('id="getArticle"'), html.indexOf('</section>', html.indexOf('id="getArticle"')));
    expect(section).toContain('<b>404</b>');
    expect(section).not.toContain('<b>413</b>');
    expect(section).not.toContain('<b>415</b>');
  });

  it('imports, rescans and webhooks answer with the documented views', async () => {
    const admin = await env.keyFor('admin');
    const lines = [
      { externalId: 'doc-1', accountId: 'a1', text: 'An ordinary paragraph about the harbour and the ferry timetable this week.' },
      { externalId: 'doc-2', accountId: 'a1' },
    ];
    const imp = await env.request('POST', '/v1/imports', {
      key: admin,
      raw: lines.map((l) => JSON.stringify(l)).join('\n'),
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(imp.status).toBe(202);
    const view = importViewSchema.strict().parse(await imp.json());
    expect(view.rejected).toBe(1);
    importViewSchema.strict().parse(await (await env.request('GET', `/v1/imports/${view.id}`, { key: admin })).json());
    const errors = importErrorsPageSchema.strict().parse(await (await env.request('GET', `/v1/imports/${view.id}/errors`, { key: admin })).json());
    expect(errors.errors[0]?.line).toBe(2);
    expect((await env.request('GET', `/v1/imports/${view.id}/errors?limit=0`, { key: admin })).status).toBe(422);

    const dry = await env.request('POST', '/v1/rescans', { key: admin, body: { dryRun: true } });
    expect(rescanDryRunSchema.strict().parse(await dry.json()).count).toBe(1);
    const started = await env.request('POST', '/v1/rescans', { key: admin, body: { filter: { accountIds: ['a1'] } } });
    expect(started.status).toBe(202);
    const rescan = rescanViewSchema.strict().parse(await started.json());
    rescanViewSchema.strict().parse(await (await env.request('GET', `/v1/rescans/${rescan.id}`, { key: admin })).json());
    rescanListSchema.strict().parse(await (await env.request('GET', '/v1/rescans', { key: admin })).json());
    changeSummarySchema.strict().parse(await (await env.request('GET', `/v1/rescans/${rescan.id}/changes`, { key: admin })).json());
    expect((await env.request('POST', '/v1/rescans', { key: admin, body: { dryRun: 'yes' } })).status).toBe(422);

    const created = await env.request('POST', '/v1/webhooks', { key: admin, body: { url: 'http://127.0.0.1:9/hook', events: ['article.flagged'] } });
    expect(created.status).toBe(201);
    const { webhook } = webhookCreatedSchema.strict().parse(await created.json());
    webhookViewSchema.strict().parse(await (await env.request('GET', `/v1/webhooks/${webhook.id}`, { key: admin })).json());
    webhookListSchema.strict().parse(await (await env.request('GET', '/v1/webhooks', { key: admin })).json());
    deliveryListSchema.strict().parse(await (await env.request('GET', `/v1/webhooks/${webhook.id}/deliveries`, { key: admin })).json());
    const patched = await env.request('PATCH', `/v1/webhooks/${webhook.id}`, { key: admin, body: { active: false } });
    expect(webhookViewSchema.strict().parse(await patched.json()).active).toBe(false);
    expect((await env.request('PATCH', `/v1/webhooks/${webhook.id}`, { key: admin, body: { active: 'no' } })).status).toBe(422);
  });

  it('review and audit routes answer with the documented views', async () => {
    const moderator = await env.keyFor('moderator', 'tenant-review');
    const ids = await seed(
      env.ctx.db,
      'tenant-review',
      [
        { externalId: 'r-1', accountId: 'farm-1', verdict: 'flag', score: 0.95, segments: [{ start: 0, end: 20, probability: 0.9 }] },
        { externalId: 'r-2', accountId: 'farm-2', verdict: 'review', score: 0.7 },
      ],
      { clusterId: 'cl_docs' },
    );
    const get = async (path: string) => {
      const res = await env.request('GET', path, { key: moderator });
      expect(res.status, path).toBe(200);
      return res.json();
    };
    expect(reviewQueueSchema.strict().parse(await get('/v1/review/queue')).items).toHaveLength(2);
    expect(reviewQueueSchema.strict().parse(await get('/v1/review/queue?group=cluster')).items[0]).toMatchObject({ kind: 'cluster', id: 'cl_docs' });
    reviewArticleSchema.strict().parse(await get(`/v1/review/articles/${ids[0]}`));
    expect(reviewGroupSchema.strict().parse(await get('/v1/review/clusters/cl_docs')).articles).toHaveLength(2);
    const account = reviewAccountSchema.strict().parse(await get('/v1/review/accounts/farm-1'));
    expect(account.articles.map((a) => a.externalId)).toEqual(['r-1']);
    expect(account.articles[0]).not.toHaveProperty('kind');
    const claimed = await env.request('POST', '/v1/review/claims', { key: moderator, body: { articleIds: [ids[1]] } });
    expect(claimResultSchema.strict().parse(await claimed.json()).claimed).toEqual([ids[1]]);
    expect(claimListSchema.strict().parse(await get('/v1/review/claims')).claims).toHaveLength(1);
    const decided = await env.request('POST', '/v1/review/decisions', { key: moderator, body: { clusterId: 'cl_docs', decision: 'human' } });
    expect(decisionResultSchema.strict().parse(await decided.json()).decided).toBe(2);
    releasedSchema.strict().parse(await (await env.request('POST', '/v1/review/claims/release', { key: moderator, body: { clusterId: 'cl_docs' } })).json());
    expect(auditPageSchema.strict().parse(await get('/v1/audit?cluster=cl_docs')).events.length).toBeGreaterThanOrEqual(2);
  });
});
