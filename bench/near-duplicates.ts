/**
 * Near-duplicate benchmark: cost of one lookup + insert with 10k, 100k and 1M signatures
 * indexed, Redis memory per indexed article, and recall / precision on template variants and
 * paraphrases mixed with unrelated articles on the same topic.
 *
 *   nice npx tsx bench/near-duplicates.ts                 # private redis-server on a free port
 *   nice npx tsx bench/near-duplicates.ts --sizes 10000,100000 --probes 300
 *   npx tsx bench/near-duplicates.ts --redis redis://127.0.0.1:6379/15   # an existing server (db 15)
 *
 * The private server is started from PATH without persistence and stopped at the end; with
 * --redis every key written under the bench prefix is deleted at the end.
 *
 * Measured 2026-11-26 on the 2-core dev machine under nice, load average 4-12 from other jobs
 * (means are inflated by that load; p50 is the steadier figure):
 *   quality   recall 0.991 (2434/2457 pairs), precision 0.998 (4 false pairs, same-topic)
 *   65536 shards   indexed   observe ms p50/mean   Redis part p50/mean   bytes/article
 *                  10k       1.37 / 4.52           0.81 / 3.67           3697
 *                  100k      1.90 / 3.88           1.16 / 2.68           1827
 *                  1M        1.62 / 2.22           1.07 / 1.67           1500
 *   1024 shards    10k       5.08 / 6.49           4.09 / 5.48           1628  (heavier load)
 *                  100k      2.64 / 3.61           1.89 / 2.86           3214
 *                  1M        1.71 / 2.94           1.14 / 2.37           3059
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort } from '../src/infra/net.ts';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { AccountSignals, type PreparedObservation } from '../src/signals/account-signals.ts';
import { accountSignalSettingsSchema, type AccountSignalSettingsInput } from '../src/signals/settings.ts';
import { EN_TEMPLATES, ZH_TEMPLATES, loadDataset, paraphrase, rng, sameTopicArticle, templateVariant } from '../test/signals/scenarios.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    probes: { type: 'string', default: '300' },
    redis: { type: 'string' },
    threshold: { type: 'string' },
    bands: { type: 'string' },
    zhShingle: { type: 'string' },
    shards: { type: 'string' },
    skipScale: { type: 'boolean', default: false },
  },
});

const overrides: AccountSignalSettingsInput = {
  nearDuplicate: {
    ...(args.threshold ? { threshold: Number(args.threshold) } : {}),
    ...(args.bands ? { bands: Number(args.bands) } : {}),
    ...(args.zhShingle ? { zhShingle: Number(args.zhShingle) } : {}),
    ...(args.shards ? { shards: Number(args.shards) } : {}),
  },
};
const settings = accountSignalSettingsSchema.parse(overrides);
const prefix = `sgbench:${randomBytes(4).toString('hex')}:`;
const DAY = 86_400_000;

async function startRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return { url, proc };
    } catch {
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  proc.kill();
  throw new Error('redis-server did not start');
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}
const f2 = (x: number) => x.toFixed(3);

/** Total server-side microseconds spent in commands so far (INFO commandstats). */
async function serverUsec(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/,usec=(\d+),/g)) total += Number(m[1]);
  return total;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Recall and precision over all pairs: a pair counts as found when either article reported the other. */
