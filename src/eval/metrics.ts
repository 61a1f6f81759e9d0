/**
 * Binary-classification metrics for the eval command and the trainers: AUROC (ties
 * averaged), F1/TPR/FPR at a threshold, TPR at a target FPR.
 */

/** Area under the ROC curve; NaN when one class is missing. */
export function auroc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export interface ThresholdStats {
  tpr: number;
  fpr: number;
  f1: number;
}

/** Rates when texts with score >= threshold are called AI. */
export function atThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number): ThresholdStats {
  let tp = 0;
  let fp = 0;
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < labels.length; i++) {
    const hit = scores[i]! >= threshold;
    if (labels[i] === 1) {
      pos++;
      if (hit) tp++;
    } else {
      neg++;
      if (hit) fp++;
    }
  }
  const fn = pos - tp;
  return {
    tpr: pos ? tp / pos : Number.NaN,
    fpr: neg ? fp / neg : Number.NaN,
    f1: tp ? (2 * tp) / (2 * tp + fp + fn) : 0,
  };
}

/**
 * Smallest threshold whose FPR on the negatives is at most `target` (scores >= t are
 * positive); the TPR there.
 */
export function thresholdAtFpr(labels: ArrayLike<number>, scores: ArrayLike<number>, target: number): { threshold: number; tpr: number } {
  const neg: number[] = [];
  const pos: number[] = [];
  for (let i = 0; i < labels.length; i++) (labels[i] === 1 ? pos : neg).push(scores[i]!);
  if (neg.length === 0 || pos.length === 0) return { threshold: Number.NaN, tpr: Number.NaN };
  neg.sort((a, b) => b - a);
  const allowed = Math.floor(target * neg.length);
  // threshold strictly above the (allowed+1)-th highest negative
  const cut = neg[allowed]!;
  const threshold = nextUp(cut);
  const tpr = pos.filter((s) => s >= threshold).length / pos.length;
  return { threshold, tpr };
}

function nextUp(x: number): number {
  if (!Number.isFinite(x)) return x;
  const eps = Math.max(Math.abs(x) * 1e-9, 1e-12);
  return x + eps;
}
