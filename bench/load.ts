/**
 * Load run (issue 7): N articles through POST /v1/articles from many concurrent clients while a
 * worker process scores them; afterwards accepted = stored = scored, with no duplicate scores
 * and no errors but the deliberate ones (every 1,000th request is invalid on purpose).
 *
 *   npm run bench:load                 (LOAD_ARTICLES=100000, LOAD_CONNECTIONS=64)
 */
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { freePort } from '../src/infra/net.ts';
import { benchStore, fmt, startChild, stop } from './lib.ts';

const N = Number(process.env.LOAD_ARTICLES ?? 100_000);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 64);
// Distinct articles (random Han characters or letter words, seeded by the request number), so
// near-duplicates are as rare as on a real platform; content farms are the account-signals
// benchmark's job.
function article(n: number): string {
  let seed = (n * 2654435761 + 12345) >>> 0;
  const next = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  if (n % 3 === 2) {
    const word = () => Array.from({ length: 2 + Math.floor(next() * 7) }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join('');
    return Array.from({ length: 6 }, () => `${Array.from({ length: 12 }, word).join(' ')}.`).join(' ');
  }
  const han = () => String.fromCharCode(0x4e00 + Math.floor(next() * 0x5000));
  return Array.from({ length: 6 }, () => `${Array.from({ length: 30 }, han).join('')}。`).join('');
}

async function main() {
  const store = await benchStore('load');
  const { db, key, env } = store;
  const apiPort = await freePort();
  const api = await startChild('src/main.ts', ['api'], apiPort, { ...env, PORT: String(apiPort) });
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  let finished = false;
  worker.once('exit', (code) => {
    if (finished) return;
    console.error(`the worker process exited early (code ${code}); nothing would be scored`);
    process.exit(1);
  });
  try {
    let i = 0;
    const statuses = new Map<number, number>();
    const started = performance.now();
    const result = await autocannon({
      url: `http://127.0.0.1:${apiPort}/v1/articles`,
      method: 'POST',
      connections: CONNECTIONS,
      amount: N,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      requests: [
        {
          setupRequest: (req) => {
            const n = i++;
            const body = n % 1000 === 999 ? { externalId: `bad-${n}` } : { externalId: `l-${n}`, accountId: `acct-${n % 500}`, text: article(n) };
            return { ...req, body: JSON.stringify(body) };
          },
          onResponse: (status) => {
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          },
        },
      ],
    });
    const submitSeconds = (performance.now() - started) / 1000;
    const accepted = statuses.get(202) ?? 0;
    const deliberate = statuses.get(422) ?? 0;
    const count = async (sql: string) => (await db.query<{ n: number }>(sql))[0]!.n;
    const deadline = Date.now() + 30 * 60_000;
    while ((await count("SELECT count(*)::int AS n FROM articles WHERE status IN ('scored', 'failed')")) < accepted && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    const totalSeconds = (performance.now() - started) / 1000;
    const stored = await count('SELECT count(*)::int AS n FROM articles');
    const scored = await count("SELECT count(*)::int AS n FROM articles WHERE status = 'scored'");
    const failed = await count("SELECT count(*)::int AS n FROM articles WHERE status = 'failed'");
    const scoreRows = await count('SELECT count(*)::int AS n FROM scores');
    const distinct = await count('SELECT count(DISTINCT article_id)::int AS n FROM scores');
    console.log(`\nLoad run: ${N} requests, ${CONNECTIONS} connections, API and one worker process, loopback\n`);
    console.log('| figure | value |');
    console.log('| --- | ---: |');
    console.log(`| responses by status | ${[...statuses].map(([s, n]) => `${s}: ${n}`).join(', ')} |`);
    console.log(`| client errors (timeouts, resets) | ${result.errors + result.timeouts} |`);
    console.log(`| submit rate | ${fmt(accepted / submitSeconds)} articles/s |`);
    console.log(`| submit latency p50 / p99 | ${result.latency.p50} / ${result.latency.p99} ms |`);
    console.log(`| end-to-end scoring rate | ${fmt(scored / totalSeconds)} articles/s over ${fmt(totalSeconds)} s |`);
    console.log(`| accepted / stored / scored / failed | ${accepted} / ${stored} / ${scored} / ${failed} |`);
    console.log(`| score rows / distinct articles | ${scoreRows} / ${distinct} |`);
    const ok = accepted === stored && stored === scored && scoreRows === distinct && distinct === scored && deliberate === Math.floor(N / 1000) && result.errors === 0;
    console.log(`\n${ok ? 'OK' : 'MISMATCH'}: accepted = stored = scored, no duplicate scores, only deliberate errors`);
    if (!ok) process.exitCode = 1;
  } finally {
    finished = true;
    worker.kill('SIGTERM');
    await stop(api);
    await store.drop();
  }
}

await main();
