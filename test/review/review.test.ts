import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';
import { csvCell } from '../../src/api/routes/review.ts';
import { seed, type SeedArticle } from './seed.ts';

interface Page {
  items: { kind: string; id: string; score?: number; state?: string; claim?: { moderator: string } | null; items?: number; pending?: number; clusterSize?: number | null }[];
  nextCursor: string | null;
  counts: { total: number; byState: Record<string, number>; byVerdict: Record<string, number>; claimed: number };
}

const art = (externalId: string, over: Partial<SeedArticle> = {}): SeedArticle => ({ externalId, accountId: 'acct-1', verdict: 'flag', score: 0.9, ...over });

describe('moderator review API', () => {
  let env: TestEnv;
  let modA: { key: string; keyId: string };
  let modB: { key: string; keyId: string };
  let tenant: string;
  let n = 0;
  const freshTenant = async () => {
    tenant = `tenant-r${++n}`;
    const a = await env.ctx.keys.create(tenant, 'moderator');
    const b = await env.ctx.keys.create(tenant, 'moderator');
    modA = { key: a.key, keyId: a.keyId };
    modB = { key: b.key, keyId: b.keyId };
  };
  const get = async <T = Page>(path: string, key = modA.key) => {
    const res = await env.request('GET', path, { key });
    expect(res.status, `${path}: ${res.status}`).toBe(200);
    return (await res.json()) as T;
  };
  const post = (path: string, body: unknown, key = modA.key) => env.request('POST', path, { key, body });

  beforeAll(async () => {
    env = await createTestEnv({ env: { REVIEW_MAX_BULK_ITEMS: '2000' } });
  });
  afterAll(() => env.close());

  it('lists flagged and review items by priority or age, filters them, and pages by cursor without gaps', async () => {
    await freshTenant();
    const ids = await seed(env.ctx.db, tenant, [
      art('a', { score: 0.95 }),
      art('b', { score: 0.7, verdict: 'review', accountId: 'acct-2' }),
      art('c', { score: 0.2, verdict: 'pass' }),
      art('d', { score: 0.85 }),
      art('e', { score: 0.85, accountId: 'acct-2' }),
      art('f', { score: 0.6, verdict: 'review', label: 'uncertain' }),
    ]);
    const all = await get('/v1/review/queue');
    expect(all.items.map((i) => i.score)).toEqual([0.95, 0.85, 0.85, 0.7, 0.6]);
    expect(all.items).not.toContainEqual(expect.objectContaining({ id: ids[2] }));
    expect(all.counts).toMatchObject({ total: 5, byState: { pending: 5 }, byVerdict: { flag: 3, review: 2 } });

    const byAge = await get('/v1/review/queue?sort=age');
    expect(byAge.items.map((i) => i.id)).toEqual([ids[0], ids[1], ids[3], ids[4], ids[5]]);

    expect((await get('/v1/review/queue?verdict=review')).items).toHaveLength(2);
    expect((await get('/v1/review/queue?label=uncertain')).items.map((i) => i.id)).toEqual([ids[5]]);
    expect((await get('/v1/review/queue?minScore=0.8&maxScore=0.9')).items).toHaveLength(2);
    expect((await get('/v1/review/queue?account=acct-2')).items.map((i) => i.id).sort()).toEqual([ids[1], ids[4]].sort());
    expect((await get(`/v1/review/queue?model=${encodeURIComponent('nope')}`)).items).toHaveLength(0);
    expect((await get('/v1/review/queue?from=2026-11-01T00:00:02Z&to=2026-11-01T00:00:04Z')).items.map((i) => i.id)).toEqual([ids[3]]);

    for (const sort of ['priority', 'age']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Page = await get(`/v1/review/queue?sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.items.map((i) => i.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen.sort()).toEqual([ids[0], ids[1], ids[3], ids[4], ids[5]].sort());
    }
    const bad = await env.request('GET', '/v1/review/queue?cursor=garbage', { key: modA.key });
    expect(bad.status).toBe(422);
  });

  it('groups the queue by batch and by cluster, with counts and cluster size first', async () => {
    await freshTenant();
    await seed(env.ctx.db, tenant, [art('b1', { score: 0.99 }), art('b2')], { batchId: `bat_${tenant}` });
    await seed(env.ctx.db, tenant, [art('c1', { accountId: 'x1' }), art('c2', { accountId: 'x2' }), art('c3', { accountId: 'x3', score: 0.5, verdict: 'review' })], {
      clusterId: `cl_${tenant}_big`,
    });
    await seed(env.ctx.db, tenant, [art('s1', { accountId: 'y1', score: 0.97 }), art('s2', { accountId: 'y2' })], { clusterId: `cl_${tenant}_small` });
    const batches = await get('/v1/review/queue?group=batch');
    expect(batches.items).toEqual([expect.objectContaining({ kind: 'batch', id: `bat_${tenant}`, items: 2, pending: 2 })]);
    const clusters = await get('/v1/review/queue?group=cluster');
    expect(clusters.items.map((c) => [c.id, c.items, c.clusterSize])).toEqual([
      [`cl_${tenant}_big`, 3, 3],
      [`cl_${tenant}_small`, 2, 2],
    ]);
    const page1 = await get('/v1/review/queue?group=cluster&limit=1');
    const page2 = await get(`/v1/review/queue?group=cluster&limit=1&cursor=${page1.nextCursor}`);
    expect([page1.items[0]?.id, page2.items[0]?.id]).toEqual([`cl_${tenant}_big`, `cl_${tenant}_small`]);
    expect(page2.nextCursor).toBeNull();
    const inCluster = await get(`/v1/review/queue?cluster=cl_${tenant}_big`);
    expect(inCluster.items).toHaveLength(3);
    const detail = await get<{ articles: { id: string; text: string }[]; counts: Page['counts']; cluster: { accounts: string[] } }>(`/v1/review/clusters/cl_${tenant}_big`);
    expect(detail.articles).toHaveLength(3);
    expect(detail.cluster.accounts).toEqual(['x1', 'x2', 'x3']);
    const batch = await get<{ articles: unknown[] }>(`/v1/review/batches/bat_${tenant}`);
    expect(batch.articles).toHaveLength(2);
  });

  it('gives an item to exactly one of two moderators racing for it, and shows the claim to others', async () => {
    await freshTenant();
    const ids = await seed(
      env.ctx.db,
      tenant,
      Array.from({ length: 10 }, (_, i) => art(`race-${i}`)),
    );
    for (const id of ids) {
      const [a, b] = await Promise.all([post('/v1/review/claims', { articleIds: [id] }), post('/v1/review/claims', { articleIds: [id] }, modB.key)]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const loser = (a.status === 409 ? await a.json() : await b.json()) as { error: { code: string; details: { conflicts: { moderator: string }[] } } };
      const winner = a.status === 200 ? modA.keyId : modB.keyId;
      expect(loser.error.code).toBe('conflict');
      expect(loser.error.details.conflicts[0]?.moderator).toBe(winner);
    }
    const rows = await env.ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM review_claims WHERE tenant_id = $1', [tenant]);
    expect(rows[0]?.n).toBe(10);
    const { claims } = await get<{ claims: { articleId: string; moderator: string }[] }>('/v1/review/claims', modB.key);
    expect(claims).toHaveLength(10);
    const queue = await get('/v1/review/queue', modB.key);
    expect(queue.items.every((i) => i.claim !== null)).toBe(true);
    expect(queue.counts.claimed).toBe(10);
  });

  it('claims a whole cluster all or nothing, renews its own lease, and releases', async () => {
    await freshTenant();
    const ids = await seed(env.ctx.db, tenant, [art('k1', { accountId: 'u1' }), art('k2', { accountId: 'u2' }), art('k3', { accountId: 'u3' })], { clusterId: `cl_${tenant}` });
    expect((await post('/v1/review/claims', { articleIds: [ids[1]] }, modB.key)).status).toBe(200);
    const refused = await post('/v1/review/claims', { clusterId: `cl_${tenant}` });
    expect(refused.status).toBe(409);
    expect((await env.ctx.db.query('SELECT 1 FROM review_claims WHERE tenant_id = $1 AND moderator = $2', [tenant, modA.keyId])).length).toBe(0);
    expect(await (await post('/v1/review/claims/release', { articleIds: [ids[1]] }, modB.key)).json()).toEqual({ released: 1 });
    const claimed = (await (await post('/v1/review/claims', { clusterId: `cl_${tenant}` })).json()) as { claimed: string[]; expiresAt: string };
    expect(claimed.claimed).toEqual([...ids].sort());
    const renewed = (await (await post('/v1/review/claims', { clusterId: `cl_${tenant}`, leaseSeconds: 3000 })).json()) as { expiresAt: string };
    expect(Date.parse(renewed.expiresAt)).toBeGreaterThan(Date.parse(claimed.expiresAt));
  });

  it('returns an abandoned item to the queue when its lease expires', async () => {
    await freshTenant();
    const [id] = await seed(env.ctx.db, tenant, [art('lease')]);
    expect((await post('/v1/review/claims', { articleIds: [id], leaseSeconds: 1 })).status).toBe(200);
    expect((await post('/v1/review/claims', { articleIds: [id] }, modB.key)).status).toBe(409);
    const taken = await waitFor(
      async () => {
        const res = await post('/v1/review/claims', { articleIds: [id] }, modB.key);
        return res.status === 200 ? ((await res.json()) as { moderator: string }) : undefined;
      },
      5000,
      100,
    );
    expect(taken.moderator).toBe(modB.keyId);
  });

  it('records each decision as an event with actor, reason and versions; repeats are no-ops', async () => {
    await freshTenant();
    const [id, other] = await seed(env.ctx.db, tenant, [art('one'), art('two')]);
    const first = (await (await post('/v1/review/decisions', { articleIds: [id], decision: 'escalate', comment: 'not sure' })).json()) as { decided: number };
    expect(first.decided).toBe(1);
    expect((await get('/v1/review/queue?state=escalated')).items.map((i) => i.id)).toEqual([id]);
    const res = await post('/v1/review/decisions', { articleIds: [id], decision: 'confirm_ai_undeclared', comment: 'template farm' });
    expect(res.status).toBe(200);
    const again = (await (await post('/v1/review/decisions', { articleIds: [id], decision: 'confirm_ai_undeclared' })).json()) as { decided: number; unchanged: number };
    expect(again).toMatchObject({ decided: 0, unchanged: 1 });
    const events = await env.ctx.db.query<{
      type: string;
      actor: string;
      payload: { decision: string; comment: string | null; previous: string | null };
      model_version: string;
      config_version: string;
    }>("SELECT type, actor, payload, model_version, config_version FROM events WHERE subject_id = $1 AND type = 'review.decided' ORDER BY id", [id]);
    expect(events.map((e) => e.payload.decision)).toEqual(['escalate', 'confirm_ai_undeclared']);
    expect(events[1]).toMatchObject({ actor: modA.keyId, payload: { comment: 'template farm', previous: 'escalate' } });
    expect(events[1]?.model_version).toContain('text-signals');
    expect(events[1]?.config_version).toBe('fusion-test');
    const counts = (await get('/v1/review/queue?state=all')).counts;
    expect(counts.byState).toMatchObject({ decided: 1, pending: 1 });
    // The decided item left the open queue; an item another moderator holds cannot be decided.
    expect((await get('/v1/review/queue')).items.map((i) => i.id)).toEqual([other]);
    await post('/v1/review/claims', { articleIds: [other] }, modB.key);
    expect((await post('/v1/review/decisions', { articleIds: [other], decision: 'human' })).status).toBe(409);
    const mine = await post('/v1/review/decisions', { articleIds: [other], decision: 'human' }, modB.key);
    expect(mine.status).toBe(200);
    expect((await get<{ claims: unknown[] }>('/v1/review/claims')).claims).toHaveLength(0);
  });

  it('puts a decided article back in the queue when a new revision is scored', async () => {
    await freshTenant();
    const [id] = await seed(env.ctx.db, tenant, [art('rev')]);
    await post('/v1/review/decisions', { articleIds: [id], decision: 'human' });
    expect((await get('/v1/review/queue')).items).toHaveLength(0);
    // The platform resubmitted changed text and it was scored again (revision 2).
    await env.ctx.db.query('UPDATE articles SET revision = 2 WHERE id = $1', [id]);
    const queue = await get('/v1/review/queue');
    expect(queue.items.map((i) => [i.id, i.state])).toEqual([[id, 'pending']]);
    const again = (await (await post('/v1/review/decisions', { articleIds: [id], decision: 'human' })).json()) as { decided: number };
    expect(again.decided).toBe(1);
  });

  it('decides 1,000 items of a batch in one atomic request', async () => {
    await freshTenant();
    const batchId = `bat_big_${tenant}`;
    const ids = await seed(
      env.ctx.db,
      tenant,
      Array.from({ length: 1000 }, (_, i) => art(`bulk-${i}`, { accountId: `acct-${i % 37}`, score: 0.5 + (i % 50) / 100 })),
      { batchId },
    );
    // One item held by another moderator: the whole request fails and writes nothing.
    await post('/v1/review/claims', { articleIds: [ids[500]] }, modB.key);
    const refused = await post('/v1/review/decisions', { batchId, decision: 'confirm_ai_undeclared', comment: 'farm' });
    expect(refused.status).toBe(409);
    const none = await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE tenant_id = $1 AND type LIKE 'review.%'", [tenant]);
    expect(none[0]?.n).toBe(0);
    await post('/v1/review/claims/release', { articleIds: [ids[500]] }, modB.key);
    const started = performance.now();
    const res = await post('/v1/review/decisions', { batchId, decision: 'confirm_ai_undeclared', comment: 'farm' });
    const ms = performance.now() - started;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ requested: 1000, decided: 1000, unchanged: 0, target: { type: 'batch', id: batchId } });
    const events = await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE tenant_id = $1 AND type = 'review.decided'", [tenant]);
    expect(events[0]?.n).toBe(1000);
    const states = await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM review_state WHERE tenant_id = $1 AND state = 'decided'", [tenant]);
    expect(states[0]?.n).toBe(1000);
    expect((await get(`/v1/review/queue?batch=${batchId}`)).counts.byState).toMatchObject({ pending: 0, decided: 1000 });
    expect(ms).toBeLessThan(5000);
    // A selection of 1,000 ids in one request works the same way.
    const selection = await post('/v1/review/decisions', { articleIds: ids, decision: 'human' });
    expect(await selection.json()).toMatchObject({ requested: 1000, decided: 1000 });
  });

  it('serves audit history per article, batch, cluster and moderator, exportable as JSONL and CSV', async () => {
    await freshTenant();
    const batchId = `bat_audit_${tenant}`;
    const clusterId = `cl_audit_${tenant}`;
    const ids = await seed(env.ctx.db, tenant, [art('au1', { accountId: 'p1', text: '=HYPERLINK("http://evil")' }), art('au2', { accountId: 'p2' })], { batchId, clusterId });
    await post('/v1/review/decisions', { clusterId, decision: 'confirm_ai_undeclared', comment: 'a "quoted", comment' });
    await post('/v1/review/decisions', { articleIds: [ids[0]], decision: 'escalate' }, modB.key);
    const byArticle = await get<{ events: { type: string; actor: string }[] }>(`/v1/audit?article=${ids[0]}`);
    expect(byArticle.events.map((e) => [e.type, e.actor])).toEqual([
      ['review.decided', modA.keyId],
      ['review.decided', modB.keyId],
    ]);
    const byCluster = await get<{ events: { type: string; subjectType: string }[] }>(`/v1/audit?cluster=${clusterId}`);
    expect(byCluster.events.map((e) => e.type)).toEqual(['review.decided', 'review.decided', 'review.bulk_decided', 'review.decided']);
    expect((await get<{ events: unknown[] }>(`/v1/audit?batch=${batchId}`)).events).toHaveLength(3);
    expect((await get<{ events: unknown[] }>(`/v1/audit?actor=${modB.keyId}`)).events).toHaveLength(1);
    const paged = await get<{ events: { id: number }[]; nextCursor: string }>(`/v1/audit?cluster=${clusterId}&limit=3`);
    const rest = await get<{ events: { id: number }[]; nextCursor: null }>(`/v1/audit?cluster=${clusterId}&limit=3&cursor=${paged.nextCursor}`);
    expect(rest.events).toHaveLength(1);
    const jsonl = await env.request('GET', `/v1/audit?cluster=${clusterId}&format=jsonl`, { key: modA.key });
    expect(jsonl.headers.get('content-type')).toContain('ndjson');
    const lines = (await jsonl.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines).toHaveLength(4);
    const csv = await (await env.request('GET', `/v1/audit?cluster=${clusterId}&format=csv`, { key: modA.key })).text();
    expect(csv.split('\r\n')[0]).toBe('id,at,type,subjectType,subjectId,actor,modelVersion,configVersion,payload');
    expect(csv).toContain('""comment"":""a \\""quoted\\"", comment""');

    const exported = await env.request('GET', '/v1/review/export', { key: modA.key });
    const records = (await exported.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // au1 is escalated now (not a label); au2 stays confirmed.
    expect(records).toHaveLength(1);
    expect(Object.keys(records[0]!).sort()).toEqual(['decision', 'generator', 'group', 'id', 'label', 'lang', 'orig_label', 'source', 'text']);
    expect(records[0]).toMatchObject({ label: 'ai', lang: 'en', generator: null, orig_label: 'confirm_ai_undeclared' });
    // what it was decided on: the verdict, score and model version then, and when
    expect(records[0]!.decision).toMatchObject({ verdict: 'flag', modelVersion: expect.stringContaining('detector'), configVersion: expect.any(String) });
    expect(Date.parse((records[0]!.decision as { at: string }).at)).toBeGreaterThan(Date.now() - 600_000);
    expect(records[0]!.id).toMatch(/^[0-9a-f]{16}$/);
    expect(records[0]!.group).toMatch(/^[0-9a-f]{16}$/);
  });

  it('shows an account: articles, verdicts, signals over time, clusters', async () => {
    await freshTenant();
    await seed(env.ctx.db, tenant, [
      art('ac1', { accountId: 'farm-1', signals: { account: { signals: [{ code: 'burst', strength: 0.8, value: 12 }] } } }),
      art('ac2', { accountId: 'farm-1', verdict: 'pass', score: 0.1 }),
    ]);
    await seed(env.ctx.db, tenant, [art('ac3', { accountId: 'farm-1' }), art('ac4', { accountId: 'farm-2' })], { clusterId: `cl_acct_${tenant}` });
    const view = await get<{ total: number; byVerdict: Record<string, number>; signals: { fired: { code: string }[] }[]; clusters: { id: string }[] }>(
      '/v1/review/accounts/farm-1',
    );
    expect(view.total).toBe(3);
    expect(view.byVerdict).toEqual({ flag: 2, pass: 1 });
    expect(view.signals.flatMap((s) => s.fired.map((f) => f.code))).toEqual(['burst']);
    expect(view.clusters.map((c) => c.id)).toEqual([`cl_acct_${tenant}`]);
  });

  it('keeps every endpoint inside its tenant: another tenant’s ids are 404, lists are empty', async () => {
    await freshTenant();
    const batchId = `bat_iso_${tenant}`;
    const clusterId = `cl_iso_${tenant}`;
    const ids = await seed(env.ctx.db, tenant, [art('iso1', { accountId: 'iso-acct' }), art('iso2', { accountId: 'iso-acct-2' })], { batchId, clusterId });
    await post('/v1/review/claims', { articleIds: [ids[0]] });
    await post('/v1/review/decisions', { articleIds: [ids[1]], decision: 'human' });
    const intruder = (await env.ctx.keys.create(`${tenant}-other`, 'admin')).key;
    const notFound: [string, string, unknown?][] = [
      ['GET', `/v1/review/articles/${ids[0]}`],
      ['GET', `/v1/review/batches/${batchId}`],
      ['GET', `/v1/review/clusters/${clusterId}`],
      ['GET', '/v1/review/accounts/iso-acct'],
      ['GET', `/v1/review/queue?batch=${batchId}`],
      ['GET', `/v1/review/queue?cluster=${clusterId}`],
      ['GET', `/v1/audit?article=${ids[0]}`],
      ['GET', `/v1/audit?batch=${batchId}`],
      ['GET', `/v1/audit?cluster=${clusterId}`],
      ['GET', `/v1/audit?article=${ids[0]}&format=csv`],
      ['POST', '/v1/review/claims', { articleIds: [ids[0]] }],
      ['POST', '/v1/review/claims', { batchId }],
      ['POST', '/v1/review/claims', { clusterId }],
      ['POST', '/v1/review/claims/release', { clusterId }],
      ['POST', '/v1/review/decisions', { articleIds: [ids[0]], decision: 'human' }],
      ['POST', '/v1/review/decisions', { batchId, decision: 'human' }],
      ['POST', '/v1/review/decisions', { clusterId, decision: 'human' }],
    ];
    for (const [method, path, body] of notFound) {
      const res = await env.request(method, path, { key: intruder, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    expect((await get('/v1/review/queue?state=all', intruder)).items).toHaveLength(0);
    expect((await get<{ claims: unknown[] }>('/v1/review/claims', intruder)).claims).toHaveLength(0);
    expect((await get<{ events: unknown[] }>(`/v1/audit?actor=${modA.keyId}`, intruder)).events).toHaveLength(0);
    expect((await (await env.request('GET', '/v1/review/export', { key: intruder })).text()).trim()).toBe('');
    // Nothing the intruder tried changed tenant A's state.
    const claims = await get<{ claims: { moderator: string }[] }>('/v1/review/claims');
    expect(claims.claims.map((c) => c.moderator)).toEqual([modA.keyId]);
  });

  it('is for moderators and admins only', async () => {
    const submitter = await env.keyFor('submitter');
    for (const path of ['/v1/review/queue', '/v1/audit', '/v1/review/claims', '/v1/review/export']) {
      expect((await env.request('GET', path, { key: submitter })).status).toBe(403);
    }
    expect((await env.request('GET', '/v1/review/queue')).status).toBe(401);
    const bad = await env.request('POST', '/v1/review/decisions', { key: await env.keyFor('moderator'), body: { articleIds: ['x'], batchId: 'y', decision: 'human' } });
    expect(bad.status).toBe(422);
  });
});

describe('CSV export cells', () => {
  it('quotes separators and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell(null)).toBe('');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
  });
});
