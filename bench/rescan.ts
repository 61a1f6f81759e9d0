/**
 * Rescan benchmark (issue 6), measured side by side in one run on this machine, with the
 * default model (the shipped detector unless DETECTOR_ENABLED=false):
 *  - raw scoring throughput: the pipeline the workers run (detector + text + account signals),
 *    called in-process, no queue, no database writes; best of 8, 16 and 32 articles in flight;
 *  - direct scoring: ScoringService.scoreMany in-process on chunks (pipeline + score/article/event writes);
 *  - rescan throughput over BENCH_ARTICLES stored articles (driver, rescore queue, writes, items);
 *  - live single-article latency (submit -> score committed), p50/p99, with and without the rescan.
 * Raw, rescan and the two latency runs alternate in BENCH_ROUNDS short rounds (the rescore
 * queue is paused between), so a shared machine's changing load weighs on each side alike.
 * Goals: rescan >= 80% of raw; live p99 with a rescan <= 1.5x without.
 *
 *   npx tsx bench/rescan.ts   (BENCH_ARTICLES=100000 BENCH_SECONDS=20 BENCH_ROUNDS=4 LIVE_SAMPLES=160 BENCH_CORPUS=articles|short;
 *                              RESCORE_CONCURRENCY, RESCAN_CHUNK, MODEL_DIR, DETECTOR_ENABLED as for the service)
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { buildConfig } from '../src/config.ts';
import { type AppContext, createContext } from '../src/context.ts';
import { createPgDb } from '../src/db/pg.ts';
import { createLogger } from '../src/infra/logger.ts';
import { prepareArticle } from '../src/services/articles.ts';
import { ARTICLE_COLUMNS, type StoredArticle } from '../src/store/articles.ts';
import { startWorkers } from '../src/workers/index.ts';
import { buildScorers } from '../src/scoring/index.ts';
import { defaultFusionConfig } from '../src/scoring/fusion-config.ts';
import { createPipeline } from '../src/services/pipeline.ts';
import { articleToScore, ScoringService } from '../src/services/scoring.ts';
import { AccountSignals } from '../src/signals/index.ts';
import { dropRedisPrefix } from '../test/helpers/context.ts';
import { sharedPath } from '../test/helpers/shared.ts';
import { readJsonLinesFile } from '../src/infra/ndjson.ts';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ARTICLES = Number(process.env.BENCH_ARTICLES ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const LIVE_SAMPLES = Number(process.env.LIVE_SAMPLES ?? 160);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const TENANT = 'bench';
const CORPUS = process.env.BENCH_CORPUS ?? 'articles';
const corpusRecordSchema = z.object({ text: z.string(), lang: z.enum(['zh', 'en']) });

const SHORT_TEXTS = [
  '随着科技的不断发展,人工智能已经深刻地改变了我们的生活。首先,它提高了效率。其次,它带来了便利。最后,它创造了价值。值得注意的是,我们应该理性看待。',
  '今天下午三点,杭州市西湖区文三路的一家面馆里,老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化。他说最早的时候一碗面只要三块钱。',
  '综上所述,数字化转型在当今社会中扮演着至关重要的角色。让我们一起迎接美好的未来,只要我们不断努力,就一定能够取得更大的成就。',
  'The city council voted 7-2 on Tuesday to extend the bike lane on Fifth Street, after residents packed the meeting to argue about parking and the bus stop.',
];

const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/**
 * The stored articles. `articles` (default): article-length texts from ../shared/datasets
 * (Chinese 600-3,000 characters, English 1,500-5,000), each text always posted by the same
 * account, so the corpus has no cross-account farm everywhere; `short`: four ~70-character
 * template texts, where every article is a near-duplicate of thousands (the cluster path on
 * every score, the model at its cheapest: the worst case for the write path).
 */
interface Corpus {
  name: 'articles' | 'short';
  texts: string[];
  langs: ('zh' | 'en')[];
}

