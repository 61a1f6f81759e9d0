/**
 * Detector scorer against the shipped model in models/slopguard-detector: offline loading,
 * tokenizer, windows covering the whole text, short texts, batching, the seed page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalText, contentLength } from '../../src/domain/normalize.ts';
import { createDetectorScorer, type DetectorScorer } from '../../src/scoring/detector.ts';
import { loadManifest } from '../../src/scoring/model-manifest.ts';
import { capWindows, planWindows } from '../../src/scoring/model-windows.ts';
import { startModelThread } from '../../src/scoring/model-thread.ts';
import { splitSeedPage } from '../../training/seed.ts';
import { sharedPath } from '../helpers/shared.ts';

const MODEL_DIR = 'models';
const SEED_DIR = sharedPath('seed') ?? '../shared/seed';
/** Most of the human seed page's text that highlighted windows may cover. */
const SEED_LIT_MAX = 0.1;

const ZH_ARTICLE = canonicalText(
  '近期，浙江建德一个“办不成事”窗口走红网络。事实上，这类窗口在全国多地均有设立，专门兜底解决因各种原因搁浅的疑难杂症。\n\n' +
    '家住杭州市富阳区的盛先生近日向便民中心求助。他的妻子因车祸导致残疾，无法出门更换身份证，去医院、领保障都遇到了麻烦。' +
    '接到诉求后，窗口将问题反馈给公安窗口，辅警特地上门，手把手帮她完成身份信息核验、人像指纹采集等流程，顺利办结业务。'.repeat(2),
);

