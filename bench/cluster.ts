/**
 * Redis Cluster vs one Redis, side by side in one run:
 *  1. near-duplicate lookups (AccountSignals.observePrepared: every Redis call of one
 *     observation) with N articles of ONE tenant indexed: p50/p95 per observation, bytes per
 *     article, and memory per master of the cluster (spread within +-20% is the goal);
 *  2. submissions and scoring throughput of the whole service (API + score workers in this
 *     process, detector off: text signals + account signals), on each Redis.
 *
 *   npm run bench:cluster                        # 100k articles, 300 probes, 1000 submissions
 *   npm run bench:cluster -- --size 500000 --concurrency 2
 *
 * The fill is CPU-bound on this 2-core machine (~1 ms of client CPU per article in ioredis,
 * ~0.5 ms in Redis: 32 LSH scripts and 7 commands each), at 250-600 articles/s depending on
 * the machine's load; `--concurrency` (fill batches in flight) did not change that here, and
 * NODE_OPTIONS=--max-semi-space-size=64 (less time in the young-generation GC) gave ~10%.
 *
 * Both Redis are private and thrown away: one redis-server on a free port and a 3-master,
 * 3-replica cluster on 7120..7125 (.ci/redis-cluster), no persistence. Postgres: the test
 * database (BENCH_DATABASE_URL), one fresh schema per run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { redisTargetOf } from '../src/config.ts';
import { freePort, waitForPort } from '../src/infra/net.ts';
import { createRedisClient, type RedisClient, scanTargets } from '../src/infra/redis.ts';
import { AccountSignals, type PreparedObservation } from '../src/signals/account-signals.ts';
import { accountSignalSettingsSchema } from '../src/signals/settings.ts';
import { createTestEnv, waitFor } from '../test/helpers/context.ts';
import { loadDataset, rng } from '../test/signals/scenarios.ts';
import { BENCH_DATABASE_URL, fmt } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '100000' },
    probes: { type: 'string', default: '300' },
    submissions: { type: 'string', default: '1000' },
    /** Fill batches (of 2000 articles) in flight at once. */
    concurrency: { type: 'string', default: '1' },
  },
});
const SIZE = Number(args.size);
const PROBES = Number(args.probes);
const SUBMISSIONS = Number(args.submissions);
const CONCURRENCY = Math.max(1, Number(args.concurrency));
const CLUSTER_BASE = 7120;
const CLUSTER_URL = `redis-cluster://127.0.0.1:${CLUSTER_BASE},127.0.0.1:${CLUSTER_BASE + 1},127.0.0.1:${CLUSTER_BASE + 2}`;
const clusterScript = path.join(import.meta.dirname, '..', '.ci', 'redis-cluster');
const settings = accountSignalSettingsSchema.parse({});
const DAY = 86_400_000;

function clusterCtl(...extra: string[]): void {
  const run = spawnSync(clusterScript, [String(CLUSTER_BASE), ...extra], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`.ci/redis-cluster ${CLUSTER_BASE} ${extra.join(' ')}: ${run.stderr}`);
}

async function startSingle(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
  await waitForPort(port, 10_000);
  return { url: `redis://127.0.0.1:${port}`, proc };
}

async function usedMemory(node: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1] ?? 0);
}

