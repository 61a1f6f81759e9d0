/**
 * Builds the folder a lent GPU machine trains from (`training/gpu/pack/`, git-ignored): the
 * normalised train/dev texts (scripts/prepare-data.ts, the service's `modelText`) tokenised by
 * transformers.js with the tokenizer the model will be served with, gzipped so pack + working
 * tree stay well under the 64 MiB that travels.
 *
 * Usage: tsx training/gpu/pack.ts [--tokenizer DIR] [--work DIR] [--datasets DIR] [--out DIR]
 *          [--max-doc-tokens 4096] [--dev-doc-tokens 1024]
 *   --tokenizer  folder with tokenizer.json (+ tokenizer_config.json): the shipped model's by
 *                default, or a pretrained base's own (`--base` fine-tuning)
 *   --work       folder with train.jsonl / dev.jsonl; prepare-data writes them there when missing
 *
 * Output: meta.json (tokenizer hash and special ids, id width, counts), tokenizer files,
 * {train,dev}.ids.gz (uint16 or uint32 little-endian ids, no special tokens),
 * {train,dev}.idx.json.gz (columns: len, label, lang, dataset, variant), reference.json (a few
 * dev windows with their ids, for the reference-logit check of gpu:import).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { readJsonLinesFile } from '../../src/infra/ndjson.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const argsSchema = z.object({
  tokenizer: z.string().min(1),
  work: z.string().min(1),
  datasets: z.string().min(1),
  out: z.string().min(1),
  maxDocTokens: z.coerce.number().int().positive(),
  devDocTokens: z.coerce.number().int().positive(),
});

function parseArgs(argv: string[]) {
  const get = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  return argsSchema.parse({
    tokenizer: resolve(get('--tokenizer', join(ROOT, 'models/slopguard-detector'))),
    work: resolve(get('--work', join(ROOT, 'training/work'))),
    datasets: resolve(get('--datasets', join(ROOT, '../shared/datasets'))),
    out: resolve(get('--out', join(ROOT, 'training/gpu/pack'))),
    maxDocTokens: get('--max-doc-tokens', '4096'),
    devDocTokens: get('--dev-doc-tokens', '1024'),
  });
}

const recordSchema = z.object({
  text: z.string(),
  label: z.union([z.literal(0), z.literal(1)]),
  lang: z.enum(['zh', 'en']),
  dataset: z.string(),
  variant: z.string().nullable(),
});

/** The service serves 128-token windows of about this many characters (model-windows.ts). */
const REFERENCE_CHARS = { zh: 120, en: 500 } as const;
const MAX_TOKENS = 128;

