/**
 * The comment evaluation corpus. There is no labelled comment data, so it is built, and each
 * part says how:
 *
 * 1. Human comments from the datasets (`loadHumanPairs`): the human answers of HC3 questions in
 *    `agt2025` (`hc3-zh-qa`, `hc3-en-qa`), cut to their first sentences (a comment's length),
 *    each paired with the machine answer to the same question (same `group`) standing in for the
 *    article: a text on the topic the person answered. Real people, on topic by construction.
 * 2. Off-topic pairs (`shuffledPairs`): the same human comments under another group's article.
 * 3. Generic template comments (`GENERIC_COMMENTS`) and machine-like replies
 *    (`machineReply`: formulaic summaries with a topic word of the article filled in), written
 *    here for the tests, in the style of the comment bots the seed describes.
 * 4. The farm scenario (`buildScenario`): the articles are the machine answers of 200 HC3
 *    questions (`loadHumanThreads`); the human comments are the sentences of the human answers
 *    to the same questions, each from its own account, at human times (random within two days
 *    of the article); a farm of accounts posts a fixed set of templates (`FARM_TEMPLATES`,
 *    written here) in bursts at a machine cadence; one person writes short praise under 30
 *    articles over four weeks. Deterministic from its seed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readJsonLinesFile } from '../infra/ndjson.ts';

/** A small seeded PRNG (mulberry32): the corpus is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

// ---------------------------------------------------------------- written for the tests

/** Generic comments that could sit under any article (what comment bots post). */
export const GENERIC_COMMENTS = {
  zh: [
    '写得真好，受益匪浅！',
    '感谢分享，学到了很多',
    '好文章，支持一下',
    '说得太对了，深有同感',
    '干货满满，已收藏',
    '作者辛苦了，期待更新',
    '分析得很透彻，点赞',
    '非常有启发，谢谢作者',
    '学习了，收藏了',
    '很有道理，值得一读',
    '内容详实，条理清晰，赞',
    '好文，转发了',
    '讲得很好，长知识了',
    '这篇文章写得太好了，支持作者',
    '太棒了，继续加油',
    '观点新颖，受益良多',
    '说得好，必须支持',
    '非常实用，感谢分享',
    '醍醐灌顶，茅塞顿开',
    '深度好文，值得深思',
  ],
  en: [
    'Great article, thanks for sharing!',
    'Very informative, keep it up.',
    'Well written and insightful.',
    'Thanks for sharing this, learned a lot.',
    'Great post, very helpful.',
    'Awesome content, keep up the good work!',
    'This is great, totally agree.',
    'Excellent read, thank you.',
    'Very useful information, bookmarked.',
    'Brilliant, well said.',
  ],
} as const;

/** Machine-like replies: summarise the article back in stock phrases; `{t}` is a topic word of it. */
const MACHINE_REPLIES = {
  zh: [
    '这篇文章深入探讨了{t}的问题，提供了宝贵的见解，让我对{t}有了更深入的了解。',
    '作者对{t}的分析全面而深入，逻辑清晰，论述严谨，非常有启发性。',
    '总的来说，本文关于{t}的观点非常有价值，期待作者更多精彩内容。',
    '文章从多个角度分析了{t}，不仅内容详实，而且见解独到，值得大家学习。',
    '感谢作者的分享，关于{t}的论述让我受益良多，希望大家共同关注这一话题。',
  ],
  en: [
    'This article delves into {t} and provides valuable insights. Looking forward to more content like this.',
    'A comprehensive and well-researched look at {t}. The author highlights the importance of the topic.',
    'Overall, this post sheds light on {t} in a nuanced way. Thank you for this insightful analysis.',
    "I appreciate the thoughtful discussion of {t}. It is worth noting how crucial this is in today's world.",
  ],
} as const;

