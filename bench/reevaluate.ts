/**
 * Re-evaluation of a content farm's 5,000 members, and what it costs live scoring.
 *
 *   npm run bench:reevaluate            # BENCH_MEMBERS=5000 BENCH_LIVE=60 by default
 *
 * Seeds a cluster of BENCH_MEMBERS scored articles (template variants, 500 accounts, ten
 * minutes), each with the score row of one really scored farm article (so re-fusing reads real
 * stored evidence), then, in one run and on one machine:
 *   1. live latency (submit -> score committed) with nothing else running;
 *   2. a `cluster.grew` event for the cluster, as the cluster join writes it: the dispatcher
 *      plans the members into jobs, the `reevaluate` worker runs them, while the same live
 *      traffic goes on; planning time, total time, articles/s and the verdicts raised;
 *   3. live latency again with nothing else running.
 * Figures are printed side by side; nothing is asserted.
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
import { startWorkers } from '../src/workers/index.ts';
import { FARM_CITIES, farmText, NEWS } from '../test/helpers/farm.ts';
import { sharedPath } from '../test/helpers/shared.ts';
import { BENCH_DATABASE_URL, BENCH_REDIS_URL, fmt } from './lib.ts';
import { readJsonLinesFile } from '../src/infra/ndjson.ts';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 5000);
const LIVE = Number(process.env.BENCH_LIVE ?? 60);
const TENANT = 'farm';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Live traffic that is not itself a farm: distinct article-length texts from the shared
 * datasets (zh and en), or numbered variants of a news report when the datasets are absent.
 */
