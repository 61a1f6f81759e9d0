/**
 * Imports what a GPU run (training/gpu/run.py) wrote back: checks every file against the
 * run's result.json (size, sha256), checks that the service's own detector (transformers.js,
 * int8 ONNX through onnxruntime-node) reproduces the run's reference logits, places the model
 * in `<model-dir>/<model-id>`, then re-fits the fast parts (n-gram, fusion, thresholds,
 * manifest, model card) with `training/refit.sh <dir>` and prints the dev metrics.
 *
 * Usage: tsx training/gpu/import.ts FOLDER [--model-dir models] [--model-id slopguard-detector]
 *          [--ngram-from models/slopguard-detector] [--ckpt-out training/work/gpu-student.pt]
 *          [--no-refit] [--allow-large]
 *   --no-refit     write a provisional manifest instead (transformer alone, uncalibrated,
 *                  thresholds 0.5 / 0.9): the service loads it, but run refit before shipping
 *   --allow-large  accept int8 weights over 25 MB in all (a user's own pretrained base)
 *
 * @example
 * npm run gpu:import -- /work/.device/out   // "reference logits reproduced (max gap 0.0031) … dev AUROC zh 0.95 en 0.96"
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createDetectorScorer } from '../../src/scoring/detector.ts';
import { FUSION_FEATURES, loadManifest, sha256File, type DetectorManifest, type LangCalibration } from '../../src/scoring/model-manifest.ts';
import { DEFAULT_WINDOWS } from '../../src/scoring/model-windows.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Shipped weights (transformer + n-gram) stay int8 and at most this size (issue 12). */
export const SHIPPED_LIMIT_BYTES = 25_000_000;
const MAX_TOKENS = 128;
const REQUIRED = ['model_quantized.onnx', 'config.json', 'tokenizer.json'] as const;
/** Encoder families transformers.js runs as sequence classifiers. */
const FAMILIES = ['bert', 'roberta', 'xlm-roberta', 'camembert', 'deberta', 'deberta-v2', 'electra', 'distilbert', 'albert', 'mpnet'];

