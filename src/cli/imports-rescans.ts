import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { answer, type Api, apiFrom, call, CliError } from './api-client.ts';
import { changeSummarySchema, importErrorsPageSchema, type ImportView, importViewSchema, rescanDryRunSchema, type RescanView, rescanViewSchema } from '../services/views.ts';

/**
 * Operators' `import` and `rescan` commands. Both talk to a running service over HTTP
 * (`--url`, `--key`, or SLOPGUARD_URL / SLOPGUARD_KEY): that works in every deployment mode,
 * including the embedded default whose PGlite store has one owner, and goes through the same
 * authentication, limits and queues as any client. Progress goes to stderr (a bar on a
 * terminal, a line every 10 s otherwise); results to stdout (`--json` for scripts).
 *
 *   npm run cli -- import articles.ndjson.gz --url http://127.0.0.1:8080 --key sk_...
 *   npm run cli -- rescan --filter '{"configVersionNot":"fusion-2026-11-26.1"}' --report changes.csv
 *   npm run cli -- rescan --resume rsc_01...
 */

export const IMPORTS_RESCANS_USAGE = `  import <file.ndjson[.gz]> [--url URL] [--key KEY] [--wait] [--json]
  rescan [--filter JSON] [--since ISO] [--until ISO] [--account ID]... [--verdict V]... [--label L]...
         [--model-not VERSION] [--config-not VERSION] [--dry-run] [--no-wait] [--report FILE.csv|.jsonl] [--json]
  rescan --resume ID | --pause ID | --cancel ID | --status ID   [--json]
         (URL and KEY default to SLOPGUARD_URL and SLOPGUARD_KEY; the key needs the admin role for rescans)`;

/** A 413 `import_too_large` answer carries the import as far as it was read. */
const stoppedImportSchema = z.object({ error: z.object({ details: z.object({ import: importViewSchema }) }) });

const isTty = () => Boolean(process.stderr.isTTY);

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One progress line: a bar on a terminal (redrawn in place), a plain line every 10 s otherwise. */
function progress() {
  let lastPlain = 0;
  return {
    draw(fraction: number, detail: string) {
      const width = 30;
      const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}% ${detail}`;
      if (isTty()) process.stderr.write(`\r${line}\u001b[K`);
      else if (Date.now() - lastPlain > 10_000 || fraction >= 1) {
        lastPlain = Date.now();
        process.stderr.write(`${line}\n`);
      }
    },
    done() {
      if (isTty()) process.stderr.write('\n');
    },
  };
}

/** `import FILE`: streams the file as it is read (gzip files as they are), with a progress bar. */
export async function importCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { url: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' }, wait: { type: 'boolean' } },
  });
  const file = positionals[0];
  if (!file) throw new CliError('import needs a file: import <file.ndjson[.gz]>');
  const api = apiFrom(values);
  const size = (
    await stat(file).catch(() => {
      throw new CliError(`cannot read ${file}`);
    })
  ).size;
  const head = Buffer.alloc(2);
  const fh = await open(file, 'r');
  await fh.read(head, 0, 2, 0);
  await fh.close();
  const gzip = head[0] === 0x1f && head[1] === 0x8b;

  const bar = progress();
  let sent = 0;
  const started = Date.now();
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      const seconds = (Date.now() - started) / 1000;
      const rate = sent / Math.max(seconds, 0.001);
      bar.draw(
        size === 0 ? 1 : sent / size,
        `${(sent / 2 ** 20).toFixed(1)}/${(size / 2 ** 20).toFixed(1)} MiB ${(rate / 2 ** 20).toFixed(1)} MiB/s ETA ${duration((size - sent) / rate)}`,
      );
      done(null, chunk);
    },
  });
  const body = Readable.toWeb(createReadStream(file).pipe(counter)) as ReadableStream<Uint8Array>;
  let view: ImportView;
  try {
    let res: Response;
    try {
      res = await fetch(`${api.url}/v1/imports`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${api.key}`,
          'content-type': 'application/x-ndjson',
          ...(gzip ? { 'content-encoding': 'gzip' } : {}),
        },
        body,
        duplex: 'half',
      } as RequestInit);
    } catch (error) {
      throw new CliError(`cannot reach ${api.url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`);
    }
    view = await answer(res, 'import', importViewSchema);
  } catch (error) {
    bar.done();
    const stopped = stoppedImportSchema.safeParse(error instanceof CliError ? error.body : undefined);
    if (stopped.success) {
      const partial = stopped.data.error.details.import;
      process.stderr.write(
        `${(error as Error).message}\nstopped after ${partial.linesRead} lines: ${partial.accepted} accepted, ${partial.rejected} rejected (import ${partial.id})\n`,
      );
      if (values.json) process.stdout.write(`${JSON.stringify(partial)}\n`);
      return 1;
    }
    throw error;
  }
  bar.done();
  if (values.wait) {
    const scoring = progress();
    for (;;) {
      view = await call(api, 'GET', `/v1/imports/${view.id}`, importViewSchema);
      const finished = view.scored + view.failed;
      scoring.draw(view.articles === 0 ? 1 : finished / view.articles, `scored ${view.scored}/${view.articles}, failed ${view.failed}`);
      if (finished >= view.articles) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    scoring.done();
  }
  if (values.json) process.stdout.write(`${JSON.stringify(view)}\n`);
  else {
    process.stdout.write(
      `import ${view.id}: ${view.status}; ${view.linesRead} lines, ${view.accepted} accepted, ${view.duplicates} unchanged, ` +
        `${view.rejected} rejected; ${view.scored}/${view.articles} scored\n`,
    );
    if (view.rejected > 0) process.stdout.write(`line errors: GET ${api.url}/v1/imports/${view.id}/errors\n`);
  }
  if (view.rejected > 0) await listLineErrors(api, view.id, view.rejected);
  // Bad lines are reported, not fatal: the good ones are stored. Nothing stored from a file
  // of only bad lines, or a stopped import, is a failure.
  const stored = view.accepted + view.duplicates > 0;
  return view.status === 'completed' && (stored || view.rejected === 0) ? 0 : 1;
}

