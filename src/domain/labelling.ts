import { z } from 'zod';
import type { Verdict } from './types.ts';

/**
 * The AI-content labelling measures (人工智能生成合成内容标识办法, in force since 2025-09-01) and the
 * national standard for the labelling method (GB 45438-2025), as one pure decision.
 *
 * A platform that spreads content must (Measures, art. 8):
 *   (a) read the implicit label in the file metadata and, when there is one, show that the
 *       content IS AI-generated                                  -> `confirmed`
 *   (b) without it, when the user declared AI content, show that it MAY be AI-generated
 *       (an explicit label in the text is such a declaration)     -> `possible`
 *   (c) without either, when it detects traces of generation, show that it is SUSPECTED to be
 *       AI-generated (here: the verdict is `flag`)                 -> `suspected`
 *   and add its own propagation elements (platform name or code, content id) to the metadata.
 *
 * The implicit label is the standard's metadata entry `AIGC` with these field names:
 *   Label              1: is AI-generated, 2: may be, 3: suspected (the producer's or an earlier platform's call)
 *   ContentProducer    name or code of the service provider that generated it
 *   ProduceID          the producer's content id
 *   ReservedCode1      the producer's reserved field (e.g. a signature)
 *   ContentPropagator  name or code of the platform spreading it
 *   PropagateID        the propagator's content id
 *   ReservedCode2      the propagator's reserved field
 *
 * Example:
 *   decideLabelling({ implicit: null, declaredAi: false, explicit: [{ phrase: '本文由AI生成', where: 'end', start: 812, end: 819, lang: 'zh' }],
 *     verdict: 'pass', contentId: 'post-1', propagator: 'slopguard' })
 *   // { decision: 'possible', basis: 'explicit_label', notice: { zh: '该内容可能为人工智能生成合成内容', en: 'This content may be AI-generated' },
 *   //   propagation: { AIGC: { Label: '2', ContentProducer: '', ProduceID: '', ReservedCode1: '', ContentPropagator: 'slopguard', PropagateID: 'post-1', ReservedCode2: '' } }, ... }
 */

export const AIGC_KEY = 'AIGC';
export const AIGC_LABEL_VALUES = ['1', '2', '3'] as const;
export type AigcLabelValue = (typeof AIGC_LABEL_VALUES)[number];

const field = z.string().max(256);

/** The `AIGC` metadata entry as GB 45438-2025 names its fields (strict: a misspelt field is an error). */
export const aigcLabelSchema = z
  .object({
    Label: z
      .union([z.enum(AIGC_LABEL_VALUES), z.literal(1), z.literal(2), z.literal(3)], {
        error: 'must be "1" (AI-generated), "2" (may be AI-generated) or "3" (suspected)',
      })
      .transform((v) => String(v) as AigcLabelValue)
      .describe('1: AI-generated, 2: may be AI-generated, 3: suspected AI-generated'),
    ContentProducer: field.describe('Name or code of the service provider that generated the content'),
    ProduceID: field.describe("The producer's content id"),
    ReservedCode1: field.optional(),
    ContentPropagator: field.optional(),
    PropagateID: field.optional(),
    ReservedCode2: field.optional(),
  })
  .strict();
export type AigcLabel = z.output<typeof aigcLabelSchema>;

/**
 * The entry as found in metadata: an object, or the JSON string file metadata carries (XMP
 * and PNG text chunks hold it as a string). Issues have paths relative to the entry.
 */
export function parseAigcEntry(value: unknown): { ok: true; label: AigcLabel } | { ok: false; issues: { path: (string | number)[]; message: string }[] } {
  let raw = value;
  if (typeof value === 'string') {
    try {
      raw = JSON.parse(value) as unknown;
    } catch {
      return { ok: false, issues: [{ path: [], message: 'must be an object or a JSON object string' }] };
    }
  }
  const parsed = aigcLabelSchema.safeParse(raw);
  if (parsed.success) return { ok: true, label: parsed.data };
  return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message })) };
}

/** The implicit label of stored (already validated) metadata, or null. */
export function implicitLabelOf(metadata: Record<string, unknown>): AigcLabel | null {
  if (!(AIGC_KEY in metadata)) return null;
  const parsed = parseAigcEntry(metadata[AIGC_KEY]);
  return parsed.ok ? parsed.label : null;
}

// ---------------------------------------------------------------- explicit labels in the text

export type LabelPlace = 'title' | 'start' | 'end';

