import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonLinesFile } from '../../src/infra/ndjson.ts';

describe('readJsonLinesFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jsonl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // JSON.stringify leaves U+2028/U+2029 raw; the datasets hold them (readline on Node 26 split there)
  const records = [{ text: 'first\u2028still the first' }, { text: 'second\u2029and \r\n escaped' }, { text: '第三' }];
  const body = `${JSON.stringify(records[0])}\n\n${JSON.stringify(records[1])}\r\n${JSON.stringify(records[2])}`;

  it.each([
    ['plain', 'a.jsonl', Buffer.from(body)],
    ['gzip', 'a.jsonl.gz', gzipSync(body)],
  ])('%s: splits at newlines only, skips blank lines and numbers every line', async (_kind, name, bytes) => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    const got: { line: number; record: unknown }[] = [];
    for await (const { line, text } of readJsonLinesFile(file)) got.push({ line, record: JSON.parse(text) });
    expect(got).toEqual([
      { line: 1, record: records[0] },
      { line: 3, record: records[1] },
      { line: 4, record: records[2] },
    ]);
  });

  it('stops early without hanging and reads the file again', async () => {
    // incompressible lines, two file reads: the shape that hung Node 26 (a read pending at the stop)
    const file = join(dir, 'big.jsonl.gz');
    writeFileSync(file, gzipSync(Array.from({ length: 60 }, (_, i) => JSON.stringify({ i, text: randomBytes(1500).toString('hex') })).join('\n')));
    for (let round = 0; round < 3; round++) {
      const first: number[] = [];
      for await (const { text } of readJsonLinesFile(file)) {
        first.push((JSON.parse(text) as { i: number }).i);
        if (first.length === 6) break;
      }
      expect(first).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it('names the file and line of bytes that are not UTF-8', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from('{"a":1}\n'), Buffer.from([0xff, 0xfe, 0x0a])]));
    const read = async () => {
      for await (const _ of readJsonLinesFile(file));
    };
    await expect(read()).rejects.toThrow(`${file}:2: line is not valid UTF-8`);
  });
});
