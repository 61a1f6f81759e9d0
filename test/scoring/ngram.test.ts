/** The n-gram half: features (char and word blocks), TF-IDF normalisation, the shipped file format. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blockCounts, loadNgramModel, NGRAM_FORMAT, tfidfVector, wordTokens } from '../../src/scoring/ngram.ts';

const DIR = 'models/slopguard-detector';

describe('n-gram features', () => {
  it('segments Chinese words with jieba and English into words and punctuation', () => {
    expect(wordTokens('随着科技的不断发展,人工智能已经深刻地改变了我们的生活', 'zh')).toContain('人工智能');
    expect(wordTokens("it's a test, isn't it?", 'en')).toEqual(["it's", 'a', 'test', ',', "isn't", 'it', '?']);
  });

  it('counts every character 1-4-gram and word 1-2-gram', () => {
    const [chars, words] = blockCounts('abcab', 'en', 20);
    // 5 + 4 + 3 + 2 character n-grams, "ab" twice
    expect([...chars!.values()].reduce((a, b) => a + b, 0)).toBe(14);
    expect([...words!.values()].reduce((a, b) => a + b, 0)).toBe(1);
    const [, zhWords] = blockCounts('人工智能改变生活', 'zh', 20);
    const n = wordTokens('人工智能改变生活', 'zh').length;
    expect([...zhWords!.values()].reduce((a, b) => a + b, 0)).toBe(2 * n - 1);
  });

  it('normalises each block to unit length on its own', () => {
    const idf = new Float32Array(1 << 20).fill(1);
    const [chars] = blockCounts('人工智能改变了我们的生活', 'zh', 20);
    const v = tfidfVector([chars!], idf);
    expect(v.val.reduce((a, x) => a + x * x, 0)).toBeCloseTo(1, 5);
    // a short text and the same text repeated weigh the same block alike (sublinear tf, unit norm)
    const both = tfidfVector(blockCounts('人工智能改变了我们的生活', 'zh', 20), idf);
    expect(both.val.reduce((a, x) => a + x * x, 0)).toBeGreaterThan(1.5);
  });
});

describe.skipIf(!existsSync(`${DIR}/ngram.json`))('shipped n-gram model', () => {
  it('loads, was checked against scikit-learn when trained, and scores both languages', () => {
    const m = loadNgramModel(DIR);
    expect(m.meta.format).toBe(NGRAM_FORMAT);
    const report = m.meta.training.report as Record<string, { tsVsSklearnMaxDiff: number }>;
    for (const lang of ['zh', 'en']) expect(report[lang]!.tsVsSklearnMaxDiff).toBeLessThan(1e-3);
    const zh = m.logit('随着科技的不断发展,人工智能已经深刻地改变了我们的生活。首先,我们需要明确……', 'zh');
    const en = m.logit('In conclusion, it is important to note that technology plays a crucial role in our lives.', 'en');
    expect(Number.isFinite(zh) && Number.isFinite(en)).toBe(true);
    expect(m.logit('同一段文字', 'zh')).toBe(m.logit('同一段文字', 'zh'));
  });
});
