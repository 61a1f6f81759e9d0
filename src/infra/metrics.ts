import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one process, on a registry of its own (tests build several). */
export function createMetrics() {
  const registry = new Registry();
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
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