/** used_memory of the one server, or of each master. */
async function memoryPerMaster(redis: RedisClient): Promise<number[]> {
  return Promise.all(scanTargets(redis).map(usedMemory));
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

function randomSignature(next: () => number, n: number): Uint32Array {
  const s = new Uint32Array(n);
  for (let i = 0; i < n; i++) s[i] = (next() * 4294967296) >>> 0;
  return s;
}

interface IndexFigures {
  fillPerSecond: number;
  bytesPerArticle: number;
  perMaster: number[];
  p50: number;
  p95: number;
}

/** Fills `SIZE` articles of one tenant (random signatures, 50k accounts, 10 days), then times real observations. */
async function indexRun(redis: RedisClient, prefix: string, texts: string[]): Promise<IndexFigures> {
  const signals = new AccountSignals(redis, settings, prefix);
  const next = rng(7);
  const tEnd = Date.parse('2026-11-20T00:00:00Z');
  const before = await memoryPerMaster(redis);
  const fillStart = performance.now();
  // `CONCURRENCY` fillers, each taking the next batch of 2000 (drawn from the one seeded
  // generator when taken, so the articles are the same whatever the concurrency).
  let taken = 0;
  const filler = async () => {
    while (taken < SIZE) {
      const from = taken;
      const n = Math.min(2000, SIZE - from);
      taken += n;
      const prepared: PreparedObservation[] = [];
      for (let i = 0; i < n; i++) {
        prepared.push({
          tenantId: 'one-big-platform',
          articleId: `fill-${from + i}`,
          accountId: `acct-${Math.floor(next() * 50_000)}`,
          postedAt: tEnd - Math.floor(next() * 10 * DAY),
          signature: randomSignature(next, settings.nearDuplicate.permutations),
        });
      }
      await signals.index(prepared, 500);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, filler));
  const fillPerSecond = SIZE / ((performance.now() - fillStart) / 1000);
  const after = await memoryPerMaster(redis);
  const perMaster = after.map((m, i) => m - (before[i] ?? 0));
  const times: number[] = [];
  for (let p = 0; p < PROBES; p++) {
    const prepared = signals.prepare({
      tenantId: 'one-big-platform',
      articleId: `probe-${p}`,
      accountId: `acct-${Math.floor(next() * 50_000)}`,
      text: texts[p % texts.length]!,
      lang: 'zh',
      postedAt: tEnd + p * 1000,
    });
    const t = performance.now();
    await signals.observePrepared(prepared);
    times.push(performance.now() - t);
  }
  return {
    fillPerSecond,
    bytesPerArticle: perMaster.reduce((a, b) => a + b, 0) / SIZE,
    perMaster,
    p50: quantile(times, 0.5),
    p95: quantile(times, 0.95),
  };
}

/** Submits `SUBMISSIONS` articles in batches of 100 over the API and waits until all are scored. */
async function throughputRun(redisUrl: string, texts: string[]): Promise<{ acceptPerSecond: number; scoredPerSecond: number }> {
  const env = await createTestEnv({
    workers: true,
    redisUrl,
    databaseUrl: BENCH_DATABASE_URL,
    env: { RATE_LIMIT_PER_MINUTE: '0', SCORE_CONCURRENCY: '8' },
  });
  try {
    const key = await env.keyFor('submitter');
    const start = performance.now();
    for (let i = 0; i < SUBMISSIONS; i += 100) {
      const articles = Array.from({ length: Math.min(100, SUBMISSIONS - i) }, (_, k) => ({
        externalId: `tp-${i + k}`,
        accountId: `acct-${(i + k) % 400}`,
        text: texts[(i + k) % texts.length]!,
      }));
      const res = await env.request('POST', '/v1/batches', { key, body: { articles } });
      if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
    }
    const accepted = performance.now();
    await waitFor(async () => (await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE status = 'scored'"))[0]!.n >= SUBMISSIONS, 600_000, 100);
    const scored = performance.now();
    return { acceptPerSecond: SUBMISSIONS / ((accepted - start) / 1000), scoredPerSecond: SUBMISSIONS / ((scored - start) / 1000) };
  } finally {
    await env.close();
  }
}

async function main(): Promise<void> {
  const texts = [...loadDataset('train.jsonl.gz'), ...loadDataset('dev.jsonl.gz')].filter((d) => d.lang === 'zh').map((d) => d.text);
  console.log(
    `cluster bench: ${fmt(SIZE, 0)} articles of one tenant, ${PROBES} probes, ${SUBMISSIONS} submissions; load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const single = await startSingle();
  clusterCtl('stop');
  clusterCtl();
  const singleClient = createRedisClient(redisTargetOf(single.url)!, 'worker');
  const clusterClient = createRedisClient(redisTargetOf(CLUSTER_URL)!, 'worker');
  try {
    await singleClient.connect();
    await clusterClient.connect();
    const prefix = `sgbench:${randomBytes(3).toString('hex')}:`;
    console.log('\n1. near-duplicate index, one tenant (fill through the bulk path, then one observation at a time)');
    const rows: [string, IndexFigures][] = [];
    for (const [name, client] of [
      ['single Redis', singleClient],
      ['cluster (3 masters)', clusterClient],
    ] as const) {
      rows.push([name, await indexRun(client, prefix, texts)]);
    }
    console.log('   redis                 observe ms p50 / p95     bytes/article   fill articles/s   memory per master (MB)   spread');
    for (const [name, r] of rows) {
      const mean = r.perMaster.reduce((a, b) => a + b, 0) / r.perMaster.length;
      const spread = Math.max(...r.perMaster.map((m) => Math.abs(m - mean) / mean));
      console.log(
        `   ${name.padEnd(20)}  ${fmt(r.p50, 2).padStart(6)} / ${fmt(r.p95, 2).padEnd(6)}        ${fmt(r.bytesPerArticle, 0).padStart(6)}          ${fmt(r.fillPerSecond, 0).padStart(7)}         ${r.perMaster
          .map((m) => fmt(m / 1e6, 1))
          .join(' / ')
          .padEnd(22)}   ${r.perMaster.length > 1 ? `±${fmt(spread * 100, 1)}%` : '-'}`,
      );
    }
    const [s, c] = [rows[0]![1], rows[1]![1]];
    console.log(`   cluster / single: p50 x${fmt(c.p50 / s.p50, 2)}, p95 x${fmt(c.p95 / s.p95, 2)}, memory per master x${fmt(Math.max(...c.perMaster) / s.perMaster[0]!, 2)}`);
    if (SIZE < 1_000_000) {
      const k = 1_000_000 / SIZE;
      console.log(
        `   extrapolated to 1M (linear in articles, x${fmt(k, 1)}; not measured): single ${fmt((s.perMaster[0]! * k) / 1e9, 2)} GB, cluster ${c.perMaster.map((m) => fmt((m * k) / 1e9, 2)).join(' / ')} GB per master`,
      );
    }
    singleClient.disconnect();
    clusterClient.disconnect();

    console.log('\n2. submissions and scoring (API + score workers in this process, detector off, batches of 100)');
    const single2 = await throughputRun(single.url, texts);
    const cluster2 = await throughputRun(CLUSTER_URL, texts);
    console.log('   redis                 accepted articles/s   scored articles/s (submit to all scored)');
    console.log(`   single Redis          ${fmt(single2.acceptPerSecond, 0).padStart(8)}              ${fmt(single2.scoredPerSecond, 0).padStart(8)}`);
    console.log(`   cluster (3 masters)   ${fmt(cluster2.acceptPerSecond, 0).padStart(8)}              ${fmt(cluster2.scoredPerSecond, 0).padStart(8)}`);
    console.log(
      `   cluster / single: accepted x${fmt(cluster2.acceptPerSecond / single2.acceptPerSecond, 2)}, scored x${fmt(cluster2.scoredPerSecond / single2.scoredPerSecond, 2)}`,
    );
  } finally {
    singleClient.disconnect();
    clusterClient.disconnect();
    single.proc.kill('SIGTERM');
    clusterCtl('stop');
  }
}

await main();
