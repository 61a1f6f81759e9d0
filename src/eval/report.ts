/** Metrics per language and overall for the eval command and the model card. */
import type { Lang } from '../domain/normalize.ts';
import { atThreshold, auroc, thresholdAtFpr } from './metrics.ts';

export interface EvalRecord {
  label: number;
  lang: Lang;
  /** Score used for ranking metrics (calibrated probability, raw for short texts). */
  score: number;
  /** What the service reports; null for texts under the minimum length. */
  probability: number | null;
  thresholds: { review: number; flag: number } | null;
}

export interface EvalMetrics {
  n: number;
  auroc: number | null;
  f1: number | null;
  tpr_at_1pct_fpr: number | null;
  fpr: number | null;
  tpr: number | null;
  /** Same rates at the stricter `flag` threshold. */
  fpr_flag: number | null;
  tpr_flag: number | null;
  /** Texts under the minimum length (probability null, never over a threshold). */
  n_short: number;
}

export interface EvalResult {
  overall: EvalMetrics;
  by_lang: Record<Lang, EvalMetrics>;
}

const num = (x: number): number | null => (Number.isFinite(x) ? Number(x.toFixed(4)) : null);

export function metricsOf(rs: EvalRecord[]): EvalMetrics {
  const labels = rs.map((r) => r.label);
  const scores = rs.map((r) => r.score);
  // thresholded decisions: a text is called AI when its service probability reaches its
  // language's shipped threshold; short texts (null) never do
  const review = rs.map((r) => (r.probability !== null && r.thresholds && r.probability >= r.thresholds.review ? 1 : 0));
  const flag = rs.map((r) => (r.probability !== null && r.thresholds && r.probability >= r.thresholds.flag ? 1 : 0));
  const atR = atThreshold(labels, review, 1);
  const atF = atThreshold(labels, flag, 1);
  return {
    n: rs.length,
    auroc: num(auroc(labels, scores)),
    f1: rs.length ? num(atR.f1) : null,
    tpr_at_1pct_fpr: num(thresholdAtFpr(labels, scores, 0.01).tpr),
    fpr: num(atR.fpr),
    tpr: num(atR.tpr),
    fpr_flag: num(atF.fpr),
    tpr_flag: num(atF.tpr),
    n_short: rs.filter((r) => r.probability === null).length,
  };
}

export function evaluate(records: EvalRecord[]): EvalResult {
  return {
    overall: metricsOf(records),
    by_lang: {
      zh: metricsOf(records.filter((r) => r.lang === 'zh')),
      en: metricsOf(records.filter((r) => r.lang === 'en')),
    },
  };
}

export function formatTable(r: EvalResult): string {
  const rows: [string, EvalMetrics][] = [
    ['zh', r.by_lang.zh],
    ['en', r.by_lang.en],
    ['overall', r.overall],
  ];
  const f = (x: number | null): string => (x === null ? '—' : x.toFixed(3));
  const lines = [
    '| set | n | AUROC | F1 | TPR@1%FPR | TPR (review) | FPR (review) | TPR (flag) | FPR (flag) | short |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, m] of rows) {
    lines.push(`| ${name} | ${m.n} | ${f(m.auroc)} | ${f(m.f1)} | ${f(m.tpr_at_1pct_fpr)} | ${f(m.tpr)} | ${f(m.fpr)} | ${f(m.tpr_flag)} | ${f(m.fpr_flag)} | ${m.n_short} |`);
  }
  return lines.join('\n');
}