const LISTED_LINE_ERRORS = 20;

/** The first bad lines, on stderr: line number, code, message and field paths. */
async function listLineErrors(api: Api, importId: string, rejected: number): Promise<void> {
  const { errors } = await call(api, 'GET', `/v1/imports/${importId}/errors?limit=${LISTED_LINE_ERRORS}`, importErrorsPageSchema);
  for (const e of errors) {
    const paths = Array.isArray(e.details) ? e.details.map((d) => d.path).filter(Boolean) : [];
    process.stderr.write(`line ${e.line}: ${e.code}: ${e.message}${paths.length > 0 ? ` (${paths.join(', ')})` : ''}\n`);
  }
  if (rejected > errors.length) process.stderr.write(`... and ${rejected - errors.length} more bad lines\n`);
}

/** `rescan`: start (or resume, pause, cancel) a rescan and follow it with a progress bar. */
export async function rescanCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean' },
      filter: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      account: { type: 'string', multiple: true },
      verdict: { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      'model-not': { type: 'string' },
      'config-not': { type: 'string' },
      'dry-run': { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      report: { type: 'string' },
      resume: { type: 'string' },
      pause: { type: 'string' },
      cancel: { type: 'string' },
      status: { type: 'string' },
      interval: { type: 'string' },
    },
  });
  const api = apiFrom(values);
  const print = (v: unknown, human: string) => process.stdout.write(values.json ? `${JSON.stringify(v)}\n` : `${human}\n`);

  for (const action of ['pause', 'cancel', 'status'] as const) {
    const id = values[action];
    if (!id) continue;
    const view = action === 'status' ? await call(api, 'GET', `/v1/rescans/${id}`, rescanViewSchema) : await call(api, 'POST', `/v1/rescans/${id}/${action}`, rescanViewSchema);
    print(view, `rescan ${view.id}: ${view.status}, ${view.done + view.failed + view.skipped}/${view.total} done, ${view.changed} changed`);
    return 0;
  }

  let rescan: RescanView;
  if (values.resume) {
    const current = await call(api, 'GET', `/v1/rescans/${values.resume}`, rescanViewSchema);
    rescan = current.status === 'paused' ? await call(api, 'POST', `/v1/rescans/${values.resume}/resume`, rescanViewSchema) : current;
  } else {
    let filter: Record<string, unknown> = {};
    if (values.filter) {
      try {
        filter = JSON.parse(values.filter) as Record<string, unknown>;
      } catch {
        throw new CliError('--filter must be a JSON object, e.g. --filter \'{"verdicts":["pass"]}\'');
      }
    }
    if (values.since) filter.publishedFrom = values.since;
    if (values.until) filter.publishedTo = values.until;
    if (values.account) filter.accountIds = values.account;
    if (values.verdict) filter.verdicts = values.verdict;
    if (values.label) filter.labels = values.label;
    if (values['model-not']) filter.modelVersionNot = values['model-not'];
    if (values['config-not']) filter.configVersionNot = values['config-not'];
    if (values['dry-run']) {
      const dry = await call(api, 'POST', '/v1/rescans', rescanDryRunSchema, { filter, dryRun: true });
      print(dry, `${dry.count} articles match`);
      return 0;
    }
    rescan = await call(api, 'POST', '/v1/rescans', rescanViewSchema, { filter });
    if (!values.json) process.stderr.write(`rescan ${rescan.id} started over ${rescan.total} articles\n`);
  }
  if (values['no-wait']) {
    print(rescan, rescan.id);
    return 0;
  }

  const bar = progress();
  const every = Math.max(200, Number(values.interval ?? 1000));
  let detached = false;
  const detach = () => {
    detached = true;
  };
  process.once('SIGINT', detach);
  try {
    while (!detached) {
      rescan = await call(api, 'GET', `/v1/rescans/${rescan.id}`, rescanViewSchema);
      const finished = rescan.done + rescan.failed + rescan.skipped;
      bar.draw(rescan.progress, `${finished}/${rescan.total} ${rescan.ratePerSecond.toFixed(1)}/s ETA ${duration(rescan.etaSeconds)} changed ${rescan.changed} ${rescan.status}`);
      if (['completed', 'cancelled', 'failed', 'paused'].includes(rescan.status)) break;
      await new Promise((r) => setTimeout(r, every));
    }
  } finally {
    process.off('SIGINT', detach);
    bar.done();
  }
  if (detached) {
    process.stderr.write(`detached; rescan ${rescan.id} keeps running on the server. Follow it again: rescan --resume ${rescan.id}; stop it: rescan --pause ${rescan.id}\n`);
    return 130;
  }
  const changes = await call(api, 'GET', `/v1/rescans/${rescan.id}/changes`, changeSummarySchema);
  if (values.report) {
    const format = values.report.endsWith('.csv') ? 'csv' : 'jsonl';
    const res = await fetch(`${api.url}/v1/rescans/${rescan.id}/changes.${format}`, { headers: { authorization: `Bearer ${api.key}` } });
    if (!res.ok || !res.body) throw new CliError(`download of the change report failed: HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(values.report));
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ rescan, changes })}\n`);
  else {
    const moved = changes.verdicts.filter((v) => v.from !== v.to).map((v) => `${v.from}->${v.to} ${v.count}`);
    process.stdout.write(
      `rescan ${rescan.id}: ${rescan.status}; ${rescan.done} rescored, ${rescan.failed} failed, ${rescan.skipped} skipped; ` +
        `${changes.changed} changed (${moved.join(', ') || 'no verdict changes'}), ${changes.newlyFlagged} newly flagged` +
        `${values.report ? `; changed articles written to ${values.report}` : ''}\n`,
    );
  }
  if (rescan.status === 'paused') return 0;
  if (rescan.status !== 'completed') {
    process.stderr.write(`rescan ${rescan.id} ended ${rescan.status}${rescan.error ? `: ${rescan.error}` : ''}\n`);
    return 1;
  }
  return rescan.failed > 0 ? 1 : 0;
}

/** Runs one of the commands, turning expected failures into a message and exit code 1. */
export async function runImportOrRescan(command: 'import' | 'rescan', args: string[]): Promise<number> {
  try {
    return command === 'import' ? await importCommand(args) : await rescanCommand(args);
  } catch (error) {
    if (error instanceof CliError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`${command}: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}
