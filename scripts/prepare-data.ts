/**
 * Training-data preparation: streams every `../shared/datasets/<name>/{train,dev}.jsonl.gz`
 * through the service's one normalisation (`modelText`) and writes
 * `training/work/{train,dev}.jsonl`, which the Python trainer reads. Records shorter than
 * 8 characters after normalisation are dropped; nothing else is filtered.
 *
 * Usage: tsx scripts/prepare-data.ts [--datasets DIR] [--out DIR]
 * Output record: {id, text, label (0 human | 1 ai), lang, dataset, source, variant, clen}
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { contentLength, modelText } from '../src/domain/normalize.ts';

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
      const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
      for await (const line of rl) {
        if (!line.trim()) continue;
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

await main();
