/**
 * Tone of a short comment (缺乏情感): formulaic machine phrasing against the markers of a person
 * talking. The article text signals are fitted on articles and say little about twenty
 * characters, so comments get their own: counts of formulaic phrases, generic praise, human
 * markers (interjections, slang, questions, first-person experience) and emoji, and whether
 * the comment is a complete, evenly punctuated sentence. The weights are set by hand (there is
 * no labelled comment data) and checked on the evaluation corpus (`npm run eval:comments`).
 *
 * Example:
 *   commentTone('这篇文章深入探讨了教育公平问题，提供了宝贵的见解，期待作者更多精彩内容！', 'zh')
 *   -> { machineLike: 0.93, formulaic: ['这篇文章', '深入探讨', …], human: [], emoji: 0 }
 */
import type { Lang } from '../domain/normalize.ts';
import { contentLength, modelText } from '../domain/normalize.ts';
import { FORMULAIC_PHRASES, GENERIC_PHRASES, HUMAN_MARKERS } from './comment-lexicon.ts';

export interface ToneResult {
  /** 0 (a person talking) .. 1 (formulaic, without feeling). */
  machineLike: number;
  formulaic: string[];
  generic: string[];
  human: string[];
  emoji: number;
  features: Record<string, number>;
}

const EMOJI = /\p{Extended_Pictographic}/gu;

function found(text: string, phrases: readonly string[]): string[] {
  return phrases.filter((p) => text.includes(p));
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function commentTone(comment: string, lang: Lang): ToneResult {
  const raw = comment.toLowerCase();
  const text = modelText(comment).toLowerCase();
  const formulaic = found(text, FORMULAIC_PHRASES[lang]);
  const generic = found(text, GENERIC_PHRASES[lang]);
  // Raw text for markers: normalisation folds some of them (full-width "？", repeated "!!!").
  const human = found(raw, HUMAN_MARKERS[lang]);
  const emoji = (comment.match(EMOJI) ?? []).length;
  const length = contentLength(text);
  const repeatedPunct = /[!！?？。.~～]{2,}/.test(raw) ? 1 : 0;
  // A machine reply is a complete sentence: starts with a letter or character and ends with one stop.
  const completeSentence = /[。！.!]$/.test(text) && !repeatedPunct ? 1 : 0;
  const long = Math.min(1, Math.max(0, (length - 12) / 40));
  const logit =
    -0.6 +
    0.9 * Math.min(3, formulaic.length) +
    0.8 * Math.min(2, generic.length) +
    0.5 * completeSentence +
    0.3 * long -
    0.9 * Math.min(3, human.length) -
    0.6 * Math.min(2, emoji) -
    0.5 * repeatedPunct;
  return {
    machineLike: Math.round(sigmoid(logit) * 1000) / 1000,
    formulaic: formulaic.slice(0, 8),
    generic: generic.slice(0, 8),
    human: human.slice(0, 8),
    emoji,
    features: { formulaic: formulaic.length, generic: generic.length, human: human.length, emoji, completeSentence, repeatedPunct, length },
  };
}
