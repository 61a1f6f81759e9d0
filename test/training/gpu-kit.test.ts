/**
 * The GPU training kit end to end on CPU with tiny configurations: pack (prepare-data +
 * transformers.js tokenisation) -> training/gpu/run.py --tiny into a temporary OUT -> gpu:import
 * into a temporary model folder -> the service's detector loads it and scores text. Once from
 * scratch (teacher + student warm-started from the shipped model), once for each pretrained
 * family (tiny random BERT with WordPiece, XLM-R with Unigram + Metaspace) through --base.
 * Needs Debian's /usr/bin/python3 with torch and onnx; skipped with a message without them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetectorScorer } from '../../src/scoring/detector.ts';
import { loadManifest, sha256File } from '../../src/scoring/model-manifest.ts';
import { importGpuRun, ImportError } from '../../training/gpu/import.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PY = '/usr/bin/python3';
const pythonOk = spawnSync(PY, ['-c', 'import torch, onnx'], { stdio: 'ignore' }).status === 0;
if (!pythonOk) console.warn('gpu-kit tests skipped: /usr/bin/python3 lacks torch/onnx (apt-get install python3-torch python3-onnx libopenblas0-openmp)');

const ZH_HUMAN = [
  '昨天下午我骑车去菜市场买了两斤排骨，老板多送了一把葱。',
  '楼下的猫又生了三只小猫，邻居阿姨每天给它们送剩饭。',
  '我们班周五去爬山，半路下雨，大家躲在亭子里吃泡面。',
  '这家面馆开了二十年，老板的儿子现在接手了，味道差不多。',
];
const ZH_AI = [
  '首先，我们需要明确人工智能的发展具有深远的意义。',
  '其次，在当今快速发展的社会中，科技创新发挥着重要作用。',
  '总之，只有不断提升综合素质，才能更好地应对未来的挑战。',
  '此外，我们还应该注重可持续发展，推动社会全面进步。',
];
const EN_HUMAN = [
  'my bike got a flat on the way to work so i walked the last mile and was late again.',
  'the bakery on fifth closed early today, no idea why, the sign just said back soon.',
  'we tried the new ramen place, broth was salty but the eggs were perfect honestly.',
  'grandma called to ask how to send a photo and we spent an hour on it.',
];
const EN_AI = [
  'In conclusion, it is important to note that technology plays a crucial role in modern society.',
  'Furthermore, fostering collaboration can significantly enhance overall productivity and innovation.',
  'Additionally, embracing a holistic approach ensures sustainable and meaningful outcomes for all stakeholders.',
  'Overall, these strategies provide a comprehensive framework for navigating complex challenges.',
];

/** A deterministic tiny corpus in the shared datasets' layout: <name>/{train,dev}.jsonl.gz. */
function writeDatasets(dir: string): void {
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const compose = (pool: string[], n: number, sep: string) => Array.from({ length: n }, () => pool[Math.floor(rand() * pool.length)]!).join(sep);
  for (const name of ['tiny-a', 'tiny-b']) {
    for (const [split, n] of [
      ['train', 24],
      ['dev', 10],
    ] as const) {
      const rows: string[] = [];
      for (let i = 0; i < n; i++) {
        const lang = i % 2 === 0 ? 'zh' : 'en';
        const ai = i % 4 >= 2;
        const pool = lang === 'zh' ? (ai ? ZH_AI : ZH_HUMAN) : ai ? EN_AI : EN_HUMAN;
        const text = compose(pool, lang === 'zh' ? 6 : 8, lang === 'zh' ? '' : ' ');
        rows.push(JSON.stringify({ id: `${name}-${split}-${i}`, text, label: ai ? 'ai' : 'human', lang, source: name }));
      }
      mkdirSync(join(dir, name), { recursive: true });
      writeFileSync(join(dir, name, `${split}.jsonl.gz`), gzipSync(rows.join('\n') + '\n'));
    }
  }
}

