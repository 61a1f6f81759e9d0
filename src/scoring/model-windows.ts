/**
 * Sliding windows over the canonical text, by character offsets, that cover all of it.
 *
 * The detector was trained on windows of at most 126 tokens ([CLS] + 126 + [SEP] = 128).
 * Chinese is about one token per character and English about 4.3 characters per token, so
 * a window is 120 characters in Chinese and 500 in English, with a quarter of overlap; English
 * window edges move to the nearest whitespace so no word is cut. The last window ends at
 * the end of the text.
 *
 * @example
 * planWindows('一'.repeat(300), 'zh') // [{start:0,end:120},{start:90,end:210},{start:180,end:300}]
 */
import type { Lang } from '../domain/normalize.ts';

export interface WindowSpec {
  chars: number;
  stride: number;
}

export const DEFAULT_WINDOWS: Record<Lang, WindowSpec> = {
  zh: { chars: 120, stride: 90 },
  en: { chars: 500, stride: 375 },
};

export interface Window {
  start: number;
  end: number;
}

function snapBack(text: string, pos: number, limit: number): number {
  for (let p = pos; p > pos - limit && p > 0; p--) if (/\s/.test(text[p - 1]!)) return p;
  return pos;
}

/** Windows covering [0, text.length) with overlap; at least one window for non-empty text. */
export function planWindows(text: string, lang: Lang, spec: WindowSpec = DEFAULT_WINDOWS[lang]): Window[] {
  const n = text.length;
  if (n === 0) return [];
  if (n <= spec.chars) return [{ start: 0, end: n }];
  const out: Window[] = [];
  const slack = lang === 'en' ? 40 : 0;
  let start = 0;
  for (;;) {
    let end = Math.min(n, start + spec.chars);
    if (end >= n) {
      out.push({ start, end: n });
      break;
    }
    if (slack) end = snapBack(text, end, slack);
    out.push({ start, end });
    let next = start + spec.stride;
    if (slack) next = snapBack(text, next, slack);
    // never leave a gap, always advance
    next = Math.min(Math.max(next, start + 1), end);
    if (n - next <= spec.chars) {
      // final window: the last `chars` characters, so it is full length and reaches the end
      let last = Math.max(next, n - spec.chars);
      if (slack) last = Math.max(next, Math.min(snapBack(text, last, slack) || last, end));
      out.push({ start: last, end: n });
      break;
    }
    start = next;
  }
  return out;
}

/**
 * At most `max` windows, evenly spaced over the list (first and last kept). Used by the eval
 * command to bound the cost of very long texts; the service scores every window.
 */
export function capWindows(windows: Window[], max: number): Window[] {
  if (windows.length <= max || max <= 0) return windows;
  if (max === 1) return [windows[0]!];
  const out: Window[] = [];
  for (let i = 0; i < max; i++) out.push(windows[Math.round((i * (windows.length - 1)) / (max - 1))]!);
  return out;
}
