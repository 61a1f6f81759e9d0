/**
 * Hashed character n-gram TF-IDF + logistic regression: the fast linear half of the detector
 * (and, trained alone, the classical baseline the model card compares against).
 *
 * Features: every character 1- to 4-gram of `modelText(text)` (lower-cased), hashed with
 * 32-bit FNV-1a over UTF-16 code units into `2^bits` buckets; sublinear tf (1 + ln count)
 * times idf, L2-normalised. One weight vector per language. Weights and idf ship int8/uint8
 * in `ngram.bin` with their scales in `ngram.json` (training/train-ngram.ts writes both).
 *
 * @example
 * const m = loadNgramModel('models/slopguard-detector');
 * m.logit('首先,我们需要明确……', 'zh'); // ≈ 1.7 (positive: AI-like)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lang } from '../domain/normalize.ts';

export const NGRAM_MIN = 1;
export const NGRAM_MAX = 4;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Sparse feature counts of a model-normalised text: bucket → raw count. Texts longer than
 * `maxChars` are read up to that length (training caps them so memory stays bounded).
 */
export function ngramCounts(text: string, bits: number, maxChars = Infinity): Map<number, number> {
  const s = (text.length > maxChars ? text.slice(0, maxChars) : text).toLowerCase();
  const mask = (1 << bits) - 1;
  const counts = new Map<number, number>();
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let h = FNV_OFFSET;
    for (let k = 0; k < NGRAM_MAX && i + k < n; k++) {
      h ^= s.charCodeAt(i + k);
      h = Math.imul(h, FNV_PRIME) >>> 0;
      if (k + 1 < NGRAM_MIN) continue;
      // mix the order in so a 2-gram never shares a bucket with the 1-gram it extends by design
      const b = (Math.imul(h ^ (k + 1), 0x9e3779b1) >>> 0) & mask;
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
  }
  return counts;
}

/** Sublinear tf-idf, L2-normalised, as parallel arrays (indices ascending is not required). */
export function tfidfVector(counts: Map<number, number>, idf: ArrayLike<number>): { idx: Int32Array; val: Float32Array } {
  const idx = new Int32Array(counts.size);
  const val = new Float32Array(counts.size);
  let i = 0;
  let norm = 0;
  for (const [b, c] of counts) {
    const v = (1 + Math.log(c)) * idf[b]!;
    idx[i] = b;
    val[i] = v;
    norm += v * v;
    i++;
  }
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let j = 0; j < val.length; j++) val[j]! *= inv;
  return { idx, val };
}

export interface NgramMeta {
  format: 'slopguard-ngram-1';
  bits: number;
  /** idf[b] = idfScale * uint8 */
  idfScale: number;
  langs: Record<Lang, { weightScale: number; bias: number; offset: number }>;
  idfOffset: number;
  training: Record<string, unknown>;
}

export interface NgramModel {
  meta: NgramMeta;
  /** Logit of P(AI) for a model-normalised text. */
  logit(modelTextValue: string, lang: Lang): number;
}

export function loadNgramModel(dir: string): NgramModel {
  const meta = JSON.parse(readFileSync(join(dir, 'ngram.json'), 'utf8')) as NgramMeta;
  const buf = readFileSync(join(dir, 'ngram.bin'));
  const size = 1 << meta.bits;
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const idfQ = bytes.subarray(meta.idfOffset, meta.idfOffset + size);
  const idf = new Float32Array(size);
  for (let i = 0; i < size; i++) idf[i] = idfQ[i]! * meta.idfScale;
  const weights = {} as Record<Lang, { w: Int8Array; scale: number; bias: number }>;
  for (const lang of ['zh', 'en'] as const) {
    const l = meta.langs[lang];
    weights[lang] = {
      w: new Int8Array(buf.buffer, buf.byteOffset + l.offset, size),
      scale: l.weightScale,
      bias: l.bias,
    };
  }
  return {
    meta,
    logit(text, lang) {
      const { idx, val } = tfidfVector(ngramCounts(text, meta.bits), idf);
      const m = weights[lang];
      let z = 0;
      for (let i = 0; i < idx.length; i++) z += val[i]! * m.w[idx[i]!]!;
      return z * m.scale + m.bias;
    },
  };
}