const tsx = (script: string, args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const py = (script: string, args: string[]) =>
  execFileSync(PY, [join(ROOT, script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE', PYTHONUNBUFFERED: '1' },
  });

const ZH_TEXT =
  '首先，我们需要明确人工智能的发展具有深远的意义。其次，在当今快速发展的社会中，科技创新发挥着重要作用。' + '昨天下午我骑车去菜市场买了两斤排骨，老板多送了一把葱。'.repeat(4);

async function scoreWith(modelDir: string, modelId: string) {
  const detector = createDetectorScorer({ modelDir, modelId, maxBatch: 8, batchWaitMs: 0 });
  try {
    await detector.load();
    return { out: await detector.score({ text: ZH_TEXT, title: null, lang: 'zh' }), version: detector.version };
  } finally {
    await detector.close();
  }
}

describe.skipIf(!pythonOk)('GPU kit on CPU (tiny)', () => {
  let tmp: string;
  const datasets = () => join(tmp, 'datasets');
  const work = () => join(tmp, 'work');
  const models = () => join(tmp, 'models');

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'gpu-kit-'));
    writeDatasets(datasets());
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('from scratch: pack -> run (teacher, student from the shipped model) -> import -> the detector scores', async () => {
    const pack = join(tmp, 'pack');
    tsx('training/gpu/pack.ts', ['--datasets', datasets(), '--work', work(), '--out', pack]);
    const meta = JSON.parse(readFileSync(join(pack, 'meta.json'), 'utf8'));
    expect(meta.tokenizer.sha256).toBe(sha256File(join(ROOT, 'models/slopguard-detector/tokenizer.json')));
    expect(meta.splits.train.texts).toBe(48);
    expect(meta.tokenizer).toMatchObject({ cls: 2, sep: 3, pad: 0, vocabSize: 16000 });

    py('training/warm_start.py', [join(ROOT, 'models/slopguard-detector'), join(tmp, 'init.pt')]);
    const out = join(tmp, 'out-scratch');
    py('training/gpu/run.py', ['--tiny', '--pack', pack, '--out', out, '--seconds', '3', '--student-init', join(tmp, 'init.pt')]);
    const files = readdirSync(out);
    expect(files.length).toBeLessThanOrEqual(8);
    for (const f of files) expect(statSync(join(out, f)).size).toBeLessThanOrEqual(16 * 2 ** 20);
    expect(files).toEqual(expect.arrayContaining(['model_quantized.onnx', 'config.json', 'tokenizer.json', 'result.json', 'train.log', 'student.pt']));
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(result.status).toBe('complete');
    expect(Object.keys(result.metrics)).toEqual(['teacher', 'shipped']);
    expect(result.metrics.shipped.zh.auroc).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(out, 'train.log'), 'utf8')).toMatch(/student starts from/);

    const { maxGap, target } = await importGpuRun(
      {
        folder: out,
        modelDir: models(),
        modelId: 'scratch',
        ngramFrom: join(ROOT, 'models/slopguard-detector'),
        refit: false,
        allowLarge: false,
        ckptOut: join(tmp, 'student.pt'),
      },
      () => {},
    );
    // a real (warm-started) model: its logits are far from zero, so the gap check means something
    expect(Math.max(...result.reference.logits.map(([h, a]: number[]) => Math.abs(a! - h!)))).toBeGreaterThan(0.5);
    // against fp32 PyTorch where Python onnxruntime is missing (here): the int8 error is part of the gap
    expect(maxGap).toBeLessThan(0.25);
    expect(existsSync(join(tmp, 'student.pt'))).toBe(true);
    expect(existsSync(join(models(), 'scratch-import-check'))).toBe(false);
    const m = loadManifest(target); // every file's sha256 checked
    expect(m.version).toMatch(/-provisional$/);
    const { out: scored } = await scoreWith(models(), 'scratch');
    expect(scored.probability).toBeGreaterThanOrEqual(0);
    expect(scored.probability).toBeLessThanOrEqual(1);
    expect(scored.segments.length).toBeGreaterThan(1);
  }, 240_000);

  it('refuses a run whose files or reference logits do not match, and leaves the target alone', async () => {
    const bad = join(tmp, 'out-bad');
    cpSync(join(tmp, 'out-scratch'), bad, { recursive: true });
    const opts = {
      folder: bad,
      modelDir: models(),
      modelId: 'bad',
      ngramFrom: join(ROOT, 'models/slopguard-detector'),
      refit: false,
      allowLarge: false,
      ckptOut: join(tmp, 'bad.pt'),
    };
    const result = JSON.parse(readFileSync(join(bad, 'result.json'), 'utf8'));
    result.reference.logits[0][1] += 1.5;
    writeFileSync(join(bad, 'result.json'), JSON.stringify(result));
    await expect(importGpuRun(opts, () => {})).rejects.toThrow(/reference window 0/);
    writeFileSync(join(bad, 'config.json'), readFileSync(join(bad, 'config.json'), 'utf8') + ' ');
    await expect(importGpuRun(opts, () => {})).rejects.toThrow(ImportError);
    await expect(importGpuRun(opts, () => {})).rejects.toThrow(/config.json is \d+ bytes/);
    expect(existsSync(join(models(), 'bad'))).toBe(false);
    expect(existsSync(join(models(), 'bad-import-check'))).toBe(false);
  }, 60_000);

  for (const family of ['bert', 'xlm-roberta'] as const) {
    it(`--base: a tiny random ${family} checkpoint is fine-tuned, exported with its own tokenizer and served`, async () => {
      const base = join(tmp, `base-${family}`);
      py('training/gpu/make_tiny_base.py', [family, base, join(work(), 'train.jsonl')]);
      const pack = join(tmp, `pack-${family}`);
      tsx('training/gpu/pack.ts', ['--work', work(), '--tokenizer', base, '--out', pack]);
      const meta = JSON.parse(readFileSync(join(pack, 'meta.json'), 'utf8'));
      expect(meta.tokenizer.type).toBe(family === 'bert' ? 'WordPiece' : 'Unigram');
      expect(meta.tokenizer.pad).toBe(family === 'bert' ? 0 : 1);

      // a pack made with another tokenizer is refused (checked once: each run costs a torch start)
      if (family === 'bert') {
        const wrong = spawnSync(
          PY,
          [join(ROOT, 'training/gpu/run.py'), '--tiny', '--pack', join(tmp, 'pack'), '--base', base, '--out', join(tmp, `x-${family}`), '--seconds', '1'],
          { encoding: 'utf8' },
        );
        expect(wrong.status).not.toBe(0);
        expect(wrong.stderr).toMatch(/another tokenizer/);
      }

      const out = join(tmp, `out-${family}`);
      py('training/gpu/run.py', ['--tiny', '--pack', pack, '--base', base, '--out', out, '--seconds', '2']);
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(config.model_type).toBe(family);
      expect(config.id2label).toEqual({ '0': 'human', '1': 'ai' });
      expect(sha256File(join(out, 'tokenizer.json'))).toBe(sha256File(join(base, 'tokenizer.json')));

      const { maxGap } = await importGpuRun(
        { folder: out, modelDir: models(), modelId: family, ngramFrom: join(ROOT, 'models/slopguard-detector'), refit: false, allowLarge: false, ckptOut: join(tmp, 'unused.pt') },
        () => {},
      );
      // against fp32 PyTorch where Python onnxruntime is missing (here): the int8 error is part of the gap
      expect(maxGap).toBeLessThan(0.25);
      const { out: scored, version } = await scoreWith(models(), family);
      expect(version).toMatch(new RegExp(`^${family}@`));
      expect(scored.probability).toBeGreaterThanOrEqual(0);
      expect(scored.probability).toBeLessThanOrEqual(1);
      expect(scored.segments.length).toBeGreaterThan(1);
    }, 180_000);
  }
});