async function quality(signals: AccountSignals): Promise<void> {
  const r = rng(42);
  const train = loadDataset('train.jsonl.gz').map((d) => d.text);
  const docs: { text: string; lang: 'zh' | 'en'; group: string }[] = [];
  ZH_TEMPLATES.forEach((t, i) => {
    for (let v = 0; v < 20; v++) docs.push({ text: templateVariant(t, r), lang: 'zh', group: `zh-template-${i}` });
  });
  for (let v = 0; v < 20; v++) docs.push({ text: templateVariant(EN_TEMPLATES[0]!, r, 'en'), lang: 'en', group: 'en-template' });
  for (let v = 0; v < 10; v++) docs.push({ text: paraphrase(templateVariant(EN_TEMPLATES[0]!, r, 'en'), r, 'en'), lang: 'en', group: 'en-template' });
  for (let g = 0; g < 40; g++) {
    const base = train[g] as string;
    docs.push({ text: base, lang: 'zh', group: `para-${g}` });
    for (let v = 0; v < 4; v++) docs.push({ text: paraphrase(base, r), lang: 'zh', group: `para-${g}` });
  }
  for (let g = 0; g < 10; g++) {
    const base = templateVariant(ZH_TEMPLATES[g % 3]!, r);
    // Paraphrased template variants: a spun farm post.
    for (let v = 0; v < 4; v++) docs.push({ text: paraphrase(templateVariant(ZH_TEMPLATES[g % 3]!, r), r), lang: 'zh', group: `zh-template-${g % 3}` });
    void base;
  }
  // Unrelated articles on one topic, any two sharing at most two of their five sentences.
  const topic: string[] = [];
  const picks: Set<string>[] = [];
  for (let attempt = 0; attempt < 20_000 && topic.length < 80; attempt++) {
    const text = sameTopicArticle(r, 5);
    const sentences = new Set(text.split('。').map((s) => s.replace(/[\d一二三四五六七八九十]+/g, '#')));
    if (picks.some((p) => [...sentences].filter((s) => p.has(s)).length > 2)) continue;
    picks.push(sentences);
    topic.push(text);
  }
  topic.forEach((text, i) => docs.push({ text, lang: 'zh', group: `topic-${i}` }));
  for (let i = 100; i < 400; i++) docs.push({ text: train[i] as string, lang: 'zh', group: `unrelated-${i}` });

  // Shuffle the posting order.
  const order = docs.map((_, i) => i).sort(() => r() - 0.5);
  const found = new Set<string>();
  const t0 = Date.parse('2026-10-01T00:00:00Z');
  for (const [k, i] of order.entries()) {
    const d = docs[i]!;
    const res = await signals.observe({ tenantId: 'quality', articleId: `d${i}`, accountId: `acct${i}`, text: d.text, lang: d.lang, postedAt: t0 + k * 60_000 });
    for (const s of res.similar) {
      const j = Number(s.articleId.slice(1));
      found.add(i < j ? `${i}:${j}` : `${j}:${i}`);
    }
  }
  let positives = 0;
  let tp = 0;
  for (let i = 0; i < docs.length; i++) {
    for (let j = i + 1; j < docs.length; j++) {
      if (docs[i]!.group === docs[j]!.group) {
        positives++;
        if (found.has(`${i}:${j}`)) tp++;
      }
    }
  }
  const fp = found.size - tp;
  const fpKinds = new Map<string, number>();
  for (const key of found) {
    const [i, j] = key.split(':').map(Number) as [number, number];
    if (docs[i]!.group !== docs[j]!.group) {
      const kind = `${docs[i]!.group.replace(/-\d+$/, '')}~${docs[j]!.group.replace(/-\d+$/, '')}`;
      fpKinds.set(kind, (fpKinds.get(kind) ?? 0) + 1);
    }
  }
  console.log(`\nquality: ${docs.length} articles, ${positives} near-duplicate pairs (templates, paraphrases), ${topic.length} same-topic and 300 unrelated articles`);
  console.log(`  recall    ${f2(tp / positives)}  (${tp}/${positives})`);
  console.log(`  precision ${f2(tp / Math.max(1, tp + fp))}  (false pairs: ${fp}${fp ? ' ' + JSON.stringify(Object.fromEntries(fpKinds)) : ''})`);
}

function randomSignature(next: () => number, n: number): Uint32Array {
  const s = new Uint32Array(n);
  for (let i = 0; i < n; i++) s[i] = (next() * 4294967296) >>> 0;
  return s;
}

