import { z } from 'zod';
import { isStorableText, refineStorable, TEXT_RULE_MESSAGE, timestamp } from './fields.ts';
import { hasLoneSurrogate } from './normalize.ts';

/**
 * What a platform submits for one comment, over HTTP (single, batch) or in an NDJSON import
 * line. The article is named by the platform's own id: it may or may not have been submitted
 * here. The text length limit depends on configuration and is checked by the service (413).
 */

const idString = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\u0000-\u001F\u007F]+$/, 'must not contain control characters')
  .refine(isStorableText, TEXT_RULE_MESSAGE);

export const commentInputSchema = z
  .object({
    externalId: idString.describe("The platform's id of the comment; unique per tenant."),
    accountId: idString.describe('The commenting account on the platform.'),
    articleExternalId: idString.describe("The platform's id of the article the comment answers (submitted here or not)."),
    parentExternalId: idString.optional().describe("The platform's id of the comment this one replies to, if any."),
    articleAccountId: idString.optional().describe("The article's author on the platform, when the article is not submitted here (coordinated boosting)."),
    text: z
      .string()
      .min(1)
      .refine((v) => !hasLoneSurrogate(v), 'contains a lone UTF-16 surrogate (invalid Unicode)')
      .describe('The comment text.'),
    postedAt: timestamp().optional().describe('When the platform published it (ISO 8601 with an offset, 1970-01-01 to 2100-12-31).'),
    declaredAi: z.boolean().default(false).describe('The author (a bot) declared the comment AI-generated.'),
    metadata: z
      .record(z.string().max(128), z.unknown())
      .default({})
      .superRefine((m, ctx) => {
        let bytes: number;
        try {
          bytes = Buffer.byteLength(JSON.stringify(m));
        } catch {
          bytes = Infinity; // nested too deep to serialise
        }
        if (bytes > 4096) ctx.addIssue({ code: 'custom', message: 'must be at most 4096 bytes as JSON' });
        else refineStorable(m, ctx);
      })
      .describe('Free-form platform metadata, stored as given.'),
  })
  .strict();

export type CommentInput = z.input<typeof commentInputSchema>;
export type ParsedCommentInput = z.output<typeof commentInputSchema>;
