import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPgliteDb } from '../../src/db/pglite.ts';
import { ClusterService } from '../../src/services/clusters.ts';
import { ReviewService } from '../../src/services/review.ts';
import { seed } from './seed.ts';

/** The embedded default (`npm start`) runs on PGlite: the review SQL must work there too. */
describe('review on PGlite', () => {
  let db: Db;
  let review: ReviewService;
  beforeAll(async () => {
    db = await createPgliteDb();
    await migrate(db);
    review = new ReviewService(db, new ClusterService(db), { leaseSeconds: 60, maxLeaseSeconds: 600, maxBulkItems: 100 });
  });
  afterAll(() => db.close());

  it('queues, claims, decides, audits and exports', async () => {
    const ids = await seed(
      db,
      't1',
      [
        { externalId: 'a', accountId: 'u1', verdict: 'flag', score: 0.9 },
        { externalId: 'b', accountId: 'u2', verdict: 'review', score: 0.7 },
        { externalId: 'c', accountId: 'u3', verdict: 'flag', score: 0.8 },
      ],
      { clusterId: 'cl_p', batchId: 'bat_p' },
    );
    const page = await review.queue('t1', { group: 'article', sort: 'priority', state: 'open', limit: 2 });
    expect(page.items.map((i) => i.id)).toEqual([ids[0], ids[2]]);
    const next = await review.queue('t1', {
      group: 'article',
      sort: 'age',
      state: 'open',
      limit: 2,
      cursor: (await review.queue('t1', { group: 'article', sort: 'age', state: 'open', limit: 2 })).nextCursor,
    });
    expect(next.items.map((i) => i.id)).toEqual([ids[2]]);
    expect((await review.queue('t1', { group: 'cluster', sort: 'priority', state: 'open', limit: 5 })).items).toHaveLength(1);
    const who = { tenantId: 't1', keyId: 'key_a' };
    expect((await review.claim(who, { type: 'cluster', id: 'cl_p' })).claimed).toHaveLength(3);
    await expect(review.claim({ tenantId: 't1', keyId: 'key_b' }, { type: 'selection', articleIds: [ids[0]!] })).rejects.toMatchObject({ code: 'conflict' });
    const decided = await review.decide(who, { type: 'batch', id: 'bat_p' }, 'confirm_ai_undeclared', 'farm');
    expect(decided).toMatchObject({ requested: 3, decided: 3 });
    expect((await review.audit('t1', { batchId: 'bat_p', limit: 10 })).events).toHaveLength(4);
    expect((await review.audit('t1', { clusterId: 'cl_p', limit: 10 })).events).toHaveLength(3);
    const { records } = await review.labelled('t1', { limit: 10 });
    expect(records.map((r) => r.label)).toEqual(['ai', 'ai', 'ai']);
    expect((await review.account('t1', 'u1')).clusters).toHaveLength(1);
  });
});
