import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one process, on a registry of its own (tests build several). Labels
 * take values from small fixed sets (method, route pattern, status, queue, outcome, verdict):
 * never a tenant, article, key or webhook id, so the series count stays bounded.
 */
export function createMetrics() {
  const registry = new Registry();
  // Process CPU, memory, file descriptors, event-loop lag, GC, heap spaces, Node version.
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'slopguard_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'slopguard_job_duration_seconds',
      help: 'Scoring job duration',
      labelNames: ['queue', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    verdicts: new Counter({
      name: 'slopguard_verdicts_total',
      help: 'Verdicts written, by verdict and label',
      labelNames: ['verdict', 'label'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'slopguard_queue_depth',
      help: 'Jobs waiting or delayed per queue (sampled at scrape time)',
      labelNames: ['queue', 'state'],
      registers: [registry],
    }),
    modelWindows: new Counter({
      name: 'slopguard_model_windows_total',
      help: 'Text windows through the transformer (rate(): windows per second), live or background (imports, rescans)',
      labelNames: ['priority'],
      registers: [registry],
    }),
    modelArticles: new Counter({
      name: 'slopguard_model_articles_total',
      help: 'Articles scored by the transformer (rate(): articles per second)',
      labelNames: ['priority'],
      registers: [registry],
    }),
    modelBatchSize: new Histogram({
      name: 'slopguard_model_batch_size',
      help: 'Windows per forward pass',
      labelNames: ['priority'],
      buckets: [1, 2, 4, 8, 12, 16, 24, 32, 64],
      registers: [registry],
    }),
    modelForwardSeconds: new Histogram({
      name: 'slopguard_model_forward_seconds',
      help: 'Forward-pass latency (one batch on a model thread)',
      labelNames: ['priority'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    modelThreadRestarts: new Counter({
      name: 'slopguard_model_thread_restarts_total',
      help: 'Model threads found dead and replaced',
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'slopguard_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered, failed (retried later), dead (attempts exhausted)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    importLines: new Counter({
      name: 'slopguard_import_lines_total',
      help: 'NDJSON import lines read, by outcome: accepted, duplicate, rejected',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    rescanArticles: new Counter({
      name: 'slopguard_rescan_articles_total',
      help: 'Rescan articles finished, by outcome: rescored, unchanged (already scored), superseded, failed',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    importRescanRuns: new Gauge({
      name: 'slopguard_historical_runs',
      help: 'Imports and rescans by status (sampled at scrape time)',
      labelNames: ['kind', 'status'],
      registers: [registry],
    }),
    rescanBacklog: new Gauge({
      name: 'slopguard_rescan_backlog_articles',
      help: 'Articles running rescans have still to finish (total - done - failed - skipped - cancelled; sampled at scrape time)',
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** What the model's batcher reports, without the scoring module knowing about Prometheus. */
export interface ModelObserver {
  pass(windows: number, seconds: number, background: boolean): void;
  article(background: boolean): void;
  threadRestart(): void;
}

export function modelObserver(metrics: Metrics): ModelObserver {
  const priority = (background: boolean) => (background ? 'background' : 'live');
  return {
    pass(windows, seconds, background) {
      const labels = { priority: priority(background) };
      metrics.modelWindows.inc(labels, windows);
      metrics.modelBatchSize.observe(labels, windows);
      metrics.modelForwardSeconds.observe(labels, seconds);
    },
    article(background) {
      metrics.modelArticles.inc({ priority: priority(background) });
    },
    threadRestart() {
      metrics.modelThreadRestarts.inc();
    },
  };
}
