/**
 * Trains the n-gram TF-IDF + logistic regression (src/scoring/ngram.ts), one model per
 * language, on training/work/train.jsonl; picks the regularisation on training/work/dev.jsonl;
 * writes `ngram.json` + `ngram.bin` (uint8 idf, int16 weights) into OUT_DIR.
 *
 * Features are computed here with the service's own code (so training sees exactly what
 * inference sees) and dumped as CSR matrices to training/work/ngram/; the regression itself is
 * scikit-learn's liblinear (training/fit_lr.py, Debian's /usr/bin/python3). The dev logits
 * computed here from the fitted weights are checked against scikit-learn's.
 *
 * Usage: tsx training/train-ngram.ts OUT_DIR [--bits 20] [--cs 2,4,8] [--weighting zh=sqrt,en=natural]
 *        [--train training/work/train.jsonl] [--dev training/work/dev.jsonl] [--work training/work/ngram]
 * (a record's optional `weight` multiplies its sample weight: training/retrain.ts weighs the
 * platform's moderator decisions with it)
 * (sqrt: each (dataset, label) group of the train texts weighs ~ sqrt(its size), so the big
 * sets do not drown the small ones; natural: every text weighs 1. Measured on dev at C 4 / 8:
 * zh 0.9066 natural -> 0.9083 sqrt (NLPCC 0.863 -> 0.890), en 0.9305 natural -> 0.9294 sqrt)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auroc } from '../src/eval/metrics.ts';
import { blockCounts, NGRAM_BLOCKS, NGRAM_FORMAT, tfidfVector, type NgramLangMeta, type NgramMeta } from '../src/scoring/ngram.ts';
import { readJsonLinesFile } from '../src/infra/ndjson.ts';

type Lang = 'zh' | 'en';
interface Rec { id: string; text: string; label: number; lang: Lang; dataset: string; weight?: number }

const outDir = process.argv[2] ?? 'models/slopguard-detector';
const argOf = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const BITS = Number(argOf('--bits', '20'));
const CS = argOf('--cs', '2,4,8');
const LANGS: Lang[] = ['zh', 'en'];
const WEIGHTING = Object.fromEntries(argOf('--weighting', 'zh=sqrt,en=natural').split(',').map((kv) => kv.split('='))) as Record<Lang, string>;
for (const lang of LANGS) if (WEIGHTING[lang] !== 'sqrt' && WEIGHTING[lang] !== 'natural') throw new Error(`--weighting: ${lang}=sqrt or ${lang}=natural`);
/** Training texts are read up to this many characters (memory); inference reads all. */
const MAX_CHARS = 4000;
const SIZE = 1 << BITS;
const WORK = argOf('--work', 'training/work/ngram');
const TRAIN_FILE = argOf('--train', 'training/work/train.jsonl');
const DEV_FILE = argOf('--dev', 'training/work/dev.jsonl');
const PY = process.env.PYTHON ?? '/usr/bin/python3';

async function readJsonl(file: string): Promise<Rec[]> {
  const out: Rec[] = [];
  for await (const { text } of readJsonLinesFile(file)) out.push(JSON.parse(text) as Rec);
  return out;
}

