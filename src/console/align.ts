import type { Segment } from '../domain/types.ts';

/**
 * Pure helpers for the evidence views: runs of text annotated with the model's per-window
 * scores (highlighting), and near-duplicate passages aligned across a cluster's articles.
 */

export interface Run {
  text: string;
  /** 0: not highlighted; 2: a window at or over the review threshold; 3: over the flag threshold. */
  level: Level;
  probability: number | null;
  /** Index of the shared passage this run belongs to, or null. */
  passage: number | null;
}

export type Level = 0 | 2 | 3;

/**
 * A window is highlighted only by its own calibrated probability against the language's
 * thresholds, which the detector records as `highlight`; segments stored without it (before
 * windows were calibrated) are not highlighted.
 */
export function level(s: Pick<Segment, 'highlight'>): Level {
  return s.highlight === 'flag' ? 3 : s.highlight === 'review' ? 2 : 0;
}

/**
 * Splits `text` into runs where neither the highest overlapping window level nor the
 * shared-passage index changes. Windows may overlap; offsets outside the text are clipped;
 * a malformed segment is ignored. A run's probability is the highest of its windows'.
 */
export function annotate(text: string, segments: readonly Segment[], passages: readonly { start: number; end: number; passage: number }[] = []): Run[] {
  const n = text.length;
  const prob = new Float64Array(n).fill(-1);
  const lev = new Uint8Array(n);
  for (const s of segments) {
    if (!Number.isFinite(s.start) || !Number.isFinite(s.end) || !Number.isFinite(s.probability)) continue;
    const start = Math.max(0, Math.floor(s.start));
    const end = Math.min(n, Math.floor(s.end));
    const l = level(s);
    for (let i = start; i < end; i++) {
      if (s.probability > prob[i]!) prob[i] = s.probability;
      if (l > lev[i]!) lev[i] = l;
    }
  }
  const passage = new Int32Array(n).fill(-1);
  for (const p of passages) for (let i = Math.max(0, p.start); i < Math.min(n, p.end); i++) passage[i] = p.passage;
  const runs: Run[] = [];
  let start = 0;
  for (let i = 1; i <= n; i++) {
    const boundary = i === n || lev[i] !== lev[start] || passage[i] !== passage[start];
    if (boundary) {
      const p = prob[start]!;
      runs.push({ text: text.slice(start, i), level: lev[start] as Level, probability: p < 0 ? null : p, passage: passage[start] === -1 ? null : passage[start]! });
      start = i;
    }
  }
  return runs;
}

export interface Sentence {
  article: number;
  start: number;
  end: number;
  text: string;
}

/** Sentences with their offsets (CJK and Latin end punctuation, line breaks). */
export function sentences(text: string, article: number): Sentence[] {
  const out: Sentence[] = [];
  const re = /[^。！？!?.\n]+[。！？!?.]*/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const s = m[0];
    const lead = s.length - s.trimStart().length;
    const trimmed = s.trim();
    if (trimmed.length >= 8) out.push({ article, start: m.index + lead, end: m.index + lead + trimmed.length, text: trimmed });
  }
  return out;
}

function shingles(s: string): Set<string> {
  const norm = s.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
  const set = new Set<string>();
  for (let i = 0; i + 4 <= norm.length; i++) set.add(norm.slice(i, i + 4));
  if (set.size === 0 && norm) set.add(norm);
  return set;
}

export interface AlignedPassage {
  index: number;
  /** Per article: the matching sentence, or null. */
  cells: (Sentence | null)[];
}

/**
 * Groups sentences of different articles whose 4-character shingle sets overlap by at
 * least `threshold` (Jaccard), and returns the groups that span two or more articles,
 * ordered by where they first appear. One sentence per article per group (the first).
 */
