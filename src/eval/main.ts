/**
 * Evaluation command: `npm run --silent eval -- --data FILE [--json] [--model-dir DIR]
 * [--model-id ID] [--max-windows N] [--dtype q8|fp32]`.
 *
 * Reads a JSONL or JSONL.gz file of {text, label ('ai'|'human' or 1|0), lang?} records,
 * scores each text with the shipped detector and prints, per language and overall: n, AUROC,
 * F1, TPR and FPR at the shipped `review` threshold, TPR at 1% FPR. With `--json` stdout
 * holds exactly one JSON object: {"overall": {...}, "by_lang": {"zh": {...}, "en": {...}}}.
 *
 * Ranking metrics (AUROC, TPR at 1% FPR) use the detector's calibrated score for every text,
 * including texts under the detector's minimum length (their `features.raw_probability`);
 * threshold metrics (F1, TPR, FPR) use what the service decides: a text whose probability
 * is null is never over a threshold. To bound run time on a 2-core CPU, at most
 * `--max-windows` (default 12) evenly spaced windows are scored per text; the service
 * scores every window.
 */
import { existsSync } from 'node:fs';
import { canonicalText, detectLang, type Lang } from '../domain/normalize.ts';
import { createDetectorScorer } from '../scoring/detector.ts';
import { z } from 'zod';
import { evaluate, formatTable, type EvalRecord } from './report.ts';
import { readJsonLinesFile } from '../infra/ndjson.ts';

/** One line of an evaluation file: `label` as "ai"/"human", 1/0 or true/false. */
const evalRecordSchema = z.object({ text: z.string(), label: z.unknown(), lang: z.unknown() });

interface Args {
  data: string;
  json: boolean;
  modelDir: string;
  modelId: string;
  maxWindows: number;
  dtype: 'q8' | 'fp32';
  concurrency: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { data: '', json: false, modelDir: 'models', modelId: 'slopguard-detector', maxWindows: 12, dtype: 'q8', concurrency: 32 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--data') a.data = v();
    else if (k === '--json') a.json = true;
    else if (k === '--model-dir') a.modelDir = v();
    else if (k === '--model-id') a.modelId = v();
    else if (k === '--max-windows') a.maxWindows = Number(v());
    else if (k === '--dtype') a.dtype = v() as Args['dtype'];
    else if (k === '--concurrency') a.concurrency = Number(v());
    else if (k === '--help' || k === '-h') {
      process.stderr.write('usage: npm run --silent eval -- --data FILE.jsonl[.gz] [--json] [--model-dir models] [--max-windows 12]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  if (!a.data) throw new Error('--data FILE is required');
  if (!existsSync(a.data)) throw new Error(`no such file: ${a.data}`);
  return a;
}

async function* readRecords(file: string): AsyncGenerator<{ text: string; label: number; lang: Lang }> {
  for await (const { line: lineNo, text: line } of readJsonLinesFile(file)) {
    const parsed = evalRecordSchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`line ${lineNo}: text must be a string`);
    const r = parsed.data;
    const label = r.label === 'ai' || r.label === 1 || r.label === true ? 1 : r.label === 'human' || r.label === 0 || r.label === false ? 0 : null;
    if (label === null) throw new Error(`line ${lineNo}: label must be "ai" or "human"`);
    const text = canonicalText(r.text);
    const lang: Lang = r.lang === 'zh' || r.lang === 'en' ? r.lang : detectLang(text);
    yield { text, label, lang };
  }
}

export async function runEval(a: Args): Promise<ReturnType<typeof evaluate>> {
  const detector = createDetectorScorer({ modelDir: a.modelDir, modelId: a.modelId, dtype: a.dtype, maxWindows: a.maxWindows, maxBatch: 16, batchWaitMs: 1 });
  await detector.load();
  const records: EvalRecord[] = [];
  const inflight = new Set<Promise<void>>();
  const started = Date.now();
  let done = 0;
  for await (const r of readRecords(a.data)) {
    const p = detector
      .score({ text: r.text, title: null, lang: r.lang })
      .then((out) => {
        const raw = out.features.raw_probability;
        records.push({
          label: r.label,
          lang: r.lang,
          score: out.probability ?? (raw === undefined ? 0.5 : raw),
          probability: out.probability,
          thresholds: out.thresholds,
        });
        done++;
        if (!a.json && done % 1000 === 0) process.stderr.write(`scored ${done} texts in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= a.concurrency) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await detector.close();
  return evaluate(records);
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`eval: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const result = await runEval(args);
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(formatTable(result) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('src/eval/main.ts')) {
  main().catch((e: unknown) => {
    process.stderr.write(`eval failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
