/**
 * The retraining loop: refits the detector's fast parts (n-gram model, fusion, thresholds)
 * around the shipped transformer on the shared datasets plus a platform's moderator decisions
 * (the `/v1/review/export` JSONL), evaluates old and new side by side on a held-back part of
 * the decisions and on the dev sets, and writes the new model version only when it is not
 * worse on either.
 *
 *   npm run retrain -- --decisions labelled.jsonl                    # full: 10-20 min here
 *   npm run retrain -- --decisions labelled.jsonl --sample 300 --dev-limit 8 --cs 4   # smoke: < 1 min
 *
 * Options: --model-dir models --model-id slopguard-detector (the current version, compared
 * against); --out-dir (default --model-dir) --out-id (default <model-id>-r<UTC stamp>): where
 * an accepted version goes; --sample N: N train texts per language from the shared sets (0:
 * all, the same code path either way); --dev-limit N: the first N dev texts per set (0: all);
 * --holdout 0.3: share of the decisions' groups held back for evaluation (a farm's posts
 * share a group, so it is never on both sides); --decision-weight 3: sample weight of each
 * decision against a dataset text (a `human` decision on a flagged article, a false positive,
 * weighs as much as a confirmation); --tolerance 0: how much AUROC the new version may lose
 * (and the share of wrong calls on the held-back decisions may rise) on a table and still
 * count as not worse; --cs 2,4,8: the n-gram LR grid; --report FILE:
 * both tables and the outcome as JSON; --datasets ../shared/datasets; --work DIR.
 *
 * Not worse, on each table and language: AUROC (where both classes are present) no lower
 * than the old version's minus the tolerance, and on the held-back decisions a share of wrong
 * calls at the version's own review threshold no higher than the old version's plus it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { contentLength, modelText, type Lang } from '../src/domain/normalize.ts';
import { auroc } from '../src/eval/metrics.ts';
import { createDetectorScorer } from '../src/scoring/detector.ts';
import { fusedLogit, loadManifest, sha256File, sigmoid, type DetectorManifest } from '../src/scoring/model-manifest.ts';
import { loadNgramModel, type NgramModel } from '../src/scoring/ngram.ts';
import { scoreTextSignals } from '../src/scoring/text-signals/index.ts';
import { devTransformer, MAX_WINDOWS, readDevTexts, rowKey, type DevText } from './dev-components.ts';
import { readJsonLinesFile } from '../src/infra/ndjson.ts';

const argOf = (n: string, d: string) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1]! : d);
const MODEL_DIR = argOf('--model-dir', 'models');
const MODEL_ID = argOf('--model-id', 'slopguard-detector');
const OUT_DIR = argOf('--out-dir', MODEL_DIR);
const OUT_ID = argOf('--out-id', `${MODEL_ID}-r${new Date().toISOString().replace(/[-:]/g, '').slice(0, 13)}`);
const DECISIONS = argOf('--decisions', '');
const DATASETS = argOf('--datasets', '../shared/datasets');
const SAMPLE = Number(argOf('--sample', '0'));
const DEV_LIMIT = Number(argOf('--dev-limit', '0'));
const HOLDOUT = Number(argOf('--holdout', '0.3'));
const DECISION_WEIGHT = Number(argOf('--decision-weight', '3'));
const TOLERANCE = Number(argOf('--tolerance', '0'));
const CS = argOf('--cs', '2,4,8');
const REPORT = argOf('--report', '');
const WORK = resolve(argOf('--work', `training/work/retrain/${OUT_ID}`));
const LANGS: Lang[] = ['zh', 'en'];
const FAST_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx'];

const log = (m: string) => console.error(`[retrain ${new Date().toISOString().slice(11, 19)}] ${m}`);

/** One line of the labelled export (`ReviewService.labelled`), as written by the service. */
const DecisionRecord = z.object({
  text: z.string().min(1),
  label: z.enum(['human', 'ai']),
  lang: z.enum(['zh', 'en']),
  source: z.string(),
  id: z.string(),
  group: z.string(),
  orig_label: z.string(),
  decision: z.object({ at: z.string(), verdict: z.string().nullable(), score: z.number().nullable(), modelVersion: z.string().nullable() }),
});
type DecisionRecord = z.infer<typeof DecisionRecord>;

/** Stable share of a key in [0, 1): the held-back split and the train sample follow it. */
const share = (key: string) => createHash('sha1').update(`slopguard-retrain:${key}`).digest().readUInt32BE(0) / 2 ** 32;

