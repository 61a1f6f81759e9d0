/** The eval command: metrics, and the exact JSON shape `--json` prints on stdout. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { atThreshold, auroc, thresholdAtFpr } from '../src/eval/metrics.ts';
import { evaluate } from '../src/eval/report.ts';

const run = promisify(execFile);
const KEYS = ['n', 'auroc', 'f1', 'tpr_at_1pct_fpr', 'fpr', 'tpr'];

describe('metrics', () => {
  it('AUROC with ties, threshold rates, TPR at a target FPR', () => {
    expect(auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75);
    expect(auroc([0, 1], [0.5, 0.5])).toBeCloseTo(0.5);
    expect(Number.isNaN(auroc([1, 1], [0.2, 0.3]))).toBe(true);
    expect(atThreshold([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.2], 0.5)).toEqual({ tpr: 0.5, fpr: 0.5, f1: 0.5 });
    const labels = [...Array(100).fill(0), 1, 1];
    const scores = [...Array.from({ length: 100 }, (_, i) => i / 100), 0.995, 0.5];
    const r = thresholdAtFpr(labels, scores, 0.01);
    expect(r.tpr).toBe(0.5);
    expect(atThreshold(labels, scores, r.threshold).fpr).toBeLessThanOrEqual(0.01);
  });

  it('short texts (null probability) are never over a threshold but still ranked', () => {
    const th = { review: 0.5, flag: 0.9 };
    const res = evaluate([
      { label: 1, lang: 'zh', score: 0.9, probability: null, thresholds: th },
      { label: 0, lang: 'zh', score: 0.1, probability: 0.1, thresholds: th },
      { label: 1, lang: 'en', score: 0.8, probability: 0.8, thresholds: th },
      { label: 0, lang: 'en', score: 0.2, probability: 0.2, thresholds: th },
    ]);
    expect(res.by_lang.zh.auroc).toBe(1);
    expect(res.by_lang.zh.tpr).toBe(0);
    expect(res.by_lang.zh.n_short).toBe(1);
    expect(res.overall.n).toBe(4);
  });
});

describe.skipIf(!existsSync('models/slopguard-detector/manifest.json'))('eval command', () => {
  it('--json prints exactly one JSON object with overall and by_lang', async () => {
    const { stdout } = await run('npx', ['tsx', 'src/eval/main.ts', '--data', 'test/fixtures/eval-tiny.jsonl', '--json'], { timeout: 60_000 });
    const out = JSON.parse(stdout) as { overall: Record<string, unknown>; by_lang: Record<string, Record<string, unknown>> };
    expect(Object.keys(out).sort()).toEqual(['by_lang', 'overall']);
    expect(Object.keys(out.by_lang).sort()).toEqual(['en', 'zh']);
    for (const m of [out.overall, out.by_lang.zh!, out.by_lang.en!]) for (const k of KEYS) expect(m).toHaveProperty(k);
    expect(out.overall.n).toBe(8);
    expect(out.by_lang.zh!.n).toBe(4);
  }, 60_000);
});
