import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/**
 * Streaming NDJSON lines out of a byte stream (optionally gzip, detected by the magic bytes),
 * in constant memory: at most one line (bounded by `maxLineBytes`) and one decompressed
 * chunk are held at a time. Limits are checked on decompressed bytes while reading, so a
 * gzip bomb is stopped after `maxBytes`, never inflated whole.
 *
 *   for await (const item of readNdjson(body, { maxBytes: 1e9, maxLineBytes: 1 << 20, gzip: 'auto' }, stats))
 *     item // {line: 1, text: '{"externalId":"a",...}'} or {line: 7, error: 'line_too_long', ...}
 */

export type NdjsonItem = { line: number; text: string } | { line: number; error: 'line_too_long' | 'invalid_utf8'; message: string };

export interface NdjsonOptions {
  /** Decompressed bytes allowed in total; past it `NdjsonLimitError` is thrown. */
  maxBytes: number;
  /** A longer line is reported as `line_too_long` and skipped without being buffered. */
  maxLineBytes: number;
  /** true: gzip; false: plain; 'auto': gzip when the body starts with 1f 8b. */
  gzip: boolean | 'auto';
}

export interface NdjsonStats {
  /** Decompressed bytes read so far. */
  bytes: number;
  gzip: boolean;
}

/** The decompressed size limit was reached: lines before it were yielded. */
export class NdjsonLimitError extends Error {
  constructor(readonly limit: number) {
    super(`the import is larger than ${limit} bytes (decompressed); it was stopped there`);
  }
}

/** The gzip stream is corrupt or truncated. */
export class NdjsonFormatError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NEWLINE = 0x0a;

async function* decompressed(source: AsyncIterable<Uint8Array>, gzip: boolean | 'auto', stats: NdjsonStats): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const head = first.value;
  const isGzip = gzip === 'auto' ? head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b : gzip;
  stats.gzip = isGzip;
  async function* all(): AsyncGenerator<Uint8Array> {
    yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  if (!isGzip) {
    try {
      yield* all();
    } finally {
      await iterator.return?.();
    }
    return;
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const input = Readable.from(all(), { objectMode: false, highWaterMark: 64 * 1024 });
  const piped = pipeline(input, gunzip).catch((error: unknown) => error);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (error) {
    throw new NdjsonFormatError(`the body is not valid gzip: ${(error as Error).message}`);
  } finally {
    gunzip.destroy();
    input.destroy();
    await iterator.return?.();
    // Not awaiting `piped` here: after an early stop, Node 26 can leave Readable.from waiting
    // forever on the file stream's pending read; its outcome only matters after a full read.
  }
  const failure = await piped;
  if (failure instanceof Error && (failure as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
    throw new NdjsonFormatError(`the body is not valid gzip: ${failure.message}`);
  }
}

export async function* readNdjson(source: AsyncIterable<Uint8Array>, options: NdjsonOptions, stats: NdjsonStats): AsyncGenerator<NdjsonItem> {
  let line = 1;
  let parts: Uint8Array[] = [];
  let partLength = 0;
  let skipping = false; // inside a line that is already too long: drop bytes until its end
  let first = true;

  const finish = (end: Uint8Array): NdjsonItem | null => {
    const number = line++;
    const atStart = first;
    first = false;
    if (skipping) {
      skipping = false;
      parts = [];
      partLength = 0;
      return { line: number, error: 'line_too_long', message: `line is longer than ${options.maxLineBytes} bytes` };
    }
    let bytes = parts.length === 0 ? end : Buffer.concat([...parts, end]);
    parts = [];
    partLength = 0;
    if (atStart) {
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3); // BOM
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return { line: number, error: 'invalid_utf8', message: 'line is not valid UTF-8' };
    }
    if (text.trim() === '') return null;
    return { line: number, text };
  };

  const take = (segment: Uint8Array) => {
    if (skipping || segment.length === 0) return;
    if (partLength + segment.length > options.maxLineBytes) {
      skipping = true;
      parts = [];
      partLength = 0;
      return;
    }
    // Copy: the decompressor may reuse its buffers.
    parts.push(Buffer.from(segment));
    partLength += segment.length;
  };

  for await (let chunk of decompressed(source, options.gzip, stats)) {
    let overLimit = false;
    if (stats.bytes + chunk.length > options.maxBytes) {
      chunk = chunk.subarray(0, Math.max(0, options.maxBytes - stats.bytes));
      overLimit = true;
    }
    stats.bytes += chunk.length;
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) break;
      const segment = chunk.subarray(start, end);
      if (!skipping && partLength + segment.length > options.maxLineBytes) skipping = true;
      const item = finish(skipping ? new Uint8Array() : segment);
      if (item) yield item;
      start = end + 1;
    }
    take(chunk.subarray(start));
    if (overLimit) throw new NdjsonLimitError(options.maxBytes);
  }
  if (skipping || partLength > 0) {
    const item = finish(new Uint8Array());
    if (item) yield item;
  }
}

/** A web ReadableStream as an async iterable; stopping early cancels the stream. */
export async function* iterateStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * The non-blank lines of a local JSON-lines file (gzip or plain, by its first bytes), split at
 * '\n' only: since Node 26 readline also splits at U+2028/U+2029, which JSON strings may hold raw.
 * Line numbers count every line of the file.
 */
export async function* readJsonLinesFile(path: string): AsyncGenerator<{ line: number; text: string }> {
  const options = { maxBytes: Number.POSITIVE_INFINITY, maxLineBytes: 256 * 2 ** 20, gzip: 'auto' } as const;
  for await (const item of readNdjson(createReadStream(path), options, { bytes: 0, gzip: false })) {
    if ('error' in item) throw new Error(`${path}:${item.line}: ${item.message}`);
    yield item;
  }
}
