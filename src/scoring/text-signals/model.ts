/**
 * The logistic model over the text-signals features: types of the fitted weights, the
 * minimum length, and the computation of the logit and each feature's share of it.
 */
import type { Lang } from '../../domain/normalize.ts';
import { FEATURE_NAMES, type FeatureName, type TextSignals } from './features.ts';

/**
 * Shortest text judged, in content units (Han characters for Chinese, words for English).
 * Below it the rates are too noisy to mean anything and the score is null.
 */
export const MIN_UNITS: Record<Lang, number> = { zh: 100, en: 60 };

/**
 * Direction each feature is expected to push P(AI), from the seed article's description of
 * slop. The fit pins a weight at 0 rather than let it take the other sign, so every
 * explanation reads the way a moderator expects.
 */
export const SIGN_PRIOR: Record<FeatureName, 1 | -1> = {
  template_rate: 1,
  sentence_len_cv: -1,
  personal_rate: -1,
  exclaim_question_share: -1,
  lexical_mattr: -1,
  detail_rate: -1,
  clickbait_rate: 1,
  structure_rate: 1,
  hedge_rate: 1,
};

export interface FeatureWeight {
  mean: number;
  std: number;
  weight: number;
  /**
   * The feature fires (its reason is shown) beyond this value in the direction of
   * `SIGN_PRIOR`: the human training texts' upper (or lower) quartile.
   */
  fireAt: number;
}

export interface LangWeights {
  bias: number;
  features: Record<FeatureName, FeatureWeight>;
  clamped: string[];
  trainRows: number;
  devRows: number;
  devAuroc: number;
  /** Dev AUROC with `structure_rate` read from the canonical text, as production does. */
  devAurocProductionPath: number;
  devAurocByDataset: Record<string, { n: number; auroc: number }>;
}

export interface TextSignalsWeights {
  lambda: number;
  zh: LangWeights;
  en: LangWeights;
}

/** True when the value is on the AI side of the human texts' quartile (see `fireAt`). */
export function fires(feature: FeatureName, value: number | null, w: FeatureWeight): boolean {
  if (value === null) return false;
  return SIGN_PRIOR[feature] > 0 ? value > w.fireAt && value > 0 : value <= w.fireAt;
}

export interface Explanation {
  bias: number;
  logit: number;
  probability: number;
  /** Signed share of the logit per feature: weight × standardised value (0 when missing). */
  contributions: Record<FeatureName, number>;
}

/**
 * Logit = bias + Σ weight·(value − mean)/std. A missing value contributes 0. Standardised
 * values are clipped to ±4 so that one freak rate (a 40-character text with 3 bullets) cannot
 * dominate the explanation.
 */
export function explain(signals: TextSignals, weights: LangWeights): Explanation {
  const contributions = {} as Record<FeatureName, number>;
  let logit = weights.bias;
  for (const f of FEATURE_NAMES) {
    const v = signals.features[f].value;
    const { mean, std, weight } = weights.features[f];
    const z = v === null ? 0 : Math.max(-4, Math.min(4, (v - mean) / std));
    const c = weight * z;
    contributions[f] = c;
    logit += c;
  }
  return { bias: weights.bias, logit, probability: 1 / (1 + Math.exp(-logit)), contributions };
}