export function alignPassages(texts: readonly string[], threshold = 0.5, maxPassages = 60): AlignedPassage[] {
  const all = texts.flatMap((t, i) => sentences(t, i).slice(0, 200));
  const sets = all.map((s) => shingles(s.text));
  const parent = all.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const index = new Map<string, number[]>();
  sets.forEach((set, i) => {
    for (const g of set) {
      const list = index.get(g) ?? [];
      list.push(i);
      index.set(g, list);
    }
  });
  const seen = new Set<string>();
  sets.forEach((set, i) => {
    const counts = new Map<number, number>();
    for (const g of set) for (const j of index.get(g) ?? []) if (j > i && all[j]!.article !== all[i]!.article) counts.set(j, (counts.get(j) ?? 0) + 1);
    for (const [j, shared] of counts) {
      const key = `${i}:${j}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const jaccard = shared / (set.size + sets[j]!.size - shared);
      if (jaccard >= threshold) parent[find(j)] = find(i);
    }
  });
  const groups = new Map<number, number[]>();
  all.forEach((_, i) => {
    const root = find(i);
    const list = groups.get(root) ?? [];
    list.push(i);
    groups.set(root, list);
  });
  const out: AlignedPassage[] = [];
  const ordered = [...groups.values()]
    .filter((g) => new Set(g.map((i) => all[i]!.article)).size >= 2)
    .sort((a, b) => {
      const fa = all[a[0]!]!;
      const fb = all[b[0]!]!;
      return fa.article - fb.article || fa.start - fb.start;
    });
  for (const group of ordered.slice(0, maxPassages)) {
    const cells: (Sentence | null)[] = texts.map(() => null);
    for (const i of group) {
      const s = all[i]!;
      cells[s.article] ??= s;
    }
    out.push({ index: out.length, cells });
  }
  return out;
}

/** A piece of an aligned passage: `differs` when the other passage lacks this word. */
export interface Piece {
  text: string;
  differs: boolean;
}

// A Chinese character is a word of its own; Latin words and numbers are runs; anything else
// (spaces, punctuation) is a token that never counts as a difference.
const TOKEN = /\p{Script=Han}|[\p{L}\p{N}]+|[^\p{L}\p{N}]/gsu;
const isWord = (t: string) => /[\p{L}\p{N}]/u.test(t);

/**
 * The words of `text` that are not matched in `other` along their longest common subsequence
 * (word order kept): what a moderator looks at to see how near-duplicates were reworded.
 *
 *   diffWords('Prices rose 5% in May.', 'Prices rose 7% in June.')
 *   -> "Prices rose " · "5"* · "% in " · "May"* · "."   (* differs)
 */
export function diffWords(text: string, other: string): Piece[] {
  const mine = text.match(TOKEN) ?? [];
  const theirs = (other.match(TOKEN) ?? []).filter(isWord).map((w) => w.toLowerCase());
  const words = mine.map((t, i) => ({ t, i })).filter((x) => isWord(x.t));
  const matched = new Set<number>();
  const n = words.length;
  const m = theirs.length;
  if (n * m <= 400_000) {
    // LCS table over words, then walk it back to mark the matched ones.
    const dp = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
    for (let a = n - 1; a >= 0; a--) {
      for (let b = m - 1; b >= 0; b--) {
        dp[a]![b] = words[a]!.t.toLowerCase() === theirs[b] ? dp[a + 1]![b + 1]! + 1 : Math.max(dp[a + 1]![b]!, dp[a]![b + 1]!);
      }
    }
    for (let a = 0, b = 0; a < n && b < m; ) {
      if (words[a]!.t.toLowerCase() === theirs[b]) {
        matched.add(words[a]!.i);
        a++;
        b++;
      } else if (dp[a + 1]![b]! >= dp[a]![b + 1]!) a++;
      else b++;
    }
  } else {
    // Very long passages: present or not, order ignored.
    const set = new Set(theirs);
    for (const w of words) if (set.has(w.t.toLowerCase())) matched.add(w.i);
  }
  const pieces: Piece[] = [];
  mine.forEach((t, i) => {
    const differs = isWord(t) && !matched.has(i);
    const last = pieces[pieces.length - 1];
    if (last && last.differs === differs) last.text += t;
    else pieces.push({ text: t, differs });
  });
  return pieces;
}
