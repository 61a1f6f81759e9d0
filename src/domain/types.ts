import type { Lang } from './normalize.ts';

export type { Lang };

export const ARTICLE_STATUSES = ['queued', 'scoring', 'scored', 'failed'] as const;
export type ArticleStatus = (typeof ARTICLE_STATUSES)[number];

/** What the content is: declared AI content is never `ai_undeclared`. */
export const LABELS = ['human', 'ai_declared', 'ai_undeclared', 'uncertain'] as const;
export type Label = (typeof LABELS)[number];

/** What the platform should do with it. */
export const VERDICTS = ['pass', 'review', 'flag'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const ROLES = ['submitter', 'moderator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type SignalSource = 'model' | 'text' | 'account' | 'policy';

/** One explained contribution to a verdict, readable by a moderator in either language. */
export interface Reason {
  code: string;
  source: SignalSource;
  /** Signed contribution to the fused score (positive: more AI-like). */
  contribution: number;
  message: { zh: string; en: string };
  evidence?: Record<string, unknown>;
}

/** A scored stretch of the stored (canonical) text, by character offsets. */
export interface Segment {
  start: number;
  end: number;
  probability: number;
  /**
   * Whether the console highlights this window: its own calibrated probability against the
   * language's thresholds. Absent on segments stored before windows were calibrated (not
   * highlighted).
   */
  highlight?: SegmentHighlight;
}

export const SEGMENT_HIGHLIGHTS = ['none', 'review', 'flag'] as const;
export type SegmentHighlight = (typeof SEGMENT_HIGHLIGHTS)[number];

/** What the scorer reads: one article revision, already canonicalised. */
export interface ScoreInput {
  text: string;
  title: string | null;
  lang: Lang;
  /** Imports and rescans: their model work waits behind live articles' (shared batches). */
  background?: boolean;
}

/** What the scoring pipeline scores: one article revision, wherever it is kept. */
export interface ArticleToScore {
  tenantId: string;
  id: string;
  accountId: string;
  text: string;
  title: string | null;
  lang: Lang;
  declaredAi: boolean;
  metadata: Record<string, unknown>;
  /** When it was published (imports), else when it arrived: account signals order posts by it. */
  postedAt: Date;
}

/**
 * One scorer's view of an article. `probability` is a calibrated P(AI) in [0, 1], or null
 * when the scorer cannot say (text too short for it, say).
 */
export interface ScorerOutput {
  name: string;
  version: string;
  probability: number | null;
  reasons: Reason[];
  segments: Segment[];
  features: Record<string, number>;
  /**
   * Per-language decision points for `probability`, when the scorer was calibrated for them;
   * `reviewStrict` is the lower review point of the strict AI-assisted policy (fusion config).
   */
  thresholds: { review: number; flag: number; reviewStrict?: number } | null;
}

/**
 * A text scorer. Implementations: interpretable text signals, the local transformer, the
 * optional zero-shot causal LM. Loaded once per process; `score` may be called concurrently.
 */
export interface Scorer {
  readonly name: string;
  readonly version: string;
  /** Loads weights and warms up; resolves when `score` can answer. */
  load(): Promise<void>;
  isReady(): boolean;
  score(input: ScoreInput): Promise<ScorerOutput>;
  close(): Promise<void>;
}