/** The most frequent content bigram (zh) or long word (en) of a text: the reply's topic word. */
export function topicWord(text: string, lang: 'zh' | 'en'): string {
  const counts = new Map<string, number>();
  if (lang === 'zh') {
    const han = text.replace(/[^\u4e00-\u9fff]/g, '');
    for (let i = 0; i + 2 <= han.length; i++) {
      const b = han.slice(i, i + 2);
      if (/[的了是在和有我你他这那一不也就都而及与或]/.test(b)) continue;
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
  } else {
    for (const w of text.toLowerCase().match(/[a-z]{6,}/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  let best = lang === 'zh' ? '这个问题' : 'this topic';
  let n = 0;
  for (const [k, v] of counts) if (v > n) [best, n] = [k, v];
  return best;
}

export function machineReply(article: string, lang: 'zh' | 'en', rand: () => number): string {
  return pick(rand, MACHINE_REPLIES[lang]).replaceAll('{t}', topicWord(article, lang));
}

// ---------------------------------------------------------------- from the datasets

export interface CommentPair {
  lang: 'zh' | 'en';
  group: string;
  comment: string;
  article: string;
}

/** The first sentences of a text, up to about a comment's length. */
export function firstSentences(text: string, lang: 'zh' | 'en'): string {
  const flat = text.replace(/\s+/g, lang === 'zh' ? '' : ' ').trim();
  const limit = lang === 'zh' ? 60 : 220;
  const parts = flat.match(lang === 'zh' ? /[^。！？!?]+[。！？!?]?/g : /[^.!?]+[.!?]?/g) ?? [flat];
  let out = '';
  for (const p of parts) {
    if (out.length > 0 && out.length + p.length > limit) break;
    out += p;
  }
  return out.slice(0, limit * 2).trim();
}

async function readJsonl(file: string, each: (row: Record<string, unknown>) => void): Promise<void> {
  for await (const { text } of readJsonLinesFile(file)) each(JSON.parse(text) as Record<string, unknown>);
}

/** Human comments on topic: HC3 human answers (first sentences) with the machine answer to the same question as the article. */
export async function loadHumanPairs(datasetsDir: string): Promise<CommentPair[]> {
  const groups = new Map<string, { lang: 'zh' | 'en'; human?: string; ai?: string }>();
  for (const split of ['train', 'dev']) {
    const file = path.join(datasetsDir, 'agt2025', `${split}.jsonl.gz`);
    if (!existsSync(file)) throw new Error(`${file} is missing: the comment corpus reads the shared datasets (see their README)`);
    await readJsonl(file, (r) => {
      if (r.source !== 'agt2025/hc3-zh-qa' && r.source !== 'agt2025/hc3-en-qa') return;
      const key = String(r.group);
      const g = groups.get(key) ?? { lang: r.lang === 'zh' ? 'zh' : 'en' };
      if (r.label === 'human' && !g.human) g.human = String(r.text);
      if (r.label === 'ai' && !g.ai) g.ai = String(r.text);
      groups.set(key, g);
    });
  }
  const pairs: CommentPair[] = [];
  for (const [group, g] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    if (!g.human || !g.ai) continue;
    const comment = firstSentences(g.human, g.lang);
    if (comment.length >= 6) pairs.push({ lang: g.lang, group, comment, article: g.ai });
  }
  return pairs;
}

export interface HumanThread {
  group: string;
  /** The machine answer to the question, standing in for the article. */
  article: string;
  /** Its first sentence, standing in for a title. */
  title: string;
  /** Sentences of the human answer to the same question: one comment each. */
  comments: string[];
}

/** Chinese HC3 questions as articles with their human answers' sentences as comments. */
export async function loadHumanThreads(datasetsDir: string): Promise<HumanThread[]> {
  const groups = new Map<string, { human?: string; ai?: string }>();
  for (const split of ['train', 'dev']) {
    await readJsonl(path.join(datasetsDir, 'agt2025', `${split}.jsonl.gz`), (r) => {
      if (r.source !== 'agt2025/hc3-zh-qa' || r.lang !== 'zh') return;
      const g = groups.get(String(r.group)) ?? {};
      if (r.label === 'human' && !g.human) g.human = String(r.text);
      if (r.label === 'ai' && !g.ai) g.ai = String(r.text);
      groups.set(String(r.group), g);
    });
  }
  const threads: HumanThread[] = [];
  for (const [group, g] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    if (!g.human || !g.ai) continue;
    const sentences = (g.human.replace(/\s+/g, '').match(/[^。！？!?]+[。！？!?]?/g) ?? []).map((x) => x.trim()).filter((x) => x.length >= 8 && x.length <= 90);
    if (sentences.length === 0) continue;
    const title = (g.ai.replace(/\s+/g, '').match(/^[^。！？!?]+/)?.[0] ?? g.ai).slice(0, 40);
    threads.push({ group, article: g.ai, title, comments: sentences.slice(0, 5) });
  }
  return threads;
}

/** The same comments under another group's article of the same language (a derangement by rotation). */
export function shuffledPairs(pairs: readonly CommentPair[], rand: () => number): CommentPair[] {
  const out: CommentPair[] = [];
  for (const lang of ['zh', 'en'] as const) {
    const same = pairs.filter((p) => p.lang === lang);
    const shift = 1 + Math.floor(rand() * Math.max(1, same.length - 1));
    same.forEach((p, i) => out.push({ ...p, article: same[(i + shift) % same.length]!.article }));
  }
  return out;
}

// ---------------------------------------------------------------- the farm scenario

/** Twenty comment templates of one farm (Chinese), as bots post them: praise with a little filler. */
export const FARM_TEMPLATES = [
  '这篇文章写得太好了，作者的观点让我深受启发，已经转发给身边的朋友们了！',
  '内容非常有深度，分析得也很到位，希望作者以后多写一些这样的好文章。',
  '说得太有道理了，现在这样敢说真话的作者真的不多了，必须点赞支持一下。',
  '看完之后感触很深，文章里的每一个观点都值得我们好好思考，感谢分享。',
  '作者的文笔真好，条理清晰，通俗易懂，看完收获很大，已经收藏慢慢学习。',
  '一直在关注这个话题，今天终于看到一篇讲得这么透彻的文章，太难得了！',
  '写得非常客观全面，没有偏向任何一方，这才是真正负责任的态度，支持！',
  '这样的好内容应该让更多人看到，已经分享到朋友圈和家族群里了，大家都说好。',
  '每次看作者的文章都能学到新东西，这篇也不例外，期待下一篇早日更新。',
  '文章的分析非常专业，数据详实，观点鲜明，比那些标题党强太多了，顶一个！',
  '读完这篇文章，我对这个问题有了全新的认识，真心感谢作者的辛苦付出。',
  '难得看到这么用心的好文，逻辑严密，论证充分，建议大家都认真读一读。',
  '这才是有价值的内容，不像现在很多文章都是在浪费时间，作者辛苦了！',
  '看得出来作者做了大量的调查研究，这篇文章的含金量非常高，强烈推荐。',
  '文章写得太精彩了，一口气看完，意犹未尽，希望作者能够多多更新哦。',
  '观点独到，见解深刻，这篇文章值得反复阅读，已经推荐给了我的同事们。',
  '支持作者继续写下去，这样有思想有温度的文章现在真的太少太少了。',
  '非常赞同文章的观点，说出了我们普通老百姓的心里话，必须转发支持！',
  '这篇文章让我受益匪浅，作者对问题的把握非常准确，期待更多精彩分享。',
  '好文章就是要大家一起分享，感谢作者让我们看到了这么有见地的内容。',
] as const;

export type ScenarioRole = 'human' | 'farm' | 'praiser';

export interface ScenarioComment {
  role: ScenarioRole;
  externalId: string;
  accountId: string;
  articleExternalId: string;
  text: string;
  postedAt: string;
}

export interface Scenario {
  articles: { externalId: string; accountId: string; title: string; text: string; publishedAt: string }[];
  comments: ScenarioComment[];
}

const PRAISE = ['写得真好！', '支持一下', '好文，受益匪浅', '赞', '写得不错', '感谢分享', '学习了', '说得好！', '好文章', '支持！'];

/**
 * The scenario of issue 16 over `threads` (see `loadHumanThreads`): `farmAccounts` accounts
 * post `templates` templates under the articles among `humanComments` human comments, and one
 * person writes short praise under `praiserComments` articles. Farm accounts post in bursts at a
 * machine cadence (every 45 s, ± 3 s); people post at random times.
 */
export function buildScenario(
  threads: readonly HumanThread[],
  options: { seed?: number; articles?: number; humanComments?: number; farmAccounts?: number; farmCommentsPerAccount?: number; templates?: number; praiserComments?: number } = {},
): Scenario {
  const rand = prng(options.seed ?? 16);
  const nArticles = Math.min(options.articles ?? 200, threads.length);
  const start = Date.parse('2026-11-01T00:00:00Z');
  const week = 7 * 86_400_000;
  const used = threads.slice(0, nArticles);
  const articles: Scenario['articles'] = used.map((t, i) => ({
    externalId: `article-${i}`,
    accountId: `publisher-${i % 40}`,
    title: t.title,
    text: t.article,
    publishedAt: new Date(start + Math.floor((i / nArticles) * week)).toISOString(),
  }));
  const comments: ScenarioComment[] = [];
  // Round-robin over the threads' sentences until there are enough human comments.
  const wanted = options.humanComments ?? 500;
  for (let round = 0; comments.length < wanted && round < 5; round++) {
    for (let a = 0; a < nArticles && comments.length < wanted; a++) {
      const text = used[a]!.comments[round];
      if (!text) continue;
      comments.push({
        role: 'human',
        externalId: `human-${comments.length}`,
        accountId: `person-${comments.length}`,
        articleExternalId: articles[a]!.externalId,
        text,
        postedAt: new Date(Date.parse(articles[a]!.publishedAt) + Math.floor(rand() * 2 * 86_400_000)).toISOString(),
      });
    }
  }
  const farmAccounts = options.farmAccounts ?? 30;
  const perAccount = options.farmCommentsPerAccount ?? 20;
  const templates = FARM_TEMPLATES.slice(0, options.templates ?? 20);
  for (let f = 0; f < farmAccounts; f++) {
    let t = start + Math.floor(rand() * week);
    for (let k = 0; k < perAccount; k++) {
      const a = Math.floor(rand() * nArticles);
      // Bots vary the punctuation a little, as real ones do to dodge exact matching.
      const text = pick(rand, templates)
        .replace(/！$/, rand() < 0.5 ? '！' : '!!')
        .replace(/。$/, rand() < 0.5 ? '。' : '');
      comments.push({
        role: 'farm',
        externalId: `farm-${f}-${k}`,
        accountId: `farm-account-${f}`,
        articleExternalId: articles[a]!.externalId,
        text,
        postedAt: new Date(t).toISOString(),
      });
      t += 45_000 + Math.floor((rand() - 0.5) * 6000);
    }
  }
  const praiser = options.praiserComments ?? 30;
  for (let i = 0; i < praiser; i++) {
    const a = Math.floor(rand() * nArticles);
    comments.push({
      role: 'praiser',
      externalId: `praise-${i}`,
      accountId: 'kind-reader',
      articleExternalId: articles[a]!.externalId,
      text: pick(rand, PRAISE),
      // Most days, at any hour a person is awake.
      postedAt: new Date(start + Math.floor((i / praiser) * 4 * week) + Math.floor(rand() * 14 * 3_600_000)).toISOString(),
    });
  }
  comments.sort((x, y) => x.postedAt.localeCompare(y.postedAt) || x.externalId.localeCompare(y.externalId));
  return { articles, comments };
}
