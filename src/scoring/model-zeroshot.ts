/**
 * Zero-shot scorer: perplexity and Binoculars-style statistics from causal language models
 * in the transformers.js layout (`<modelDir>/<id>/config.json` with model_type gpt2/llama/…,
 * tokenizer files, `onnx/model.onnx` or `onnx/model_quantized.onnx`; inputs input_ids and
 * attention_mask, output logits [batch, tokens, vocab]). Off unless configured.
 *
 * With one model (`observer` only) it measures the log-perplexity of the text and its mean
 * predictive entropy; with two (`observer` and `performer`, sharing a tokenizer) the
 * Binoculars score of Hans et al. (2024): log-perplexity under the performer divided by the
 * observer→performer cross-entropy. Low scores are AI-like.
 *
 * Raw statistics are not probabilities: `probability` stays null unless a calibration is given
 * (`calibration` option, or `zeroshot.json` next to the observer's config:
 * {"center": 0.9, "scale": 0.05, "thresholds": {"review": 0.7, "flag": 0.9}}), then
 * p = sigmoid((center - score) / scale).
 *
 * Turning it on with a real model: export a causal LM to ONNX in this layout (e.g. Optimum:
 * `optimum-cli export onnx --model Qwen/Qwen2.5-0.5B --task text-generation out/`), put the
 * folder under the models directory, and pass `{ modelDir, observer: 'qwen2.5-0.5b' }`
 * (optionally `performer: 'qwen2.5-0.5b-instruct'`) to `createZeroShotScorer`. The texts
 * read are the first `maxTokens` tokens (default 512) of `modelText(text)`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentLength, modelText } from '../domain/normalize.ts';
import type { ScoreInput, Scorer, ScorerOutput } from '../domain/types.ts';
import { z } from 'zod';

/** `zeroshot.json` beside the observer model, parsed when the scorer loads. */
const zeroShotCalibrationSchema = z.object({
  center: z.number(),
  scale: z.number(),
  thresholds: z.object({ review: z.number(), flag: z.number() }).optional(),
});
export type ZeroShotCalibration = z.infer<typeof zeroShotCalibrationSchema>;

export interface ZeroShotOptions {
  modelDir: string;
  observer: string;
  performer?: string;
  dtype?: 'q8' | 'fp32';
  maxTokens?: number;
  /** Texts with fewer content units get no score. Default 50. */
  minUnits?: number;
  calibration?: ZeroShotCalibration;
}

export interface ZeroShotStats {
  tokens: number;
  /** Mean negative log-likelihood per token (nats) under the performer (or the only model). */
  logPpl: number;
  /** Mean cross-entropy observer→performer (the entropy of the single model). */
  logXPpl: number;
  /** logPpl / logXPpl. */
  binoculars: number;
}

type Tensorish = { data: ArrayLike<number>; dims: number[] };
type Tokenizer = (text: string, o: Record<string, unknown>) => { input_ids: Tensorish; attention_mask: Tensorish } & Record<string, unknown>;
type CausalLM = ((inputs: Record<string, unknown>) => Promise<{ logits: Tensorish }>) & { dispose?: () => Promise<unknown> };

/** Per-position log-softmax statistics in one pass over a [T, V] slice of logits. */
export function causalStats(perf: ArrayLike<number>, obs: ArrayLike<number> | null, ids: ArrayLike<number>, T: number, V: number): ZeroShotStats {
  let nll = 0;
  let xent = 0;
  let n = 0;
  const pObs = new Float64Array(V);
  for (let t = 0; t < T - 1; t++) {
    const off = t * V;
    // log-sum-exp of the performer's logits
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, perf[off + v]!);
    let se = 0;
    for (let v = 0; v < V; v++) se += Math.exp(perf[off + v]! - mx);
    const lse = mx + Math.log(se);
    nll += lse - perf[off + Number(ids[t + 1])]!;
    // observer probabilities (the performer itself when there is one model)
    const o = obs ?? perf;
    let mo = -Infinity;
    for (let v = 0; v < V; v++) mo = Math.max(mo, o[off + v]!);
    let so = 0;
    for (let v = 0; v < V; v++) {
      const e = Math.exp(o[off + v]! - mo);
      pObs[v] = e;
      so += e;
    }
    let x = 0;
    for (let v = 0; v < V; v++) x += (pObs[v]! / so) * (lse - perf[off + v]!);
    xent += x;
    n++;
  }
  const logPpl = n ? nll / n : Number.NaN;
  const logXPpl = n ? xent / n : Number.NaN;
  return { tokens: n + 1, logPpl, logXPpl, binoculars: logPpl / logXPpl };
}

