/**
 * Raw interpretable features of "digital slop". Pure and synchronous; the same function is
 * used by the scorer and by `training/text-signals/fit.ts`, so the fitted weights see exactly
 * what production computes.
 *
 * Every feature except `structure` reads `modelText` (whitespace collapsed), because newlines
 * and punctuation spacing leak the label in the training data. `structure` reads the canonical
 * text, where line starts still exist; see the leak note in the fitting script.
 *
 * Rates are per 1,000 content units: Han characters for Chinese, words for English
 * (`contentLength`).
 */
import { contentLength, modelText, type Lang } from '../../domain/normalize.ts';
import { CLICKBAIT, HEDGE, PERSONAL, TEMPLATE, ZH_GENERIC_PLACE, ZH_PERSON_TITLE, type LexEntry } from './lexicon.ts';

export const FEATURE_NAMES = [
  'template_rate',
  'sentence_len_cv',
  'personal_rate',
  'exclaim_question_share',
  'lexical_mattr',
  'detail_rate',
  'clickbait_rate',
  'structure_rate',
  'hedge_rate',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

export interface FeatureValue {
  /** Raw value, or null when the text cannot support it (fewer than 3 sentences, say). */
  value: number | null;
  evidence: Record<string, unknown>;
}

export interface TextSignals {
  lang: Lang;
  /** Content units of the model text (Han characters + Latin words). */
  units: number;
  features: Record<FeatureName, FeatureValue>;
}

/** Longest prefix of an article that is read; rates need no more, and it bounds the cost. */
export const MAX_CHARS = 20_000;

interface CompiledLexicon {
  re: RegExp;
  labels: string[];
}

function compile(entries: LexEntry[], flags: string): CompiledLexicon {
  // One alternation with a capture group per entry: one pass over the text, and the group
  // index says which entry matched. Longer entries first so "it is important to note" wins
  // over "it is important to".
  const sorted = [...entries].sort((a, b) => b.re.length - a.re.length);
  return {
    re: new RegExp(sorted.map((e) => `(${e.re})`).join('|'), flags),
    labels: sorted.map((e) => e.label),
  };
}

const LEX = {
  zh: {
    template: compile(TEMPLATE.zh, 'g'),
    personal: compile(PERSONAL.zh, 'g'),
    hedge: compile(HEDGE.zh, 'g'),
    clickbait: compile(CLICKBAIT.zh, 'g'),
  },
  en: {
    template: compile(TEMPLATE.en, 'gi'),
    personal: compile(PERSONAL.en, 'gi'),
    hedge: compile(HEDGE.en, 'gi'),
    clickbait: compile(CLICKBAIT.en, 'gi'),
  },
} as const;

/** Counts matches per entry label. */
function countLexicon(text: string, lex: CompiledLexicon): { total: number; byLabel: Record<string, number> } {
  const byLabel: Record<string, number> = {};
  let total = 0;
  lex.re.lastIndex = 0;
  for (const m of text.matchAll(lex.re)) {
    const i = m.findIndex((g, k) => k > 0 && g !== undefined);
    const label = lex.labels[i - 1] || m[0].toLowerCase();
    byLabel[label] = (byLabel[label] ?? 0) + 1;
    total++;
  }
  return { total, byLabel };
}

/** The most frequent labels first, as `{label: count}`, at most `n`. */
function top(byLabel: Record<string, number>, n = 16): Record<string, number> {
  return Object.fromEntries(
    Object.entries(byLabel)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n),
  );
}

