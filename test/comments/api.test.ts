import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';
import { startReceiver } from './receiver.ts';

/** Comments end to end: real Redis, real PostgreSQL, the worker and the outbox in-process. */

interface CommentBody {
  id: string;
  status: string;
  templateId: string | null;
  result: null | { verdict: string; label: string; score: number; reasons: { code: string; message: { zh: string; en: string }; evidence?: Record<string, unknown> }[] };
}

const ARTICLE =
  '市政府周二宣布，滨江新区的跨江大桥将于明年三月开工，总投资约四十二亿元。大桥全长两千八百米，设计为双向六车道，并预留轨道交通空间。' +
  '交通部门表示，大桥建成后从新区到老城区的通勤时间将从五十分钟缩短到十五分钟。部分沿江居民担心施工噪音和渔业受到影响。';

describe('comments API', () => {
  let env: TestEnv;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let submitter: string;
  let moderator: string;
  let admin: string;
  const tenant = 'tenant-comments';

  const post = (path: string, body: unknown, key = submitter) => env.request('POST', path, { key, body });
  const scored = (id: string, key = submitter) =>
    waitFor(async () => {
      const body = (await (await env.request('GET', `/v1/comments/${id}`, { key })).json()) as CommentBody;
      return body.status === 'scored' && body.result ? body : null;
    });

  beforeAll(async () => {
    receiver = await startReceiver();
    env = await createTestEnv({ workers: true, env: { WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', OUTBOX_POLL_MS: '50', COMMENT_CONCURRENCY: '4' } });
    submitter = (await env.ctx.keys.create(tenant, 'submitter')).key;
    moderator = (await env.ctx.keys.create(tenant, 'moderator')).key;
    admin = (await env.ctx.keys.create(tenant, 'admin')).key;
    const res = await post('/v1/articles', { externalId: 'bridge', accountId: 'city-news', title: '跨江大桥明年开工', text: ARTICLE });
    expect(res.status).toBe(202);
  });
  afterAll(async () => {
    await env?.close();
    await receiver?.close();
  });

  it('scores a comment that picks up the article as on topic, with the matching passage, in zh and en', async () => {
    const res = await post('/v1/comments', {
      externalId: 'c-on',
      accountId: 'reader-1',
      articleExternalId: 'bridge',
      text: '通勤时间能缩短到十五分钟太好了，我每天过江要堵一个小时啊',
    });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { id: string; changed: boolean };
    expect(accepted.changed).toBe(true);
    const body = await scored(accepted.id);
    expect(body.result!.verdict).toBe('pass');
    const onTopic = body.result!.reasons.find((r) => r.code === 'comment.on_topic');
    expect(onTopic?.message.zh).toMatch(/文章/);
    expect(onTopic?.message.en).toMatch(/article/);
    expect((onTopic?.evidence?.passage as { text: string } | undefined)?.text).toContain('十五分钟');
  });

  it('says relevance is unavailable when the article was never submitted', async () => {
    const res = await post('/v1/comments', { externalId: 'c-unknown', accountId: 'reader-2', articleExternalId: 'never-sent', text: '这个观点我不太同意，数据来源是哪里？' });
    const body = await scored(((await res.json()) as { id: string }).id);
    expect(body.result!.reasons.map((r) => r.code)).toContain('comment.relevance_unavailable');
    expect(body.result!.reasons.map((r) => r.code)).not.toContain('comment.beside_the_point');
  });

  it('is idempotent by the platform id, revises changed content, and is tenant-scoped', async () => {
    const input = { externalId: 'c-idem', accountId: 'reader-3', articleExternalId: 'bridge', text: '大桥预留轨道交通空间是对的' };
    const first = (await (await post('/v1/comments', input)).json()) as { id: string; revision: number; changed: boolean };
    const again = (await (await post('/v1/comments', input)).json()) as { id: string; revision: number; changed: boolean };
    expect(again).toMatchObject({ id: first.id, revision: 1, changed: false });
    const revised = (await (await post('/v1/comments', { ...input, text: '大桥预留轨道交通空间是对的，地铁也该跟上' })).json()) as {
      id: string;
      revision: number;
      changed: boolean;
    };
    expect(revised).toMatchObject({ id: first.id, revision: 2, changed: true });
    const other = (await env.ctx.keys.create('tenant-other', 'submitter')).key;
    expect((await env.request('GET', `/v1/comments/${first.id}`, { key: other })).status).toBe(404);
    expect((await env.request('GET', '/v1/comments/by-external-id/c-idem', { key: other })).status).toBe(404);
    const mine = (await (await env.request('GET', '/v1/comments/by-external-id/c-idem', { key: submitter })).json()) as { id: string };
    expect(mine.id).toBe(first.id);
  });

  it('answers bad input with a clear 4xx and a stable code', async () => {
    const missing = await post('/v1/comments', { externalId: 'x', accountId: 'a', text: 'hi' });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { error: { code: string; details: { path: string }[] } }).error).toMatchObject({ code: 'validation_failed' });
    const extra = await post('/v1/comments', { externalId: 'x', accountId: 'a', articleExternalId: 'p', text: 'hi', bogus: 1 });
    expect(extra.status).toBe(422);
    const badTime = await post('/v1/comments', { externalId: 'x', accountId: 'a', articleExternalId: 'p', text: 'hi', postedAt: '0099-01-01T00:00:00Z' });
    expect(badTime.status).toBe(422);
    const malformed = await env.request('POST', '/v1/comments', { key: submitter, raw: '{"externalId":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('malformed_json');
    const invisible = await post('/v1/comments', { externalId: 'x', accountId: 'a', articleExternalId: 'p', text: '\u200b\u200b ' });
    expect(invisible.status).toBe(422);
    expect((await post('/v1/comments', { externalId: 'x', accountId: 'a', articleExternalId: 'p', text: 'hi' }, moderator)).status).toBe(403);
    expect((await env.request('POST', '/v1/comments', { body: { externalId: 'x' } })).status).toBe(401);
  });

  it('takes a batch: bad items listed by index with their code, the others stored', async () => {
    const res = await post('/v1/comments/batch', {
      comments: [
        { externalId: 'b-1', accountId: 'u1', articleExternalId: 'bridge', text: '施工噪音怎么解决？' },
        { externalId: 'b-2', accountId: 'u2', text: 'no article' },
        { externalId: 'b-1', accountId: 'u3', articleExternalId: 'bridge', text: 'again' },
        { externalId: 'b-3', accountId: 'u4', articleExternalId: 'bridge', text: '渔民的补偿方案呢' },
      ],
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: { index: number; id: string }[]; errors: { index: number; code: string }[] };
    expect(body.accepted.map((a) => a.index)).toEqual([0, 3]);
    expect(body.errors).toEqual([expect.objectContaining({ index: 1, code: 'validation_failed' }), expect.objectContaining({ index: 2, code: 'duplicate_in_batch' })]);
    await scored(body.accepted[1]!.id);
  });

  it('imports NDJSON (gzip too): bad lines listed by number, a re-import changes nothing', async () => {
    const lines = [
      JSON.stringify({ externalId: 'i-1', accountId: 'u9', articleExternalId: 'bridge', text: '两千八百米的大桥，六车道够用吗' }),
      '{not json',
      JSON.stringify({ externalId: 'i-2', accountId: 'u9', articleExternalId: 'bridge' }),
      JSON.stringify({ externalId: 'i-3', accountId: 'u8', articleExternalId: 'bridge', text: '期待通车' }),
    ].join('\n');
    const send = (body: BodyInit, headers: Record<string, string>) => env.request('POST', '/v1/comments/import', { key: submitter, raw: body, headers });
    const res = await send(lines, { 'content-type': 'application/x-ndjson' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      linesRead: 4,
      accepted: 2,
      duplicates: 0,
      rejected: 2,
      errors: [
        { line: 2, code: 'malformed_json' },
        { line: 3, code: 'validation_failed' },
      ],
    });
    const again = await send(gzipSync(Buffer.from(lines)), { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 2, rejected: 2 });
    expect((await send(lines, { 'content-type': 'text/plain' })).status).toBe(415);
  });

  it('labels a comment whose bot says it is one ai_declared', async () => {
    const res = await post('/v1/comments', {
      externalId: 'c-bot',
      accountId: 'helper-bot',
      articleExternalId: 'bridge',
      text: '我是AI助手：这座大桥全长两千八百米，预计明年三月开工。',
    });
    const body = await scored(((await res.json()) as { id: string }).id);
    expect(body.result!.label).toBe('ai_declared');
    expect(body.result!.reasons.map((r) => r.code)).toContain('declared_ai');
  });

  it('flags a template posted by several accounts, signs comment.flagged, groups it for review and decides it in one action', async () => {
    const created = await env.request('POST', '/v1/webhooks', { key: admin, body: { url: receiver.url('/c'), events: ['comment.flagged', 'comment.decided'] } });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };
    const template = (n: number) => `这篇文章写得太好了，作者的观点让我深受启发，已经转发给身边的朋友们了${'！'.repeat(1 + (n % 2))}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post('/v1/comments', { externalId: `farm-${i}`, accountId: `farm-acct-${i}`, articleExternalId: `post-${i}`, text: template(i) });
      ids.push(((await res.json()) as { id: string }).id);
      await scored(ids[i]!);
    }
    const last = await scored(ids[4]!);
    expect(last.result!.verdict).toBe('flag');
    expect(last.result!.label).toBe('ai_undeclared');
    const reuse = last.result!.reasons.find((r) => r.code === 'comment.template_reuse');
    expect(reuse?.evidence).toMatchObject({ accounts: 5 });
    const hooks = await waitFor(async () => {
      const h = receiver.received.filter((r) => r.path === '/c' && r.headers['x-slopguard-event'] === 'comment.flagged');
      return h.some((x) => (JSON.parse(x.body) as { data: { commentId: string } }).data.commentId === ids[4]) && h;
    });
    for (const h of hooks) {
      expect(
        verifyWebhookSignature({ secret, body: h.body, timestamp: h.headers['x-slopguard-timestamp'] as string, signature: h.headers['x-slopguard-signature'] as string }),
      ).toEqual({ ok: true });
    }

    const queue = (await (await env.request('GET', '/v1/review/comments?group=template', { key: moderator })).json()) as {
      groups: { key: string; accounts: string[]; comments: { id: string; templateId: string | null }[] }[];
    };
    const group = queue.groups.find((g) => g.key === last.templateId);
    expect(group?.accounts.length).toBeGreaterThanOrEqual(3);
    const decided = await env.request('POST', '/v1/review/comments/decisions', {
      key: moderator,
      body: { templateId: last.templateId, decision: 'confirm_ai', note: 'farm template' },
    });
    expect(decided.status).toBe(200);
    expect(((await decided.json()) as { decided: number }).decided).toBe(5);
    const repeat = await env.request('POST', '/v1/review/comments/decisions', { key: moderator, body: { templateId: last.templateId, decision: 'confirm_ai' } });
    expect(await repeat.json()).toMatchObject({ decided: 0, unchanged: 5 });
    const open = (await (await env.request('GET', `/v1/review/comments?group=template&template=${last.templateId}`, { key: moderator })).json()) as { total: number };
    expect(open.total).toBe(0);
    const decidedHook = await waitFor(async () => receiver.received.find((r) => r.path === '/c' && r.headers['x-slopguard-event'] === 'comment.decided'));
    expect((JSON.parse(decidedHook.body) as { data: { items: unknown[] } }).data.items).toHaveLength(5);
    const bad = await env.request('POST', '/v1/review/comments/decisions', { key: moderator, body: { templateId: 'x', commentIds: ['y'], decision: 'human' } });
    expect(bad.status).toBe(422);
    expect((await env.request('POST', '/v1/review/comments/decisions', { key: moderator, body: { templateId: 'tpl_none', decision: 'human' } })).status).toBe(404);
  });
});
