/**
 * Fusion: the one place where the model score, the interpretable text signals and the
 * account-behaviour signals become a score, a label, a verdict and the reasons for them.
 *
 * Pure: no I/O, no clock; the same input and config always give the same result.
 *
 * How the score is built, in log-odds (all reason contributions are in these units):
 *   model    logit(p) of the detector's calibrated P(AI)   (0 when the detector cannot score)
 *   text     weights.text x lengthFactor x (2 * pText - 1)  (a bounded nudge, either way), or 0
 *            when the detector's calibrated fusion already weighs the text signals
 *            (`features.text_signals_weight`): their reasons are then shown with their share
 *            of the model's logit, not added a second time
 *   account  weights.account x suspicion, suspicion = 1 - prod(1 - w_code x strength)
 *   score    sigmoid(model + text + account)
 *
 * How the verdict is decided (rules, not the score alone, so each guarantee is easy to see):
 *   1. Declared AI content: verdict from policy (`declared.verdict`, or `declared.farmVerdict`
 *      when the accounts look like a farm).
 *   2. No model probability (text too short): `review` when the account suspicion reaches
 *      `account.review` or the text signals alone reach `textOnlyReview`, else `pass`.
 *   3. Otherwise the text-side score t = sigmoid(model + text) is compared with the detector's
 *      per-language thresholds (config fallback when it has none; with `aiAssisted: strict`
 *      the review point is the detector's lower `reviewStrict`):
 *        t >= flag   -> flag
 *        t >= review -> review (flag when account suspicion >= `account.escalate`)
 *        t <  review -> review when account suspicion >= `account.review`, else pass.
 *      So account signals route to review, and escalate a text that is already doubtful, but
 *      never flag a text the model reads as human.
 *
 * The label always agrees with the verdict (labelFor): declared AI content is `ai_declared`
 * whatever its verdict (never `ai_undeclared`); otherwise flag -> `ai_undeclared`,
 * review -> `uncertain`, pass -> `human`.
 *
 * Example: detector p = 0.95 (zh, thresholds 0.5 / 0.85), neutral text, no account signals ->
 *   { score: 0.95, label: 'ai_undeclared', verdict: 'flag', reasons: [model_probability ...] }
 */
import type { Lang } from '../domain/normalize.ts';
import type { Label, Reason, ScorerOutput, Verdict } from '../domain/types.ts';
import type { AccountSignalsResult } from '../signals/types.ts';
import type { FusionConfig } from './fusion-config.ts';

export interface FusionInput {
  lang: Lang;
  declaredAi: boolean;
  /** Han characters plus Latin words (`contentLength` of the text). */
  contentLength: number;
  /** The transformer detector; null while it is not shipped or not loaded. */
  detector: ScorerOutput | null;
  /** Interpretable text signals. */
  text: ScorerOutput;
  account: AccountSignalsResult | null;
}

export interface FusionResult {
  /** Fused P(AI-like), 0..1. */
  score: number;
  label: Label;
  verdict: Verdict;
  /** Every reason that contributed, largest |contribution| first. */
  reasons: Reason[];
  configVersion: string;
  /** The three parts of the score in log-odds, and the account suspicion (0..1). */
  parts: { model: number | null; text: number; account: number; accountSuspicion: number };
  /** The thresholds the verdict used and where they came from. */
  thresholds: { review: number; flag: number; source: 'detector' | 'config' };
}

const EPS = 1e-4;

function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const VERDICT_RANK: Record<Verdict, number> = { pass: 0, review: 1, flag: 2 };
function worse(a: Verdict, b: Verdict): Verdict {
  return VERDICT_RANK[a] >= VERDICT_RANK[b] ? a : b;
}

function pct(p: number): string {
  return `${Math.round(p * 100)}%`;
}

/** The label a verdict carries (see the module doc): the one rule, so the two never disagree. */
export function labelFor(verdict: Verdict, declaredAi: boolean): Label {
  if (declaredAi) return 'ai_declared';
  return verdict === 'flag' ? 'ai_undeclared' : verdict === 'review' ? 'uncertain' : 'human';
}

