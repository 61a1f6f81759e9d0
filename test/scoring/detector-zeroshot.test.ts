/** Zero-shot path on the tiny random GPT-2-style model shipped for tests (models/tiny-gpt2). */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causalStats, createZeroShotScorer, type ZeroShotScorer } from '../../src/scoring/model-zeroshot.ts';

describe('causalStats', () => {
  it('computes NLL and cross-entropy from logits', () => {
    // two positions, vocab 2, uniform logits: NLL = ln 2, entropy = ln 2
    const s = causalStats([0, 0, 0, 0], null, [0, 1], 2, 2);
    expect(s.logPpl).toBeCloseTo(Math.log(2));
    expect(s.logXPpl).toBeCloseTo(Math.log(2));
    expect(s.binoculars).toBeCloseTo(1);
  });
});

describe('zero-shot scorer (tiny random GPT-2)', () => {
  let z: ZeroShotScorer;
  beforeAll(async () => {
    z = createZeroShotScorer({ modelDir: 'models', observer: 'tiny-gpt2', performer: 'tiny-gpt2', minUnits: 5 });
    await z.load();
  }, 30_000);
  afterAll(async () => z?.close());

  it('matches the PyTorch reference log-probabilities (int8 tolerance)', async () => {
    const ref = JSON.parse(readFileSync('models/tiny-gpt2/reference.json', 'utf8')) as { token_logprobs: number[] };
    // reference.json was computed on ids [CLS] 10 20 30 [SEP]; compare the mean NLL
    const { AutoModelForCausalLM, Tensor } = await import('@huggingface/transformers');
    const m = (await AutoModelForCausalLM.from_pretrained('tiny-gpt2', { dtype: 'q8' })) as unknown as (i: unknown) => Promise<{ logits: { data: Float32Array; dims: number[] } }>;
    const ids = [2n, 10n, 20n, 30n, 3n];
    const out = await m({ input_ids: new Tensor('int64', BigInt64Array.from(ids), [1, 5]), attention_mask: new Tensor('int64', BigInt64Array.from([1n, 1n, 1n, 1n, 1n]), [1, 5]) });
    const s = causalStats(out.logits.data, null, ids.map(Number), 5, out.logits.dims[2]!);
    const refNll = -ref.token_logprobs.reduce((a, b) => a + b, 0) / ref.token_logprobs.length;
    expect(Math.abs(s.logPpl - refNll) / refNll).toBeLessThan(0.05);
  });

  it('scores text offline; uncalibrated statistics give no probability', async () => {
    const out = await z.score({ text: '这是一段用来测试零样本评分的中文文本，它没有任何意义。', title: null, lang: 'zh' });
    expect(out.name).toBe('zeroshot');
    expect(out.probability).toBeNull();
    expect(Number.isFinite(out.features.binoculars)).toBe(true);
    expect(out.features.binoculars).toBeCloseTo(out.features.log_ppl! / out.features.log_xppl!, 6);
  });

  it('gives a probability once calibrated', async () => {
    const c = createZeroShotScorer({ modelDir: 'models', observer: 'tiny-gpt2', minUnits: 5, calibration: { center: 1, scale: 0.1 } });
    const out = await c.score({ text: 'A short English sentence for the zero-shot scorer test.', title: null, lang: 'en' });
    expect(out.probability).toBeGreaterThanOrEqual(0);
    expect(out.probability).toBeLessThanOrEqual(1);
    await c.close();
  });
});
