import { z } from 'zod';
import { storableText, timestamp } from './fields.ts';
import { LABELS, VERDICTS } from './types.ts';

/**
 * What a rescan selects (its filter over a tenant's stored articles) and the states a rescan
 * goes through: the rescan service validates the filter, the store turns it into SQL.
 */

const iso = timestamp();
const idString = storableText().min(1).max(256);

export const rescanFilterSchema = z
  .object({
    publishedFrom: iso.optional().describe('publishedAt >= this'),
    publishedTo: iso.optional().describe('publishedAt < this'),
    receivedFrom: iso.optional().describe('receivedAt >= this'),
    receivedTo: iso.optional().describe('receivedAt < this'),
    accountIds: z.array(idString).min(1).max(1000).optional(),
    verdicts: z
      .array(z.enum([...VERDICTS, 'none']))
      .min(1)
      .optional()
      .describe("current verdict; 'none': never scored"),
    labels: z
      .array(z.enum([...LABELS, 'none']))
      .min(1)
      .optional()
      .describe("current label; 'none': never scored"),
    modelVersionNot: storableText().min(1).max(300).optional().describe('scored by another model version (or never scored)'),
    configVersionNot: storableText().min(1).max(300).optional().describe('scored under another fusion config version (or never scored)'),
    scoredBefore: iso.optional().describe('last scored before this time (or never scored)'),
  })
  .strict();
export type RescanFilter = z.infer<typeof rescanFilterSchema>;

export type RescanStatus = 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';
