/**
 * The transformer's window logits over every dev text, cached by the ONNX file's hash: the one
 * slow step of calibration (a forward pass per window), so re-fitting the n-gram model, the
 * fusion or the thresholds never re-runs it. Texts are read as the service receives them
 * (canonicalText) and scored over at most MAX_WINDOWS evenly spaced windows, the eval
 * command's cap.
 *
 * Usage (fills the cache; fit-fusion.ts calls `devTransformer` itself):
 *   tsx training/dev-components.ts [--model-dir models] [--model-id slopguard-detector] [--datasets ../shared/datasets]
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalText, type Lang } from '../src/domain/normalize.ts';
import type { DetectorScorer } from '../src/scoring/detector.ts';
import { sha256File } from '../src/scoring/model-manifest.ts';
import { readJsonLinesFile } from '../src/infra/ndjson.ts';

export const MAX_WINDOWS = 12;

export interface DevText {
  id: string;
  dataset: string;
  lang: Lang;
  label: number;
  /** variant or orig_label (NLPCC HWT/LGT/HLT) */
  variant: string | null;
  /** grouping key of the split (pairs and near-duplicates share it): cross-fitting folds follow it */
  group: string;
  /** canonicalText, as the service receives it */
  text: string;
}

export interface TransformerRow {
  key: string;
  /** window logits and spans (character offsets in the canonical text) */
  w: number[];
  s: [number, number][];
}

export const rowKey = (r: { id: string; dataset: string }): string => `${r.dataset}/${r.id}`;

/** Every dev record of every dataset, canonicalised; `limit` keeps the first N per set (smoke runs). */
export async function readDevTexts(datasets: string, limit = 0): Promise<DevText[]> {
  const out: DevText[] = [];
  for (const name of readdirSync(datasets).sort()) {
    const file = join(datasets, name, 'dev.jsonl.gz');
    if (!existsSync(file)) continue;
    let n = 0;
    for await (const { text: line } of readJsonLinesFile(file)) {
      const r = JSON.parse(line) as { id: string; text: string; lang: Lang; label: string; group?: string; variant?: string; orig_label?: string };
      out.push({ id: r.id, dataset: name, lang: r.lang, label: r.label === 'ai' ? 1 : 0, variant: r.variant ?? r.orig_label ?? null, group: r.group ?? r.id, text: canonicalText(r.text) });
      if (limit && ++n >= limit) break;
    }
  }
  return out;
}

/** Labelled texts of a JSONL file in the DevText shape ({id, dataset, lang, label 0/1, group, text}), canonicalised. */
export function readExtraTexts(file: string): DevText[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const r = JSON.parse(line) as { id: string; dataset: string; lang: Lang; label: number; group?: string; variant?: string | null; text: string };
    return { id: r.id, dataset: r.dataset, lang: r.lang, label: r.label, variant: r.variant ?? null, group: r.group ?? r.id, text: canonicalText(r.text) };
  });
}

/** Window logits of every text, from the cache when it was made by the same ONNX file. */
export async function devTransformer(detector: DetectorScorer, dir: string, texts: DevText[], cacheFile: string, log: (m: string) => void): Promise<Map<string, TransformerRow>> {
  const onnxSha = sha256File(join(dir, 'onnx/model_quantized.onnx'));
  const cached = new Map<string, TransformerRow>();
  if (existsSync(cacheFile)) {
    const lines = readFileSync(cacheFile, 'utf8').split('\n').filter(Boolean);
    const head = JSON.parse(lines[0] ?? '{}') as { onnx?: string };
    if (head.onnx === onnxSha) for (const l of lines.slice(1)) {
      const r = JSON.parse(l) as TransformerRow;
      cached.set(r.key, r);
    }
  }
  const todo = texts.filter((t) => !cached.has(rowKey(t)));
  if (todo.length === 0) return cached;
  log(`transformer: ${todo.length} dev texts to score (${cached.size} cached)`);
  const started = Date.now();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= todo.length) return;
      const t = todo[i]!;
      const c = await detector.components(t.text, t.lang);
      cached.set(rowKey(t), { key: rowKey(t), w: c.windows.map((w) => Number(w.logit.toFixed(4))), s: c.windows.map((w) => [w.start, w.end]) });
      if (++done % 2000 === 0) log(`transformer: ${done}/${todo.length} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  writeFileSync(cacheFile, [JSON.stringify({ onnx: onnxSha }), ...[...cached.values()].map((r) => JSON.stringify(r))].join('\n') + '\n');
  return cached;
}

if (process.argv[1]?.endsWith('dev-components.ts')) {
  const argOf = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
  const { createDetectorScorer } = await import('../src/scoring/detector.ts');
  const { DEFAULT_WINDOWS } = await import('../src/scoring/model-windows.ts');
  const modelDir = argOf('--model-dir', 'models');
  const modelId = argOf('--model-id', 'slopguard-detector');
  const dir = join(modelDir, modelId);
  const log = (m: string) => console.error(`[dev ${new Date().toISOString().slice(11, 19)}] ${m}`);
  // the manifest's calibration is not needed for raw window logits: a stand-in avoids
  // depending on a manifest that matches the files being re-fitted
  const identity = { bias: 0, weights: [], segment: { a: 1, b: 0 }, thresholds: { review: 0.5, flag: 0.9 } };
  const detector = createDetectorScorer({
    modelDir, modelId, maxWindows: MAX_WINDOWS, maxBatch: 16, batchWaitMs: 1, verifyFiles: false,
    manifest: { modelId, version: 'calibrating', labels: {}, files: {}, maxTokens: 128, windows: DEFAULT_WINDOWS, minUnits: { zh: 20, en: 12 }, featureNames: [], calibration: { zh: identity, en: identity }, training: {} },
  });
  const texts = await readDevTexts(argOf('--datasets', '../shared/datasets'));
  await devTransformer(detector, dir, texts, 'training/work/dev-transformer.jsonl', log);
  await detector.close();
  log('done');
}
