/**
 * Training-data preparation: streams every `../shared/datasets/<name>/{train,dev}.jsonl.gz`
 * through the service's one normalisation (`modelText`) and writes
 * `training/work/{train,dev}.jsonl`, which the Python trainer reads. Records shorter than
 * 8 characters after normalisation are dropped; nothing else is filtered.
 *
 * Usage: tsx scripts/prepare-data.ts [--datasets DIR] [--out DIR]
 * Output record: {id, text, label (0 human | 1 ai), lang, dataset, source, variant, clen}
 *
 * Second step, once training/build_vocab.py has written a tokenizer:
 *   tsx scripts/prepare-data.ts --tokenize DIR_WITH_TOKENIZER_JSON [--out DIR]
 * tokenises every normalised text with transformers.js itself (the tokenizer the service
 * uses) and writes `<split>.ids.bin` (uint16 token ids, no special tokens, at most
 * MAX_DOC_TOKENS per text) and `<split>.idx.jsonl` ({off, len, label, lang, dataset, variant}).
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { contentLength, modelText } from '../src/domain/normalize.ts';
import { readJsonLinesFile } from '../src/infra/ndjson.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const datasetsDir = resolve(arg('--datasets', '../shared/datasets'));
const outDir = resolve(arg('--out', 'training/work'));
mkdirSync(outDir, { recursive: true });

interface RawRecord {
  id: string;
  text: string;
  label: 'human' | 'ai';
  lang: 'zh' | 'en';
  source: string;
  variant?: string;
  orig_label?: string;
}

async function main(): Promise<void> {
  const names = readdirSync(datasetsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  for (const split of ['train', 'dev'] as const) {
    const out = createWriteStream(join(outDir, `${split}.jsonl`));
    let kept = 0;
    let dropped = 0;
    for (const name of names) {
      const file = join(datasetsDir, name, `${split}.jsonl.gz`);
      if (!existsSync(file)) continue;
      for await (const { text: line } of readJsonLinesFile(file)) {
        const r = JSON.parse(line) as RawRecord;
        const text = modelText(r.text);
        if (text.length < 8) {
          dropped++;
          continue;
        }
        const rec = {
          id: r.id,
          text,
          label: r.label === 'ai' ? 1 : 0,
          lang: r.lang,
          dataset: name,
          source: r.source,
          variant: r.variant ?? r.orig_label ?? null,
          clen: contentLength(text),
        };
        if (!out.write(JSON.stringify(rec) + '\n')) await once(out, 'drain');
        kept++;
      }
    }
    out.end();
    await once(out, 'finish');
    console.error(`${split}: ${kept} records written, ${dropped} dropped (shorter than 8 chars)`);
  }
}

const MAX_DOC_TOKENS = 4096;

async function tokenizeSplits(tokDir: string): Promise<void> {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = resolve(tokDir, '..');
  const tokenizer = await AutoTokenizer.from_pretrained(tokDir.split('/').filter(Boolean).pop()!);
  for (const split of ['train', 'dev'] as const) {
    const bin = createWriteStream(join(outDir, `${split}.ids.bin`));
    const idx = createWriteStream(join(outDir, `${split}.idx.jsonl`));
    let off = 0;
    let n = 0;
    for await (const { text: line } of readJsonLinesFile(join(outDir, `${split}.jsonl`))) {
      const r = JSON.parse(line) as { text: string; label: number; lang: string; dataset: string; variant: string | null; clen: number };
      // 4 chars per token is generous for both languages; cut first so huge texts stay cheap
      const ids = tokenizer.encode(r.text.slice(0, MAX_DOC_TOKENS * 8), { add_special_tokens: false }).slice(0, MAX_DOC_TOKENS);
      const buf = Buffer.from(Uint16Array.from(ids).buffer);
      if (!bin.write(buf)) await once(bin, 'drain');
      idx.write(JSON.stringify({ off, len: ids.length, label: r.label, lang: r.lang, dataset: r.dataset, variant: r.variant, clen: r.clen }) + '\n');
      off += ids.length;
      n++;
    }
    bin.end();
    idx.end();
    await Promise.all([once(bin, 'finish'), once(idx, 'finish')]);
    console.error(`${split}: ${n} texts, ${off} tokens`);
  }
}

const tokDirArg = process.argv.indexOf('--tokenize');
if (tokDirArg >= 0) await tokenizeSplits(resolve(process.argv[tokDirArg + 1]!));
else await main();
