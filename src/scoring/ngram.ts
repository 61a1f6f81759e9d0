/**
 * Hashed n-gram TF-IDF + logistic regression: the fast linear half of the detector.
 *
 * Features of `modelText(text)` (lower-cased), two blocks hashed into one space of `2^bits`
 * buckets (32-bit FNV-1a over UTF-16 code units, block and order mixed in):
 *   char  character 1- to 4-grams;
 *   word  Chinese: jieba words (`@node-rs/jieba`, precise mode) 1- and 2-grams;
 *         English: words (letters/digits/apostrophes) and punctuation marks, 1- and 2-grams.
 * Per block: sublinear tf (1 + ln count) times the language's idf, L2-normalised, so each
 * block has unit norm whatever the text's length. One idf and one weight vector per language
 * (training/train-ngram.ts fits an L2 logistic regression with liblinear and picks its
 * regularisation on dev). Idf ships uint8 and weights int16 in `ngram.bin`, scales in
 * `ngram.json`.
 *
 * @example
 * const m = loadNgramModel('models/slopguard-detector');
 * m.logit('首先,我们需要明确……', 'zh'); // ≈ 1.7 (positive: AI-like)
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { z } from 'zod';
import type { Lang } from '../domain/normalize.ts';

export const NGRAM_FORMAT = 'slopguard-ngram-2';
export const CHAR_MAX = 4;
const WORD_MAX = 2;
const BLOCKS = ['char', 'word'] as const;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

// jieba is a native addon loaded once per process; its dictionary load takes ~0.3 s
interface JiebaCutter {
  cut(text: string, hmm?: boolean): string[];
}
let jieba: JiebaCutter | null = null;
function cutter(): JiebaCutter {
  if (!jieba) {
    const require = createRequire(import.meta.url);
    const { Jieba } = require('@node-rs/jieba') as { Jieba: { withDict(d: Uint8Array): JiebaCutter } };
    const { dict } = require('@node-rs/jieba/dict') as { dict: Uint8Array };
    jieba = Jieba.withDict(dict);
  }
  return jieba;
}

const bucket = (h: number, tag: number, mask: number): number => (Math.imul(h ^ tag, 0x9e3779b1) >>> 0) & mask;

function hashStr(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h;
}

function add(counts: Map<number, number>, b: number): void {
  counts.set(b, (counts.get(b) ?? 0) + 1);
}

/** Character 1-4-gram counts (bucket -> count) of a lower-cased text. */
export function charCounts(s: string, mask: number): Map<number, number> {
  const counts = new Map<number, number>();
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let h = FNV_OFFSET;
    for (let k = 0; k < CHAR_MAX && i + k < n; k++) {
      h ^= s.charCodeAt(i + k);
      h = Math.imul(h, FNV_PRIME) >>> 0;
      // the order is mixed in so a 2-gram never shares a bucket with the 1-gram it extends
      add(counts, bucket(h, k + 1, mask));
    }
  }
  return counts;
}