export interface ZeroShotScorer extends Scorer {
  measure(text: string): Promise<ZeroShotStats | null>;
}

export function createZeroShotScorer(opts: ZeroShotOptions): ZeroShotScorer {
  const maxTokens = opts.maxTokens ?? 512;
  const minUnits = opts.minUnits ?? 50;
  let tokenizer: Tokenizer | null = null;
  let observer: CausalLM | null = null;
  let performer: CausalLM | null = null;
  let calibration: ZeroShotCalibration | null = opts.calibration ?? null;
  let ready = false;
  let loading: Promise<void> | null = null;
  const version = `zeroshot:${opts.observer}${opts.performer ? `+${opts.performer}` : ''}`;

  async function doLoad(): Promise<void> {
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    tf.env.localModelPath = opts.modelDir;
    const load = (id: string) =>
      tf.AutoModelForCausalLM.from_pretrained(id, {
        dtype: opts.dtype ?? 'q8',
        device: 'cpu',
        // idle threads must not spin on a shared CPU (see detector.ts)
        session_options: { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } },
      }) as unknown as Promise<CausalLM>;
    tokenizer = (await tf.AutoTokenizer.from_pretrained(opts.observer)) as unknown as Tokenizer;
    observer = await load(opts.observer);
    performer = opts.performer ? await load(opts.performer) : null;
    const calFile = join(opts.modelDir, opts.observer, 'zeroshot.json');
    if (!calibration && existsSync(calFile)) calibration = zeroShotCalibrationSchema.parse(JSON.parse(readFileSync(calFile, 'utf8')));
    ready = true;
  }

  async function measure(text: string): Promise<ZeroShotStats | null> {
    if (!ready) await scorer.load();
    const enc = tokenizer!(modelText(text), { truncation: true, max_length: maxTokens });
    const T = enc.input_ids.dims[1]!;
    if (T < 2) return null;
    const inputs = { input_ids: enc.input_ids, attention_mask: enc.attention_mask };
    const o = (await observer!(inputs)).logits;
    const p = performer ? (await performer(inputs)).logits : null;
    const V = o.dims[2]!;
    const ids = Array.from(enc.input_ids.data as ArrayLike<number | bigint>, Number);
    return p ? causalStats(p.data, o.data, ids, T, V) : causalStats(o.data, null, ids, T, V);
  }

  const scorer: ZeroShotScorer = {
    name: 'zeroshot',
    version,
    load() {
      loading ??= doLoad().catch((e: unknown) => {
        loading = null;
        throw e;
      });
      return loading;
    },
    isReady: () => ready,
    measure,
    async score(input: ScoreInput): Promise<ScorerOutput> {
      const units = contentLength(input.text);
      const base = { name: 'zeroshot', version, segments: [], thresholds: calibration?.thresholds ?? null };
      if (units < minUnits) return { ...base, probability: null, reasons: [], features: { units } };
      const s = await measure(input.text);
      if (!s) return { ...base, probability: null, reasons: [], features: { units } };
      const features = { units, tokens: s.tokens, log_ppl: s.logPpl, log_xppl: s.logXPpl, binoculars: s.binoculars };
      const probability = calibration ? 1 / (1 + Math.exp(-(calibration.center - s.binoculars) / calibration.scale)) : null;
      return {
        ...base,
        probability,
        features,
        reasons: [
          {
            code: 'zeroshot_binoculars',
            source: 'model',
            contribution: 0,
            message: {
              zh: `零样本语言模型统计：困惑度对数${s.logPpl.toFixed(2)}，交叉困惑度对数${s.logXPpl.toFixed(2)}，Binoculars分数${s.binoculars.toFixed(3)}（越低越像AI）${probability === null ? '，未校准，不给概率' : ''}`,
              en: `Zero-shot language-model statistics: log-perplexity ${s.logPpl.toFixed(2)}, log cross-perplexity ${s.logXPpl.toFixed(2)}, Binoculars score ${s.binoculars.toFixed(3)} (lower is more AI-like)${probability === null ? '; not calibrated, no probability' : ''}`,
            },
            evidence: features,
          },
        ],
      };
    },
    async close() {
      ready = false;
      loading = null;
      await observer?.dispose?.();
      await performer?.dispose?.();
    },
  };
  return scorer;
}