async function loadCorpus(): Promise<Corpus> {
  const dir = sharedPath('datasets');
  if (CORPUS === 'short' || !dir) {
    if (CORPUS !== 'short') process.stderr.write('../shared/datasets not found: using the short template corpus\n');
    return { name: 'short', texts: SHORT_TEXTS, langs: ['zh', 'zh', 'zh', 'en'] };
  }
  const corpus: Corpus = { name: 'articles', texts: [], langs: [] };
  const seen = new Set<string>();
  for (const name of ['nlpcc2026-task6', 'hc3zh-cudrt', 'm4', 'agt2025']) {
    for (const split of ['dev', 'train']) {
      const file = join(dir, name, `${split}.jsonl.gz`);
      if (!existsSync(file)) continue;
      for await (const { text: line } of readJsonLinesFile(file)) {
        const record = corpusRecordSchema.safeParse(JSON.parse(line));
        if (!record.success) continue;
        const { text, lang } = record.data;
        const [min, max] = lang === 'zh' ? [600, 3000] : [1500, 5000];
        const prepared = prepareArticle({ externalId: 'c', accountId: 'c', text, declaredAi: false, labels: [], metadata: {} }, { maxTextChars: 200_000 });
        if (prepared.text.length < min || prepared.text.length > max || seen.has(prepared.contentHash)) continue;
        seen.add(prepared.contentHash);
        corpus.texts.push(prepared.text);
        corpus.langs.push(lang);
      }
    }
  }
  return corpus;
}

async function seed(ctx: AppContext, corpus: Corpus, tenant = TENANT, count = ARTICLES): Promise<void> {
  for (let from = 1; from <= count; from += 20_000) {
    await ctx.db.query(
      `INSERT INTO articles (id, tenant_id, external_id, account_id, text, lang, content_hash, published_at)
       SELECT 'art_' || $1 || lpad(g::text, 8, '0'), $1, 'x-' || g, 'acct-' || (g % $6),
              ($4::text[])[1 + g % $6] || ' #' || g, ($5::text[])[1 + g % $6],
              md5('b' || g), timestamptz '2021-01-01' + g * interval '5 minutes'
       FROM generate_series($2::int, $3::int) AS g`,
      [tenant, from, Math.min(count, from + 19_999), corpus.texts, corpus.langs, corpus.texts.length],
    );
  }
}

/** Raw: the workers' pipeline over stored articles, no queue, no writes; loaded once. */
async function rawRunner(ctx: AppContext) {
  const scorers = await buildScorers(ctx.config.model, ctx.log);
  const account = new AccountSignals(ctx.redis, ctx.config.accountSignals, `${ctx.config.redisPrefix}:rawsig:`);
  const pipeline = createPipeline({ text: scorers.text, detector: scorers.detector, zeroShot: scorers.zeroShot, account, fusion: defaultFusionConfig });
  const articles = await ctx.db.query<StoredArticle>(`SELECT ${ARTICLE_COLUMNS} FROM articles WHERE tenant_id = $1 ORDER BY id DESC LIMIT 5000`, [TENANT]);
  let next = 0;
  return {
    /** Articles scored in `seconds` at `concurrency`. */
    async run(concurrency: number, seconds: number): Promise<number> {
      let done = 0;
      const deadline = performance.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < deadline) {
            await pipeline.run(articleToScore(articles[next++ % articles.length]!));
            done++;
          }
        }),
      );
      return done;
    },
    close: () => scorers.close(),
  };
}

/** Waits until the rescore queue has nothing active (after a pause). */
async function waitIdle(ctx: AppContext): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await ctx.queues.rescore.getActiveCount()) > 0 && Date.now() < deadline) await sleep(20);
}

/**
 * Direct: ScoringService.scoreMany (pipeline + the score, article and event writes) called
 * in-process on chunks of `chunk` at `concurrency`, no queue: a rescan without its queue,
 * driver and item records. (What follows a commit runs in the outbox dispatcher, off this path.)
 */