/** Fuses model, text and account evidence into one explained verdict (see the module doc). */
export function fuse(input: FusionInput, config: FusionConfig): FusionResult {
  const { detector, text, account } = input;
  const reasons: Reason[] = [];

  // Model.
  const p = detector?.probability ?? null;
  const model = p === null ? null : logit(p);
  if (p !== null && detector) {
    reasons.push({
      code: 'model_probability',
      source: 'model',
      contribution: round(model ?? 0),
      message: { zh: `模型判断为AI生成的概率为${pct(p)}`, en: `The model puts the chance of AI generation at ${pct(p)}` },
      evidence: { model: detector.name, version: detector.version, probability: p, details: detector.reasons },
    });
  }

  // Text signals: a bounded nudge, weaker on short texts; none when the detector's own
  // calibrated fusion already weighs them (its probability includes them).
  const inModel = p !== null && detector?.features.text_signals_weight !== undefined;
  const lengthFactor = Math.min(1, Math.max(0, input.contentLength) / config.weights.textFullWeightLength);
  const textNudge = text.probability === null || inModel ? 0 : config.weights.text * lengthFactor * (2 * text.probability - 1);
  const rawSum = text.reasons.reduce((a, r) => a + r.contribution, 0);
  const rawAbs = text.reasons.reduce((a, r) => a + Math.abs(r.contribution), 0);
  if (inModel) {
    // each text reason's share of the text-signals logit, times the fusion's weight on it
    const k = detector!.features.text_signals_weight!;
    for (const r of text.reasons) reasons.push({ ...r, source: 'text', contribution: round(r.contribution * k), evidence: { ...r.evidence, inModel: true } });
  } else if (textNudge !== 0 && rawAbs > 0) {
    // Spread the nudge over the text reasons in proportion to their own contributions.
    const k = rawSum !== 0 && Math.sign(rawSum) === Math.sign(textNudge) ? textNudge / rawSum : Math.abs(textNudge) / rawAbs;
    for (const r of text.reasons) reasons.push({ ...r, source: 'text', contribution: round(r.contribution * k) });
  } else if (textNudge !== 0) {
    reasons.push({
      code: 'text_signals',
      source: 'text',
      contribution: round(textNudge),
      message: {
        zh: `文本特征判断为AI生成的概率为${pct(text.probability ?? 0.5)}`,
        en: `Text features put the chance of AI generation at ${pct(text.probability ?? 0.5)}`,
      },
      evidence: { scorer: text.name, version: text.version, features: text.features },
    });
  }

  // Account signals: noisy-or of weighted strengths.
  const weighted = (account?.signals ?? []).map((s) => ({ s, w: (config.weights.accountSignals[s.code] ?? 0) * s.strength }));
  const suspicion = 1 - weighted.reduce((a, x) => a * (1 - Math.min(1, x.w)), 1);
  const accountPart = config.weights.account * suspicion;
  const wSum = weighted.reduce((a, x) => a + x.w, 0);
  for (const { s, w } of weighted) {
    if (w <= 0) continue;
    reasons.push({
      code: s.code,
      source: 'account',
      contribution: round((accountPart * w) / wSum),
      message: s.message,
      evidence: { value: s.value, strength: s.strength, ...s.evidence },
    });
  }

  const textSide = (model ?? 0) + textNudge;
  const score = sigmoid(textSide + accountPart);
  const t = sigmoid(textSide);
  const strict = config.aiAssisted === 'strict' ? detector?.thresholds?.reviewStrict : undefined;
  const thresholds = detector?.thresholds
    ? { review: Math.min(detector.thresholds.review, strict ?? 1), flag: detector.thresholds.flag, source: 'detector' as const }
    : { ...config.thresholds[input.lang], source: 'config' as const };
  const accountReview = suspicion >= config.account.review;

  let verdict: Verdict;
  if (input.declaredAi) {
    verdict = accountReview ? worse(config.declared.verdict, config.declared.farmVerdict) : config.declared.verdict;
    reasons.push({
      code: 'declared_ai',
      source: 'policy',
      contribution: 0,
      message: { zh: '发布者已声明内容由AI生成', en: 'The publisher declared this content as AI-generated' },
    });
  } else if (p === null) {
    const textOnly = text.probability !== null && text.probability >= config.textOnlyReview;
    verdict = accountReview || textOnly ? 'review' : 'pass';
    reasons.push({
      code: 'model_unavailable',
      source: 'policy',
      contribution: 0,
      message: {
        zh: detector ? '文本过短，模型无法可靠判断' : '检测模型暂不可用，仅依据其他信号',
        en: detector ? 'Too short for the model to judge reliably' : 'The detector model is unavailable; other signals only',
      },
    });
  } else if (t >= thresholds.flag) {
    verdict = 'flag';
  } else if (t >= thresholds.review) {
    verdict = suspicion >= config.account.escalate ? 'flag' : 'review';
  } else {
    verdict = accountReview ? 'review' : 'pass';
  }
  const label = labelFor(verdict, input.declaredAi);

  reasons.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.code.localeCompare(b.code));
  return {
    score: round(score),
    label,
    verdict,
    reasons,
    configVersion: config.version,
    parts: { model: model === null ? null : round(model), text: round(textNudge), account: round(accountPart), accountSuspicion: round(suspicion) },
    thresholds,
  };
}
