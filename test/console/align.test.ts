/** Highlighting: a window lights up only by its own calibrated level, never by a raw probability. */
import { describe, expect, it } from 'vitest';
import { annotate } from '../../src/console/align.ts';

describe('annotate', () => {
  it('highlights review and flag windows only, whatever their probabilities', () => {
    const text = 'a'.repeat(40);
    const runs = annotate(text, [
      { start: 0, end: 10, probability: 0.99 }, // stored before windows were calibrated: not highlighted
      { start: 10, end: 20, probability: 0.97, highlight: 'none' },
      { start: 20, end: 30, probability: 0.6, highlight: 'review' },
      { start: 25, end: 40, probability: 0.8, highlight: 'flag' },
    ]);
    expect(runs.map((r) => [r.text.length, r.level])).toEqual([[20, 0], [5, 2], [15, 3]]);
    expect(runs[0]!.probability).toBe(0.99);
    expect(runs.map((r) => r.text).join('')).toBe(text);
  });
});