const HAN = /[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]/g;
const HAN_RUN = /[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]+/g;
const WORD = /[a-z0-9]+(?:['’][a-z]+)?/gi;

const UNIT = /[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]|[A-Za-z]+|\d+/g;

/** Sentence length: Han characters, Latin words and digit runs. */
function units(s: string): number {
  return s.match(UNIT)?.length ?? 0;
}

interface Sentence {
  text: string;
  end: string;
}

function splitSentences(text: string, lang: Lang): Sentence[] {
  const re = lang === 'zh' ? /[^。！？!?；;…]+(?:[。！？!?；;…]+[”’"」』)）]*|$)/g : /[^.!?…]+(?:[.!?…]+["'”’)\]]*(?=\s|$)|$)/g;
  const out: Sentence[] = [];
  for (const m of text.matchAll(re)) {
    const s = m[0].trim();
    if (units(s) < 2) continue;
    const end = s.match(/[。！？!?；;….]+["'”’」』)）\]]*$/)?.[0] ?? '';
    out.push({ text: s, end });
  }
  return out;
}

function coefficientOfVariation(xs: number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  return mean > 0 ? Math.sqrt(variance) / mean : 0;
}

/** Moving-average type-token ratio: mean TTR over every window of `w` tokens (O(n)). */
export function mattr(tokens: readonly (string | number)[], w: number): number {
  const n = tokens.length;
  if (n === 0) return 0;
  const win = Math.min(w, n);
  const counts = new Map<string | number, number>();
  let distinct = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const t = tokens[i]!;
    const c = counts.get(t) ?? 0;
    if (c === 0) distinct++;
    counts.set(t, c + 1);
    if (i >= win) {
      const old = tokens[i - win]!;
      const oc = counts.get(old)!;
      if (oc === 1) distinct--;
      counts.set(old, oc - 1);
    }
    if (i >= win - 1) sum += distinct / win;
  }
  return sum / (n - win + 1);
}

/** Words (English) or Han character bigrams encoded as numbers (Chinese; faster map keys). */
function lexicalTokens(text: string, lang: Lang): (string | number)[] {
  if (lang === 'en') return text.toLowerCase().match(WORD) ?? [];
  const codes: number[] = [];
  for (const run of text.match(HAN_RUN) ?? []) for (const ch of run) codes.push(ch.codePointAt(0)!);
  const bigrams: number[] = [];
  for (let i = 0; i + 1 < codes.length; i++) bigrams.push(codes[i]! * 0x110000 + codes[i + 1]!);
  return bigrams;
}

/** Concrete detail: numbers, named places and people, quoted speech. Returns counts and examples. */
function concreteDetail(text: string, lang: Lang): { total: number; byKind: Record<string, number>; examples: string[] } {
  const byKind: Record<string, number> = {};
  const examples: string[] = [];
  const add = (kind: string, example: string): void => {
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    if (examples.length < 10 && !examples.includes(example)) examples.push(example);
  };
  for (const m of text.matchAll(/\d+(?:[.,]\d+)*\s?(?:%|％|万元|亿元|元|万|亿|年|月|日|岁|km|kg|million|billion)?/gi)) {
    add('number', m[0].trim());
  }
  if (lang === 'zh') {
    for (const m of text.matchAll(/([\u4E00-\u9FFF]{0,2})([\u4E00-\u9FFF][省市县区镇村])(?![场民值面长委级级内外场])/g)) {
      if (ZH_GENERIC_PLACE.has(m[2]!)) continue;
      add('place', (m[1] ?? '') + m[2]);
    }
    for (const m of text.matchAll(new RegExp(`[\\u4E00-\\u9FFF]${ZH_PERSON_TITLE}`, 'g'))) add('person', m[0]);
    for (const m of text.matchAll(/“[^”]{2,120}”[，,]?[\u4E00-\u9FFF]{0,12}(?:说|表示|介绍|指出|坦言|告诉|回忆|透露)|(?:说|表示|介绍|指出|坦言|透露)[:：]“[^”]{2,120}”/g)) {
      add('quote', m[0].length > 24 ? `${m[0].slice(0, 22)}…` : m[0]);
    }
  } else {
    // A capitalised word that does not start a sentence: a name, place or organisation.
    for (const m of text.matchAll(/(?<![.!?…:"“]\s|^)(?<=\s)[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*/g)) add('name', m[0]);
    for (const m of text.matchAll(/\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b/g)) {
      add('date', m[0]);
    }
    for (const m of text.matchAll(/["“][^"”]{2,200}[,.!?]?["”]\s*(?:\w+\s+){0,3}(?:said|says|told|added|recalled)\b/gi)) {
      add('quote', m[0].length > 32 ? `${m[0].slice(0, 30)}…` : m[0]);
    }
  }
  const total = Object.values(byKind).reduce((a, b) => a + b, 0);
  return { total, byKind, examples };
}

/**
 * List and heading structure on the canonical text: numbered points (1. / 1、/ (1)),
 * 一、二、 and （一）, ordinal 第一/第二 at a clause start, markdown bullets and headings at a
 * line start, and bold "**Heading**" runs. Numbered markers also count inline, after a
 * sentence end, so the feature does not depend on the text keeping its newlines.
 */
export function structureCount(canonical: string): { total: number; examples: string[] } {
  const examples: string[] = [];
  let total = 0;
  const patterns = [
    /(?<=^|\n|[。！？!?；;：:]\s?)\s*(?:\d{1,2}[.、)）](?!\d)|[(（]\d{1,2}[)）]|[一二三四五六七八九十]{1,2}、|[(（][一二三四五六七八九十]{1,2}[)）]|第[一二三四五六七八九十]{1,2}[，,、:：点])/g,
    /(?<=^|\n)\s*(?:[-*•·●▪]\s|#{1,6}\s)/g,
    /\*\*[^*\n]{1,40}\*\*/g,
    /(?<=[。！？!?；;]\s?)(?:Step|Tip|Point) \d+[:.]/g,
  ];
  for (const re of patterns) {
    for (const m of canonical.matchAll(re)) {
      total++;
      if (examples.length < 8) examples.push(m[0].trim());
    }
  }
  return { total, examples };
}

/**
 * Computes every feature of one article. `text` is the canonical text (paragraphs kept);
 * `title` feeds only the clickbait feature.
 *
 * @example extractTextSignals('首先……其次……综上所述……', 'zh').features.template_rate.value // 23.4
 */
export function extractTextSignals(text: string, lang: Lang, title: string | null = null): TextSignals {
  const canonical = text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) : text;
  const flat = modelText(canonical);
  const n = contentLength(flat);
  const per1k = (count: number): number => (n > 0 ? (1000 * count) / n : 0);
  const lex = LEX[lang];

  const template = countLexicon(flat, lex.template);
  const personal = countLexicon(flat, lex.personal);
  const hedge = countLexicon(flat, lex.hedge);
  const clickText = title ? `${modelText(title)} ${flat}` : flat;
  const clickbait = countLexicon(clickText, lex.clickbait);

  const sentences = splitSentences(flat, lang);
  const lengths = sentences.map((s) => units(s.text));
  const emotive = sentences.filter((s) => /[!?！？]/.test(s.end)).length;

  const tokens = lexicalTokens(flat, lang);
  const window = lang === 'zh' ? 100 : 50;
  const detail = concreteDetail(flat, lang);
  const structure = structureCount(canonical);

  const features: Record<FeatureName, FeatureValue> = {
    template_rate: { value: per1k(template.total), evidence: { count: template.total, phrases: top(template.byLabel) } },
    sentence_len_cv: {
      value: lengths.length >= 3 ? coefficientOfVariation(lengths) : null,
      evidence: {
        sentences: lengths.length,
        meanLength: lengths.length ? lengths.reduce((a, b) => a + b, 0) / lengths.length : 0,
      },
    },
    personal_rate: { value: per1k(personal.total), evidence: { count: personal.total, markers: top(personal.byLabel) } },
    exclaim_question_share: {
      value: sentences.length >= 3 ? emotive / sentences.length : null,
      evidence: { count: emotive, sentences: sentences.length },
    },
    lexical_mattr: {
      value: tokens.length >= 30 ? mattr(tokens, window) : null,
      evidence: { tokens: tokens.length, window: Math.min(window, tokens.length), unit: lang === 'zh' ? 'char bigram' : 'word' },
    },
    detail_rate: { value: per1k(detail.total), evidence: { count: detail.total, byKind: detail.byKind, examples: detail.examples } },
    clickbait_rate: { value: per1k(clickbait.total), evidence: { count: clickbait.total, phrases: top(clickbait.byLabel) } },
    structure_rate: { value: per1k(structure.total), evidence: { count: structure.total, examples: structure.examples } },
    hedge_rate: { value: per1k(hedge.total), evidence: { count: hedge.total, phrases: top(hedge.byLabel) } },
  };
  return { lang, units: n, features };
}

/** Han characters in a string (exported for tests and the fitting script). */
export function hanCount(s: string): number {
  return s.match(HAN)?.length ?? 0;
}
