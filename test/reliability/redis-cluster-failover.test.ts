import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTargetOf } from '../../src/config.ts';
import { createRedisClient, keySlot, PRODUCER_COMMAND_TIMEOUT_MS, queuePrefix } from '../../src/infra/redis.ts';
import { QUEUES } from '../../src/jobs/catalog.ts';
import { defaultFusionConfig } from '../../src/scoring/fusion-config.ts';
import { createTextSignalsScorer } from '../../src/scoring/text-signals/index.ts';
import type { ArticleToScore } from '../../src/domain/types.ts';
import { createPipeline } from '../../src/services/pipeline.ts';
import { AccountSignals } from '../../src/signals/account-signals.ts';
import { accountSignalSettingsSchema } from '../../src/signals/settings.ts';
import { createTestEnv, type TestEnv, waitFor } from '../helpers/context.ts';
import { ZH_TEMPLATES, loadDataset, rng, templateVariant } from '../signals/scenarios.ts';

/**
 * Destructive tests on a throwaway Redis Cluster of its own (ports 7110..7115, started here
 * and stopped after), so the shared cluster on 7100.. stays healthy for everyone else.
 */
const BASE = 7110;
const URL = `redis-cluster://127.0.0.1:${BASE},127.0.0.1:${BASE + 1},127.0.0.1:${BASE + 2}`;
const script = path.join(import.meta.dirname, '..', '..', '.ci', 'redis-cluster');

function cluster(...args: string[]): void {
  const run = spawnSync(script, [String(BASE), ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`.ci/redis-cluster ${BASE} ${args.join(' ')}: ${run.stderr}`);
}

/** A connection to a node that answers (a killed one does not). */
async function liveNode(): Promise<Redis> {
  for (let port = BASE; port < BASE + 6; port++) {
    const node = new Redis(port, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    node.on('error', () => undefined);
    try {
      await node.connect();
      return node;
    } catch {
      node.disconnect();
    }
  }
  throw new Error(`no node of the cluster on ${BASE}.. answers`);
}

/** The port of the master serving a key's slot, from a live node's view. */
async function masterOf(key: string): Promise<number> {
  const probe = await liveNode();
  try {
    const slots = (await probe.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
    const slot = keySlot(key);
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no master serves slot ${slot}`);
    return range[2][1];
  } finally {
    probe.disconnect();
  }
}

/** Waits until a live node reports the cluster whole again (its replica took over); says how it looks if not. */
async function clusterOk(timeoutMs = 30_000): Promise<void> {
  const node = await liveNode();
  try {
    const deadline = Date.now() + timeoutMs;
    while (!((await node.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error(`no failover within ${timeoutMs} ms:\n${await node.call('CLUSTER', 'NODES')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    node.disconnect();
  }
}

async function serverPid(port: number): Promise<number> {
  const node = new Redis(port);
  try {
    return Number(/process_id:(\d+)/.exec(await node.info('server'))?.[1]);
  } finally {
    node.disconnect();
  }
}

// Distinct human articles from distinct accounts: no farm and no burst forms, so no
// re-evaluation adds a second evaluation on purpose.
const human = loadDataset('dev.jsonl.gz')
  .filter((d) => d.label === 'human' && d.lang === 'zh')
  .map((d) => d.text);
const text = (i: number) => human[i % human.length]!;

describe('a Redis Cluster master fails during traffic', () => {
  beforeAll(() => {
    cluster('stop');
    cluster();
  }, 120_000);
  afterAll(() => {
    cluster('stop');
  });

  it('every accepted article is scored exactly once after the replica of the queue master takes over', async () => {
    const env: TestEnv = await createTestEnv({
      workers: true,
      redisUrl: URL,
      // The reconciler queues again what an enqueue lost to the failover.
      env: { RECONCILE_INTERVAL_MS: '500', RECONCILE_AFTER_MS: '2000', SCORE_CONCURRENCY: '4' },
      workerOptions: { reconcile: true },
    });
    try {
      const key = await env.keyFor('submitter');
      const queueMaster = await masterOf(`${queuePrefix(env.config, QUEUES.score)}:x`);
      const accepted: string[] = [];
      const statuses: number[] = [];
      let killedAt = -1;
      const submit = async (i: number) => {
        const res = await env.request('POST', '/v1/articles', { key, body: { externalId: `fo-${i}`, accountId: `acct-${i}`, text: text(i) } });
        statuses.push(res.status);
        if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
      };
      // Four streams of submissions; the master holding the score queue is killed a third of the way in.
      const total = 60;
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < total) {
            const i = next++;
            if (i === 20) {
              killedAt = accepted.length;
              process.kill(await serverPid(queueMaster), 'SIGKILL');
            }
            await submit(i);
            await new Promise((r) => setTimeout(r, 40));
          }
        }),
      );
      expect(killedAt).toBeGreaterThan(0);
      await clusterOk();
      // Traffic went on through the failover: articles were accepted after the kill.
      expect(accepted.length).toBeGreaterThan(killedAt + 10);
      // Nothing but 202 or a clean 503 while the queue's slot had no master.
      expect(statuses.filter((s) => s !== 202 && s !== 503)).toEqual([]);

      const scoredCount = async () => (await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM articles WHERE id = ANY($1) AND status = 'scored'", [accepted]))[0]!.n;
      await waitFor(async () => (await scoredCount()) === accepted.length, 90_000, 250);
      const scores = await env.ctx.db.query<{ id: string; n: number }>('SELECT article_id AS id, count(*)::int AS n FROM scores WHERE article_id = ANY($1) GROUP BY article_id', [
        accepted,
      ]);
      expect(scores).toHaveLength(accepted.length);
      expect(scores.filter((s) => s.n !== 1)).toEqual([]);
      const scoredEvents = await env.ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE type = 'article.scored' AND subject_id = ANY($1)", [accepted]);
      expect(scoredEvents[0]!.n).toBe(accepted.length);
    } finally {
      await env.close();
    }
  }, 360_000);

  it('signals of a master that does not answer are left out with a reason, and the article is still scored', async () => {
    const redis = createRedisClient(redisTargetOf(URL)!, 'producer');
    await redis.connect();
    const prefix = `sgfo:${Date.now()}:`;
    const account = new AccountSignals(redis, accountSignalSettingsSchema.parse({}), prefix);
    const text = createTextSignalsScorer();
    await text.load();
    const pipeline = createPipeline({ text, detector: null, zeroShot: null, account, fusion: defaultFusionConfig });
    const r = rng(5);
    const template = ZH_TEMPLATES[2]!;
    const article = (id: string, accountId: string): ArticleToScore => ({
      id,
      tenantId: 't1',
      accountId,
      title: null,
      text: templateVariant(template, r),
      lang: 'zh',
      declaredAi: false,
      metadata: {},
      postedAt: new Date(),
    });
    try {
      const before = await pipeline.run(article('before', 'u1'));
      expect(before.reasons.map((x) => x.code)).not.toContain('account_signals_unavailable');
      // One master stops answering clients (the cluster bus goes on, so no failover): an
      // article's 32 bands over three masters always touch it.
      const node = new Redis(await masterOf(`${prefix}t:t1:a:x`));
      await node.call('CLIENT', 'PAUSE', String(PRODUCER_COMMAND_TIMEOUT_MS + 1000), 'ALL');
      node.disconnect();
      const during = await pipeline.run(article('during', 'u2'));
      const reason = during.reasons.find((x) => x.code === 'account_signals_unavailable');
      expect(reason?.message.en).toContain('near-duplicate index');
      expect(reason?.contribution).toBe(0);
      expect(['pass', 'review', 'flag']).toContain(during.verdict);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