const langMetricsSchema = z.object({ n: z.number(), auroc: z.number().nullable(), tpr_at_1pct_fpr: z.number().nullable() }).passthrough();
const resultSchema = z.object({
  status: z.literal('complete'),
  mode: z.enum(['scratch', 'base']),
  device: z.string(),
  files: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/), z.object({ bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  metrics: z.record(z.string(), z.record(z.string(), langMetricsSchema)),
  stages: z.record(z.string(), z.unknown()),
  reference: z.object({
    texts: z.array(z.string()).min(1),
    input_ids: z.array(z.array(z.number().int())),
    attention_mask: z.array(z.array(z.number().int())),
    logits: z.array(z.tuple([z.number(), z.number()])),
    source: z.enum(['onnxruntime-int8', 'torch-fp32']),
  }),
});
export type GpuResult = z.infer<typeof resultSchema>;

const configSchema = z.object({
  model_type: z.string().refine((t) => FAMILIES.includes(t), { message: `model_type must be one of ${FAMILIES.join(', ')}` }),
  id2label: z.object({ '0': z.literal('human'), '1': z.literal('ai') }),
}).passthrough();

const argsSchema = z.object({
  folder: z.string().min(1),
  modelDir: z.string().min(1),
  modelId: z.string().regex(/^[A-Za-z0-9._-]+$/),
  ngramFrom: z.string().min(1),
  refit: z.boolean(),
  allowLarge: z.boolean(),
  /** Where the student's checkpoint (train.py's format) goes, when the run returned one. */
  ckptOut: z.string().min(1),
});
export type ImportOptions = z.infer<typeof argsSchema>;

export class ImportError extends Error {}

/**
 * |gap| allowed between the service's window logit margin and the run's reference. Against
 * onnxruntime on the same int8 file, another build on another CPU may take other integer kernels
 * (AVX2 and VNNI saturate differently). Against fp32 PyTorch (no Python onnxruntime where the run
 * ran) the int8 error itself counts too: briefly trained CPU smoke models were seen 0.07-0.11
 * away. A wrong tokenizer or a broken export misses either by whole logits.
 */
function tolerance(ref: number, source: string): number {
  return source === 'torch-fp32' ? 0.25 + 0.1 * Math.abs(ref) : 0.1 + 0.05 * Math.abs(ref);
}

function provisionalManifest(dir: string, modelId: string, files: string[]): DetectorManifest {
  const identity: LangCalibration = { bias: 0, weights: [1, 0, 0, 0, 0], segment: { a: 1, b: 0 }, thresholds: { review: 0.5, flag: 0.9 } };
  const hashes = Object.fromEntries(files.map((f) => [f, sha256File(join(dir, f))]));
  return {
    modelId,
    version: `${modelId}@${new Date().toISOString().slice(0, 10)}.${hashes['onnx/model_quantized.onnx']!.slice(0, 8)}-provisional`,
    labels: { '0': 'human', '1': 'ai' },
    files: hashes,
    maxTokens: MAX_TOKENS,
    windows: DEFAULT_WINDOWS,
    minUnits: { zh: 20, en: 12 },
    featureNames: [...FUSION_FEATURES],
    calibration: { zh: identity, en: identity },
    training: { provisional: `imported from a GPU run without refit: transformer alone, uncalibrated; run training/refit.sh ${dir}` },
  };
}

const NGRAM_FILES = ['ngram.json', 'ngram.bin'];

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ImportError(`${path} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Checks and places a GPU run's files; returns the run's result (metrics) and the reference gap. */
export async function importGpuRun(opts: ImportOptions, log: (m: string) => void = console.error): Promise<{ result: GpuResult; maxGap: number; target: string }> {
  const o = argsSchema.parse(opts);
  const folder = resolve(o.folder);
  const resultFile = join(folder, 'result.json');
  if (!existsSync(resultFile)) throw new ImportError(`${folder} has no result.json: the run did not finish (read its train.log)`);
  const parsed = resultSchema.safeParse(readJson(resultFile));
  if (!parsed.success) throw new ImportError(`result.json is not a finished run's: ${z.prettifyError(parsed.error)}`);
  const result = parsed.data;
  for (const f of REQUIRED) if (!result.files[f]) throw new ImportError(`result.json lists no ${f}`);
  for (const [name, want] of Object.entries(result.files)) {
    const p = join(folder, name);
    if (!existsSync(p)) throw new ImportError(`${name} is listed in result.json but did not come back`);
    const bytes = statSync(p).size;
    if (bytes !== want.bytes) throw new ImportError(`${name} is ${bytes} bytes, the run wrote ${want.bytes}`);
    const sha = sha256File(p);
    if (sha !== want.sha256) throw new ImportError(`${name} sha256 ${sha} does not match the run's ${want.sha256}`);
  }
  const config = configSchema.safeParse(readJson(join(folder, 'config.json')));
  if (!config.success) throw new ImportError(`config.json: ${z.prettifyError(config.error)}`);

  const modelDir = resolve(o.modelDir);
  const target = join(modelDir, o.modelId);
  const ngramSource = NGRAM_FILES.every((f) => existsSync(join(target, f))) ? target : resolve(o.ngramFrom);
  for (const f of NGRAM_FILES) if (!existsSync(join(ngramSource, f))) throw new ImportError(`no ${f} in ${target} or ${ngramSource} (--ngram-from)`);
  const weightBytes = result.files['model_quantized.onnx']!.bytes + statSync(join(ngramSource, 'ngram.bin')).size;
  if (weightBytes > SHIPPED_LIMIT_BYTES && !o.allowLarge) {
    throw new ImportError(`int8 weights would be ${(weightBytes / 1e6).toFixed(1)} MB in all, over the shipped 25 MB (pass --allow-large for a model you do not commit)`);
  }

  // stage beside the target so the service's loader (modelDir + id) reads it as it would the real one
  const stageId = `${o.modelId}-import-check`;
  const stage = join(modelDir, stageId);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'onnx'), { recursive: true });
  const placed = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx'];
  copyFileSync(join(folder, 'model_quantized.onnx'), join(stage, 'onnx/model_quantized.onnx'));
  for (const f of ['config.json', 'tokenizer.json']) copyFileSync(join(folder, f), join(stage, f));
  if (result.files['tokenizer_config.json']) copyFileSync(join(folder, 'tokenizer_config.json'), join(stage, 'tokenizer_config.json'));
  else writeFileSync(join(stage, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 512 }, null, 1) + '\n');
  for (const f of NGRAM_FILES) copyFileSync(join(ngramSource, f), join(stage, f));
  // the reference in the layout warm_start.py reads (ids, mask, logits)
  const { texts, input_ids, attention_mask, logits, source } = result.reference;
  writeFileSync(join(stage, 'reference.json'), JSON.stringify({ input_ids, attention_mask, logits, source }) + '\n');
  writeFileSync(join(stage, 'gpu-run.json'), JSON.stringify({ mode: result.mode, device: result.device, stages: result.stages, metrics: result.metrics }, null, 1) + '\n');

  let maxGap = 0;
  const manifest = provisionalManifest(stage, o.modelId, [...placed, ...NGRAM_FILES]);
  const detector = createDetectorScorer({ modelDir, modelId: stageId, manifest, verifyFiles: false, maxBatch: 16, batchWaitMs: 0 });
  try {
    const got = await detector.forward(texts);
    got.forEach((g, i) => {
      const [h, a] = logits[i]!;
      const ref = a - h;
      const gap = Math.abs(g - ref);
      maxGap = Math.max(maxGap, gap);
      if (!(gap <= tolerance(ref, source))) {
        throw new ImportError(`reference window ${i} ("${texts[i]!.slice(0, 24)}…"): the service scores ${g.toFixed(4)}, the run ${ref.toFixed(4)} (${source}); wrong tokenizer or a broken export`);
      }
    });
  } catch (e) {
    rmSync(stage, { recursive: true, force: true });
    throw e;
  } finally {
    await detector.close();
  }
  log(`reference logits reproduced by the service's detector: ${texts.length} windows, max gap ${maxGap.toFixed(4)} (against ${source})`);

  // place: the checked files replace the model's; n-gram files already there stay (they do not depend on the transformer)
  mkdirSync(join(target, 'onnx'), { recursive: true });
  for (const f of [...placed, 'reference.json', 'gpu-run.json']) renameSync(join(stage, f), join(target, f));
  for (const f of NGRAM_FILES) if (!existsSync(join(target, f))) renameSync(join(stage, f), join(target, f));
  // an fp32 export of the previous model would no longer match
  rmSync(join(target, 'onnx/model.onnx'), { force: true });
  rmSync(stage, { recursive: true, force: true });
  if (result.files['student.pt']) {
    mkdirSync(dirname(resolve(o.ckptOut)), { recursive: true });
    copyFileSync(join(folder, 'student.pt'), resolve(o.ckptOut));
    log(`student checkpoint: ${o.ckptOut} (copy it to training/work/ckpt.pt to train on from it with training/train.py)`);
  }
  if (o.refit) {
    log(`re-fitting the n-gram model, fusion, thresholds, manifest and model card: training/refit.sh ${target}`);
    const r = spawnSync(join(ROOT, 'training/refit.sh'), [target], { stdio: 'inherit', cwd: ROOT });
    if (r.status !== 0) throw new ImportError(`training/refit.sh failed (exit ${r.status}): the new weights are in ${target} but its manifest is stale`);
    const rows = (loadManifest(target).metrics?.dev ?? []) as { set?: string; fused?: number; transformer?: number; ngram?: number }[];
    for (const row of rows.filter((x) => x.set?.endsWith(' union'))) {
      log(`refit dev ${row.set}: AUROC fused ${row.fused}, transformer ${row.transformer}, n-gram ${row.ngram}`);
    }
  } else {
    writeFileSync(join(target, 'manifest.json'), JSON.stringify(provisionalManifest(target, o.modelId, [...placed, ...NGRAM_FILES]), null, 1) + '\n');
    log(`provisional manifest written (transformer alone, uncalibrated): run training/refit.sh ${target} before shipping`);
  }
  return { result, maxGap, target };
}

