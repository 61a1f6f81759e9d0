/**
 * Detector model benchmark, one worker process: windows/s and articles/s (a 1,000-character
 * Chinese and a 3,000-character English article), int8 vs fp32, batch sizes 1–16, one model
 * thread (the default) beside a model thread per core; and the
 * achieved floating-point rate of the forward pass against this machine's matrix-multiply
 * peak measured in the same run with the same runtime (onnxruntime-node, models/matmul-peak).
 *
 * Usage: npm run bench:model [-- --fp32-dir training/work/export] [--seconds 3]
 * fp32 runs only when `<fp32-dir>/slopguard-detector/onnx/model.onnx` exists (it is not
 * committed; training/train.sh leaves it in training/work/export).
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createDetectorScorer, type DetectorScorer } from '../src/scoring/detector.ts';
import { loadManifest } from '../src/scoring/model-manifest.ts';

const argOf = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const MODELS = argOf('--model-dir', 'models');
const FP32_DIR = argOf('--fp32-dir', 'training/work/export');
const SECONDS = Number(argOf('--seconds', '3'));
const BATCHES = [1, 2, 4, 8, 16];

const ZH_SENT = '近期浙江建德一个办不成事窗口走红网络事实上这类窗口在全国多地均有设立专门兜底解决因各种原因搁浅的疑难杂症';
const zhArticle = (ZH_SENT + '。').repeat(30).slice(0, 1000);
const enArticle = 'The city council met on Tuesday to discuss the budget for next year, and several residents spoke about road repairs and the library. '.repeat(30).slice(0, 3000);
const zhWindow = ZH_SENT.repeat(3).slice(0, 126); // 126 Han characters -> 128 tokens with [CLS]/[SEP]

function timeLoop(fn: () => Promise<unknown>, seconds: number): Promise<{ iters: number; secs: number }> {
  return (async () => {
    await fn();
    const t0 = performance.now();
    let iters = 0;
    while (performance.now() - t0 < seconds * 1000 || iters < 2) {
      await fn();
      iters++;
    }
    return { iters, secs: (performance.now() - t0) / 1000 };
  })();
}

/** Forward FLOPs of one window of T tokens (multiply-add = 2 FLOPs), embeddings excluded. */
function windowFlops(cfg: { num_hidden_layers: number; hidden_size: number; intermediate_size: number }, T: number): number {
  const H = cfg.hidden_size;
  const F = cfg.intermediate_size;
  return cfg.num_hidden_layers * (T * (8 * H * H + 4 * H * F) + 4 * T * T * H) + 2 * H * 2;
}

async function matmulPeak(): Promise<{ fp32: number; int8: number }> {
  const ort = await import('onnxruntime-node');
  const res = { fp32: 0, int8: 0 };
  for (const [kind, file] of [
    ['fp32', 'matmul_fp32.onnx'],
    ['int8', 'matmul_int8.onnx'],
  ] as const) {
    const s = await ort.InferenceSession.create(join(MODELS, 'matmul-peak', file));
    for (const [M, K, N] of [
      [2048, 256, 1024],
      [1024, 1024, 1024],
    ] as const) {
      const feeds =
        kind === 'fp32'
          ? { A: new ort.Tensor('float32', new Float32Array(M * K).fill(0.5), [M, K]), B: new ort.Tensor('float32', new Float32Array(K * N).fill(0.25), [K, N]) }
          : { A: new ort.Tensor('uint8', new Uint8Array(M * K).fill(3), [M, K]), B: new ort.Tensor('int8', new Int8Array(K * N).fill(2), [K, N]) };
      const { iters, secs } = await timeLoop(() => s.run(feeds), SECONDS / 2);
      res[kind] = Math.max(res[kind], (2 * M * K * N * iters) / secs);
    }
    await s.release();
  }
  return res;
}

