import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, modelObserver } from '../../src/infra/metrics.ts';
import { createDetectorScorer } from '../../src/scoring/detector.ts';
import { createTestEnv, spawnService, type TestEnv, waitFor } from '../helpers/context.ts';

/** The value of one series in a Prometheus text exposition (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('/metrics', () => {
  let env: TestEnv;
  let receiver: Server;
  let port: number;
  beforeAll(async () => {
    receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(200).end()));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
    env = await createTestEnv({
      workers: true,
      env: { WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', WEBHOOK_ATTEMPTS: '1', WEBHOOK_BACKOFF_MS: '10', RESCAN_STEP_MS: '20' },
    });
  });
  afterAll(async () => {
    await env.close();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  const scrape = async () => {
    const res = await env.request('GET', '/metrics');
    expect(res.status).toBe(200);
    return res.text();
  };

  it('exposes process and Node metrics, and webhook, import and rescan counters that move, with no tenant or article ids as labels', async () => {
    const admin = await env.keyFor('admin');
    const before = await scrape();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(before).toContain(`${name} `);
    }
    for (const name of ['slopguard_model_windows_total', 'slopguard_model_batch_size', 'slopguard_model_forward_seconds', 'slopguard_model_thread_restarts_total']) {
      expect(before).toContain(`# TYPE ${name} `);
    }

    // One receiver that answers 200, one closed port: delivered, then failed and dead (1 attempt).
    for (const url of [`http://127.0.0.1:${port}/ok`, 'http://127.0.0.1:9/closed']) {
      expect((await env.request('POST', '/v1/webhooks', { key: admin, body: { url, events: ['article.scored'] } })).status).toBe(201);
    }
    const lines = [
      { externalId: 'm-1', accountId: 'acct-m', text: 'The ferry timetable changes on Monday; the harbour office posted the new times this morning.' },
      { externalId: 'm-2', accountId: 'acct-m' },
    ];
    const imported = await env.request('POST', '/v1/imports', {
      key: admin,
      raw: lines.map((l) => JSON.stringify(l)).join('\n'),
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(imported.status).toBe(202);
    const { id: importId } = (await imported.json()) as { id: string };
    await waitFor(async () => {
      const text = await scrape();
      return sample(text, 'slopguard_webhook_deliveries_total{outcome="delivered"}') >= 1 && sample(text, 'slopguard_webhook_deliveries_total{outcome="dead"}') >= 1;
    });
    let text = await scrape();
    expect(sample(text, 'slopguard_webhook_deliveries_total{outcome="failed"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'slopguard_import_lines_total{outcome="accepted"}')).toBe(1);
    expect(sample(text, 'slopguard_import_lines_total{outcome="rejected"}')).toBe(1);
    expect(sample(text, 'slopguard_historical_runs{kind="import",status="completed"}')).toBe(1);

    const rescan = await env.request('POST', '/v1/rescans', { key: admin, body: { filter: {} } });
    expect(rescan.status).toBe(202);
    const { id: rescanId } = (await rescan.json()) as { id: string };
    await waitFor(async () => {
      const view = (await (await env.request('GET', `/v1/rescans/${rescanId}`, { key: admin })).json()) as { status: string };
      return view.status === 'completed';
    });
    text = await scrape();
    const rescanned = ['rescored', 'unchanged', 'superseded', 'failed'].reduce((n, o) => n + sample(text, `slopguard_rescan_articles_total{outcome="${o}"}`), 0);
    expect(rescanned).toBe(1);
    expect(sample(text, 'slopguard_historical_runs{kind="rescan",status="completed"}')).toBe(1);
    expect(sample(text, 'slopguard_rescan_backlog_articles')).toBe(0);

    // Bounded labels: no tenant, article, import or rescan id anywhere in the exposition.
    for (const id of ['tenant-a', 'acct-m', 'm-1', importId, rescanId]) expect(text).not.toContain(id);
  });
});

describe('model metrics', () => {
  it('count windows and articles, and record batch sizes and forward-pass latency', async () => {
    const metrics = createMetrics();
    const detector = createDetectorScorer({
      modelDir: fileURLToPath(new URL('../../models', import.meta.url)),
      maxBatch: 16,
      batchWaitMs: 2,
      observer: modelObserver(metrics),
    });
    try {
      await detector.load();
      const text = 'The council voted 7-2 on Tuesday to extend the ferry contract. '.repeat(40);
      await Promise.all([
        detector.score({ text, title: null, lang: 'en' }),
        detector.score({ text: '今天下午三点，老板陈建国一边擦桌子一边跟我们聊起了这二十年的变化。'.repeat(20), title: null, lang: 'zh' }),
      ]);
      const out = await metrics.registry.metrics();
      const windows = sample(out, 'slopguard_model_windows_total{priority="live"}');
      expect(windows).toBeGreaterThanOrEqual(2);
      expect(sample(out, 'slopguard_model_articles_total{priority="live"}')).toBe(2);
      expect(sample(out, 'slopguard_model_batch_size_sum{priority="live"}')).toBe(windows);
      expect(sample(out, 'slopguard_model_forward_seconds_count{priority="live"}')).toBeGreaterThanOrEqual(1);
      expect(sample(out, 'slopguard_model_forward_seconds_sum{priority="live"}')).toBeGreaterThan(0);
      expect(sample(out, 'slopguard_model_thread_restarts_total')).toBe(0);
    } finally {
      await detector.close();
    }
  }, 60_000);
});

describe('a worker process', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env.close();
  });

  it('serves its own /metrics (the model and delivery metrics are counted there, not in the API)', async () => {
    // A free port for the worker's metrics.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const worker = spawnService(env, 'worker', { WORKER_METRICS_PORT: String(port), DETECTOR_ENABLED: 'false' });
    try {
      const text = await waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null);
        return res?.status === 200 ? res.text() : undefined;
      }, 60_000);
      expect(text).toContain('# TYPE slopguard_model_windows_total counter');
      expect(text).toContain('# TYPE slopguard_webhook_deliveries_total counter');
      expect(text).toContain('process_cpu_user_seconds_total ');
      expect((await fetch(`http://127.0.0.1:${port}/nothing`)).status).toBe(404);
    } finally {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
  }, 90_000);
});