describe('windows', () => {
  it('cover the whole text with overlap and valid offsets', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 3000 }), fc.constantFrom('zh' as const, 'en' as const), (text, lang) => {
        const w = planWindows(text, lang);
        expect(w[0]!.start).toBe(0);
        expect(w.at(-1)!.end).toBe(text.length);
        for (let i = 0; i < w.length; i++) {
          expect(w[i]!.end).toBeGreaterThan(w[i]!.start);
          if (i > 0) {
            expect(w[i]!.start).toBeGreaterThan(w[i - 1]!.start);
            expect(w[i]!.start).toBeLessThanOrEqual(w[i - 1]!.end); // no gap
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('English windows do not cut words', () => {
    const text = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    for (const w of planWindows(text, 'en').slice(0, -1)) expect(text[w.end - 1]).toBe(' ');
  });

  it('the eval cap keeps the first and last window', () => {
    const w = planWindows('字'.repeat(5000), 'zh');
    const c = capWindows(w, 8);
    expect(c).toHaveLength(8);
    expect(c[0]).toEqual(w[0]);
    expect(c.at(-1)).toEqual(w.at(-1));
  });
});

/** transformers.js in this process (the detector runs it on its model thread), offline over models/. */
async function offlineTransformers() {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = MODEL_DIR;
  return tf;
}

describe.skipIf(!existsSync(join(MODEL_DIR, 'slopguard-detector', 'manifest.json')))('detector (shipped int8 model)', () => {
  let detector: DetectorScorer;
  beforeAll(async () => {
    detector = createDetectorScorer({ modelDir: MODEL_DIR, maxBatch: 16, batchWaitMs: 2 });
    expect(detector.isReady()).toBe(false);
    await detector.load();
  }, 60_000);
  afterAll(async () => {
    await detector?.close();
  });

  it('loads offline from models/ and matches the manifest hashes', async () => {
    expect(detector.isReady()).toBe(true);
    const m = loadManifest(join(MODEL_DIR, 'slopguard-detector'));
    expect(m.files['onnx/model_quantized.onnx']).toMatch(/^[0-9a-f]{64}$/);
    expect(m.calibration.zh.thresholds.flag).toBeGreaterThanOrEqual(m.calibration.zh.thresholds.review);
    // The model thread never reaches for a hub: a model missing on disk fails at once, locally.
    const missing = startModelThread({ modelDir: MODEL_DIR, modelId: 'not-on-disk', dtype: 'q8', spin: false, maxTokens: 128 });
    await expect(missing).rejects.toThrow(/could not load the model/);
    await expect(missing).rejects.not.toThrow(/fetch|huggingface\.co/);
  });

  it('runs forward passes on a model thread that fails clearly once stopped', async () => {
    const thread = await startModelThread({ modelDir: MODEL_DIR, modelId: 'slopguard-detector', dtype: 'q8', spin: false, maxTokens: 128 });
    const texts = ['今天下午三点，老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化。', 'The council voted 7-2 on Tuesday.'];
    const logits = await thread.forward(texts);
    expect(logits).toEqual(await detector.forward(texts));
    expect(thread.stopped).toBe(false);
    await thread.close();
    expect(thread.stopped).toBe(true);
    await expect(thread.forward(texts)).rejects.toThrow(/closed/);
  });

  it('int8 ONNX through transformers.js matches the PyTorch reference logits', async () => {
    const ref = JSON.parse(readFileSync(join(MODEL_DIR, 'slopguard-detector', 'reference.json'), 'utf8')) as {
      input_ids: number[][];
      attention_mask: number[][];
      logits: number[][];
    };
    const { AutoModelForSequenceClassification, Tensor } = await offlineTransformers();
    const model = (await AutoModelForSequenceClassification.from_pretrained('slopguard-detector', { dtype: 'q8' })) as unknown as (
      i: Record<string, unknown>,
    ) => Promise<{ logits: { data: Float32Array } }>;
    const t = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
    const out = await model({ input_ids: t(ref.input_ids), attention_mask: t(ref.attention_mask), token_type_ids: t(ref.input_ids.map((r) => r.map(() => 0))) });
    ref.logits.flat().forEach((v, i) => expect(Math.abs(out.logits.data[i]! - v)).toBeLessThan(0.05));
  });

  it('tokenises Chinese one token per character and English into WordPiece', async () => {
    const { AutoTokenizer } = await offlineTransformers();
    const tok = await AutoTokenizer.from_pretrained('slopguard-detector');
    const zh = tok.encode('办不成事窗口');
    expect(zh).toHaveLength(6 + 2);
    const en = tok.tokenize('The committee postponed its decision.');
    expect(en.length).toBeGreaterThanOrEqual(6);
    expect(en).not.toContain('[UNK]');
  });

  it('scores a whole article: windows cover it, offsets index the canonical text', async () => {
    const out = await detector.score({ text: ZH_ARTICLE, title: null, lang: 'zh' });
    expect(out.name).toBe('detector');
    expect(out.probability).not.toBeNull();
    expect(out.probability!).toBeGreaterThanOrEqual(0);
    expect(out.probability!).toBeLessThanOrEqual(1);
    expect(out.thresholds).toEqual(detector.manifest.calibration.zh.thresholds);
    expect(out.segments.length).toBeGreaterThan(1);
    expect(out.segments[0]!.start).toBe(0);
    expect(out.segments.at(-1)!.end).toBe(ZH_ARTICLE.length);
    expect(out.reasons[0]!.code).toBe('model_probability');
    expect(out.reasons[0]!.message.zh).toMatch(/概率/);
    expect(out.reasons[0]!.message.en).toMatch(/likely AI-generated/);
  });

  it('gives short texts no probability', async () => {
    const out = await detector.score({ text: '今天天气不错。', title: null, lang: 'zh' });
    expect(contentLength('今天天气不错。')).toBeLessThan(detector.manifest.minUnits.zh);
    expect(out.probability).toBeNull();
    expect(out.reasons[0]!.code).toBe('model_text_too_short');
    const en = await detector.score({ text: 'Nice weather today.', title: null, lang: 'en' });
    expect(en.probability).toBeNull();
  });

  it('batches windows of concurrent calls and gives the numbers a one-by-one run gives', async () => {
    const texts = [
      ZH_ARTICLE,
      canonicalText("In today's rapidly evolving landscape, organisations must leverage innovative solutions to stay ahead. ".repeat(12)),
      canonicalText('我家楼下新开了一家面馆，老板是山西人，刀削面做得很地道，就是醋放得太多。'.repeat(5)),
    ];
    const langs = ['zh', 'en', 'zh'] as const;
    const single = createDetectorScorer({ modelDir: MODEL_DIR, maxBatch: 1, batchWaitMs: 0 });
    await single.load();
    const one: number[][] = [];
    for (let i = 0; i < texts.length; i++) {
      const o = await single.score({ text: texts[i]!, title: null, lang: langs[i]! });
      one.push(o.segments.map((s) => s.probability));
    }
    await single.close();
    const before = detector.batchStats.batches;
    const windowsBefore = detector.batchStats.windows;
    const outs = await Promise.all(texts.map((text, i) => detector.score({ text, title: null, lang: langs[i]! })));
    const batches = detector.batchStats.batches - before;
    const windows = detector.batchStats.windows - windowsBefore;
    expect(batches).toBeLessThan(windows); // windows from the three calls shared forward passes
    outs.forEach((o, i) => {
      expect(o.segments).toHaveLength(one[i]!.length);
      // int8 dynamic quantisation scales activations per batch tensor: tiny differences only
      o.segments.forEach((s, k) => expect(Math.abs(s.probability - one[i]![k]!)).toBeLessThan(0.02));
    });
  }, 30_000);

  it.skipIf(!existsSync(SEED_DIR))(
    'flags none of the seed page pieces (a human newspaper page)',
    async () => {
      const file = readdirSync(SEED_DIR).find((f) => f.endsWith('.txt'))!;
      const pieces = splitSeedPage(readFileSync(join(SEED_DIR, file), 'utf8'));
      expect(pieces.length).toBe(9);
      for (const p of pieces) {
        const out = await detector.score({ text: p.text, title: null, lang: p.lang });
        if (out.probability !== null) expect(out.probability, p.title).toBeLessThan(out.thresholds!.flag);
      }
    },
    30_000,
  );

  it('gives each window its own calibrated probability and highlights it only from review up', async () => {
    const out = await detector.score({ text: ZH_ARTICLE, title: null, lang: 'zh' });
    const th = out.thresholds!;
    expect(out.segments.length).toBeGreaterThan(1);
    for (const s of out.segments) {
      expect(s.highlight).toBe(s.probability >= th.flag ? 'flag' : s.probability >= th.review ? 'review' : 'none');
    }
    // a window's probability is what the detector says of that window's text alone (up to the
    // int8 activations' per-batch quantisation scale, as in the batching test)
    const w = out.segments[1]!;
    const alone = await detector.score({ text: ZH_ARTICLE.slice(w.start, w.end), title: null, lang: 'zh' });
    expect(alone.segments).toHaveLength(1);
    expect(Math.abs(alone.features.raw_probability! - w.probability)).toBeLessThan(0.01);
  }, 30_000);

  it.skipIf(!existsSync(SEED_DIR))(
    'leaves most of the seed page (human news) unhighlighted',
    async () => {
      const file = readdirSync(SEED_DIR).find((f) => f.endsWith('.txt'))!;
      let chars = 0;
      let lit = 0;
      for (const p of splitSeedPage(readFileSync(join(SEED_DIR, file), 'utf8'))) {
        const out = await detector.score({ text: p.text, title: null, lang: p.lang });
        const on = new Uint8Array(p.text.length);
        for (const s of out.segments) if (s.highlight !== 'none') on.fill(1, s.start, s.end);
        chars += p.text.length;
        lit += on.reduce((a, b) => a + b, 0);
      }
      expect(lit / chars).toBeLessThan(SEED_LIT_MAX);
    },
    60_000,
  );
});