async function liveTexts(n: number): Promise<string[]> {
  const dir = sharedPath('datasets');
  const texts: string[] = [];
  const record = z.object({ text: z.string(), lang: z.enum(['zh', 'en']) });
  for (const name of ['nlpcc2026-task6', 'm4']) {
    const file = dir ? join(dir, name, 'dev.jsonl.gz') : '';
    if (!file || !existsSync(file)) continue;
    for await (const { text: line } of readJsonLinesFile(file)) {
      const r = record.safeParse(JSON.parse(line));
      if (r.success && r.data.text.length >= 400 && r.data.text.length <= 3000) texts.push(r.data.text);
      if (texts.length >= (n / 2) * (name === 'm4' ? 2 : 1)) break;
    }
  }
  if (texts.length === 0) process.stderr.write('../shared/datasets not found: live texts are numbered variants of one report\n');
  return texts.length > 0 ? texts : Array.from({ length: n }, (_, i) => `${NEWS}（第${i}期）`);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

/** One really scored farm article, then MEMBERS clones of its row as cluster members. */
async function seedCluster(ctx: AppContext, waitScored: (id: string) => Promise<number>): Promise<string> {
  const prepared = prepareArticle(
    { externalId: 'seed', accountId: 'seed-acct', text: farmText('杭州', 30), declaredAi: false, labels: [], metadata: {} },
    { maxTextChars: 200_000 },
  );
  const seed = await ctx.articles.submitOne({ tenantId: TENANT, actor: 'bench' }, prepared);
  await waitScored(seed.id);
  const clusterId = `cl_bench${randomBytes(6).toString('hex')}`;
  const start = Date.parse('2026-11-20T08:00:00Z');
  const rows = Array.from({ length: MEMBERS }, (_, i) => {
    const city = FARM_CITIES[i % FARM_CITIES.length]!;
    const p = prepareArticle(
      { externalId: `m-${i}`, accountId: `farm-${i % 500}`, text: farmText(city, 20 + (i % 97)), declaredAi: false, labels: [], metadata: {} },
      { maxTextChars: 200_000 },
    );
    return {
      id: `art_bench${String(i).padStart(8, '0')}`,
      external_id: p.externalId,
      account_id: p.accountId,
      text: p.text,
      lang: p.lang,
      content_hash: p.contentHash,
      posted: new Date(start + i * 120).toISOString(),
    };
  });
  await ctx.db.query(
    `WITH input AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id text, external_id text, account_id text, text text, lang text, content_hash text, posted timestamptz)),
     seed AS (SELECT s.model_version, s.config_version, s.reasons, s.segments, s.signals, s.timings FROM scores s WHERE s.article_id = $2),
     arts AS (
       INSERT INTO articles (id, tenant_id, external_id, account_id, text, lang, content_hash, published_at, status, score, label, verdict, model_version, config_version, scored_at)
       SELECT x.id, $3, x.external_id, x.account_id, x.text, x.lang, x.content_hash, x.posted, 'scored', 0.3, 'human', 'pass', seed.model_version, seed.config_version, now()
         FROM input x, seed
     ), scs AS (
       INSERT INTO scores (id, article_id, tenant_id, revision, content_hash, model_version, config_version, score, label, verdict, reasons, segments, signals, timings)
       SELECT 'scr_' || x.id, x.id, $3, 1, x.content_hash, seed.model_version, seed.config_version, 0.3, 'human', 'pass', seed.reasons, seed.segments, seed.signals, seed.timings
         FROM input x, seed
     ), cl AS (
       INSERT INTO clusters (id, tenant_id, size, account_count, first_posted_at, last_posted_at) VALUES ($4, $3, $5, 500, $6, $7)
     )
     INSERT INTO cluster_members (tenant_id, article_id, cluster_id, account_id, posted_at, similarity)
     SELECT $3, x.id, $4, x.account_id, x.posted, 0.9 FROM input x`,
    [JSON.stringify(rows), seed.id, TENANT, clusterId, MEMBERS, rows[0]!.posted, rows[rows.length - 1]!.posted],
  );
  return clusterId;
}

async function main() {
  const schema = `bench_reeval_${randomBytes(4).toString('hex')}`;
  const prefix = `sgre${randomBytes(4).toString('hex')}`;
  const admin = createPgDb(BENCH_DATABASE_URL);
  await admin.query(`CREATE SCHEMA ${schema}`);
  const config = buildConfig({
    ...process.env,
    DATABASE_URL: BENCH_DATABASE_URL,
    REDIS_URL: BENCH_REDIS_URL,
    DATABASE_SCHEMA: schema,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    OUTBOX_POLL_MS: process.env.OUTBOX_POLL_MS ?? '50',
  });
  const ctx = await createContext(config, 'all', { logger: createLogger(config.logLevel) });
  const workers = await startWorkers(ctx, ctx.worker!, { reconcile: false });
  const done = new Map<string, (at: number) => void>();
  workers.scoreWorker.on('completed', (job) => {
    const id = (job.data as { articleId: string }).articleId;
    done.get(id)?.(performance.now());
    done.delete(id);
  });
  const waitScored = (id: string) => new Promise<number>((resolve) => done.set(id, resolve));
  const texts = await liveTexts(400);
  let live = 0;
  /** Live articles one after another (a few per second), submit -> score committed, in ms: n of them, or while `running`. */
  const liveLatency = async (n: number, running?: () => boolean): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; running ? running() : i < n; i++) {
      const externalId = `live-${live++}`;
      const prepared = prepareArticle(
        { externalId, accountId: `reader-${live % 11}`, text: texts[live % texts.length]!, declaredAi: false, labels: [], metadata: {} },
        { maxTextChars: 200_000 },
      );
      const started = performance.now();
      const r = await ctx.articles.submitOne({ tenantId: 'live', actor: 'bench' }, prepared);
      out.push((await waitScored(r.id)) - started);
      await sleep(40);
    }
    return out;
  };
  try {
    process.stderr.write(`seeding a cluster of ${MEMBERS} members...\n`);
    const clusterId = await seedCluster(ctx, waitScored);
    await liveLatency(10); // warm
    const before = await liveLatency(LIVE);

    const reevalCounts = () => ctx.queues.reevaluate.getJobCounts('waiting', 'active', 'delayed', 'completed') as Promise<Record<string, number>>;
    const t0 = performance.now();
    await ctx.db.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'cluster', $2, 'cluster.grew', 'system:clusters', $3::jsonb)`, [
      TENANT,
      clusterId,
      JSON.stringify({ clusterId, accounts: 500, size: MEMBERS, trigger: 'art_bench00000000' }),
    ]);
    const jobs = Math.ceil(MEMBERS / config.reevaluation.chunk);
    let planned = Number.NaN;
    let finished = false;
    const watcher = (async () => {
      for (;;) {
        const c = await reevalCounts();
        const total = (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.completed ?? 0);
        if (Number.isNaN(planned) && total >= jobs) planned = performance.now() - t0;
        if ((c.completed ?? 0) >= jobs) break;
        await sleep(20);
      }
      finished = true;
    })();
    const during = await liveLatency(0, () => !finished);
    await watcher;
    const total = (performance.now() - t0) / 1000;
    const [raised] = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE type = 'article.verdict_changed' AND tenant_id = $1`, [TENANT]);
    const after = await liveLatency(LIVE);

    const row = (name: string, xs: number[]) =>
      `  ${name.padEnd(28)} n=${String(xs.length).padStart(4)}  p50 ${fmt(pct(xs, 50)).padStart(8)} ms  p99 ${fmt(pct(xs, 99)).padStart(8)} ms`;
    process.stdout.write(
      [
        `re-evaluation of a ${MEMBERS}-member cluster (REEVALUATE_CHUNK=${config.reevaluation.chunk}, REEVALUATE_CONCURRENCY=${config.reevaluation.concurrency}, detector ${config.model.detectorEnabled ? 'on' : 'off'})`,
        `  planned (event -> ${jobs} jobs queued)  ${fmt(planned)} ms`,
        `  total (event -> last job done)     ${fmt(total, 2)} s   ${fmt(MEMBERS / total, 0)} articles/s   verdicts raised: ${raised!.n}`,
        'live scoring latency (submit -> score committed), side by side:',
        row('before (idle)', before),
        row('during re-evaluation', during),
        row('after (idle)', after),
        `  p99 during / p99 idle: ${fmt(pct(during, 99) / Math.max(pct(before, 99), pct(after, 99)), 2)}x`,
        '',
      ].join('\n'),
    );
  } finally {
    await workers.close();
    await ctx.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await admin.close();
    const { dropRedisPrefix } = await import('../test/helpers/context.ts');
    await dropRedisPrefix(BENCH_REDIS_URL, prefix);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
