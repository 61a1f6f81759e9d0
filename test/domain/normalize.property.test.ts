import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { articleInputSchema } from '../../src/domain/article-input.ts';
import { canonicalText, contentLength, detectLang, hasLoneSurrogate, modelText } from '../../src/domain/normalize.ts';

// Strings rich in what breaks normalisers: combining marks, invisibles, bidi controls,
// full-width forms, CJK, homoglyphs, whitespace of every kind and lone surrogates.
const tricky = fc.constantFrom(
  '\u200B',
  '\u200D',
  '\u202E',
  '\u2066',
  '\uFEFF',
  '\u00AD',
  '\u0301',
  '\u0308',
  'e',
  'a',
  'а',
  'о',
  'Ａ',
  '１',
  '\u3000',
  '\u00A0',
  '\t',
  '\n',
  '\r\n',
  ' ',
  ' ,',
  ' .',
  "n't",
  '中',
  '文',
  ',',
  '。',
  '“',
  '”',
  '(',
  ')',
  '\u0000',
  '\u007F',
  '\uD800',
  '\uDC00',
  '😀',
  '\u{E0041}',
  'ﬁ',
  '①',
  'x',
);
const messy = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.array(tricky, { maxLength: 40 }).map((a) => a.join('')),
);

describe('normalisation properties', () => {
  it('canonicalText and modelText are idempotent', () => {
    fc.assert(
      fc.property(messy, (s) => {
        const c = canonicalText(s);
        expect(canonicalText(c)).toBe(c);
        const m = modelText(s);
        expect(modelText(m)).toBe(m);
      }),
      { numRuns: 3000 },
    );
  });

  it('removes every invisible and control character', () => {
    fc.assert(
      fc.property(messy, (s) => {
        expect(canonicalText(s)).not.toMatch(/[\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u00AD\u0000-\u0008\u000B-\u001F\u007F]/);
      }),
      { numRuns: 2000 },
    );
  });

  it('sees through zero-width characters and homoglyphs planted to dodge detection', () => {
    const clean = 'In today’s fast-paced world, it is worth noting that technology plays a crucial role.';
    const dodged = 'In tоday’s fast-pаced wo\u200Brld, it is wоrth nоting that techn\u200Dology plays a crucial rоle.';
    expect(modelText(dodged)).toBe(modelText(clean));
    expect(modelText('随着\u200B科技的\u202E不断发展')).toBe('随着科技的不断发展');
  });

  it('counts Han characters and Latin words like the obvious regular expressions', () => {
    fc.assert(
      fc.property(fc.oneof(messy, fc.string({ unit: 'grapheme' })), (s) => {
        const han = s.match(/[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]/g)?.length ?? 0;
        const words = s.match(/[A-Za-z]+/g)?.length ?? 0;
        expect(contentLength(s)).toBe(han + words);
        expect(detectLang(s)).toBe(han > 0 && han >= words ? 'zh' : 'en');
      }),
      { numRuns: 2000 },
    );
  });

  it('detectLang and the schema never throw, whatever the input', () => {
    fc.assert(
      fc.property(messy, fc.anything(), (s, anything) => {
        expect(['zh', 'en']).toContain(detectLang(s));
        const parsed = articleInputSchema.safeParse(anything);
        expect(typeof parsed.success).toBe('boolean');
        const withText = articleInputSchema.safeParse({ externalId: 'e', accountId: 'a', text: s });
        if (withText.success) expect(hasLoneSurrogate(withText.data.text)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