/** An explicit label found in the title or text, by character offsets of that field. */
export interface ExplicitLabel {
  phrase: string;
  where: LabelPlace;
  start: number;
  end: number;
  lang: 'zh' | 'en';
}

/** Labels sit at the edges of a text: a phrase deep inside is a discussion of AI, not a label. */
export const LABEL_EDGE_CHARS = 200;

const ZH_AI = '(?:AI|ＡＩ|人工智能|AIGC|生成式人工智能|大模型|智能体)';
const ZH_MADE = '(?:生成合成|生成|合成|创作|撰写|写作|编写|制作)';
const ZH_PATTERNS = [
  // 本文由AI生成 / 内容由人工智能辅助生成 / 本文使用AI工具辅助创作
  new RegExp(
    `(?:本文|本篇(?:文章)?|此文|该文|全文|本内容|以下内容|内容|文章|本帖|图文|文字|正文)(?:部分)?\\s*(?:系|由|为|经|使用|采用|借助|利用|通过)\\s*${ZH_AI}(?:工具|技术|模型)?\\s*(?:辅助|协助|参与)?\\s*${ZH_MADE}`,
    'g',
  ),
  // 【AI生成】 [人工智能辅助生成内容] #AI创作#
  new RegExp(`[【\\[（(#「〔]\\s*${ZH_AI}\\s*(?:辅助)?\\s*${ZH_MADE}(?:内容)?\\s*[】\\]）)#」〕]`, 'g'),
  // A line of its own: AI生成 / 人工智能生成合成内容 / 由AI生成，请谨慎甄别
  new RegExp(`(?:^|\\n)[ \\t]*(?:内容)?(?:由|为)?${ZH_AI}(?:辅助)?${ZH_MADE}(?:内容)?(?:[，,。.！!；;]?\\s*(?:请谨慎甄别|请注意甄别|仅供参考))?[。.！!]?[ \\t]*(?=\\n|$)`, 'g'),
];
const EN_AI = '(?:AI|A\\.I\\.|artificial intelligence|generative AI|ChatGPT|GPT-?\\d*(?:\\.\\d)?|an? (?:large )?language model|LLMs?)';
const EN_PATTERNS = [
  // This article was generated by AI / This post was written with the help of ChatGPT
  new RegExp(
    `\\b(?:this|the) (?:article|content|post|text|story|piece|summary|report)\\s+(?:was|is|has been)\\s+(?:partly |partially |fully |entirely )?(?:generated|written|created|produced|drafted|composed)\\s+(?:with the (?:help|assistance) of|with|by|using)\\s+(?:an?\\s+)?${EN_AI}`,
    'gi',
  ),
  // Generated by AI / Written with AI assistance / AI-generated content
  new RegExp(`\\b(?:(?:generated|created|written|produced) (?:by|with|using) ${EN_AI}(?: assistance)?|AI[- ](?:generated|assisted|written)(?: content)?)\\b`, 'gi'),
];
// A phrase right after one of these is a denial ("非AI生成", "not generated by AI").
const ZH_NEGATION = /(?:非|不是|并非|并不是|未|无|没有|不含|拒绝|禁止|不得)\s*$/;
const EN_NEGATION = /\b(?:not|no|never|without|isn't|wasn't|nor)\s+(?:\w+\s+)?$/i;

function scan(field: string, place: LabelPlace | 'text', out: ExplicitLabel[]): void {
  const edge = (start: number, end: number): LabelPlace | null => {
    if (place !== 'text') return place;
    if (start < LABEL_EDGE_CHARS) return 'start';
    if (end > field.length - LABEL_EDGE_CHARS) return 'end';
    return null;
  };
  for (const [lang, patterns, negation] of [
    ['zh', ZH_PATTERNS, ZH_NEGATION],
    ['en', EN_PATTERNS, EN_NEGATION],
  ] as const) {
    for (const pattern of patterns) {
      for (const m of field.matchAll(pattern)) {
        const lead = m[0].length - m[0].trimStart().length;
        const start = (m.index ?? 0) + lead;
        const phrase = m[0].trim();
        const end = start + phrase.length;
        const where = edge(start, end);
        if (!where || negation.test(field.slice(Math.max(0, start - 12), start))) continue;
        // Patterns overlap ("【AI生成】" is also a line of its own): keep the first, widest hit.
        if (out.some((l) => l.where === where && l.start < end && start < l.end)) continue;
        out.push({ phrase, where, start, end, lang });
      }
    }
  }
}