function formatMetrics(result: GpuResult): string {
  const lines: string[] = [];
  for (const [model, byLang] of Object.entries(result.metrics)) {
    const parts = Object.entries(byLang).map(([lang, m]) => `${lang} AUROC ${m.auroc ?? '—'} TPR@1%FPR ${m.tpr_at_1pct_fpr ?? '—'} (n ${m.n})`);
    lines.push(`  ${model}: ${parts.join('; ')}`);
  }
  return lines.join('\n');
}

function parseCli(argv: string[]): ImportOptions {
  const flag = (n: string) => argv.includes(n);
  const get = (n: string, d: string) => (argv.indexOf(n) >= 0 && argv[argv.indexOf(n) + 1] ? argv[argv.indexOf(n) + 1]! : d);
  const valued = new Set(['--model-dir', '--model-id', '--ngram-from', '--ckpt-out']);
  const positional = argv.filter((x, i) => !x.startsWith('--') && !valued.has(argv[i - 1] ?? ''));
  if (positional.length !== 1) throw new ImportError('usage: npm run gpu:import -- FOLDER [--model-dir models] [--model-id slopguard-detector] [--no-refit] [--allow-large]');
  return {
    folder: positional[0]!,
    modelDir: get('--model-dir', join(ROOT, 'models')),
    modelId: get('--model-id', 'slopguard-detector'),
    ngramFrom: get('--ngram-from', join(ROOT, 'models/slopguard-detector')),
    refit: !flag('--no-refit'),
    allowLarge: flag('--allow-large'),
    ckptOut: get('--ckpt-out', join(ROOT, 'training/work/gpu-student.pt')),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { result, target } = await importGpuRun(parseCli(process.argv.slice(2)));
    console.log(`imported a ${result.mode} run from ${result.device} into ${target}\ndev metrics of the run (training/gpu/run.py):\n${formatMetrics(result)}`);
    if (existsSync(join(target, 'MODEL_CARD.md'))) console.log(`model card: ${join(target, 'MODEL_CARD.md')}`);
  } catch (e) {
    console.error(e instanceof ImportError || e instanceof z.ZodError ? `gpu:import: ${e.message}` : e);
    process.exitCode = 1;
  }
}
