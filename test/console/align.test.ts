/** Aligned passages: differing words are marked; a window lights up only by its own calibrated level. */
import { describe, expect, it } from 'vitest';
import { annotate, diffWords } from '../../src/console/align.ts';

const marked = (pieces: { text: string; differs: boolean }[]) => pieces.filter((p) => p.differs).map((p) => p.text);

describe('diffWords (words that differ between aligned passages)', () => {
  it('marks replaced English words and keeps the shared ones, punctuation and spaces unmarked', () => {
    const pieces = diffWords('Prices rose 5% in May, the council said.', 'Prices rose 7% in June, the council said.');
    expect(marked(pieces)).toEqual(['5', 'May']);
    expect(pieces.map((p) => p.text).join('')).toBe('Prices rose 5% in May, the council said.');
  });

  it('marks Chinese characters one by one', () => {
    expect(marked(diffWords('今天的城市观察。随着科技的发展', '本地新闻速递。随着科技的发展'))).toEqual(['今天的城市观察']);
    expect(marked(diffWords('随着科技的不断发展', '随着科技的发展'))).toEqual(['不断']);
  });

  it('marks nothing in identical passages and everything against an empty one', () => {
    expect(marked(diffWords('Same words here.', 'same WORDS here'))).toEqual([]);
    expect(marked(diffWords('Only mine.', ''))).toEqual(['Only', 'mine']);
  });
});

describe('annotate', () => {
  it('highlights review and flag windows only, whatever their probabilities', () => {
    const text = 'a'.repeat(40);
    const runs = annotate(text, [
      { start: 0, end: 10, probability: 0.99 }, // stored before windows were calibrated: not highlighted
      { start: 10, end: 20, probability: 0.97, highlight: 'none' },
      { start: 20, end: 30, probability: 0.6, highlight: 'review' },
      { start: 25, end: 40, probability: 0.8, highlight: 'flag' },
    ]);
    expect(runs.map((r) => [r.text.length, r.level])).toEqual([
      [20, 0],
      [5, 2],
      [15, 3],
    ]);
    expect(runs[0]!.probability).toBe(0.99);
    expect(runs.map((r) => r.text).join('')).toBe(text);
  });
});