function readDecisions(file: string): DecisionRecord[] {
  const out: DecisionRecord[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const parsed = DecisionRecord.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`${file}:${i + 1}: not a labelled-export record: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    out.push(parsed.data);
  });
  return out;
}

interface TrainRec { id: string; text: string; label: number; lang: Lang; dataset: string; source: string; variant: string | null; group?: string; weight?: number }

/**
 * One split of every shared dataset through the service's normalisation (`modelText`, as
 * scripts/prepare-data.ts does), texts under 8 characters dropped; `limit`: the first N per set.
 */
async function readShared(split: 'train' | 'dev', limit = 0): Promise<TrainRec[]> {
  const out: TrainRec[] = [];
  for (const name of readdirSync(DATASETS).sort()) {
    const file = join(DATASETS, name, `${split}.jsonl.gz`);
    if (!existsSync(file)) continue;
    let n = 0;
    for await (const { text: line } of readJsonLinesFile(file)) {
      const r = JSON.parse(line) as { id: string; text: string; label: string; lang: Lang; source: string; variant?: string; orig_label?: string };
      const text = modelText(r.text);
      if (text.length < 8) continue;
      out.push({ id: r.id, text, label: r.label === 'ai' ? 1 : 0, lang: r.lang, dataset: name, source: r.source, variant: r.variant ?? r.orig_label ?? null });
      if (limit && ++n >= limit) break;
    }
  }
  return out;
}

function run(args: string[]): void {
  execFileSync(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' } });
}

// ------------------------------------------------------------------ 1. data

if (!DECISIONS) throw new Error('usage: npm run retrain -- --decisions FILE (the /v1/review/export JSONL) [--sample N --dev-limit N ...]');
const decisions = readDecisions(DECISIONS).filter((d) => modelText(d.text).length >= 8);
const heldBack = decisions.filter((d) => share(d.group) < HOLDOUT);
const fitDecisions = decisions.filter((d) => share(d.group) >= HOLDOUT);
const falsePositives = (ds: DecisionRecord[]) => ds.filter((d) => d.label === 'human' && (d.decision.verdict === 'flag' || d.decision.verdict === 'review')).length;
log(`${decisions.length} decisions (${falsePositives(decisions)} human false positives): ${fitDecisions.length} to fit, ${heldBack.length} held back`);
if (heldBack.length === 0 || fitDecisions.length === 0) log('warning: one side of the decision split is empty; more decisions (or another --holdout) give a fairer comparison');

mkdirSync(WORK, { recursive: true });
const shared = await readShared('train');
const sampled = SAMPLE ? LANGS.flatMap((lang) => shared.filter((r) => r.lang === lang).sort((a, b) => share(a.id) - share(b.id)).slice(0, SAMPLE)) : shared;
const platform: TrainRec[] = fitDecisions.map((d) => ({ id: d.id, text: modelText(d.text), label: d.label === 'ai' ? 1 : 0, lang: d.lang, dataset: 'platform', source: d.source, variant: d.orig_label, group: d.group, weight: DECISION_WEIGHT }));
writeFileSync(join(WORK, 'train.jsonl'), [...sampled, ...platform].map((r) => JSON.stringify(r)).join('\n') + '\n');
const dev = await readShared('dev', DEV_LIMIT);
writeFileSync(join(WORK, 'dev.jsonl'), dev.map((r) => JSON.stringify(r)).join('\n') + '\n');
// the fusion fits the platform's decisions as one more set beside the dev sets
writeFileSync(join(WORK, 'platform-fit.jsonl'), fitDecisions.map((d) => JSON.stringify({ id: d.id, dataset: 'platform', lang: d.lang, label: d.label === 'ai' ? 1 : 0, group: d.group, variant: d.orig_label, text: d.text })).join('\n') + '\n');
log(`train: ${sampled.length} shared texts${SAMPLE ? ` (sample of ${SAMPLE} per language)` : ''} + ${platform.length} decisions (weight ${DECISION_WEIGHT}); n-gram dev: ${dev.length}`);

// ------------------------------------------------------------------ 2. the candidate

const oldDir = join(MODEL_DIR, MODEL_ID);
const candidateRoot = join(WORK, 'model');
const candidate = join(candidateRoot, OUT_ID);
rmSync(candidate, { recursive: true, force: true });
for (const f of FAST_FILES) {
  mkdirSync(dirname(join(candidate, f)), { recursive: true });
  copyFileSync(join(oldDir, f), join(candidate, f));
}
// the transformer's dev logits depend on the ONNX file only: an earlier run's cache saves the slow step
const cacheName = DEV_LIMIT ? `dev-transformer-limit${DEV_LIMIT}.jsonl` : 'dev-transformer.jsonl';
if (existsSync(join('training/work', cacheName)) && !existsSync(join(WORK, cacheName))) copyFileSync(join('training/work', cacheName), join(WORK, cacheName));
run(['training/train-ngram.ts', candidate, '--cs', CS, '--train', join(WORK, 'train.jsonl'), '--dev', join(WORK, 'dev.jsonl'), '--work', join(WORK, 'ngram')]);
run(['training/fit-fusion.ts', '--model-dir', candidateRoot, '--model-id', OUT_ID, '--datasets', DATASETS, '--limit', String(DEV_LIMIT), '--extra', join(WORK, 'platform-fit.jsonl'), '--work', WORK]);

// ------------------------------------------------------------------ 3. old against new

interface Version { name: string; manifest: DetectorManifest; ngram: NgramModel }
const oldV: Version = { name: 'old', manifest: loadManifest(oldDir), ngram: loadNgramModel(oldDir) };
const newV: Version = { name: 'new', manifest: loadManifest(candidate), ngram: loadNgramModel(candidate) };
if (sha256File(join(oldDir, 'onnx/model_quantized.onnx')) !== sha256File(join(candidate, 'onnx/model_quantized.onnx'))) throw new Error('the transformer changed: retrain refits around the same one');

const evalTexts: DevText[] = [
  ...(await readDevTexts(DATASETS, DEV_LIMIT)),
  ...heldBack.map((d) => ({ id: d.id, dataset: 'held-back decisions', lang: d.lang, label: d.label === 'ai' ? 1 : 0, variant: d.orig_label, group: d.group, text: d.text })),
];
const detector = createDetectorScorer({ modelDir: MODEL_DIR, modelId: MODEL_ID, manifest: oldV.manifest, maxWindows: MAX_WINDOWS, maxBatch: 16, batchWaitMs: 1, verifyFiles: false });
await detector.load();
// the dev texts' window logits are in fit-fusion's cache already; only the held-back decisions are new
const windows = await devTransformer(detector, oldDir, evalTexts, join(WORK, cacheName), log);
await detector.close();

/** The detector's probability of one text under a version (null under its minimum length), as the service computes it. */
function probability(v: Version, t: DevText): number | null {
  const w = windows.get(rowKey(t))!.w;
  const mt = modelText(t.text);
  const units = contentLength(mt);
  if (w.length === 0 || units < v.manifest.minUnits[t.lang]) return null;
  const parts = {
    transformer: w.reduce((a, b) => a + b, 0) / w.length,
    transformerMax: Math.max(...w),
    ngram: v.ngram.logit(mt, t.lang),
    textSignals: scoreTextSignals({ text: t.text, title: null, lang: t.lang }).explanation?.logit ?? 0,
    units,
  };
  return sigmoid(fusedLogit(v.manifest.featureNames, v.manifest.calibration[t.lang], parts));
}

interface Cell { n: number; auroc: number | null; tpr: number | null; fpr: number | null; wrong: number }
/** `unscored`: texts left out of both cells, under either version's minimum length (the service gives them no probability). */
interface Row { table: 'held-back decisions' | 'dev sets'; lang: Lang; unscored: number; old: Cell; new: Cell; notWorse: boolean; why: string }

function cell(v: Version, ts: DevText[], lang: Lang): Cell {
  const probs = ts.map((t) => probability(v, t)!);
  const y = ts.map((t) => t.label);
  const at = v.manifest.calibration[lang].thresholds.review;
  const pos = y.filter((l) => l === 1).length;
  const neg = y.length - pos;
  const tp = probs.filter((p, i) => p >= at && y[i] === 1).length;
  const fp = probs.filter((p, i) => p >= at && y[i] === 0).length;
  const a = auroc(y, probs);
  return { n: ts.length, auroc: Number.isNaN(a) ? null : a, tpr: pos ? tp / pos : null, fpr: neg ? fp / neg : null, wrong: fp + (pos - tp) };
}

const rows: Row[] = [];
for (const table of ['held-back decisions', 'dev sets'] as const) {
  for (const lang of LANGS) {
    const all = evalTexts.filter((t) => t.lang === lang && (table === 'held-back decisions') === (t.dataset === 'held-back decisions'));
    // both versions judged on the same texts, those each gives a probability (a short text's 0 would only add ties)
    const ts = all.filter((t) => probability(oldV, t) !== null && probability(newV, t) !== null);
    if (ts.length === 0) continue;
    const o = cell(oldV, ts, lang);
    const n = cell(newV, ts, lang);
    const reasons: string[] = [];
    if (o.auroc !== null && n.auroc !== null && n.auroc < o.auroc - TOLERANCE) reasons.push(`AUROC ${n.auroc.toFixed(4)} < ${o.auroc.toFixed(4)}${TOLERANCE ? ` - ${TOLERANCE}` : ''}`);
    if (table === 'held-back decisions' && n.wrong / n.n > o.wrong / o.n + TOLERANCE) reasons.push(`${n.wrong} wrong calls at review > ${o.wrong}${TOLERANCE ? ` + ${TOLERANCE} of ${o.n}` : ''}`);
    rows.push({ table, lang, unscored: all.length - ts.length, old: o, new: n, notWorse: reasons.length === 0, why: reasons.join('; ') || 'not worse' });
  }
}

const fmt = (x: number | null) => (x === null ? '—' : x.toFixed(4));
for (const table of ['held-back decisions', 'dev sets'] as const) {
  console.log(`\n${table} (${table === 'dev sets' ? (DEV_LIMIT ? `first ${DEV_LIMIT} per set` : 'all') : `${(HOLDOUT * 100).toFixed(0)}% of the decisions' groups`})`);
  console.log('| lang | n (unscored) | AUROC old | AUROC new | TPR@review old | TPR@review new | FPR@review old | FPR@review new | wrong old | wrong new | outcome |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows.filter((x) => x.table === table)) {
    console.log(`| ${r.lang} | ${r.old.n} (${r.unscored}) | ${fmt(r.old.auroc)} | ${fmt(r.new.auroc)} | ${fmt(r.old.tpr)} | ${fmt(r.new.tpr)} | ${fmt(r.old.fpr)} | ${fmt(r.new.fpr)} | ${r.old.wrong} | ${r.new.wrong} | ${r.why} |`);
  }
}

const accepted = rows.length > 0 && rows.every((r) => r.notWorse);
const target = join(OUT_DIR, OUT_ID);
if (accepted) {
  if (existsSync(target)) throw new Error(`${target} exists already; pick another --out-id`);
  // provenance of this version in its manifest (not one of the hashed files)
  const manifest = JSON.parse(readFileSync(join(candidate, 'manifest.json'), 'utf8')) as DetectorManifest;
  manifest.training = {
    ...manifest.training,
    retrain: {
      from: oldV.manifest.version, decisions: decisions.length, fitted: fitDecisions.length, heldBack: heldBack.length, humanFalsePositives: falsePositives(decisions),
      decisionWeight: DECISION_WEIGHT, sharedTrainTexts: sampled.length, devLimit: DEV_LIMIT, tolerance: TOLERANCE, comparison: rows,
    },
  };
  writeFileSync(join(candidate, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  mkdirSync(OUT_DIR, { recursive: true });
  renameSync(candidate, target);
  console.log(`\nnew version ${newV.manifest.version} written to ${target}: not worse than ${oldV.manifest.version} on either table.`);
  console.log(`Install (operator): MODEL_DIR=${OUT_DIR} DETECTOR_MODEL=${OUT_ID}, restart the workers; /readyz and /metrics report the version and every score records it. Then rescan the content you choose (POST /v1/rescans) and read its change report.`);
} else {
  console.log(`\nnot written: the new version is worse than ${oldV.manifest.version} (${rows.filter((r) => !r.notWorse).map((r) => `${r.table} ${r.lang}: ${r.why}`).join('; ') || 'nothing to compare'}). The candidate stays in ${candidate} for inspection.`);
}
if (REPORT) writeFileSync(REPORT, JSON.stringify({ accepted, oldVersion: oldV.manifest.version, newVersion: newV.manifest.version, modelId: accepted ? OUT_ID : null, dir: accepted ? target : candidate, decisions: decisions.length, heldBack: heldBack.length, humanFalsePositives: falsePositives(decisions), rows }, null, 1) + '\n');
