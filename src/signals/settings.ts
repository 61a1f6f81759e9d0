import { z } from 'zod';

/**
 * Settings of the account-behaviour signals. `src/config.ts` parses them from the
 * environment; tests and the benchmark build them with `accountSignalSettingsSchema.parse({...})`.
 * Every field has a default, so `parse({})` gives the production defaults.
 */
export const accountSignalSettingsSchema = z.object({
  /** How long posting timelines, signatures and LSH buckets are kept (post time and wall clock). */
  retentionSeconds: z
    .number()
    .int()
    .positive()
    .default(14 * 24 * 3600),
  burst: z
    .object({
      /** Sliding windows reported in reasons and evidence (the first one is the burst headline). */
      windowsSeconds: z.array(z.number().int().positive()).min(1).default([600, 3600, 86_400]),
      /** Kleinberg two-state automaton: burst rate = s x base rate, entering the burst costs gamma ln n. */
      s: z.number().gt(1).default(2),
      gamma: z.number().positive().default(1),
      /** A burst needs at least this many posts in the burst state... */
      minPosts: z.number().int().positive().default(6),
      /** ...at a rate at least this many times the baseline. */
      minRateRatio: z.number().positive().default(8),
      /** An account with a shorter history is measured against the tenant norm, not itself. */
      establishedAfterSeconds: z
        .number()
        .int()
        .positive()
        .default(3 * 86_400),
      /** Lowest baseline rate, posts per account per day (a quiet tenant must not make 3 posts a burst). */
      baselineFloorPerDay: z.number().positive().default(2),
      /** Days of tenant activity averaged into the tenant norm (posts per active account per day). */
      tenantNormDays: z.number().int().positive().max(60).default(7),
      /** Most recent posts read per observation (bounds the cost for very active accounts). */
      maxPostsRead: z.number().int().positive().default(500),
      /** Rate ratio (burst segment vs baseline) at which strength reaches 1. */
      fullStrengthRatio: z.number().gt(1).default(200),
    })
    .prefault({}),
  cadence: z
    .object({
      /** Intervals needed before regularity is judged. */
      minIntervals: z.number().int().positive().default(12),
      /** Most recent intervals the coefficient of variation is computed over. */
      maxIntervals: z.number().int().positive().default(60),
      /** CV at or below this reads as machine-regular (human and Poisson posting sit near 1 or above). */
      cvThreshold: z.number().positive().default(0.35),
      /**
       * Regular intervals longer than this on average are a habit, not a machine (a person who
       * comments every lunch break). Unbounded for articles; comments set it (issue 16).
       */
      maxMeanIntervalSeconds: z.number().positive().default(Number.POSITIVE_INFINITY),
      /** No gap at least this long within the rest window means no human rest period. */
      restGapSeconds: z
        .number()
        .int()
        .positive()
        .default(3 * 3600),
      restWindowSeconds: z.number().int().positive().default(86_400),
      /** Posts needed inside the rest window before "no rest" is judged. */
      restMinPosts: z.number().int().positive().default(24),
    })
    .prefault({}),
  nearDuplicate: z
    .object({
      /** MinHash permutations; must equal bands x rows. */
      permutations: z.number().int().min(64).max(512).default(128),
      bands: z.number().int().positive().default(32),
      /** Character shingle length for Chinese. */
      zhShingle: z.number().int().min(2).max(10).default(3),
      /** Word shingle length for English. */
      enShingle: z.number().int().min(1).max(6).default(2),
      /** Replace every number (Arabic or Chinese numerals) with one placeholder before shingling. */
      maskNumbers: z.boolean().default(true),
      /** Texts with fewer shingles are not indexed (everything short looks alike). */
      minShingles: z.number().int().positive().default(30),
      /** Estimated Jaccard at or above which two articles are near-duplicates. */
      threshold: z.number().gt(0).max(1).default(0.5),
      /** A bucket keeps its most recent entries only (boilerplate must not make hot buckets). */
      maxBucketSize: z.number().int().positive().default(64),
      /** Candidates verified per observation at most. */
      maxCandidates: z.number().int().positive().default(400),
      /** Similar articles returned at most (the best ones). */
      maxSimilar: z.number().int().positive().default(50),
      /**
       * Hash shards of the LSH buckets per tenant and generation. Redis stores a hash compactly
       * while it holds at most `hash-max-listpack-entries` (128 by default) fields, so about a
       * quarter of the articles a tenant posts per generation is best. Measured at 1M articles:
       * 1.5 KB per article with 65536 shards, 3.1 KB with 1024 (at 10k: 3.7 KB and 1.6 KB).
       */
      shards: z.number().int().positive().default(65_536),
      /** The retention window is split into this many LSH generations by post time, each expiring
       *  whole: fewer generations mean fewer lookups per article and up to 1/generations more memory. */
      generations: z.number().int().min(1).max(16).default(2),
    })
    .prefault({})
    .refine((v) => v.permutations % v.bands === 0, { message: 'permutations must be a multiple of bands' }),
  coordination: z
    .object({
      /** Near-duplicates posted within this many seconds of each other count as co-posted. */
      windowSeconds: z.number().positive().default(60),
      /** Distinct accounts (this one included) that make a coordinated posting. */
      minAccounts: z.number().int().min(2).default(3),
    })
    .prefault({}),
});

export type AccountSignalSettings = z.infer<typeof accountSignalSettingsSchema>;
export type AccountSignalSettingsInput = z.input<typeof accountSignalSettingsSchema>;

/** Production defaults. */
export const defaultAccountSignalSettings: AccountSignalSettings = accountSignalSettingsSchema.parse({});
