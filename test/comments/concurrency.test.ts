import { afterEach, describe, expect, it } from 'vitest';
import { boostingSettingsSchema, CommentBoosting } from '../../src/signals/comment-boosting.ts';
import { commentSkeleton, commentTemplateSettingsSchema, CommentTemplates, type TemplateResult } from '../../src/signals/comment-templates.ts';
import { isolatedRedis, keysPerMaster, keysUnder, type RedisKind, testRedis } from '../signals/redis-helper.ts';

/**
 * The comment index under concurrency, on one Redis and on the Redis Cluster: the guarantees
 * stated in src/signals/comment-templates.ts and comment-boosting.ts.
 */

const settings = commentTemplateSettingsSchema.parse({});
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** `n` workers' worth of the comment index, each on its own connection (as worker processes are), on one key prefix. */
async function workers(kind: RedisKind, n: number) {
  const own = await isolatedRedis(kind);
  cleanups.push(own.cleanup);
  const clients = Array.from({ length: n }, () => testRedis(kind));
  cleanups.push(async () => clients.forEach((c) => c.disconnect()));
  return {
    ...own,
    templates: clients.map((c) => new CommentTemplates(c, settings, own.prefix)),
    boosting: clients.map((c) => new CommentBoosting(c, boostingSettingsSchema.parse({}), own.prefix)),
  };
}

/** Copies of one farm comment that differ in numbers, punctuation, spaces, emoji and case: one skeleton. */
const FARM = (i: number) =>
  [
    `这个产品我用了${i + 2}个月，效果非常明显，强烈推荐给大家购买！`,
    `这个产品我用了${i % 9}个月 效果非常明显 强烈推荐给大家购买👍👍`,
    `这个产品我用了${(i * 7) % 13}个月……效果非常明显！！强烈推荐给大家购买。`,
  ][i % 3]!;