async function main(): Promise<void> {
  let proc: ChildProcess | null = null;
  let url = args.redis;
  if (!url) ({ url, proc } = await startRedis());
  const stop = () => {
    proc?.kill('SIGTERM');
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const signals = new AccountSignals(redis, settings, prefix);
  console.log(
    `near-duplicate bench: redis ${url}${proc ? ' (private)' : ''}, prefix ${prefix}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const nd = settings.nearDuplicate;
  console.log(
    `settings: ${nd.permutations} permutations, ${nd.bands} bands x ${nd.permutations / nd.bands} rows, threshold ${nd.threshold}, zh ${nd.zhShingle}-char / en ${nd.enShingle}-word shingles, ${nd.shards} shards, ${nd.generations} generations over ${settings.retentionSeconds / 86400} days`,
  );
  try {
    await quality(signals);
    if (args.skipScale) return;

    const sizes = (args.sizes ?? '')
      .split(',')
      .map(Number)
      .filter((n) => n > 0)
      .sort((a, b) => a - b);
    const probes = Number(args.probes);
    const texts = [...loadDataset('train.jsonl.gz'), ...loadDataset('dev.jsonl.gz')].map((d) => d.text);
    const next = rng(7);
    const tEnd = Date.parse('2026-11-20T00:00:00Z');
    const accounts = 50_000;
    const memBase = await usedMemory(redis);
    let indexed = 0;
    let probeCursor = 0;
    console.log('\nscale (one article at a time; observe = MinHash + every Redis call of AccountSignals.observe):');
    console.log('  indexed   observe ms mean/p50/p95   redis ms mean/p50/p95   minhash ms   bytes/article   fill/s   server us/article');
    for (const size of sizes) {
      // Fill with unrelated articles (random signatures), 10 days of posting, 50k accounts,
      // through the bulk backfill path (same keys as observe, no signals computed).
      const fillStart = performance.now();
      const fillCount = size - indexed;
      const batch = 2000;
      while (indexed < size) {
        const n = Math.min(batch, size - indexed);
        const prepared: PreparedObservation[] = [];
        for (let i = 0; i < n; i++) {
          prepared.push({
            tenantId: 'scale',
            articleId: `fill-${indexed + i}`,
            accountId: `acct-${Math.floor(next() * accounts)}`,
            postedAt: tEnd - Math.floor(next() * 10 * DAY),
            signature: randomSignature(next, nd.permutations),
          });
        }
        await signals.index(prepared, 500);
        indexed += n;
      }
      const fillRate = fillCount / ((performance.now() - fillStart) / 1000);
      const mem = await usedMemory(redis);
      // Probe: real articles, each from an existing account, one at a time.
      const total: number[] = [];
      const redisOnly: number[] = [];
      const hashing: number[] = [];
      const usecBefore = await serverUsec(redis);
      for (let p = 0; p < probes; p++) {
        const text = texts[probeCursor++ % texts.length] as string;
        const a = performance.now();
        const prepared = signals.prepare({
          tenantId: 'scale',
          articleId: `probe-${size}-${p}`,
          accountId: `acct-${Math.floor(next() * accounts)}`,
          text,
          lang: 'zh',
          postedAt: tEnd + p * 1000,
        });
        const b = performance.now();
        await signals.observePrepared(prepared);
        const c = performance.now();
        total.push(c - a);
        redisOnly.push(c - b);
        hashing.push(b - a);
      }
      const serverPerArticle = (await serverUsec(redis)) - usecBefore;
      indexed += probes;
      const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
      console.log(
        `  ${String(size).padStart(8)}   ${f2(mean(total))}/${f2(quantile(total, 0.5))}/${f2(quantile(total, 0.95))}        ${f2(mean(redisOnly))}/${f2(quantile(redisOnly, 0.5))}/${f2(quantile(redisOnly, 0.95))}      ${f2(mean(hashing))}        ${Math.round((mem - memBase) / size)}          ${Math.round(fillRate)}        ${Math.round(serverPerArticle / probes)}`,
      );
    }
  } finally {
    if (proc) {
      redis.disconnect();
      proc.kill('SIGTERM');
    } else {
      let deleted = 0;
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 2000 }) as AsyncIterable<string[]>) {
        if (keys.length) deleted += await redis.unlink(...keys);
      }
      console.log(`\ncleaned up ${deleted} keys`);
      redis.disconnect();
    }
  }
}

await main();
