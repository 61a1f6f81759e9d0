import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it, expect } from 'vitest';
import { buildConfig } from '../../src/config.ts';
import { createContext } from '../../src/context.ts';
import { iterateStream } from '../../src/infra/ndjson.ts';
import { startWorkers } from '../../src/workers/index.ts';
import { dropRedisPrefix, TEST_REDIS_URL, uniqueName, waitFor } from '../helpers/context.ts';

it('embedded default (PGlite): an import is scored on the rescore queue and a rescan completes', async () => {
  const prefix = uniqueName('sgp');
  const config = buildConfig({
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'sgpg-')),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    DETECTOR_ENABLED: 'false',
    RESCAN_STEP_MS: '20',
  });
  const ctx = await createContext(config, 'all');
  const workers = await startWorkers(ctx, ctx.worker!, { reconcile: false });
  try {
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(Array.from({ length: 300 }, (_, i) => JSON.stringify({ externalId: `p-${i}`, accountId: 'a', text: `第${i}篇。随着科技的不断发展。` })).join('\n')));
        c.close();
      },
    });
    const run = await ctx.imports.run({ tenantId: 't', actor: 'x' }, iterateStream(body), { gzip: 'auto' });
    expect(run.view.accepted).toBe(300);
    await waitFor(async () => (await ctx.imports.get('t', run.view.id))!.scored === 300, 60_000, 100);
    const r = await ctx.rescans.create({ tenantId: 't', actor: 'x' }, {});
    const done = await waitFor(
      async () => {
        const v = (await ctx.rescans.get('t', r.id))!;
        return v.status === 'completed' ? v : undefined;
      },
      60_000,
      100,
    );
    expect(done.done).toBe(300);
  } finally {
    await workers.close();
    await ctx.close();
    await dropRedisPrefix(TEST_REDIS_URL, prefix);
  }
}, 120_000);
