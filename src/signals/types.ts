/** What the account-behaviour signals report for one observed article. */
import type { Lang } from '../domain/normalize.ts';

export const ACCOUNT_SIGNAL_CODES = ['burst', 'machine_cadence', 'no_rest_period', 'near_duplicate', 'coordinated_posting'] as const;
export type AccountSignalCode = (typeof ACCOUNT_SIGNAL_CODES)[number];

/** One fired signal: a value, a strength in (0, 1], a reason in both languages and its evidence. */
export interface AccountSignal {
  code: AccountSignalCode;
  /** The measured quantity: posts in the burst, the CV, the number of accounts... */
  value: number;
  /** 0..1: how much this signal alone should raise suspicion. */
  strength: number;
  message: { zh: string; en: string };
  evidence: Record<string, unknown>;
}

export interface SimilarArticle {
  articleId: string;
  accountId: string;
  /** Estimated Jaccard similarity of the shingle sets, 0..1. */
  similarity: number;
  postedAt: string;
}

export interface ObserveInput {
  tenantId: string;
  articleId: string;
  accountId: string;
  text: string;
  lang: Lang;
  /** The article's `publishedAt` when given (imports), arrival time otherwise. */
  postedAt?: Date | string | number | null;
}

/** Parts of the account state that Redis could not serve for one observation. */
export type SignalsUnavailable = 'timeline' | 'near_duplicate_index';

export interface AccountSignalsResult {
  tenantId: string;
  articleId: string;
  accountId: string;
  /** The time the signals were computed at (ISO). */
  postedAt: string;
  /** False when this article had been observed before (retries and rescans count once). */
  firstObservation: boolean;
  /** Fired signals only, strongest first. */
  signals: AccountSignal[];
  /** Near-duplicates from other accounts of the same tenant, most similar first. */
  similar: SimilarArticle[];
  /** Proposed content-farm cluster (see ClusterService for the merged, stored one). */
  clusterId: string | null;
  /** Raw measurements, also fed to the fusion as features. */
  stats: {
    windowCounts: Record<string, number>;
    baselinePerDay: number;
    baselineSource: 'account' | 'tenant' | 'floor';
    intervalCv: number | null;
    indexed: boolean;
  };
  /**
   * Present only when some Redis nodes did not answer: `timeline` (no burst or cadence
   * judged), `near_duplicate_index` (near-duplicates from the part that answered only).
   */
  unavailable?: SignalsUnavailable[];
}
