import { z } from 'zod';
import { ACCOUNT_SIGNAL_CODES } from '../signals/types.ts';

const thresholdsSchema = z
  .object({ review: z.number().min(0).max(1), flag: z.number().min(0).max(1) })
  .refine((t) => t.review <= t.flag, { message: 'review threshold must not exceed flag threshold' });

const verdictSchema = z.enum(['pass', 'review', 'flag']);

/**
 * Versioned fusion config. Every stored score records `version`: bump it whenever any value
 * here changes (the test `fusion config fingerprint` fails until you do), so rescans can tell
 * a verdict change caused by new weights from one caused by a new model.
 */
export const fusionConfigSchema = z.object({
  version: z.string().min(1).default('fusion-2026-11-27.2'),
  /** Decision points for the model probability when the detector has no calibrated ones. */
  thresholds: z
    .object({
      zh: thresholdsSchema.default({ review: 0.5, flag: 0.85 }),
      en: thresholdsSchema.default({ review: 0.5, flag: 0.85 }),
    })
    .prefault({}),
  weights: z
    .object({
      /** Largest log-odds nudge the interpretable text signals may give (either way). */
      text: z.number().min(0).default(0.8),
      /** Texts shorter than this many units (Han characters + Latin words) nudge proportionally less. */
      textFullWeightLength: z.number().int().positive().default(300),
      /** Log-odds added to the score at full account suspicion. */
      account: z.number().min(0).default(1.5),
      /** How much each account signal's strength counts towards account suspicion. */
      accountSignals: z
        .record(z.enum(ACCOUNT_SIGNAL_CODES), z.number().min(0).max(1))
        .default({ burst: 1, machine_cadence: 0.9, no_rest_period: 0.5, near_duplicate: 1, coordinated_posting: 1 }),
    })
    .prefault({}),
  account: z
    .object({
      /** Account suspicion (0..1) from which an article goes to review whatever its text says. */
      review: z.number().min(0).max(1).default(0.5),
      /** Account suspicion from which a text already at review level is escalated to flag. */
      escalate: z.number().min(0).max(1).default(0.8),
    })
    .prefault({}),
  /**
   * Human text refined by an LLM is not the `flag` target. `lenient`: the detector's review
   * threshold (1% FPR on article-length human text; most LLM-refined human text passes).
   * `strict`: its lower `reviewStrict` point (5% FPR), which sends half of the NLPCC HLT dev
   * texts to review against a fifth at the default (model card) at the cost of more human articles in the queue.
   */
  aiAssisted: z.enum(['lenient', 'strict']).default('lenient'),
  /** When the detector cannot score (short text): text-signal probability that still sends to review. */
  textOnlyReview: z.number().min(0).max(1).default(0.9),
  declared: z
    .object({
      /** Verdict for content the publisher declared as AI-generated. */
      verdict: verdictSchema.default('pass'),
      /** Verdict for declared AI content whose accounts look like a farm (account suspicion >= review): a label does not excuse a farm. */
      farmVerdict: verdictSchema.default('review'),
    })
    .prefault({}),
});

export type FusionConfig = z.infer<typeof fusionConfigSchema>;
export type FusionConfigInput = z.input<typeof fusionConfigSchema>;

export const defaultFusionConfig: FusionConfig = fusionConfigSchema.parse({});

/** Validates a config (throws a ZodError listing every bad field). */
export function parseFusionConfig(input: FusionConfigInput = {}): FusionConfig {
  return fusionConfigSchema.parse(input);
}
