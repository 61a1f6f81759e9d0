/**
 * MinHash signatures and LSH band keys for cross-account near-duplicate detection.
 *
 * Shingles are taken from `modelText` (the same normalisation the model reads), lower-cased,
 * with every number masked to one placeholder so template articles that swap figures and
 * dates still share their shingles. Chinese uses character shingles (no word segmentation
 * needed, robust to re-wording of a few characters); English uses word shingles.
 *
 * Example: `signature('北京市今日发布...', 'zh', opts)` -> Uint32Array(128), and
 * `estimateJaccard(a, b)` -> 0.83 for two template variants with the city swapped.
 */
import { modelText, type Lang } from '../domain/normalize.ts';

export interface ShingleOptions {
  zhShingle: number;
  enShingle: number;
  maskNumbers: boolean;
}

const ARABIC_NUMBER = /\d+(?:[.,:/-]\d+)*/g;
const CHINESE_NUMBER = /[零〇一二三四五六七八九十百千万亿两]+/g;
const NUMBER_MASK = '#';
const NOT_TEXT = /[^\p{L}\p{N}#]+/gu;
const WORD = /[\p{L}\p{N}#']+/gu;

/** The token stream shingles are cut from: characters for Chinese, words for English. */
export function shingleTokens(text: string, lang: Lang, maskNumbers: boolean): string[] {
  let t = modelText(text).toLowerCase();
  if (maskNumbers) {
    t = t.replace(ARABIC_NUMBER, NUMBER_MASK);
    if (lang === 'zh') t = t.replace(CHINESE_NUMBER, NUMBER_MASK);
  }
  if (lang === 'zh') return Array.from(t.replace(NOT_TEXT, ''));
  return t.match(WORD) ?? [];
}

function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finaliser: a cheap, well-mixing bijection. */
function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Distinct 32-bit hashes of the text's shingles. */
export function shingleHashes(text: string, lang: Lang, options: ShingleOptions): Uint32Array {
  const tokens = shingleTokens(text, lang, options.maskNumbers);
  const k = lang === 'zh' ? options.zhShingle : options.enShingle;
  const tokenHashes = tokens.map((tok) => fnv1a(tok));
  const out = new Set<number>();
  if (tokenHashes.length === 0) return new Uint32Array(0);
  const n = Math.max(1, tokenHashes.length - k + 1);
  for (let i = 0; i < n; i++) {
    let h = 0x9747b28c;
    for (let j = i; j < i + k && j < tokenHashes.length; j++) {
      h = fmix32((Math.imul(h, 31) + (tokenHashes[j] as number)) >>> 0);
    }
    out.add(h);
  }
  return Uint32Array.from(out);
}

const seedCache = new Map<number, Uint32Array>();

/** Fixed, reproducible per-permutation seeds (signatures stored in Redis must stay comparable). */
function seeds(permutations: number): Uint32Array {
  let s = seedCache.get(permutations);
  if (!s) {
    s = new Uint32Array(permutations);
    let x = 0x2545f491;
    for (let i = 0; i < permutations; i++) {
      x = fmix32((x + 0x9e3779b9) >>> 0);
      s[i] = x;
    }
    seedCache.set(permutations, s);
  }
  return s;
}

/** MinHash signature: for each permutation, the minimum over the shingles of a seeded hash. */
export function minhash(hashes: Uint32Array, permutations: number): Uint32Array {
  const seed = seeds(permutations);
  const sig = new Uint32Array(permutations).fill(0xffffffff);
  for (let j = 0; j < hashes.length; j++) {
    const x = hashes[j] as number;
    for (let i = 0; i < permutations; i++) {
      let h = (x ^ (seed[i] as number)) >>> 0;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      h >>>= 0;
      if (h < (sig[i] as number)) sig[i] = h;
    }
  }
  return sig;
}

/**
 * Stored form: the low 16 bits of each value (b-bit MinHash). Two different values agree
 * by chance with probability 2^-16, which `estimateJaccard` corrects for.
 */
export function packSignature(sig: Uint32Array): string {
  const buf = Buffer.alloc(sig.length * 2);
  for (let i = 0; i < sig.length; i++) buf.writeUInt16LE((sig[i] as number) & 0xffff, i * 2);
  return buf.toString('base64');
}

export function unpackSignature(packed: string): Uint16Array {
  const buf = Buffer.from(packed, 'base64');
  const out = new Uint16Array(buf.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = buf.readUInt16LE(i * 2);
  return out;
}

/** Estimated Jaccard similarity of two stored (16-bit) signatures. */
export function estimateJaccard(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) return 0;
  let same = 0;
  for (let i = 0; i < n; i++) if (((a[i] as number) & 0xffff) === ((b[i] as number) & 0xffff)) same++;
  const chance = 1 / 65536;
  return Math.max(0, (same / n - chance) / (1 - chance));
}

/** One 32-bit hash per LSH band (rows = permutations / bands consecutive values). */
export function bandHashes(sig: Uint32Array, bands: number): Uint32Array {
  const rows = sig.length / bands;
  const out = new Uint32Array(bands);
  for (let b = 0; b < bands; b++) {
    let h = fmix32((b + 1) * 0x27d4eb2d);
    for (let r = 0; r < rows; r++) h = fmix32((Math.imul(h, 31) + (sig[b * rows + r] as number)) >>> 0);
    out[b] = h;
  }
  return out;
}
