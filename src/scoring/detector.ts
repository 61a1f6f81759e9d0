/**
 * The detector scorer: a small transformer (int8 ONNX, served through transformers.js,
 * offline) over sliding windows of the whole article, fused with a hashed n-gram TF-IDF
 * logistic regression (ngram.ts) and the text signals' logit, calibrated per language on the
 * dev splits (training/fit-fusion.ts; features named in the manifest). Thresholds per
 * language come from the manifest.
 *
 * - Windows over the canonical text by character offsets (model-windows.ts), each passed
 *   through `modelText` before tokenising; each window's own calibrated probability (the
 *   fusion over that window alone) becomes a `segment`, highlighted from `review` up.
 * - Windows of concurrent `score()` calls share forward passes (model-batcher.ts), which run
 *   on model threads (model-thread.ts), off the event loop.
 * - Texts under `manifest.minUnits` (content units: Han characters + Latin words) get
 *   `probability: null`; their raw model score is still reported in `features`.
 *
 * @example
 * const detector = createDetectorScorer({ modelDir: 'models' });
 * await detector.load();
 * const out = await detector.score({ text, title: null, lang: 'zh' });
 * // { name: 'detector', probability: 0.93, thresholds: { review: 0.71, flag: 0.9 },
 * //   segments: [{ start: 0, end: 120, probability: 0.88 }, …], reasons: [{ code: 'model_probability', … }] }
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { contentLength, modelText, type Lang } from '../domain/normalize.ts';
import type { Reason, ScoreInput, Scorer, ScorerOutput, Segment } from '../domain/types.ts';
import type { ModelObserver } from '../infra/metrics.ts';
import { WindowBatcher } from './model-batcher.ts';
import { fusedLogit, loadManifest, sigmoid, type DetectorManifest, type FusionParts } from './model-manifest.ts';
import { capWindows, planWindows, type Window } from './model-windows.ts';
import { type ModelThread, startModelThreadPool } from './model-thread.ts';
import { loadNgramModel, type NgramModel } from './ngram.ts';
import { scoreTextSignals } from './text-signals/index.ts';

export const DETECTOR_NAME = 'detector';
export const DEFAULT_DETECTOR_ID = 'slopguard-detector';

export interface DetectorOptions {
  /** Folder holding the model folders (the service's models directory). */
  modelDir: string;
  /** Model folder inside `modelDir`. Default `slopguard-detector`. */
  modelId?: string;
  /** `q8` loads onnx/model_quantized.onnx (the shipped file); `fp32` loads onnx/model.onnx. */
  dtype?: 'q8' | 'fp32';
  /** Most windows per forward pass. Default 16. */
  maxBatch?: number;
  /** How long a partly filled batch waits for more windows, in ms. Default 2. */
  batchWaitMs?: number;
  /** Score at most this many windows per text, evenly spaced (0: all). Only for bulk evaluation. */
  maxWindows?: number;
  /** onnxruntime intra-op threads per model thread (default: onnxruntime's choice with one model thread, else the cores divided among them). */
  threads?: number;
  /**
   * Model threads, each running its own passes (default 1). Several (a pass per core) score
   * more windows per second under a backlog (bench/model.ts: +10-20% on 2 cores), but a live
   * pass then gets one core while a background pass holds the other: slower live articles.
   */
  modelThreads?: number;
  /**
   * Let onnxruntime's idle threads spin (its default). On a shared, busy CPU spinning threads
   * wait for each other and throughput drops (measured here: 2 threads 33 windows/s spinning,
   * 116 not spinning). Default false.
   */
  spin?: boolean;
  /** Check files against the manifest's sha256 at load. Default true. */
  verifyFiles?: boolean;
  /** Use this manifest instead of `<model>/manifest.json` (calibration step only). */
  manifest?: DetectorManifest;
  /** Told about forward passes, scored articles and replaced model threads (metrics). */
  observer?: ModelObserver;
}

/** Uncalibrated parts of one text's score, for calibration and evaluation. */
export interface DetectorComponents {
  units: number;
  /** Mean and max window logit of the transformer; null when no window had text. */
  transformer: number | null;
  transformerMax: number | null;
  ngram: number;
  /** Logit of the interpretable text signals (0 when the text is under their minimum length). */
  textSignals: number;
  windows: (Window & { logit: number })[];
}

/** Text-signals logit of a canonical text, 0 when it is too short for them (their own rule). */
function textSignalsLogit(text: string, lang: Lang, title: string | null = null): number {
  return scoreTextSignals({ text, title, lang }).explanation?.logit ?? 0;
}

