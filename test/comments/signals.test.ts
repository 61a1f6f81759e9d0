import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultCommentFusionConfig, fuseComment, type CommentFusionInput } from '../../src/scoring/comment-fusion.ts';
import { commentRelevance } from '../../src/scoring/comment-relevance.ts';
import { commentTone } from '../../src/scoring/comment-tone.ts';
import { declaresAi } from '../../src/services/comment-scoring.ts';
import { boostingSettingsSchema, CommentBoosting } from '../../src/signals/comment-boosting.ts';
import { commentSkeleton, commentTemplateSettingsSchema, CommentTemplates } from '../../src/signals/comment-templates.ts';
import { isolatedRedis } from '../signals/redis-helper.ts';

const ARTICLE = { title: '跨江大桥明年开工', text: '市政府宣布跨江大桥将于明年三月开工，总投资约四十二亿元。大桥建成后通勤时间将从五十分钟缩短到十五分钟。' };

describe('beside the point', () => {
  it('is unavailable without the article or a parent, generic for stock praise, specific when it picks up the article', () => {
    expect(commentRelevance('写得真好', 'zh', null, null)).toEqual({ status: 'unavailable', reason: 'article_unknown' });
    const generic = commentRelevance('写得真好，受益匪浅！', 'zh', ARTICLE, null);
    expect(generic).toMatchObject({ status: 'measured', kind: 'generic', offTopic: 1 });
    const specific = commentRelevance('十五分钟就能过江？我每天通勤要五十分钟', 'zh', ARTICLE, null);
    expect(specific).toMatchObject({ status: 'measured', kind: 'specific' });
    if (specific.status === 'measured') expect(specific.passage?.text).toContain('十五分钟');
    const unrelated = commentRelevance('今晚的球赛太精彩了，梅西又进球了', 'zh', ARTICLE, null);
    expect(unrelated).toMatchObject({ status: 'measured', kind: 'unrelated' });
    // A reply is on the point when it answers its parent comment.
    const reply = commentRelevance('梅西那个进球确实漂亮', 'zh', ARTICLE, '梅西今晚的进球你们看了吗');
    expect(reply).toMatchObject({ kind: 'specific' });
  });
});

describe('tone', () => {
  it('reads formulaic replies as machine-like and chatty ones as a person', () => {
    expect(commentTone('这篇文章深入探讨了教育公平问题，提供了宝贵的见解，期待作者更多精彩内容。', 'zh').machineLike).toBeGreaterThan(0.8);
    expect(commentTone('哈哈我家孩子也是这样，笑死了？？', 'zh').machineLike).toBeLessThan(0.3);
    expect(commentTone('This article delves into the topic and provides valuable insights.', 'en').machineLike).toBeGreaterThan(0.8);
    expect(commentTone('lol my kid did the exact same thing last year, honestly no idea why', 'en').machineLike).toBeLessThan(0.3);
  });
});

describe('declared AI comments', () => {
  it('finds a bot that says it is one', () => {
    expect(declaresAi({ declaredAi: false, text: '我是AI助手，以下是文章摘要' })).toBe(true);
    expect(declaresAi({ declaredAi: false, text: "I'm a bot and this action was performed automatically." })).toBe(true);
    expect(declaresAi({ declaredAi: false, text: '我觉得这篇写得很好' })).toBe(false);
    expect(declaresAi({ declaredAi: true, text: '写得很好' })).toBe(true);
  });
});

describe('fusion rules', () => {
  const base = (over: Partial<CommentFusionInput> = {}): CommentFusionInput => ({
    lang: 'zh',
    declaredAi: false,
    relevance: commentRelevance('写得真好，受益匪浅！', 'zh', ARTICLE, null),
    tone: commentTone('写得真好，受益匪浅！', 'zh'),
    detector: null,
    template: { indexed: false, skeletonLength: 8, templateId: null, accounts: 1, articles: 1, ownUses: 1, similar: [], joined: [], firstObservation: true },
    informativeLength: 0,
    behaviour: [],
    boosting: null,
    ...over,
  });
  it('never flags or reviews on text alone: generic praise, off-topic, flat tone all pass', () => {
    expect(fuseComment(base()).verdict).toBe('pass');
    const off = commentRelevance('今晚的球赛太精彩了，梅西又进球了', 'zh', ARTICLE, null);
    expect(fuseComment(base({ relevance: off, tone: commentTone('总的来说，这篇文章非常有价值。', 'zh') })).verdict).toBe('pass');
  });
  it('flags a template shared by three accounts with a doubtful text, reviews one shared by two, ignores stock phrases', () => {
    const template = (accounts: number) => ({
      indexed: true,
      skeletonLength: 30,
      templateId: 'tpl_x',
      accounts,
      articles: accounts,
      ownUses: 1,
      similar: [],
      joined: [],
      firstObservation: true,
    });
    expect(fuseComment(base({ template: template(3), informativeLength: 20 }))).toMatchObject({ verdict: 'flag', label: 'ai_undeclared' });
    expect(fuseComment(base({ template: template(2), informativeLength: 20 })).verdict).toBe('review');
    // "感谢分享，学到了很多" under many accounts is people being polite: too little beyond the stock phrase.
    expect(fuseComment(base({ template: template(12), informativeLength: 2 })).verdict).toBe('pass');
  });
  it('keeps declared AI comments ai_declared, in review when the account looks like a farm', () => {
    const declared = fuseComment(base({ declaredAi: true }));
    expect(declared).toMatchObject({ verdict: 'pass', label: 'ai_declared' });
    const farm = fuseComment(
      base({
        declaredAi: true,
        informativeLength: 20,
        template: { indexed: true, skeletonLength: 30, templateId: 'tpl_x', accounts: 5, articles: 5, ownUses: 1, similar: [], joined: [], firstObservation: true },
      }),
    );
    expect(farm).toMatchObject({ verdict: 'review', label: 'ai_declared' });
    expect(defaultCommentFusionConfig.template.flagAccounts).toBe(3);
  });
});