type Encoder = {
  encode: (text: string, opts?: { add_special_tokens?: boolean }) => number[];
  pad_token_id?: number;
  model?: { vocab?: unknown; tokens_to_ids?: Map<string, number> };
};

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const tokFile = join(a.tokenizer, 'tokenizer.json');
  if (!existsSync(tokFile)) throw new Error(`no tokenizer.json in ${a.tokenizer}`);
  if (!existsSync(join(a.work, 'train.jsonl')) || !existsSync(join(a.work, 'dev.jsonl'))) {
    console.error(`[pack] ${a.work} has no train/dev.jsonl: normalising ${a.datasets} with scripts/prepare-data.ts`);
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/prepare-data.ts'), '--datasets', a.datasets, '--out', a.work], { stdio: 'inherit', cwd: ROOT });
  }

  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dirname(a.tokenizer);
  const tokenizer = (await AutoTokenizer.from_pretrained(basename(a.tokenizer))) as unknown as Encoder & ((texts: string[], o: object) => unknown);

  const tokJson = JSON.parse(readFileSync(tokFile, 'utf8')) as { model: { type: string; vocab: unknown }; added_tokens?: { id: number }[] };
  const vocab = tokJson.model.vocab;
  const vocabSize = Math.max(
    Array.isArray(vocab) ? vocab.length : Object.keys(vocab as object).length,
    ...(tokJson.added_tokens ?? []).map((t) => t.id + 1),
  );
  // [CLS]/<s> and [SEP]/</s>: whatever this tokenizer puts around a text
  const specials = tokenizer.encode('', { add_special_tokens: true });
  if (specials.length !== 2) throw new Error(`tokenizer adds ${specials.length} special tokens to an empty text; expected a start and an end token`);
  const pad = tokenizer.pad_token_id;
  if (typeof pad !== 'number') throw new Error('tokenizer has no pad token');
  const wide = vocabSize > 0xffff;

  rmSync(a.out, { recursive: true, force: true });
  mkdirSync(a.out, { recursive: true });
  copyFileSync(tokFile, join(a.out, 'tokenizer.json'));
  if (existsSync(join(a.tokenizer, 'tokenizer_config.json'))) copyFileSync(join(a.tokenizer, 'tokenizer_config.json'), join(a.out, 'tokenizer_config.json'));

  const splits: Record<string, { texts: number; tokens: number; bytes: number }> = {};
  const datasets: string[] = [];
  const reference: { texts: string[]; ids: number[][] } = { texts: [], ids: [] };
  const refWanted = new Map<string, number>([['zh/0', 2], ['zh/1', 2], ['en/0', 2], ['en/1', 2]]);

  for (const split of ['train', 'dev'] as const) {
    const cap = split === 'train' ? a.maxDocTokens : a.devDocTokens;
    const chunks: Buffer[] = [];
    const cols = { len: [] as number[], label: [] as number[], lang: [] as number[], dataset: [] as number[], variant: [] as (string | null)[] };
    let tokens = 0;
    for await (const { text: line } of readJsonLinesFile(join(a.work, `${split}.jsonl`))) {
      const r = recordSchema.parse(JSON.parse(line));
      // about 4 characters per token at most: cut first so huge texts stay cheap
      const ids = tokenizer.encode(r.text.slice(0, cap * 8), { add_special_tokens: false }).slice(0, cap);
      chunks.push(Buffer.from((wide ? Uint32Array.from(ids) : Uint16Array.from(ids)).buffer));
      let d = datasets.indexOf(r.dataset);
      if (d < 0) d = datasets.push(r.dataset) - 1;
      cols.len.push(ids.length);
      cols.label.push(r.label);
      cols.lang.push(r.lang === 'zh' ? 0 : 1);
      cols.dataset.push(d);
      cols.variant.push(r.variant);
      tokens += ids.length;
      const key = `${r.lang}/${r.label}`;
      if (split === 'dev' && (refWanted.get(key) ?? 0) > 0 && r.text.length >= REFERENCE_CHARS[r.lang]) {
        refWanted.set(key, refWanted.get(key)! - 1);
        const text = r.text.slice(0, REFERENCE_CHARS[r.lang]);
        reference.texts.push(text);
        reference.ids.push(tokenizer.encode(text, { add_special_tokens: true }).slice(0, MAX_TOKENS));
      }
    }
    const ids = gzipSync(Buffer.concat(chunks), { level: 6 });
    writeFileSync(join(a.out, `${split}.ids.gz`), ids);
    const idx = gzipSync(JSON.stringify(cols));
    writeFileSync(join(a.out, `${split}.idx.json.gz`), idx);
    splits[split] = { texts: cols.len.length, tokens, bytes: ids.length + idx.length };
    console.error(`[pack] ${split}: ${cols.len.length} texts, ${tokens} tokens, ${((ids.length + idx.length) / 2 ** 20).toFixed(1)} MiB gzipped`);
  }
  if (reference.texts.length === 0) throw new Error('no dev text long enough for the reference windows');
  writeFileSync(join(a.out, 'reference.json'), JSON.stringify(reference));
  const meta = {
    format: 1,
    tokenizer: {
      sha256: createHash('sha256').update(readFileSync(tokFile)).digest('hex'),
      from: a.tokenizer,
      type: tokJson.model.type,
      vocabSize,
      cls: specials[0],
      sep: specials[1],
      pad,
    },
    idBytes: wide ? 4 : 2,
    maxDocTokens: a.maxDocTokens,
    devDocTokens: a.devDocTokens,
    datasets,
    splits,
    servedMaxTokens: MAX_TOKENS,
  };
  writeFileSync(join(a.out, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
  const total = Object.values(splits).reduce((s, x) => s + x.bytes, 0);
  console.error(`[pack] wrote ${a.out}: ${(total / 2 ** 20).toFixed(1)} MiB of data, tokenizer ${tokJson.model.type} (${vocabSize} ids)`);
}

await main();
