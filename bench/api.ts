/**
 * Ingest benchmark (issue 2), measured side by side in one run on this machine:
 *  - single-article submits/s and p50/p99 through POST /v1/articles (real Postgres + Redis)
 *    against a bare Hono JSON echo and a zod-validated echo;
 *  - articles/s through POST /v1/batches (1,000 per call) against BullMQ's own addBulk.
 * Goals: >= 10% of the bare echo's rate with p99 < 20 ms; >= 10,000 batched articles/s.
 *
 *   npm run bench:api            (DURATION=10 seconds per run; SINGLE_CONNECTIONS=16,24,32,48)
 */
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort } from '../src/infra/net.ts';
import { BENCH_REDIS_URL, benchStore, fmt, startChild, stop } from './lib.ts';

const DURATION = Number(process.env.DURATION ?? 10);
const SINGLE_CONNECTIONS = (process.env.SINGLE_CONNECTIONS ?? '16,24,32,48').split(',').map(Number);
const TEXT = '今天下午三点,杭州市西湖区文三路的一家面馆里,老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化。'.repeat(8);

interface Run {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(name: string, url: string, opts: Partial<autocannon.Options>): Promise<Run> {
  const result = await autocannon({ url, duration: DURATION, connections: 32, ...opts });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

async function main() {
  const store = await benchStore('api');
  const { key } = store;

  const echoPort = await freePort();
  const apiPort = await freePort();
  const echo = await startChild('bench/servers/echo.ts', [String(echoPort)], echoPort);
  const api = await startChild('src/main.ts', ['api'], apiPort, { ...store.env, PORT: String(apiPort) });
  const runs: Run[] = [];
  try {
    const body = JSON.stringify({ externalId: 'x', accountId: 'acct', text: TEXT });
    const json = { 'content-type': 'application/json' };
    runs.push(await load('bare Hono echo', `http://127.0.0.1:${echoPort}/echo`, { method: 'POST', headers: json, body }));
    runs.push(await load('zod-validated echo', `http://127.0.0.1:${echoPort}/zod`, { method: 'POST', headers: json, body }));
    // Single submits at several client concurrencies: a closed loop's latency is connections /
    // rate, so one level alone hides the trade-off between rate and p99.
    let n = 0;
    const singles: (Run & { connections: number })[] = [];
    for (const connections of SINGLE_CONNECTIONS) {
      const run = await load(`POST /v1/articles (${connections} connections)`, `http://127.0.0.1:${apiPort}/v1/articles`, {
        method: 'POST',
        connections,
        headers: { ...json, authorization: `Bearer ${key}` },
        requests: [
          {
            setupRequest: (req) => ({ ...req, body: JSON.stringify({ externalId: `s-${n++}`, accountId: `acct-${n % 100}`, text: TEXT }) }),
          },
        ],
      });
      singles.push({ ...run, connections });
      runs.push(run);
    }
    // Batches: the body is a template with a per-call marker, so the client stays cheap.
    const items = Array.from({ length: 1000 }, (_, i) => `{"externalId":"B-@-${i}","accountId":"acct-${i % 100}","text":${JSON.stringify(TEXT)}}`);
    const template = `{"articles":[${items.join(',')}]}`;
    let b = 0;
    const batch = await load('POST /v1/batches (x1000)', `http://127.0.0.1:${apiPort}/v1/batches`, {
      method: 'POST',
      connections: 4,
      headers: { ...json, authorization: `Bearer ${key}` },
      requests: [{ setupRequest: (req) => ({ ...req, body: template.replaceAll('B-@-', `b${b++}-`) }) }],
    });
    runs.push(batch);

    // BullMQ's own addBulk, chunks of 1,000, same Redis.
    const redis = new Redis(BENCH_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('bench-addbulk', { connection: redis, prefix: store.env.REDIS_PREFIX! });
    const jobs = 50_000;
    const started = performance.now();
    for (let i = 0; i < jobs; i += 1000) {
      await queue.addBulk(Array.from({ length: 1000 }, (_, j) => ({ name: 'score', data: { articleId: `a${i + j}`, revision: 1 }, opts: { jobId: `j${i + j}` } })));
    }
    const addBulkRate = jobs / ((performance.now() - started) / 1000);
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();

    const bare = runs[0]!;
    console.log(`\nIngest benchmark, ${DURATION} s per run, echoes at 32 connections, batches at 4, loopback, same machine\n`);
    console.log('| run | req/s | p50 ms | p99 ms | errors | non-2xx |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const r of runs) console.log(`| ${r.name} | ${fmt(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`);
    for (const single of singles) {
      const met = single.rps / bare.rps >= 0.1 && single.p99 < 20;
      console.log(
        `single submits, ${single.connections} connections: ${fmt((single.rps / bare.rps) * 100)}% of the bare echo (goal >= 10%), p99 ${single.p99} ms (goal < 20 ms)${met ? ' -- both met' : ''}`,
      );
    }
    console.log(
      `batched articles/s: ${fmt(batch.rps * 1000, 0)} (goal >= 10,000); BullMQ addBulk alone: ${fmt(addBulkRate, 0)} jobs/s; ratio ${fmt(((batch.rps * 1000) / addBulkRate) * 100)}%`,
    );
  } finally {
    await stop(api);
    await stop(echo);
    await store.drop();
  }
}

await main();
