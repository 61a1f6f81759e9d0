import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config.ts';
import { type AppContext, createContext } from '../../src/context.ts';
import { createApp } from '../../src/api/app.ts';
import { type RunningWorkers, startWorkers } from '../../src/workers/index.ts';
import { dropRedisPrefix, TEST_REDIS_URL, uniqueName, waitFor } from '../helpers/context.ts';

describe('embedded default: PGlite in the data folder, all in one process', () => {
  let dir: string;
  let prefix: string;
  let ctx: AppContext;
  let workers: RunningWorkers;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sg-pglite-'));
    prefix = uniqueName('sgt');
    ctx = await createContext(buildConfig({ DATA_DIR: dir, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'silent', DETECTOR_ENABLED: 'false' }), 'all');
    workers = await startWorkers(ctx, ctx.worker!, { reconcile: false });
  });
  afterAll(async () => {
    await workers.close();
    await ctx.close();
    await dropRedisPrefix(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates, accepts, scores and serves the verdict', async () => {
    const app = createApp(ctx.api!);
    const { key } = await ctx.keys.create('default', 'submitter');
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const res = await app.request('/v1/articles', {
      method: 'POST',
      headers,
      body: JSON.stringify({ externalId: 'p1', accountId: 'a', text: 'The council met on Tuesday at 7 pm in the old library on Main Street to vote on the 2027 budget.' }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const article = await waitFor(async () => {
      const a = (await (await app.request(`/v1/articles/${id}`, { headers })).json()) as { status: string; result: { verdict: string } | null };
      return a.status === 'scored' ? a : undefined;
    });
    expect(article.result?.verdict).toBeDefined();
    expect(await ctx.db.query('SELECT id FROM scores WHERE article_id = $1', [id])).toHaveLength(1);
  });
});
