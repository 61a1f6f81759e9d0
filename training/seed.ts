/**
 * Splits the human newspaper page in ../shared/seed into its pieces: a piece starts at a
 * known headline line (the page's layout has no other reliable separator). Used by the
 * calibration step (no piece may be flagged) and by the tests.
 */
import { canonicalText, detectLang, type Lang } from '../src/domain/normalize.ts';

/** Headlines, column heads or opening words (prefix match) of each piece on the page, in order. */
export const SEED_HEADLINES = [
  '“办不成事”窗口走红背后',
  '热点评论',
  '河北张家口:审批“虚拟跑”项目加速建',
  // an untitled brief: it opens with this sentence
  '近日,江苏省常州市武进区市场监管局',
  '商务部 中国进出口银行 加大进出口信贷支持力度',
  '中央网信办',
  '北京',
  '江西',
  '清除AI“数字泔水” 以“治”促“智”',
];

export interface SeedPiece {
  title: string;
  text: string;
  lang: Lang;
}

export function splitSeedPage(page: string): SeedPiece[] {
  const lines = canonicalText(page).split('\n');
  const starts: number[] = [];
  let h = 0;
  lines.forEach((l, i) => {
    if (h < SEED_HEADLINES.length && l.trim().startsWith(canonicalText(SEED_HEADLINES[h]!))) {
      starts.push(i);
      h++;
    }
  });
  const pieces: SeedPiece[] = [];
  starts.forEach((s, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]! : lines.length;
    const text = lines.slice(s, end).join('\n').trim();
    pieces.push({ title: lines[s]!.trim(), text, lang: detectLang(text) });
  });
  return pieces;
}
