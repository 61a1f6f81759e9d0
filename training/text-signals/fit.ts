/**
 * Fits the text-signals logistic weights, per language, on /work/shared/datasets/{name}/train.jsonl.gz
 * and reports AUROC on dev.jsonl.gz. Writes src/scoring/text-signals/weights.ts.
 *
 *   npx tsx training/text-signals/fit.ts [--datasets DIR] [--out FILE] [--dry-run]
 *
 * Method: features from `extractTextSignals` (the production code), standardised with the
 * training mean and standard deviation (a missing value is imputed as the mean, so it
 * contributes nothing); L2-penalised logistic regression by Newton's method. Rows are weighted
 * so that every (dataset, label) cell of a language carries the same total weight: the fit
 * learns what separates human from AI inside datasets, not which dataset a text came from.
 * Each weight is constrained to the sign the seed article's description of slop predicts
 * (more template phrases → more AI, more concrete detail → less); a feature whose unconstrained
 * weight has the other sign is fixed at 0 and the fit is repeated (reported as "clamped").
 *
 * Formatting leak: newlines occur almost only in AI texts of several datasets. All features
 * but `structure_rate` read `modelText`, where newlines are gone. `structure_rate` is fitted on
 * the flattened text too (numbered markers count inline after a sentence end, so they survive),
 * and the script prints its AUROC on canonical vs flattened text to show how much of it would
 * be formatting. In production it reads the canonical text, so markdown bullets at line
 * starts add to it.
 */
import { readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { canonicalText, contentLength, modelText, type Lang } from '../../src/domain/normalize.ts';
import { extractTextSignals, structureCount, FEATURE_NAMES, type FeatureName } from '../../src/scoring/text-signals/features.ts';
import { MIN_UNITS, SIGN_PRIOR } from '../../src/scoring/text-signals/model.ts';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const DATASETS = arg('--datasets', '/work/shared/datasets');
const OUT = resolve(arg('--out', 'src/scoring/text-signals/weights.ts'));
const DRY = args.includes('--dry-run');
const LAMBDA = 1.0; // L2 strength on standardised weights, relative to a unit total sample weight × 1000
const LANGS: Lang[] = ['zh', 'en'];

interface Row {
  x: (number | null)[];
  /** structure_rate computed on the canonical text, for the leak check only. */
  structureCanonical: number;
  y: 0 | 1;
  dataset: string;
  lang: Lang;
}

async function* readJsonl(path: string): AsyncGenerator<Record<string, unknown>> {
  for await (const { text } of readJsonLinesFile(path)) yield JSON.parse(text) as Record<string, unknown>;
}

async function load(split: 'train' | 'dev'): Promise<Row[]> {
  const rows: Row[] = [];
  for (const name of readdirSync(DATASETS).sort()) {
    const path = join(DATASETS, name, `${split}.jsonl.gz`);
    if (!existsSync(path)) continue;
    for await (const rec of readJsonl(path)) {
      const lang = rec.lang as Lang;
      const text = canonicalText(String(rec.text ?? ''));
      const flat = modelText(text);
      if (contentLength(flat) < MIN_UNITS[lang]) continue;
      // Fit on the flattened text: no feature may see the newline leak.
      const sig = extractTextSignals(flat, lang);
      const sc = sig.units;
      rows.push({
        x: FEATURE_NAMES.map((f) => sig.features[f].value),
        structureCanonical: sc > 0 ? (1000 * structureCount(text.slice(0, 20_000)).total) / sc : 0,
        y: rec.label === 'ai' ? 1 : 0,
        dataset: name,
        lang,
      });
    }
  }
  return rows;
}

/** AUROC by the rank-sum formula, ties averaged. */
export function auroc(scores: number[], labels: (0 | 1)[]): number {
  const idx = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    for (let k = i; k <= j; k++) ranks[idx[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let pos = 0;
  let rankSum = 0;
  labels.forEach((y, i) => {
    if (y === 1) {
      pos++;
      rankSum += ranks[i]!;
    }
  });
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/** Weighted L2 logistic regression by Newton's method; `free[j]` false pins weight j at 0. */
function fitLogistic(z: number[][], y: (0 | 1)[], s: number[], free: boolean[], lambda: number): { bias: number; w: number[] } {
  const d = free.length;
  let beta = new Array<number>(d + 1).fill(0); // beta[0] = bias
  for (let iter = 0; iter < 50; iter++) {
    const g = new Array<number>(d + 1).fill(0);
    const h = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < z.length; i++) {
      const xi = [1, ...z[i]!];
      let eta = 0;
      for (let j = 0; j <= d; j++) eta += beta[j]! * xi[j]!;
      const p = 1 / (1 + Math.exp(-eta));
      const r = s[i]! * (p - y[i]!);
      const wgt = s[i]! * p * (1 - p);
      for (let j = 0; j <= d; j++) {
        g[j]! += r * xi[j]!;
        for (let k = 0; k <= j; k++) h[j]![k]! += wgt * xi[j]! * xi[k]!;
      }
    }
    for (let j = 0; j <= d; j++) for (let k = 0; k < j; k++) h[k]![j] = h[j]![k]!;
    for (let j = 1; j <= d; j++) {
      g[j]! += lambda * beta[j]!;
      h[j]![j]! += lambda;
      if (!free[j - 1]) {
        // Pinned: identity row, zero gradient, keeps beta[j] at 0.
        for (let k = 0; k <= d; k++) h[j]![k] = h[k]![j] = 0;
        h[j]![j] = 1;
        g[j] = beta[j]!;
      }
    }
    const step = solve(h, g);
    beta = beta.map((b, j) => b - step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-8) break;
  }
  return { bias: beta[0]!, w: beta.slice(1) };
}

function stats(rows: Row[]): { mean: number[]; std: number[] } {
  const d = FEATURE_NAMES.length;
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (let j = 0; j < d; j++) {
    const vals = rows.map((r) => r.x[j]).filter((v): v is number => v !== null);
    const m = vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length);
    const v = vals.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, vals.length);
    mean[j] = m;
    std[j] = Math.sqrt(v) || 1;
  }
  return { mean, std };
}

const standardise = (r: Row, mean: number[], std: number[]): number[] =>
  r.x.map((v, j) => (v === null ? 0 : (v - mean[j]!) / std[j]!));

function cellWeights(rows: Row[]): number[] {
  const cells = new Map<string, number>();
  for (const r of rows) cells.set(`${r.dataset}:${r.y}`, (cells.get(`${r.dataset}:${r.y}`) ?? 0) + 1);
  // Each cell sums to 1/cells.size; the penalty is scaled against a total weight of 1000.
  return rows.map((r) => 1000 / (cells.size * cells.get(`${r.dataset}:${r.y}`)!));
}

/**
 * Where a feature starts to "fire" (a reason is shown): the human texts' upper quartile for
 * a feature that points to AI when high, their lower quartile for one that points to AI when
 * low. So a reason means "more template-like than three human texts in four".
 */
function fireAt(rows: Row[], j: number, sign: 1 | -1): number {
  const vals = rows
    .filter((r) => r.y === 0)
    .map((r) => r.x[j])
    .filter((v): v is number => v !== null)
    .sort((a, b) => a - b);
  if (vals.length === 0) return sign > 0 ? Infinity : -Infinity;
  return vals[Math.floor((sign > 0 ? 0.75 : 0.25) * (vals.length - 1))]!;
}

const round = (v: number, k = 4): number => Number(v.toFixed(k));

async function main(): Promise<void> {
  const t0 = Date.now();
  const [train, dev] = await Promise.all([load('train'), load('dev')]);
  console.log(`loaded ${train.length} train / ${dev.length} dev rows in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const out: Record<string, unknown> = {};
  for (const lang of LANGS) {
    const tr = train.filter((r) => r.lang === lang);
    const dv = dev.filter((r) => r.lang === lang);
    const { mean, std } = stats(tr);
    const z = tr.map((r) => standardise(r, mean, std));
    const y = tr.map((r) => r.y);
    const s = cellWeights(tr);
    console.log(`\n== ${lang}: train ${tr.length} (ai ${y.filter((v) => v === 1).length}), dev ${dv.length}`);
    console.log('feature                   train-AUROC  dev-AUROC  (univariate, higher value → AI)');
    FEATURE_NAMES.forEach((f, j) => {
      const a = auroc(tr.map((r) => r.x[j] ?? mean[j]!), y);
      const b = auroc(dv.map((r) => r.x[j] ?? mean[j]!), dv.map((r) => r.y));
      console.log(`${f.padEnd(26)}${a.toFixed(3).padStart(10)}${b.toFixed(3).padStart(11)}`);
    });
    const sc = auroc(tr.map((r) => r.structureCanonical), y);
    console.log(`leak check: structure_rate train AUROC on canonical text ${sc.toFixed(3)} vs flattened ${auroc(tr.map((r) => r.x[FEATURE_NAMES.indexOf('structure_rate')] ?? 0), y).toFixed(3)}`);

    const unconstrained = fitLogistic(z, y, s, FEATURE_NAMES.map(() => true), LAMBDA);
    const free = FEATURE_NAMES.map(() => true);
    let fit = unconstrained;
    for (let round_ = 0; round_ < FEATURE_NAMES.length; round_++) {
      const bad = FEATURE_NAMES.findIndex((f, j) => free[j] && fit.w[j]! * SIGN_PRIOR[f] < 0);
      if (bad < 0) break;
      free[bad] = false;
      fit = fitLogistic(z, y, s, free, LAMBDA);
    }
    const clamped = FEATURE_NAMES.filter((_, j) => !free[j]);
    console.log('unconstrained weights', Object.fromEntries(FEATURE_NAMES.map((f, j) => [f, round(unconstrained.w[j]!, 3)])));
    console.log('fitted weights       ', Object.fromEntries(FEATURE_NAMES.map((f, j) => [f, round(fit.w[j]!, 3)])), 'bias', round(fit.bias, 3));
    console.log('clamped to 0 (sign contradicts the prior):', clamped.join(', ') || 'none');

    const logit = (r: Row): number => fit.bias + standardise(r, mean, std).reduce((a, v, j) => a + v * fit.w[j]!, 0);
    const devAuroc = auroc(dv.map(logit), dv.map((r) => r.y));
    const trainAuroc = auroc(tr.map(logit), y);
    const perDataset: Record<string, { n: number; auroc: number }> = {};
    for (const name of [...new Set(dv.map((r) => r.dataset))].sort()) {
      const rs = dv.filter((r) => r.dataset === name);
      const a = auroc(rs.map(logit), rs.map((r) => r.y));
      if (Number.isFinite(a)) perDataset[name] = { n: rs.length, auroc: round(a, 3) }; // one class only: no AUROC
    }
    const uncLogit = (r: Row): number =>
      unconstrained.bias + standardise(r, mean, std).reduce((a, v, j) => a + v * unconstrained.w[j]!, 0);
    // Production reads structure_rate from the canonical text (newlines kept); the same model
    // scored that way shows how much the newline leak would move the evaluation.
    const js = FEATURE_NAMES.indexOf('structure_rate');
    const prodLogit = (r: Row): number => logit({ ...r, x: r.x.map((v, j) => (j === js ? r.structureCanonical : v)) });
    const prodAuroc = auroc(dv.map(prodLogit), dv.map((r) => r.y));
    console.log(`dev AUROC with structure_rate read from canonical text (production path): ${prodAuroc.toFixed(3)}`);
    console.log(`AUROC train ${trainAuroc.toFixed(3)}  dev ${devAuroc.toFixed(3)}  (unconstrained dev ${auroc(dv.map(uncLogit), dv.map((r) => r.y)).toFixed(3)})`);
    console.log('dev per dataset', perDataset);

    out[lang] = {
      bias: round(fit.bias),
      features: Object.fromEntries(
        FEATURE_NAMES.map((f, j) => [
          f,
          { mean: round(mean[j]!), std: round(std[j]!), weight: round(fit.w[j]!), fireAt: round(fireAt(tr, j, SIGN_PRIOR[f])) },
        ]),
      ),
      clamped,
      trainRows: tr.length,
      devRows: dv.length,
      devAuroc: round(devAuroc, 3),
      devAurocProductionPath: round(prodAuroc, 3),
      devAurocByDataset: perDataset,
    };
  }
  const file = `// Generated by training/text-signals/fit.ts from /work/shared/datasets/*/train.jsonl.gz
// (dev AUROC on dev.jsonl.gz). Do not edit by hand: rerun the script.
import type { TextSignalsWeights } from './model.ts';
import { readJsonLinesFile } from '../../src/infra/ndjson.ts';

export const TEXT_SIGNALS_WEIGHTS: TextSignalsWeights = ${JSON.stringify({ lambda: LAMBDA, ...out }, null, 2)};
`;
  if (DRY) console.log('\n(dry run, not writing)');
  else {
    writeFileSync(OUT, file);
    console.log(`\nwrote ${OUT}`);
  }
}

await main();