async function directThroughput(ctx: AppContext, concurrency: number, chunk: number): Promise<number> {
  const scorers = await buildScorers(ctx.config.model, ctx.log);
  const account = new AccountSignals(ctx.redis, ctx.config.accountSignals, `${ctx.config.redisPrefix}:dirsig:`);
  const scoring = new ScoringService(ctx.db, createPipeline({ text: scorers.text, detector: scorers.detector, zeroShot: scorers.zeroShot, account, fusion: defaultFusionConfig }));
  const ids = await ctx.db.query<{ id: string }>(`SELECT id FROM articles WHERE tenant_id = 'direct' ORDER BY id`);
  let next = 0;
  let done = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && next < ids.length) {
        const jobs = ids.slice(next, next + chunk).map(({ id }) => ({ tenantId: 'direct', articleId: id, revision: 1, trigger: 'rescan' as const }));
        next += jobs.length;
        await scoring.scoreMany(jobs, { background: true });
        done += jobs.length;
      }
    }),
  );
  const rate = done / ((performance.now() - started) / 1000);
  await scorers.close();
  return rate;
}

/** Submits one live article at a time (a few per second) and times submit -> score committed. */
async function liveLatency(ctx: AppContext, corpus: Corpus, onScored: Map<string, (at: number) => void>, label: string, samples: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const externalId = `live-${label}-${i}-${randomBytes(3).toString('hex')}`;
    const prepared = prepareArticle(
      { externalId, accountId: `live-${i % 13}`, text: `${corpus.texts[(i * 7919) % corpus.texts.length]} ${externalId}`, declaredAi: false, labels: [], metadata: {} },
      { maxTextChars: 200_000 },
    );
    const started = performance.now();
    const result = await ctx.articles.submitOne({ tenantId: 'live', actor: 'bench' }, prepared);
    await new Promise<void>((resolve) =>
      onScored.set(result.id, (at) => {
        latencies.push(at - started);
        resolve();
      }),
    );
    await sleep(40);
  }
  return latencies;
}