describe.each(['single', 'cluster'] as const)('comment templates under concurrency on %s Redis', (kind) => {
  it('near-copies from many accounts submitted at once join one template, each comment counted once even when observed twice at once', async () => {
    const { templates } = await workers(kind, 4);
    const n = 40;
    expect(new Set(Array.from({ length: n }, (_, i) => commentSkeleton(FARM(i)))).size).toBe(1);
    const observe = (i: number, w: number) =>
      templates[w % templates.length]!.observe({
        tenantId: 'big',
        commentId: `c${i}`,
        accountId: `acct-${i}`,
        articleKey: `post-${i % 20}`,
        text: FARM(i),
        lang: 'zh',
        postedAt: 1_000 + i,
      });
    // Every comment twice, by different workers, all in flight together.
    const results = await Promise.all(Array.from({ length: 2 * n }, (_, k) => observe(k % n, k)));
    // The comment that came first in its buckets found nothing yet (no template when it was
    // scored); every other one names the template, and there is one.
    const ids = new Set(results.map((r) => r.templateId).filter(Boolean));
    expect([...ids]).toHaveLength(1);
    const templateId = [...ids][0];
    expect(templateId).toMatch(/^tpl_/);
    // Each comment is a first observation exactly once.
    for (let i = 0; i < n; i++) expect(results.filter((r, k) => k % n === i && r.firstObservation)).toHaveLength(1);
    // Afterwards every comment is in that template (observing again changes nothing), which
    // counts 40 accounts with one comment each, and 20 articles (a HyperLogLog estimate).
    const again: TemplateResult[] = await Promise.all(Array.from({ length: n }, (_, i) => observe(i, i)));
    for (const r of again) expect(r).toMatchObject({ templateId, accounts: n, ownUses: 1, firstObservation: false });
    expect(Math.abs(again[0]!.articles - 20)).toBeLessThanOrEqual(1);
    expect(Math.max(...results.map((r) => r.accounts))).toBe(n);
  });

  it('near-copies with different skeletons submitted at once end in one template (merged when two were founded at once)', async () => {
    const { templates } = await workers(kind, 4);
    // One character changed at a different place in each: over 20 skeletons, pairwise similar.
    const base = Array.from('这个产品我用了很久效果非常明显强烈推荐给大家购买真的不错');
    const variant = (i: number) => base.map((c, k) => (k === 2 + (i % (base.length - 4)) ? '好坏大小多少快慢高低新旧'[i % 12] : c)).join('');
    const n = 30;
    expect(new Set(Array.from({ length: n }, (_, i) => commentSkeleton(variant(i)))).size).toBeGreaterThan(20);
    const observe = (i: number, w: number) =>
      templates[w % 4]!.observe({ tenantId: 'big', commentId: `v${i}`, accountId: `acct-${i}`, articleKey: `post-${i}`, text: variant(i), lang: 'zh', postedAt: i });
    const results = await Promise.all(Array.from({ length: n }, (_, i) => observe(i, i)));
    const after = await Promise.all(Array.from({ length: n }, (_, i) => observe(i, i + 1)));
    const ids = new Set(after.map((r) => r.templateId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^tpl_/);
    for (const r of after) expect(r).toMatchObject({ accounts: n, ownUses: 1 });
    // What each reported when scored names that template or one merged into it.
    const merged = new Set(results.flatMap((r) => r.merged ?? []));
    for (const r of results) if (r.templateId && !ids.has(r.templateId)) expect(merged.has(r.templateId)).toBe(true);
  });

  it('one account posting the copy under many articles at once counts as one account with all its uses', async () => {
    const { templates } = await workers(kind, 4);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        templates[i % 4]!.observe({
          tenantId: 'big',
          commentId: `s${i}`,
          accountId: i < 8 ? 'spammer' : `other-${i}`,
          articleKey: `post-${i}`,
          text: FARM(i),
          lang: 'zh',
          postedAt: i,
        }),
      ),
    );
    expect(new Set(results.map((r) => r.templateId).filter(Boolean)).size).toBe(1);
    const last = await templates[0]!.observe({ tenantId: 'big', commentId: 's0', accountId: 'spammer', articleKey: 'post-0', text: FARM(0), lang: 'zh', postedAt: 0 });
    expect(last).toMatchObject({ accounts: 5, ownUses: 8 });
    expect(Math.abs(last.articles - 12)).toBeLessThanOrEqual(1);
  });

  it('a first commenter observed twice at once counts each article once', async () => {
    const { boosting } = await workers(kind, 4);
    const observe = (commentId: string, accountId: string, i: number, postedAt: number, w: number) =>
      boosting[w % 4]!.observe({ tenantId: 'big', commentId, accountId, articleKey: `star-${i}`, author: 'star', postedAt });
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => [
        observe(`f${i}`, 'fan', i, 1000 * i, i),
        observe(`f${i}`, 'fan', i, 1000 * i, i + 1),
        observe(`o${i}`, `other-${i}`, i, 1000 * i + 500, i + 2),
      ]).flat(),
    );
    const signal = await observe('f0', 'fan', 0, 0, 0);
    expect(signal).toMatchObject({ code: 'first_commenter', value: 6, evidence: { firstOn: 6, authorArticles: 6 } });
  });
});

describe('one tenant’s comment index on the Redis Cluster', () => {
  it('spreads its comment keys over every master', async () => {
    const { templates, boosting, redis, prefix } = await workers('cluster', 1);
    for (let i = 0; i < 60; i++) {
      const text = i % 3 === 0 ? FARM(i) : `今天第${i}次来这里看看，${['天气不错', '孩子很开心', '晚上吃火锅', '价格有点贵'][i % 4]}，${'一二三四五六七八九'.slice(i % 9)}`;
      const c = { tenantId: 'big', commentId: `c${i}`, accountId: `acct-${i % 25}`, articleKey: `post-${i % 30}`, postedAt: 1000 * i };
      await templates[0]!.observe({ ...c, text, lang: 'zh' });
      await boosting[0]!.observe({ ...c, author: `author-${i % 7}` });
    }
    const perMaster = await keysPerMaster(redis, prefix);
    expect(perMaster).toHaveLength(3);
    const total = (await keysUnder(redis, prefix)).length;
    expect(total).toBeGreaterThan(300);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(total);
    // Keys are placed by their own hash or their entity's tag: each master holds roughly a third.
    for (const count of perMaster) expect(count).toBeGreaterThan(total / 5);
  });
});