/** Explicit AI labels in the title (anywhere) and the text (its first or last 200 characters). */
export function detectExplicitLabels(input: { title: string | null; text: string }): ExplicitLabel[] {
  const found: ExplicitLabel[] = [];
  if (input.title) scan(input.title, 'title', found);
  scan(input.text, 'text', found);
  const order: Record<LabelPlace, number> = { title: 0, start: 1, end: 2 };
  return found.sort((a, b) => order[a.where] - order[b.where] || a.start - b.start);
}

// ---------------------------------------------------------------- the decision

export const LABELLING_DECISIONS = ['confirmed', 'possible', 'suspected', 'none'] as const;
export type LabellingDecision = (typeof LABELLING_DECISIONS)[number];
export type LabellingBasis = 'implicit_label' | 'declared' | 'explicit_label' | 'verdict' | null;

export const LABEL_NOTICES: Record<Exclude<LabellingDecision, 'none'>, { zh: string; en: string }> = {
  confirmed: { zh: '该内容为人工智能生成合成内容', en: 'This content is AI-generated' },
  possible: { zh: '该内容可能为人工智能生成合成内容', en: 'This content may be AI-generated' },
  suspected: { zh: '该内容疑似为人工智能生成合成内容', en: 'This content is suspected to be AI-generated' },
};

const LABEL_VALUE: Record<Exclude<LabellingDecision, 'none'>, AigcLabelValue> = { confirmed: '1', possible: '2', suspected: '3' };
const FROM_LABEL_VALUE: Record<AigcLabelValue, Exclude<LabellingDecision, 'none'>> = { '1': 'confirmed', '2': 'possible', '3': 'suspected' };
const RANK: Record<LabellingDecision, number> = { none: 0, suspected: 1, possible: 2, confirmed: 3 };

export interface Labelling {
  decision: LabellingDecision;
  /** What the decision rests on. */
  basis: LabellingBasis;
  /** The notice to show with the content; null for `none`. */
  notice: { zh: string; en: string } | null;
  /** The implicit label received in the metadata, as validated. */
  implicitLabel: AigcLabel | null;
  explicitLabels: ExplicitLabel[];
  /** The `AIGC` entry to write back into the content's metadata (standard field names); null for `none`. */
  propagation: { AIGC: Required<AigcLabel> } | null;
}

export interface LabellingInput {
  implicit: AigcLabel | null;
  declaredAi: boolean;
  explicit: readonly ExplicitLabel[];
  /** The current verdict; null while the article is not scored. */
  verdict: Verdict | null;
  /** The platform's content id (the article's externalId). */
  contentId: string;
  /** This platform's name or code (`LABEL_PROPAGATOR`). */
  propagator: string;
}

/** True when the article carries a declaration of AI content: fusion then never says `ai_undeclared`. */
export function isDeclared(input: { implicit: AigcLabel | null; declaredAi: boolean; explicit: readonly ExplicitLabel[] }): boolean {
  return input.declaredAi || input.explicit.length > 0 || (input.implicit !== null && input.implicit.Label !== '3');
}

/** The labelling decision for one article (see the module doc for the mapping). */
export function decideLabelling(input: LabellingInput): Labelling {
  const candidates: { decision: LabellingDecision; basis: LabellingBasis }[] = [{ decision: 'none', basis: null }];
  if (input.implicit) candidates.push({ decision: FROM_LABEL_VALUE[input.implicit.Label], basis: 'implicit_label' });
  if (input.declaredAi) candidates.push({ decision: 'possible', basis: 'declared' });
  if (input.explicit.length > 0) candidates.push({ decision: 'possible', basis: 'explicit_label' });
  if (input.verdict === 'flag') candidates.push({ decision: 'suspected', basis: 'verdict' });
  // The strongest case wins; on a tie the first found (metadata before the user's word).
  const best = candidates.reduce((a, b) => (RANK[b.decision] > RANK[a.decision] ? b : a));
  const { decision } = best;
  return {
    decision,
    basis: best.basis,
    notice: decision === 'none' ? null : LABEL_NOTICES[decision],
    implicitLabel: input.implicit,
    explicitLabels: [...input.explicit],
    propagation:
      decision === 'none'
        ? null
        : {
            AIGC: {
              Label: LABEL_VALUE[decision],
              ContentProducer: input.implicit?.ContentProducer ?? '',
              ProduceID: input.implicit?.ProduceID ?? '',
              ReservedCode1: input.implicit?.ReservedCode1 ?? '',
              ContentPropagator: input.propagator,
              PropagateID: input.contentId,
              ReservedCode2: input.implicit?.ReservedCode2 ?? '',
            },
          },
  };
}
