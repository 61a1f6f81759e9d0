/**
 * Comment benchmark (`npm run bench:comments`), figures side by side in one run:
 *
 * 1. Comments scored per second by one worker process: the farm scenario's comments (HC3 human
 *    comments, farm templates, short praise; see src/eval/comment-corpus.ts) submitted through
 *    the comment service into PostgreSQL, scored by this process's comment worker (concurrency
 *    COMMENT_CONCURRENCY, default 8) end to end: read, relevance, tone, template index, account
 *    signals, boosting, fusion, score write with its event. Beside it, the pipeline alone (no
 *    database), one comment at a time.
 * 2. Near-duplicate lookups (the template index: one atomic lookup + insert, verification, template
 *    assignment) with 10k, 100k and 1M comments stored, on a private redis-server without
 *    persistence: time per lookup (p50, p99, mean) for probes that are template copies and probes
 *    that are new, and the cost per stored comment while loading: Redis memory, Redis commands
 *    (scripts count as one, their inner calls apart) and Redis CPU time.
 *
 *   npm run bench:comments                                  # everything
 *   npm run bench:comments -- --sizes 10000,100000 --scored 2000
 *   npm run bench:comments -- --parts lookups
 *
 * Needs PostgreSQL (BENCH_DATABASE_URL, default the test database), Redis (BENCH_REDIS_URL) for
 * part 1, `redis-server` on PATH for part 2, and the shared datasets.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { buildConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import { buildScenario, FARM_TEMPLATES, loadHumanThreads, prng } from '../src/eval/comment-corpus.ts';
import { startEmbeddedRedis } from '../src/infra/redis-server.ts';
import { articleInputSchema } from '../src/domain/article-input.ts';
import { prepareArticle } from '../src/services/articles.ts';
import { buildCommentPipeline, buildCommentScoring } from '../src/services/comment-runtime.ts';
import { commentTemplateSettingsSchema, CommentTemplates } from '../src/signals/comment-templates.ts';
import { startCommentWorker } from '../src/workers/comment-worker.ts';
import { benchStore, fmt } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    probes: { type: 'string', default: '400' },
    scored: { type: 'string', default: '3000' },
    /** Which parts to run: scoring, lookups (both by default). */
    parts: { type: 'string', default: 'scoring,lookups' },
    datasets: { type: 'string', default: existsSync('../shared/datasets') ? '../shared/datasets' : '/work/shared/datasets' },
  },
});

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function scoringRate(): Promise<{ endToEnd: number; pipelineOnly: number; n: number; concurrency: number }> {
  const store = await benchStore('cbench');
  const config = buildConfig({ ...store.env, DETECTOR_ENABLED: 'false', LOG_LEVEL: 'error', COMMENT_CONCURRENCY: '8' });
  const ctx = await createContext(config, 'api');
  try {
    const scenario = buildScenario(await loadHumanThreads(args.datasets));
    for (let i = 0; i < scenario.articles.length; i += 200) {
      await ctx.articles.submit(
        { tenantId: 'bench', actor: 'bench' },
        scenario.articles.slice(i, i + 200).map((a) => prepareArticle(articleInputSchema.parse(a), { maxTextChars: 200_000 })),
      );
    }
    const n = Number(args.scored);
    const comments = Array.from({ length: n }, (_, i) => {
      const c = scenario.comments[i % scenario.comments.length]!;
      const round = Math.floor(i / scenario.comments.length);
      return { externalId: `${c.externalId}-r${round}`, accountId: c.accountId, articleExternalId: c.articleExternalId, text: c.text, postedAt: c.postedAt };
    });

    // The pipeline alone, one comment at a time, on its own key prefix (articles read from the store).
    const deps = { redis: ctx.redis, config, articles: ctx.articles, comments: ctx.comments, detector: null };
    const alone = buildCommentPipeline(deps, `${config.redisPrefix}x`);
    const aloneStart = performance.now();
    for (const [i, c] of comments.entries()) {
      const at = new Date(c.postedAt);
      await alone.run({
        id: `x${i}`,
        tenantId: 'bench',
        accountId: c.accountId,
        articleExternalId: c.articleExternalId,
        parentExternalId: null,
        articleAccountId: null,
        text: c.text,
        lang: 'zh',
        postedAt: at,
        receivedAt: at,
        declaredAi: false,
      });
    }
    const pipelineOnly = n / ((performance.now() - aloneStart) / 1000);

    const scoring = buildCommentScoring(ctx.db, deps);
    for (let i = 0; i < n; i += 500) await ctx.comments.submitMany({ tenantId: 'bench', actor: 'bench' }, comments.slice(i, i + 500), 'live');
    const started = performance.now();
    const worker = startCommentWorker(ctx, scoring, { concurrency: config.comments.concurrency });
    for (;;) {
      const [row] = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM comments WHERE tenant_id = 'bench' AND status = 'scored'`);
      if ((row?.n ?? 0) >= n) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const endToEnd = n / ((performance.now() - started) / 1000);
    await worker.close(10_000);
    return { endToEnd, pipelineOnly, n, concurrency: config.comments.concurrency };
  } finally {
    await ctx.close();
    await store.drop();
  }
}

/** Han characters people write, for comments that are new (not copies of anything). */
const POOL = Array.from(new Set(FARM_TEMPLATES.join('').replace(/[^\u4e00-\u9fff]/g, '') + '今天天气不错我们去公园玩了一下午孩子很开心晚上吃火锅价格有点贵但是味道很好下次还来'));

function novelComment(rand: () => number): string {
  const len = 12 + Math.floor(rand() * 28);
  let s = '';
  for (let i = 0; i < len; i++) s += POOL[Math.floor(rand() * POOL.length)];
  return s;
}

/** Redis's own cost so far: commands run and CPU seconds (INFO commandstats / cpu). */
async function redisCost(redis: Redis): Promise<{ commands: number; cpuSeconds: number }> {
  const stats = await redis.info('commandstats');
  let commands = 0;
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (!m[1]!.startsWith('info')) commands += Number(m[2]);
  const cpu = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { commands, cpuSeconds: field('used_cpu_user') + field('used_cpu_sys') };
}

async function lookups(): Promise<
  { size: number; copy: number[]; fresh: number[]; bytesPerComment: number; loadPerSecond: number; commandsPerComment: number; redisCpuUsPerComment: number }[]
> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-bench-comments-'));
  const server = await startEmbeddedRedis(dir);
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  await redis.config('SET', 'appendonly', 'no');
  const templates = new CommentTemplates(redis, commentTemplateSettingsSchema.parse({}), 'b:');
  const rand = prng(99);
  const sizes = args.sizes
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
  const out: Awaited<ReturnType<typeof lookups>> = [];
  let stored = 0;
  const t0 = Date.parse('2026-11-20T00:00:00Z');
  try {
    const baseline = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
    for (const size of sizes) {
      const loadStart = performance.now();
      const loadFrom = stored;
      const costFrom = await redisCost(redis);
      // Load with 64 lookups in flight (the worker's concurrency across processes); 1% are template copies.
      while (stored < size) {
        const batch = Math.min(64, size - stored);
        await Promise.all(
          Array.from({ length: batch }, (_, k) => {
            const i = stored + k;
            const text = i % 100 === 0 ? FARM_TEMPLATES[i % FARM_TEMPLATES.length]! : novelComment(rand);
            return templates.observe({ tenantId: 't', commentId: `c${i}`, accountId: `a${i % 50_000}`, articleKey: `p${i % 20_000}`, text, lang: 'zh', postedAt: t0 + i });
          }),
        );
        stored += batch;
      }
      const loadPerSecond = (stored - loadFrom) / ((performance.now() - loadStart) / 1000);
      const costTo = await redisCost(redis);
      const commandsPerComment = (costTo.commands - costFrom.commands) / (stored - loadFrom);
      const redisCpuUsPerComment = ((costTo.cpuSeconds - costFrom.cpuSeconds) * 1e6) / (stored - loadFrom);
      const memory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
      const copy: number[] = [];
      const fresh: number[] = [];
      const probes = Number(args.probes);
      for (let p = 0; p < probes; p++) {
        const isCopy = p % 2 === 0;
        const text = isCopy ? `${FARM_TEMPLATES[p % FARM_TEMPLATES.length]!}${p % 3 === 0 ? '!!' : ''}` : novelComment(rand);
        const s = performance.now();
        await templates.observe({ tenantId: 't', commentId: `probe-${size}-${p}`, accountId: `probe-${p}`, articleKey: `q${p}`, text, lang: 'zh', postedAt: t0 + size + p });
        (isCopy ? copy : fresh).push(performance.now() - s);
      }
      stored += probes;
      out.push({ size, copy, fresh, bytesPerComment: (memory - baseline) / size, loadPerSecond, commandsPerComment, redisCpuUsPerComment });
      console.error(`  ${size.toLocaleString('en-US')} stored (loaded at ${fmt(loadPerSecond, 0)}/s)`);
    }
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function main(): Promise<void> {
  console.log(
    `comment bench, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const parts = new Set(args.parts.split(','));
  if (parts.has('scoring')) {
    const rate = await scoringRate();
    console.log(
      `\n1. scoring, one worker process (concurrency ${rate.concurrency}), ${rate.n} comments, detector off (comments under ${buildConfig({}).comments.detectorMinLength} characters do not run it):`,
    );
    console.log(`   end to end (PostgreSQL read + write, Redis signals): ${fmt(rate.endToEnd, 0)} comments/s`);
    console.log(`   the pipeline alone, one at a time (article read, Redis signals, fusion; no score write): ${fmt(rate.pipelineOnly, 0)} comments/s`);
  }
  if (!parts.has('lookups')) return;
  console.error('2. loading the template index...');
  const rows = await lookups();
  console.log('\n2. near-duplicate lookup + insert, one at a time (ms):\n');
  console.log(
    '| stored comments | copy p50 | copy p99 | copy mean | new p50 | new p99 | new mean | Redis bytes/comment | load rate (64 in flight) | Redis commands/comment | Redis CPU µs/comment |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.size.toLocaleString('en-US')} | ${fmt(quantile(r.copy, 0.5), 2)} | ${fmt(quantile(r.copy, 0.99), 2)} | ${fmt(mean(r.copy), 2)} | ${fmt(quantile(r.fresh, 0.5), 2)} | ${fmt(quantile(r.fresh, 0.99), 2)} | ${fmt(mean(r.fresh), 2)} | ${fmt(r.bytesPerComment, 0)} | ${fmt(r.loadPerSecond, 0)}/s | ${fmt(r.commandsPerComment, 1)} | ${fmt(r.redisCpuUsPerComment, 0)} |`,
    );
  }
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first && last && first !== last)
    console.log(
      `\n   p50 ratio ${last.size.toLocaleString('en-US')} / ${first.size.toLocaleString('en-US')}: copies ${fmt(quantile(last.copy, 0.5) / quantile(first.copy, 0.5), 2)}x, new ${fmt(quantile(last.fresh, 0.5) / quantile(first.fresh, 0.5), 2)}x`,
    );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
