import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPgliteDb } from '../../src/db/pglite.ts';
import { commentInputSchema } from '../../src/domain/comment-input.ts';
import { newId } from '../../src/domain/ids.ts';
import { CommentReviewService } from '../../src/services/comment-review.ts';
import { prepareComment } from '../../src/services/comments.ts';
import { type CommentScoreRow, commentById, currentCommentScore, markCommentScoring, upsertComments, writeCommentScore, writeReevaluatedScore } from '../../src/store/comments.ts';

/** The embedded default (`npm start`) runs on PGlite: migration 070 and the comment store's SQL must work there. */
describe('comments on PGlite', () => {
  let db: Db;
  beforeAll(async () => {
    db = await createPgliteDb();
    expect(await migrate(db)).toContain('070_comments.sql');
  });
  afterAll(() => db.close());

  it('stores, scores, queues and decides comments', async () => {
    const prepared = ['a', 'b', 'c'].map((x, i) =>
      prepareComment(commentInputSchema.parse({ externalId: `c-${x}`, accountId: `u-${i}`, articleExternalId: 'p-1', text: `模板评论写得真好受益匪浅 ${x}` }), {
        maxTextChars: 1000,
      }),
    );
    const rows = await upsertComments(
      db,
      prepared.map((comment) => ({ tenantId: 't1', actor: 'key_x', comment })),
    );
    expect(rows.map((r) => r.changed)).toEqual([true, true, true]);
    expect((await upsertComments(db, [{ tenantId: 't1', actor: 'key_x', comment: prepared[0]! }]))[0]).toMatchObject({ id: rows[0]!.id, changed: false });
    const versions = { modelVersion: 'm', configVersion: 'c' };
    for (const [i, r] of rows.entries()) {
      const c = await markCommentScoring(db, { tenantId: 't1', commentId: r.id, revision: 1 }, versions);
      expect(c?.existingScoreId).toBeNull();
      const row: CommentScoreRow = {
        scoreId: newId('csc'),
        commentId: r.id,
        tenantId: 't1',
        revision: 1,
        contentHash: c!.contentHash,
        ...versions,
        score: 0.9,
        label: i === 0 ? 'uncertain' : 'ai_undeclared',
        verdict: i === 0 ? 'review' : 'flag',
        reasons: [],
        signals: { relevance: { passage: null } },
        timings: {},
        trigger: 'live',
        templateId: 'tpl_1',
        reevaluateTemplate: false,
      };
      expect(await writeCommentScore(db, row)).toBe(true);
      if (i === 0) {
        // Re-evaluation: a new score version only when the verdict rises.
        expect(await writeReevaluatedScore(db, { ...row, scoreId: newId('csc'), verdict: 'review', label: 'uncertain' })).toBe(false);
        expect(await writeReevaluatedScore(db, { ...row, scoreId: newId('csc'), verdict: 'flag', label: 'ai_undeclared', trigger: 'reevaluate' })).toBe(true);
        expect((await markCommentScoring(db, { tenantId: 't1', commentId: r.id, revision: 1 }, versions))?.existingScoreId).toBeTruthy();
      }
    }
    const stored = await commentById(db, 't1', rows[0]!.id);
    expect(stored).toMatchObject({ verdict: 'flag', templateId: 'tpl_1' });
    expect((await currentCommentScore(db, stored!))?.verdict).toBe('flag');
    expect((await db.query('SELECT evaluation FROM comment_scores WHERE comment_id = $1 ORDER BY evaluation', [rows[0]!.id])).map((x) => x.evaluation)).toEqual([0, 1]);
    const review = new CommentReviewService(db, { maxBulkItems: 100, maxMemberships: 1000 });
    const queue = await review.queue('t1', { group: 'account_cluster', state: 'open', limit: 10 });
    expect(queue.groups).toHaveLength(1);
    expect(queue.groups[0]!.accounts).toHaveLength(3);
    const decided = await review.decide({ tenantId: 't1', keyId: 'key_m' }, { type: 'account_cluster', clusterId: queue.groups[0]!.key }, 'confirm_ai', null);
    expect(decided.decided).toBe(3);
    expect((await review.queue('t1', { group: 'template', state: 'open', limit: 10 })).total).toBe(0);
  });
});