async function benchDetector(label: string, d: DetectorScorer, cfg: Parameters<typeof windowFlops>[0]) {
  await d.load();
  const rows: Record<string, number | string>[] = [];
  for (const b of BATCHES) {
    const texts = Array.from({ length: b }, () => zhWindow);
    // One pass per model thread at a time: every thread busy, as under load.
    const passes = d.modelThreads;
    const { iters, secs } = await timeLoop(() => Promise.all(Array.from({ length: passes }, () => d.forward(texts))), SECONDS);
    const wps = (iters * passes * b) / secs;
    rows.push({
      model: label,
      batch: b,
      'windows/s': Number(wps.toFixed(1)),
      'ms/batch': Number(((secs / iters) * 1000).toFixed(1)),
      GFLOPs: Number(((wps * windowFlops(cfg, 128)) / 1e9).toFixed(2)),
    });
  }
  const articles: Record<string, number | string>[] = [];
  for (const [name, text, lang] of [
    ['zh 1,000 chars', zhArticle, 'zh'],
    ['en 3,000 chars', enArticle, 'en'],
  ] as const) {
    for (const conc of [1, 4]) {
      const { iters, secs } = await timeLoop(() => Promise.all(Array.from({ length: conc }, () => d.score({ text, title: null, lang }))), SECONDS);
      articles.push({ model: label, article: name, concurrent: conc, 'articles/s': Number(((iters * conc) / secs).toFixed(2)) });
    }
  }
  await d.close();
  return { rows, articles };
}

const manifest = loadManifest(join(MODELS, 'slopguard-detector'), false);
const cfg = JSON.parse(readFileSync(join(MODELS, 'slopguard-detector', 'config.json'), 'utf8'));
const peak = await matmulPeak();
console.log(`matmul peak (onnxruntime-node, this process): fp32 ${(peak.fp32 / 1e9).toFixed(1)} GFLOP/s, int8 ${(peak.int8 / 1e9).toFixed(1)} GOP/s`);

const runs: [string, DetectorScorer][] = [
  ['int8', createDetectorScorer({ modelDir: MODELS, dtype: 'q8', maxBatch: 16, batchWaitMs: 1 })],
  // the same model with a model thread per core (DETECTOR_MODEL_THREADS), passes side by side
  ['int8 thread/core', createDetectorScorer({ modelDir: MODELS, dtype: 'q8', maxBatch: 16, batchWaitMs: 1, modelThreads: availableParallelism() })],
];
if (existsSync(join(FP32_DIR, 'slopguard-detector', 'onnx', 'model.onnx')) && existsSync(join(FP32_DIR, 'slopguard-detector', 'ngram.bin'))) {
  runs.push(['fp32', createDetectorScorer({ modelDir: FP32_DIR, dtype: 'fp32', manifest, verifyFiles: false, maxBatch: 16, batchWaitMs: 1 })]);
} else console.log(`fp32: no ${FP32_DIR}/slopguard-detector/onnx/model.onnx (run training/train.sh), skipped`);

const results = [];
for (const [label, d] of runs) results.push({ label, ...(await benchDetector(label, d, cfg)) });
// the machine is shared: measure the peak again after the model runs and keep the higher one
const peak2 = await matmulPeak();
peak.fp32 = Math.max(peak.fp32, peak2.fp32);
peak.int8 = Math.max(peak.int8, peak2.int8);
console.log(`matmul peak, best of before/after: fp32 ${(peak.fp32 / 1e9).toFixed(1)} GFLOP/s, int8 ${(peak.int8 / 1e9).toFixed(1)} GOP/s`);
for (const { label, rows, articles } of results) {
  const pk = label.startsWith('int8') ? peak.int8 : peak.fp32;
  for (const r of rows) r['of peak'] = `${((Number(r.GFLOPs) * 1e9 * 100) / pk).toFixed(0)}%`;
  console.table(rows);
  console.table(articles);
}
console.log(
  'FLOPs per 128-token window (forward, embeddings excluded):',
  (windowFlops(cfg, 128) / 1e6).toFixed(0),
  'MFLOP; int8 rows compare with the int8 MatMulInteger peak, fp32 rows with the fp32 MatMul peak.',
);