async function main() {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const prefix = `sgb${randomBytes(4).toString('hex')}`;
  const admin = createPgDb(DATABASE_URL);
  await admin.query(`CREATE SCHEMA ${schema}`);
  const config = buildConfig({
    ...process.env,
    DATABASE_URL,
    REDIS_URL,
    DATABASE_SCHEMA: schema,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const ctx = await createContext(config, 'all', { logger: createLogger(config.logLevel) });
  try {
    const concurrency = config.rescans.rescoreConcurrency;
    const corpus = await loadCorpus();
    process.stderr.write(`seeding ${ARTICLES} articles from ${corpus.texts.length} texts...\n`);
    const t = performance.now();
    await seed(ctx, corpus);
    process.stderr.write(`seeded in ${fmt((performance.now() - t) / 1000)} s\n`);

    await seed(ctx, corpus, 'direct', 20_000);
    process.stderr.write(`direct ScoringService throughput (${SECONDS} s, concurrency ${concurrency})...\n`);
    const direct = await directThroughput(ctx, concurrency, config.rescans.chunk);

    const workers = await startWorkers(ctx, ctx.worker!, { reconcile: false });
    const onScored = new Map<string, (at: number) => void>();
    workers.scoreWorker.on('completed', (job) => {
      const at = performance.now();
      const id = (job.data as { articleId: string }).articleId;
      onScored.get(id)?.(at);
      onScored.delete(id);
    });
    const raw = await rawRunner(ctx);
    // The model at its best: the detector batches across concurrent calls, so try several levels
    // of articles in flight, the rescan's among them (jobs x articles per job).
    const levels = [...new Set([8, 16, 32, concurrency * config.rescans.chunk])].sort((a, b) => a - b);
    await liveLatency(ctx, corpus, onScored, 'warm', 20);
    await raw.run(concurrency, 2);

    // The rescan is created with its queue paused; then raw, rescan, and live latency with and
    // without it alternate in short rounds, so the load of a shared machine weighs on each alike.
    await ctx.queues.rescore.pause();
    const rescan = await ctx.rescans.create({ tenantId: TENANT, actor: 'bench' }, {});
    const finishedCount = async () =>
      (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM rescan_items WHERE rescan_id = $1 AND finished_at IS NOT NULL`, [rescan.id]))[0]!.n;
    const settle = async () => {
      await ctx.queues.rescore.pause();
      await waitIdle(ctx);
    };
    const rawRates = new Map<number, { n: number; s: number }>(levels.map((c) => [c, { n: 0, s: 0 }]));
    let rescanN = 0;
    let rescanS = 0;
    const idle: number[] = [];
    const during: number[] = [];
    const slice = SECONDS / ROUNDS;
    for (let round = 1; round <= ROUNDS; round++) {
      process.stderr.write(`round ${round}/${ROUNDS}: raw, rescan, live without and with the rescan...\n`);
      await settle();
      for (const c of levels) {
        const started = performance.now();
        const n = await raw.run(c, slice / levels.length);
        const r = rawRates.get(c)!;
        r.n += n;
        r.s += (performance.now() - started) / 1000;
      }
      await ctx.queues.rescore.resume();
      await sleep(1000); // the rescore worker gets going again
      const before = await finishedCount();
      const started = performance.now();
      await sleep(slice * 1000);
      rescanN += (await finishedCount()) - before;
      rescanS += (performance.now() - started) / 1000;
      idle.push(
        ...(await (async () => {
          await settle();
          return liveLatency(ctx, corpus, onScored, `idle${round}`, Math.ceil(LIVE_SAMPLES / ROUNDS));
        })()),
      );
      await ctx.queues.rescore.resume();
      await sleep(500);
      during.push(...(await liveLatency(ctx, corpus, onScored, `busy${round}`, Math.ceil(LIVE_SAMPLES / ROUNDS))));
    }
    const end = (await ctx.rescans.get(TENANT, rescan.id))!;
    await ctx.rescans.cancel(TENANT, rescan.id);
    await ctx.queues.rescore.resume();
    await workers.close();
    await raw.close();
    const rawRate = Math.max(...[...rawRates.values()].map((r) => r.n / r.s));
    const rescanRate = rescanN / rescanS;

    const p = (v: number[], q: number) => fmt(percentile(v, q), 1);
    const lines = [
      `machine: ${(await import('node:os')).cpus().length} cores; corpus ${corpus.name} (${corpus.texts.length} texts, mean ${fmt(corpus.texts.reduce((n, t) => n + t.length, 0) / corpus.texts.length, 0)} chars); detector ${config.model.detectorEnabled ? 'on' : 'off'}; RESCORE_CONCURRENCY=${concurrency} RESCAN_CHUNK=${config.rescans.chunk} SCORE_CONCURRENCY=${config.scoring.concurrency} RESCAN_WINDOW=${config.rescans.window}`,
      `raw pipeline throughput:       ${fmt(rawRate)} articles/s  (best of concurrency ${[...rawRates].map(([c, r]) => `${c}: ${fmt(r.n / r.s)}`).join(', ')}; ${ROUNDS} rounds)`,
      `direct scoring (writes, no queue): ${fmt(direct)} articles/s  (concurrency ${concurrency} x ${config.rescans.chunk} articles)`,
      `rescan throughput:             ${fmt(rescanRate)} articles/s  (${fmt((rescanRate / rawRate) * 100)}% of raw, goal >= 80%; ${fmt((rescanRate / direct) * 100)}% of direct)  [rescan reported ${fmt(end.ratePerSecond)}/s, ${end.done}/${end.total} done, ETA ${end.etaSeconds ?? '?'} s]`,
      `live latency, no rescan:       p50 ${p(idle, 50)} ms  p99 ${p(idle, 99)} ms  (${idle.length} articles)`,
      `live latency, rescan running:  p50 ${p(during, 50)} ms  p99 ${p(during, 99)} ms  (${fmt(percentile(during, 99) / percentile(idle, 99), 2)}x p99; goal <= 1.5x)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await ctx.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.close();
    await dropRedisPrefix(REDIS_URL, prefix);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