export interface DetectorScorer extends Scorer {
  components(text: string, lang: Lang): Promise<DetectorComponents>;
  /** One forward pass over these window texts (already model-normalised), no batcher; for benchmarks. */
  forward(texts: string[]): Promise<number[]>;
  /** Forward passes that can run at once (model threads). */
  readonly modelThreads: number;
  readonly manifest: DetectorManifest;
  readonly batchStats: { batches: number; windows: number; maxBatchSeen: number };
}

const pct = (p: number): string => `${(p * 100).toFixed(p >= 0.995 || p < 0.005 ? 1 : 0)}%`;

export function createDetectorScorer(opts: DetectorOptions): DetectorScorer {
  const modelId = opts.modelId ?? DEFAULT_DETECTOR_ID;
  const dir = join(opts.modelDir, modelId);
  const maxBatch = Math.max(1, opts.maxBatch ?? 16);
  const batchWaitMs = Math.max(0, opts.batchWaitMs ?? 2);
  const modelThreads = Math.max(1, opts.modelThreads ?? 1);
  const threads = opts.threads ?? (modelThreads > 1 ? Math.max(1, Math.floor(availableParallelism() / modelThreads)) : undefined);
  let manifest: DetectorManifest | null = opts.manifest ?? null;
  let ngram: NgramModel | null = null;
  let model: ModelThread | null = null;
  let loading: Promise<void> | null = null;
  let ready = false;

  const runBatch = async (texts: string[]): Promise<number[]> => {
    if (!model) await scorer.load();
    const current = model!;
    try {
      return await current.forward(texts);
    } catch (error) {
      // A thread that died (out of memory, a native fault) is replaced on the next call; until
      // then /readyz reports the model as not ready and these windows' jobs retry.
      if (current.stopped && model === current) {
        opts.observer?.threadRestart();
        ready = false;
        loading = null;
        model = null;
      }
      throw error;
    }
  };
  const batcher = new WindowBatcher(runBatch, maxBatch, batchWaitMs, modelThreads, undefined, opts.observer?.pass.bind(opts.observer));

  async function doLoad(): Promise<void> {
    manifest ??= loadManifest(dir, opts.verifyFiles ?? true);
    ngram = loadNgramModel(dir);
    model = await startModelThreadPool(
      {
        modelDir: opts.modelDir,
        modelId,
        dtype: opts.dtype ?? 'q8',
        ...(threads ? { threads } : {}),
        spin: opts.spin === true,
        maxTokens: manifest.maxTokens,
      },
      modelThreads,
    );
    ready = true;
  }

  async function components(text: string, lang: Lang, background = false, title: string | null = null): Promise<DetectorComponents> {
    if (!ready) await scorer.load();
    const m = manifest!;
    let windows = planWindows(text, lang, m.windows[lang]);
    if (opts.maxWindows && opts.maxWindows > 0) windows = capWindows(windows, opts.maxWindows);
    const texts = windows.map((w) => modelText(text.slice(w.start, w.end)));
    const keep = windows.map((_, i) => texts[i]!.length > 0);
    const logits = await batcher.scoreAll(
      texts.filter((_, i) => keep[i]),
      background,
    );
    opts.observer?.article(background);
    const scored: (Window & { logit: number })[] = [];
    let k = 0;
    windows.forEach((w, i) => {
      if (keep[i]) scored.push({ ...w, logit: logits[k++]! });
    });
    const mt = modelText(text);
    return {
      units: contentLength(mt),
      transformer: scored.length ? scored.reduce((a, w) => a + w.logit, 0) / scored.length : null,
      transformerMax: scored.length ? Math.max(...scored.map((w) => w.logit)) : null,
      ngram: mt.length ? ngram!.logit(mt, lang) : 0,
      textSignals: textSignalsLogit(text, lang, title),
      windows: scored,
    };
  }

  const scorer: DetectorScorer = {
    name: DETECTOR_NAME,
    get version() {
      return manifest?.version ?? `${modelId}@unloaded`;
    },
    get manifest() {
      if (!manifest) throw new Error('detector not loaded');
      return manifest;
    },
    get batchStats() {
      return batcher.stats;
    },
    load() {
      loading ??= doLoad().catch((e: unknown) => {
        loading = null;
        throw e;
      });
      return loading;
    },
    isReady: () => ready,
    modelThreads,
    components,
    async forward(texts) {
      if (!ready) await scorer.load();
      return runBatch(texts);
    },
    async score(input: ScoreInput): Promise<ScorerOutput> {
      const { lang } = input;
      const c = await components(input.text, lang, input.background, input.title);
      const m = manifest!;
      const cal = m.calibration[lang];
      const th = cal.thresholds;
      const names = m.featureNames;
      // A window's probability is the fusion applied to that window alone (its own transformer
      // logit, n-grams, text signals and length): calibrated like a text of that length, so
      // comparing it with the review threshold means the same thing as for a whole text.
      const segments: Segment[] = c.windows.map((w) => {
        const wt = input.text.slice(w.start, w.end);
        const mt = modelText(wt);
        const units = contentLength(mt);
        const probability = sigmoid(
          fusedLogit(names, cal, { transformer: w.logit, transformerMax: w.logit, ngram: ngram!.logit(mt, lang), textSignals: textSignalsLogit(wt, lang), units }),
        );
        return { start: w.start, end: w.end, probability, highlight: probability >= th.flag ? 'flag' : probability >= th.review ? 'review' : 'none' };
      });
      const features: Record<string, number> = { units: c.units, windows: c.windows.length, ngram_logit: c.ngram, text_signals_logit: c.textSignals };
      const reasons: Reason[] = [];
      let probability: number | null = null;
      if (c.transformer !== null) {
        const parts: FusionParts = { transformer: c.transformer, transformerMax: c.transformerMax!, ngram: c.ngram, textSignals: c.textSignals, units: c.units };
        features.transformer_logit = c.transformer;
        const z = fusedLogit(names, cal, parts);
        features.fused_logit = z;
        features.raw_probability = sigmoid(z);
        features.transformer_probability = sigmoid(cal.segment.a * c.transformer + cal.segment.b);
        // the share of the fused logit carried by the text signals, so the fusion can show
        // their reasons without adding them a second time
        const k = names.indexOf('text_signals');
        if (k >= 0) features.text_signals_weight = cal.weights[k] ?? 0;
        if (c.units >= m.minUnits[lang]) probability = sigmoid(z);
      }
      const unit = { zh: lang === 'zh' ? '字' : '词', en: lang === 'zh' ? 'characters' : 'words' };
      if (probability === null) {
        reasons.push({
          code: 'model_text_too_short',
          source: 'model',
          contribution: 0,
          message: {
            zh: `文本过短（${c.units}${unit.zh}，少于${m.minUnits[lang]}${unit.zh}），检测模型不作判断`,
            en: `Text too short for the detector model (${c.units} ${unit.en}, under ${m.minUnits[lang]})`,
          },
          evidence: { units: c.units, minUnits: m.minUnits[lang] },
        });
      } else {
        reasons.push({
          code: 'model_probability',
          source: 'model',
          contribution: features.fused_logit!,
          message: {
            zh: `检测模型（${c.windows.length}个窗口的Transformer、字词n-gram与文本特征融合）判断AI生成概率为${pct(probability)}（复核阈值${pct(th.review)}，标记阈值${pct(th.flag)}）`,
            en: `Detector model (transformer over ${c.windows.length} window${c.windows.length === 1 ? '' : 's'} fused with character and word n-grams and the text signals): ${pct(probability)} likely AI-generated (review at ${pct(th.review)}, flag at ${pct(th.flag)})`,
          },
          evidence: {
            transformerProbability: features.transformer_probability,
            ngramLogit: c.ngram,
            windows: c.windows.length,
            modelVersion: m.version,
          },
        });
        const top = segments.reduce<Segment | null>((a, s) => (a && a.probability >= s.probability ? a : s), null);
        if (top && segments.length > 1 && top.probability >= th.review) {
          reasons.push({
            code: 'model_ai_passage',
            source: 'model',
            contribution: 0,
            message: {
              zh: `最像AI生成的段落：第${top.start + 1}–${top.end}字，窗口概率${pct(top.probability)}`,
              en: `Most AI-like passage: characters ${top.start + 1}–${top.end}, window probability ${pct(top.probability)}`,
            },
            evidence: { start: top.start, end: top.end, probability: top.probability },
          });
        }
      }
      return {
        name: DETECTOR_NAME,
        version: m.version,
        probability,
        reasons,
        segments,
        features,
        thresholds: cal.thresholds,
      };
    },
    async close() {
      ready = false;
      loading = null;
      await model?.close();
      model = null;
    },
  };
  return scorer;
}