function log(msg: string): void {
  console.error(`[ngram ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Writes one split's CSR matrix for fit_lr.py. */
function dump(prefix: string, docs: { idx: Int32Array; val: Float32Array }[], labels: number[]): void {
  const ptr = new BigInt64Array(docs.length + 1);
  let nnz = 0;
  docs.forEach((d, i) => {
    nnz += d.idx.length;
    ptr[i + 1] = BigInt(nnz);
  });
  const idx = new Int32Array(nnz);
  const val = new Float32Array(nnz);
  let o = 0;
  for (const d of docs) {
    idx.set(d.idx, o);
    val.set(d.val, o);
    o += d.idx.length;
  }
  writeFileSync(`${prefix}.ptr.bin`, ptr);
  writeFileSync(`${prefix}.idx.bin`, idx);
  writeFileSync(`${prefix}.val.bin`, val);
  writeFileSync(`${prefix}.y.bin`, Uint8Array.from(labels));
}

const dot = (w: ArrayLike<number>, d: { idx: Int32Array; val: Float32Array }, b: number): number => {
  let z = b;
  for (let i = 0; i < d.idx.length; i++) z += d.val[i]! * w[d.idx[i]!]!;
  return z;
};

mkdirSync(WORK, { recursive: true });
mkdirSync(outDir, { recursive: true });
const train = await readJsonl(TRAIN_FILE);
const dev = await readJsonl(DEV_FILE);
log(`read ${train.length} train, ${dev.length} dev`);

const parts: Buffer[] = [];
let offset = 0;
const langs = {} as Record<Lang, NgramLangMeta>;
const report: Record<string, unknown> = {};
for (const lang of LANGS) {
  const tr = train.filter((r) => r.lang === lang);
  const dv = dev.filter((r) => r.lang === lang);
  // document frequencies over this language's train texts (counts are recomputed below rather
  // than kept: holding every text's Map at once does not fit in the V8 heap for English)
  const df = new Uint32Array(SIZE);
  for (const r of tr) {
    const seen = new Set<number>();
    for (const c of blockCounts(r.text, lang, BITS, MAX_CHARS)) for (const b of c.keys()) seen.add(b);
    for (const b of seen) df[b]!++;
  }
  // smooth idf, quantised to uint8 before the vectors are built so training sees what inference sees
  let idfMax = 0;
  const idfRaw = new Float32Array(SIZE);
  for (let b = 0; b < SIZE; b++) {
    idfRaw[b] = Math.log((tr.length + 1) / (df[b]! + 1)) + 1;
    idfMax = Math.max(idfMax, idfRaw[b]!);
  }
  const idfScale = idfMax / 255;
  const idfQ = new Uint8Array(SIZE);
  const idf = new Float32Array(SIZE);
  for (let b = 0; b < SIZE; b++) {
    idfQ[b] = Math.round(idfRaw[b]! / idfScale);
    idf[b] = idfQ[b]! * idfScale;
  }
  const trainDocs = tr.map((r) => tfidfVector(blockCounts(r.text, lang, BITS, MAX_CHARS), idf));
  const devDocs = dv.map((r) => tfidfVector(blockCounts(r.text, lang, BITS), idf));
  const prefix = join(WORK, lang);
  dump(`${prefix}.train`, trainDocs, tr.map((r) => r.label));
  const group = new Map<string, number>();
  for (const r of tr) group.set(`${r.dataset}/${r.label}`, (group.get(`${r.dataset}/${r.label}`) ?? 0) + 1);
  const w = tr.map((r) => (WEIGHTING[lang] === 'sqrt' ? 1 / Math.sqrt(group.get(`${r.dataset}/${r.label}`)!) : 1) * (r.weight ?? 1));
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  writeFileSync(`${prefix}.train.w.bin`, Float32Array.from(w.map((x) => x / mean)));
  dump(`${prefix}.dev`, devDocs, dv.map((r) => r.label));
  trainDocs.length = 0;
  log(`${lang}: ${tr.length} train / ${dv.length} dev texts dumped; fitting (C in ${CS})`);
  execFileSync(PY, ['training/fit_lr.py', prefix, '--bits', String(BITS), '--cs', CS], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
  const fit = JSON.parse(readFileSync(`${prefix}.fit.json`, 'utf8')) as { C: number; bias: number; devAuroc: number; tried: Record<string, number>; devLogits: number[] };
  const wf = new Float32Array(readFileSync(`${prefix}.weights.bin`).buffer.slice(0));
  // the TypeScript dot product over the same vectors must give scikit-learn's logits
  const maxDiff = devDocs.reduce((m, d, i) => Math.max(m, Math.abs(dot(wf, d, fit.bias) - fit.devLogits[i]!)), 0);
  if (maxDiff > 1e-3) throw new Error(`${lang}: TypeScript logits differ from scikit-learn's by ${maxDiff}`);
  let maxAbs = 0;
  for (let i = 0; i < SIZE; i++) maxAbs = Math.max(maxAbs, Math.abs(wf[i]!));
  const weightScale = maxAbs / 32767;
  const q = new Int16Array(SIZE);
  const wq = new Float32Array(SIZE);
  for (let i = 0; i < SIZE; i++) {
    q[i] = Math.round(wf[i]! / weightScale);
    wq[i] = q[i]! * weightScale;
  }
  const idfOffset = offset;
  const weightOffset = offset + SIZE;
  parts.push(Buffer.from(idfQ.buffer), Buffer.from(q.buffer));
  offset += SIZE * 3;
  langs[lang] = { idfOffset, idfScale, weightOffset, weightScale, bias: fit.bias };
  const sc = devDocs.map((d) => dot(wq, d, fit.bias));
  const per: Record<string, number> = { all: Number(auroc(dv.map((r) => r.label), sc).toFixed(4)) };
  for (const ds of [...new Set(dv.map((r) => r.dataset))].sort()) {
    const sel = dv.map((r, i) => [r, i] as const).filter(([r]) => r.dataset === ds);
    per[ds] = Number(auroc(sel.map(([r]) => r.label), sel.map(([, i]) => sc[i]!)).toFixed(4));
  }
  report[lang] = { C: fit.C, tried: fit.tried, tsVsSklearnMaxDiff: maxDiff, devAuroc: per };
  log(`${lang}: C ${fit.C}, TS vs scikit-learn max |dlogit| ${maxDiff.toExponential(2)}, dev AUROC (int16) ${JSON.stringify(per)}`);
}

const meta: NgramMeta = {
  format: NGRAM_FORMAT,
  bits: BITS,
  blocks: NGRAM_BLOCKS,
  langs,
  training: {
    data: `${TRAIN_FILE} (../shared/datasets/*/train, modelText); C chosen on ${DEV_FILE}`,
    features: { char: '1-4 characters, lower-cased', word: 'zh: jieba precise-mode words 1-2; en: words and punctuation 1-2' },
    tf: '1+ln(count), each block L2-normalised', idf: 'ln((N+1)/(df+1))+1 per language',
    maxCharsTrain: MAX_CHARS,
    regression: 'L2 logistic regression, scikit-learn liblinear (primal), intercept_scaling 10',
    weighting: WEIGHTING,
    report,
  },
};
writeFileSync(join(outDir, 'ngram.bin'), Buffer.concat(parts));
writeFileSync(join(outDir, 'ngram.json'), JSON.stringify(meta, null, 1) + '\n');
log(`wrote ${join(outDir, 'ngram.bin')} (${offset} bytes)`);