describe.each(['single', 'cluster'] as const)('template index and boosting over %s Redis', (kind) => {
  let r: Awaited<ReturnType<typeof isolatedRedis>>;
  beforeEach(async () => {
    r = await isolatedRedis(kind);
  });
  afterEach(() => r.cleanup());

  it('finds copies across punctuation and numbers, counts accounts and articles once, and leaves stock phrases unindexed', async () => {
    expect(commentSkeleton('支持！！第3篇写得好 好好好')).toBe('支持第#篇写得好');
    const templates = new CommentTemplates(r.redis, commentTemplateSettingsSchema.parse({}), r.prefix);
    const text = (i: number) => `这篇文章写得太好了，作者的观点让我深受启发，已经转发给${i}个朋友了${i % 2 ? '！' : '。。'}`;
    const first = await templates.observe({ tenantId: 't', commentId: 'c0', accountId: 'a0', articleKey: 'p0', text: text(0), lang: 'zh', postedAt: 1 });
    expect(first).toMatchObject({ indexed: true, templateId: null });
    let last: Awaited<ReturnType<typeof templates.observe>> | undefined;
    for (let i = 1; i < 4; i++)
      last = await templates.observe({ tenantId: 't', commentId: `c${i}`, accountId: `a${i}`, articleKey: `p${i}`, text: text(i), lang: 'zh', postedAt: 1 + i });
    expect(last).toMatchObject({ accounts: 4, articles: 4, ownUses: 1 });
    expect(last!.templateId).toMatch(/^tpl_/);
    // Observing again (a retry) counts nothing twice.
    const again = await templates.observe({ tenantId: 't', commentId: 'c3', accountId: 'a3', articleKey: 'p3', text: text(3), lang: 'zh', postedAt: 4 });
    expect(again).toMatchObject({ templateId: last!.templateId, accounts: 4, firstObservation: false });
    // Concurrent copies join one template.
    const burst = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        templates.observe({
          tenantId: 't',
          commentId: `b${i}`,
          accountId: `b${i}`,
          articleKey: 'q',
          text: '这个产品我用了三个月，效果非常明显，强烈推荐给大家购买',
          lang: 'zh',
          postedAt: 10,
        }),
      ),
    );
    expect(new Set(burst.map((b) => b.templateId).filter(Boolean)).size).toBe(1);
    expect(await templates.observe({ tenantId: 't', commentId: 's', accountId: 's', articleKey: 'p', text: '好文', lang: 'zh', postedAt: 5 })).toMatchObject({ indexed: false });
    const unrelated = await templates.observe({
      tenantId: 't',
      commentId: 'u',
      accountId: 'u',
      articleKey: 'p',
      text: '今晚的球赛太精彩了，梅西又进球了，太激动',
      lang: 'zh',
      postedAt: 6,
    });
    expect(unrelated.templateId).toBeNull();
  });

  it('says when an account comments first on most articles of another account', async () => {
    const boosting = new CommentBoosting(r.redis, boostingSettingsSchema.parse({}), r.prefix);
    let signal = null;
    for (let i = 0; i < 5; i++) {
      signal = await boosting.observe({ tenantId: 't', commentId: `f${i}`, accountId: 'fan', articleKey: `star-${i}`, author: 'star', postedAt: 1000 * i });
      await boosting.observe({ tenantId: 't', commentId: `o${i}`, accountId: `other-${i}`, articleKey: `star-${i}`, author: 'star', postedAt: 1000 * i + 500 });
    }
    expect(signal).toMatchObject({ code: 'first_commenter', value: 5, evidence: { author: 'star', firstOn: 5 } });
    // Those who come second are not boosting, and an account commenting on its own article is not either.
    expect(await boosting.observe({ tenantId: 't', commentId: 'o9', accountId: 'other-1', articleKey: 'star-9', author: 'star', postedAt: 99_000 })).toBeNull();
    expect(await boosting.observe({ tenantId: 't', commentId: 'self', accountId: 'star', articleKey: 'star-1', author: 'star', postedAt: 1 })).toBeNull();
  });
});
