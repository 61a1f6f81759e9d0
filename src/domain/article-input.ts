import { z } from 'zod';
import { isStorableText, refineStorable, TEXT_RULE_MESSAGE, timestamp } from './fields.ts';
import { AIGC_KEY, parseAigcEntry } from './labelling.ts';
import { hasLoneSurrogate } from './normalize.ts';

/**
 * What a platform submits for one article, over HTTP or in an NDJSON import line. Limits
 * that depend on configuration (text length) are checked by the service, which answers 413.
 */

// Text and title may carry NUL and control characters: normalisation removes them before
// storage. Every other string is stored as sent, so it follows the text rule (fields.ts).
const noLoneSurrogate = (value: string) => !hasLoneSurrogate(value);
const SURROGATE_MESSAGE = 'contains a lone UTF-16 surrogate (invalid Unicode)';
// Ids are opaque to us but must stay printable: no control characters.
const idString = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\u0000-\u001F\u007F]+$/, 'must not contain control characters')
  .refine(noLoneSurrogate, SURROGATE_MESSAGE);

const MAX_METADATA_BYTES = 16_384;
const MAX_METADATA_DEPTH = 6;

/** True when objects nest deeper than `limit`; iterative and bounded, so hostile depth costs nothing. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > limit) return true;
    const next: unknown[] = [];
    for (const v of level) if (v !== null && typeof v === 'object') next.push(...Object.values(v));
    level = next;
  }
  return false;
}

export const articleInputSchema = z
  .object({
    externalId: idString.describe("The platform's id of the article; unique per tenant."),
    accountId: idString.describe('The publishing account on the platform.'),
    text: z.string().min(1).refine(noLoneSurrogate, SURROGATE_MESSAGE).describe('Full article text.'),
    title: z.string().max(1000).refine(noLoneSurrogate, SURROGATE_MESSAGE).optional(),
    url: z
      .string()
      .max(2048)
      .url()
      .refine(isStorableText, TEXT_RULE_MESSAGE)
      .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL')
      .optional(),
    publishedAt: timestamp().optional().describe('When the platform published it (ISO 8601 with an offset, 1970-01-01 to 2100-12-31).'),
    declaredAi: z.boolean().default(false).describe('The author labelled it as AI-generated.'),
    labels: z.array(z.string().min(1).max(64).refine(isStorableText, TEXT_RULE_MESSAGE)).max(32).default([]),
    metadata: z
      .record(z.string().max(128), z.unknown())
      .default({})
      .superRefine((m, ctx) => {
        if (nestsDeeperThan(m, MAX_METADATA_DEPTH)) {
          ctx.addIssue({ code: 'custom', message: `must not nest deeper than ${MAX_METADATA_DEPTH} levels` });
        } else if (Buffer.byteLength(JSON.stringify(m)) > MAX_METADATA_BYTES) {
          ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_METADATA_BYTES} bytes as JSON` });
        } else {
          refineStorable(m, ctx);
          if (AIGC_KEY in m) {
            // The implicit AI label (GB 45438-2025): a bad one is refused, never silently ignored.
            const aigc = parseAigcEntry(m[AIGC_KEY]);
            if (!aigc.ok) for (const issue of aigc.issues) ctx.addIssue({ code: 'custom', path: [AIGC_KEY, ...issue.path], message: issue.message });
          }
        }
      })
      .describe('Free-form platform metadata. `AIGC` is the implicit AI label of GB 45438-2025 (see the labelling section).'),
  })
  .strict();

export type ArticleInput = z.input<typeof articleInputSchema>;
export type ParsedArticleInput = z.output<typeof articleInputSchema>;