/** Word tokens: jieba for Chinese; words and single punctuation marks for English. */
export function wordTokens(s: string, lang: Lang): string[] {
  if (lang === 'zh')
    return cutter()
      .cut(s, false)
      .filter((t) => t.trim().length > 0);
  return s.match(/[\p{L}\p{N}']+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** Word 1-2-gram counts; tags 0x100+ keep them apart from the character n-grams' buckets. */
export function wordCounts(s: string, lang: Lang, mask: number): Map<number, number> {
  const toks = wordTokens(s, lang);
  const hs = toks.map((t) => hashStr(FNV_OFFSET, t));
  const counts = new Map<number, number>();
  for (let i = 0; i < toks.length; i++) {
    let h = FNV_OFFSET;
    for (let k = 0; k < WORD_MAX && i + k < toks.length; k++) {
      h = Math.imul(h ^ hs[i + k]!, FNV_PRIME) >>> 0;
      add(counts, bucket(h, 0x100 + k + 1, mask));
    }
  }
  return counts;
}

/** Raw counts per block for a model-normalised text (read up to `maxChars`). */
export function blockCounts(text: string, lang: Lang, bits: number, maxChars = Infinity): Map<number, number>[] {
  const s = (text.length > maxChars ? text.slice(0, maxChars) : text).toLowerCase();
  const mask = (1 << bits) - 1;
  return [charCounts(s, mask), wordCounts(s, lang, mask)];
}

/**
 * Sparse TF-IDF vector: each block sublinear-tf x idf and L2-normalised on its own, then
 * summed (a bucket two blocks share adds up).
 */
export function tfidfVector(blocks: Map<number, number>[], idf: ArrayLike<number>): { idx: Int32Array; val: Float32Array } {
  const acc = new Map<number, number>();
  for (const counts of blocks) {
    let norm = 0;
    for (const [b, c] of counts) {
      const v = (1 + Math.log(c)) * idf[b]!;
      norm += v * v;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (const [b, c] of counts) acc.set(b, (acc.get(b) ?? 0) + (1 + Math.log(c)) * idf[b]! * inv);
  }
  const idx = new Int32Array(acc.size);
  const val = new Float32Array(acc.size);
  let i = 0;
  for (const [b, v] of acc) {
    idx[i] = b;
    val[i++] = v;
  }
  return { idx, val };
}

const ngramLangMetaSchema = z.object({
  /** idf[b] = idfScale * uint8 at idfOffset; w[b] = weightScale * int16 at weightOffset */
  idfOffset: z.number().int().min(0),
  idfScale: z.number(),
  weightOffset: z.number().int().min(0),
  weightScale: z.number(),
  bias: z.number(),
});
export type NgramLangMeta = z.infer<typeof ngramLangMetaSchema>;

/** `ngram.json`, parsed when the model loads. */
const ngramMetaSchema = z.object({
  format: z.literal(NGRAM_FORMAT, { error: (issue) => `format ${String(issue.input)}, expected ${NGRAM_FORMAT} (re-fit with training/refit.sh)` }),
  bits: z.number().int().min(1).max(30),
  blocks: z.array(z.string()).readonly(),
  langs: z.object({ zh: ngramLangMetaSchema, en: ngramLangMetaSchema }),
  training: z.record(z.string(), z.unknown()),
});
export type NgramMeta = z.infer<typeof ngramMetaSchema>;

export interface NgramModel {
  meta: NgramMeta;
  /** Logit of P(AI) for a model-normalised text. */
  logit(modelTextValue: string, lang: Lang): number;
}

export function loadNgramModel(dir: string): NgramModel {
  const parsed = ngramMetaSchema.safeParse(JSON.parse(readFileSync(join(dir, 'ngram.json'), 'utf8')));
  if (!parsed.success) throw new Error(`ngram.json: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const meta = parsed.data;
  const buf = readFileSync(join(dir, 'ngram.bin'));
  const size = 1 << meta.bits;
  const model = {} as Record<Lang, { idf: Float32Array; w: Float32Array; bias: number }>;
  for (const lang of ['zh', 'en'] as const) {
    const l = meta.langs[lang];
    const idf = new Float32Array(size);
    const w = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      idf[i] = buf.readUInt8(l.idfOffset + i) * l.idfScale;
      w[i] = buf.readInt16LE(l.weightOffset + 2 * i) * l.weightScale;
    }
    model[lang] = { idf, w, bias: l.bias };
  }
  return {
    meta,
    logit(text, lang) {
      const m = model[lang];
      const { idx, val } = tfidfVector(blockCounts(text, lang, meta.bits), m.idf);
      let z = m.bias;
      for (let i = 0; i < idx.length; i++) z += val[i]! * m.w[idx[i]!]!;
      return z;
    },
  };
}

export { BLOCKS as NGRAM_BLOCKS };
