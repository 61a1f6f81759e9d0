/**
 * Beside the point (答非所问): how specific a comment is to the article it answers and to the
 * comment it replies to. Generic phrases are removed first ("写得真好,受益匪浅" says nothing
 * about any article); what is left is cut into topic units (Chinese: Han character bigrams,
 * Latin words and numbers; English: words of three letters or more, lightly stemmed, and
 * numbers), stop units dropped. Specificity is the share of the comment's units that occur in
 * the article (title and text) or the parent comment; the passage of the article with the most
 * matches is kept as evidence. Without the article's text (not submitted here) and without a
 * parent, the signal is `unavailable`: no guess.
 *
 * Example:
 *   commentRelevance('996太累了，身体吃不消', 'zh', { title: '如何看待996', text: '…996工作制…' }, null)
 *   -> { status: 'measured', kind: 'specific', specificity: 0.5, offTopic: 0, matched: ['996', …], passage: {…} }
 */
import type { Lang } from '../domain/normalize.ts';
import { modelText } from '../domain/normalize.ts';
import { GENERIC_PHRASES, STOP_UNITS } from './comment-lexicon.ts';

export interface RelevanceContext {
  title: string | null;
  text: string;
}

export interface Passage {
  start: number;
  end: number;
  text: string;
}

export type RelevanceResult =
  | { status: 'unavailable'; reason: 'article_unknown' }
  | {
      status: 'measured';
      /** `generic`: nothing left once generic phrases are removed; `specific` / `unrelated` by specificity. */
      kind: 'generic' | 'unrelated' | 'specific';
      /** Share of the comment's topic units found in the article or parent, 0..1. */
      specificity: number;
      /** 0 (on the point) .. 1 (could sit under any article, or about something else). */
      offTopic: number;
      /** Topic units of the comment once generic phrases are removed. */
      units: number;
      matched: string[];
      genericPhrases: string[];
      /** The article passage with most matches (offsets in the stored article text), if any. */
      passage: Passage | null;
      /** Matched in the parent comment only. */
      parentMatched: number;
    };

/** A specificity at or above this is fully on the point. */
const FULLY_SPECIFIC = 0.3;
/** Fewer topic units than this, once generic phrases are gone, is a generic comment. */
const MIN_UNITS = 2;

const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
const TOKEN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z][a-z']*|\d+(?:\.\d+)?/g;

function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 4 && word.endsWith('es')) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** Topic units of a text, in order, with the offset of each in the lower-cased model text. */
export function topicUnits(text: string, lang: Lang): string[] {
  const lower = modelText(text).toLowerCase();
  const out: string[] = [];
  for (const m of lower.matchAll(TOKEN)) {
    const tok = m[0];
    if (HAN.test(tok)) {
      const chars = Array.from(tok);
      for (let i = 0; i + 2 <= chars.length; i++) {
        const bigram = chars[i]! + chars[i + 1]!;
        if (!STOP_UNITS.zh.has(bigram)) out.push(bigram);
      }
    } else if (/^\d/.test(tok)) {
      out.push(tok);
    } else if (tok.length >= 3 && !STOP_UNITS.en.has(tok)) {
      out.push(lang === 'en' ? stem(tok) : tok);
    }
  }
  return out;
}

/** The comment with its generic phrases cut out, and the phrases found (longest first, no overlap). */
export function stripGeneric(text: string, lang: Lang): { rest: string; found: string[] } {
  let rest = modelText(text).toLowerCase();
  const found: string[] = [];
  const phrases = [...GENERIC_PHRASES.zh, ...GENERIC_PHRASES.en].sort((a, b) => b.length - a.length);
  for (const p of phrases) {
    if (lang === 'en' && !/^[a-z]/.test(p)) continue;
    if (rest.includes(p)) {
      found.push(p);
      rest = rest.split(p).join(' ');
    }
  }
  return { rest, found };
}

function sentenceSpans(text: string): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if ('。！？!?\n；;'.includes(text[i]!) || (text[i] === '.' && (text[i + 1] === ' ' || i + 1 === text.length))) {
      if (i + 1 - start > 1) spans.push({ start, end: i + 1 });
      start = i + 1;
    }
  }
  if (text.length - start > 1) spans.push({ start, end: text.length });
  return spans;
}

/** The sentence of the article holding the most matched units (ties: the earliest). */
function bestPassage(article: string, lang: Lang, matched: ReadonlySet<string>): Passage | null {
  let best: { start: number; end: number; hits: number } | null = null;
  for (const span of sentenceSpans(article)) {
    const units = topicUnits(article.slice(span.start, span.end), lang);
    let hits = 0;
    for (const u of new Set(units)) if (matched.has(u)) hits++;
    if (hits > 0 && (!best || hits > best.hits)) best = { ...span, hits };
  }
  if (!best) return null;
  // Long sentences are cut around their middle: the console shows a passage, not a page.
  const end = Math.min(best.end, best.start + 240);
  return { start: best.start, end, text: article.slice(best.start, end).trim() };
}

export function commentRelevance(comment: string, lang: Lang, article: RelevanceContext | null, parent: string | null): RelevanceResult {
  if (!article && !parent) return { status: 'unavailable', reason: 'article_unknown' };
  const { rest, found } = stripGeneric(comment, lang);
  const units = [...new Set(topicUnits(rest, lang))];
  const articleUnits = article ? new Set(topicUnits(`${article.title ?? ''}\n${article.text}`, lang)) : new Set<string>();
  const parentUnits = parent ? new Set(topicUnits(parent, lang)) : new Set<string>();
  const matchedArticle = units.filter((u) => articleUnits.has(u));
  const matchedParent = units.filter((u) => parentUnits.has(u) && !articleUnits.has(u));
  const matched = [...matchedArticle, ...matchedParent];
  const specificity = units.length === 0 ? 0 : matched.length / units.length;
  const generic = units.length < MIN_UNITS;
  const offTopic = generic ? 1 : 1 - Math.min(1, specificity / FULLY_SPECIFIC);
  return {
    status: 'measured',
    kind: generic ? 'generic' : offTopic >= 0.5 ? 'unrelated' : 'specific',
    specificity: Math.round(specificity * 1000) / 1000,
    offTopic: Math.round(offTopic * 1000) / 1000,
    units: units.length,
    matched: matched.slice(0, 12),
    genericPhrases: found.slice(0, 8),
    passage: article && matchedArticle.length > 0 ? bestPassage(article.text, lang, new Set(matchedArticle)) : null,
    parentMatched: matchedParent.length,
  };
}
