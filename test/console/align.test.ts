import { describe, expect, it } from 'vitest';
import { diffWords } from '../../src/console/align.ts';

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
