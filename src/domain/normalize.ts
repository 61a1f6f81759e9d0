/**
 * Text normalisation: the one implementation used at submission (hashing, storage), at
 * inference (model input) and by the training-data preparation step, so the model never
 * sees text prepared differently from what it was trained on.
 *
 * Two levels:
 * - `canonicalText`: what is stored and hashed. NFKC, invisible and control characters
 *   removed, mixed-script homoglyphs folded, line endings unified. Paragraphs are kept so
 *   offsets of highlighted passages make sense to a reader.
 * - `modelText`: what the model and the n-gram features read. Additionally collapses every
 *   run of whitespace (newlines included) and removes the spacing around punctuation, the
 *   formatting tells that leak the label in the datasets.
 *
 * Both are idempotent: f(f(x)) === f(x).
 */

/** Zero-width characters, soft hyphen, bidi controls, BOM and other invisibles. */
const INVISIBLE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each invisible is listed on its own on purpose, combining ones too
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8]|\uDB40[\uDC00-\uDDEF]/g;
/** C0 and C1 control characters except tab and newline (carriage returns are unified first). */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Cyrillic and Greek letters that look like Latin ones. They are folded only inside words
 * that also hold Latin letters: a lone Cyrillic word is left alone, an English word with a
 * Cyrillic "а" planted in it to dodge detection is repaired.
 */
const HOMOGLYPHS: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ɡ: 'g',
  ӏ: 'l',
  А: 'A',
  В: 'B',
  Е: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  Х: 'X',
  І: 'I',
  Ј: 'J',
  Ѕ: 'S',
  Ԁ: 'D',
  Ԛ: 'Q',
  Ԝ: 'W',
  α: 'a',
  ο: 'o',
  ρ: 'p',
  ν: 'v',
  ι: 'i',
  κ: 'k',
  τ: 't',
  υ: 'u',
  χ: 'x',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
};
const HOMOGLYPH_CLASS = `[${Object.keys(HOMOGLYPHS).join('')}]`;
const MIXED_WORD = new RegExp(
  `[A-Za-z${Object.keys(HOMOGLYPHS).join('')}]*(?:[A-Za-z]${HOMOGLYPH_CLASS}|${HOMOGLYPH_CLASS}[A-Za-z])[A-Za-z${Object.keys(HOMOGLYPHS).join('')}]*`,
  'g',
);
const HOMOGLYPH_CHAR = new RegExp(HOMOGLYPH_CLASS, 'g');

/** True when the string holds a UTF-16 surrogate that is not part of a pair. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

function foldHomoglyphs(text: string): string {
  return text.replace(MIXED_WORD, (word) => word.replace(HOMOGLYPH_CHAR, (ch) => HOMOGLYPHS[ch] ?? ch));
}

/** Stored and hashed form of a text. Throws nothing; callers reject lone surrogates first. */
export function canonicalText(text: string): string {
  const unified = text.replace(/\r\n?/g, '\n').normalize('NFKC');
  const visible = unified.replace(INVISIBLE, '').replace(CONTROL, '');
  const folded = foldHomoglyphs(visible);
  // NFKC again when something was removed or folded: "e" + zero-width + combining accent, or
  // a Cyrillic "а" + accent folded to Latin, compose only then.
  const composed = folded === unified ? folded : folded.normalize('NFKC');
  return composed
    .replace(/[\t \u00A0\u3000]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const CJK = '\\u2E80-\\u2FFF\\u3001-\\u303F\\u3040-\\u30FF\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uF900-\\uFAFF\\uFF00-\\uFFEF';
/**
 * Any space touching a CJK character or CJK punctuation. Chinese needs no spaces, and in the
 * datasets they leak the label: newlines turned into spaces after "。" or "?" in AI answers,
 * spaces around numbers and Latin words in human web text.
 */
const SPACE_NEXT_TO_CJK = new RegExp(`(?<=[${CJK}]) | (?=[${CJK}])`, 'g');
const SPACE_BEFORE_PUNCT = / +(?=[,.;:!?%)\]}”’»、,。;:!?)】》」』])/g;
const SPACE_AFTER_OPEN = /(?<=[([{“‘«(【《「『]) +/g;
/** English contractions tokenised apart ("do n't", "it 's") in some human sets. */
const SPLIT_CONTRACTION = / +(?=(?:n't|'s|'re|'ve|'ll|'d|'m)\b)/gi;

/** Model input form: canonical text with every formatting tell removed. */
export function modelText(text: string): string {
  const joined = canonicalText(text)
    .replace(/\s+/g, ' ')
    .replace(SPLIT_CONTRACTION, '')
    .replace(SPACE_BEFORE_PUNCT, '')
    .replace(SPACE_AFTER_OPEN, '')
    .replace(SPACE_NEXT_TO_CJK, '')
    .trim();
  // Joining words can make new mixed-script words ("о n't" -> "оn't"): fold those too.
  return foldHomoglyphs(joined);
}

export type Lang = 'zh' | 'en';

/**
 * Language from the text itself, the way the datasets label it: Chinese when Han characters
 * outnumber Latin words, English otherwise.
 */
export function detectLang(text: string): Lang {
  const { han, words } = countUnits(text);
  return han > 0 && han >= words ? 'zh' : 'en';
}

/** Length in the units a reader would count: Han characters plus Latin words. */
export function contentLength(text: string): number {
  const { han, words } = countUnits(text);
  return han + words;
}

/** Han characters and Latin words in one pass, without building match arrays. */
function countUnits(text: string): { han: number; words: number } {
  let han = 0;
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const latin = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (latin && !inWord) words++;
    inWord = latin;
    if ((c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff)) han++;
  }
  return { han, words };
}
