import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { type AccountSignalSettings, accountSignalSettingsSchema } from './signals/settings.ts';

/**
 * The only module that reads the environment. `loadConfig()` parses it once with zod, prints
 * every field error and refuses to start; tests call `buildConfig()` with overrides through
 * the same schema.
 */

const int = (def: number) => z.coerce.number().int().nonnegative().default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/** Where Redis is: one server (ioredis takes its URL as is) or a Redis Cluster by its seed nodes. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username: string | undefined; password: string | undefined; tls: boolean };

/**
 * Parses REDIS_URL; null when malformed. A cluster is named by several seed nodes (any one
 * that answers is enough; the client learns the others from it), e.g.
 * `redis-cluster://:secret@10.0.0.5:7000,10.0.0.6:7000,10.0.0.7:7000` ->
 * { kind: 'cluster', nodes: [{ host: '10.0.0.5', port: 7000 }, ...], password: 'secret', tls: false }.
 */
export function redisTargetOf(url: string): RedisTarget | null {
  const cluster = /^(rediss?)-cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#@]+)\/?$/.exec(url);
  if (!cluster) return /^rediss?:\/\/[^\s]+$/.test(url) ? { kind: 'single', url } : null;
  const nodes: { host: string; port: number }[] = [];
  for (const seed of (cluster[4] as string).split(',')) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(seed.trim());
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65_535) return null;
    nodes.push({ host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) });
  }
  const decode = (v: string | undefined) => (v ? decodeURIComponent(v) : undefined);
  return { kind: 'cluster', nodes, username: decode(cluster[2]), password: decode(cluster[3]), tls: cluster[1] === 'rediss' };
}

/** Every variable the service reads, with its default. The README's table mirrors this. */
export const envSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: int(8080),
  // A worker process has no API: it serves its own /metrics here (0: not at all).
  WORKER_METRICS_PORT: int(9464),
  HTTP_HEADERS_TIMEOUT_MS: int(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(600_000),
  HTTP_IDLE_TIMEOUT_MS: int(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(5_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: optionalString,
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _ only')
    .optional(),
  REDIS_URL: optionalString.refine((v) => v === undefined || redisTargetOf(v) !== null, {
    message: 'redis://[user:password@]host:port[/db], rediss://..., or redis-cluster://[user:password@]host:port,host:port,... (rediss-cluster:// for TLS)',
  }),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('sg'),
  MODEL_DIR: z.string().default('./models'),
  DETECTOR_MODEL: z.string().default('slopguard-detector'),
  DETECTOR_ENABLED: bool(true),
  DETECTOR_MAX_BATCH: int(16),
  DETECTOR_BATCH_WAIT_MS: int(2),
  DETECTOR_THREADS: int(0),
  DETECTOR_MODEL_THREADS: int(1),
  AI_ASSISTED_POLICY: z.enum(['lenient', 'strict']).default('lenient'),
  ZEROSHOT_OBSERVER: optionalString,
  ZEROSHOT_PERFORMER: optionalString,
  MAX_BODY_BYTES: int(1_048_576),
  MAX_BATCH_BODY_BYTES: int(33_554_432),
  MAX_TEXT_CHARS: int(200_000),
  MAX_BATCH_ITEMS: int(1000),
  RATE_LIMIT_PER_MINUTE: int(60_000),
  SCORE_CONCURRENCY: int(8),
  SCORE_ATTEMPTS: int(5),
  SCORE_BACKOFF_MS: int(1000),
  SCORE_LOCK_MS: int(30_000),
  KEEP_COMPLETED_JOBS: int(1000),
  KEEP_FAILED_JOBS: int(5000),
  RECONCILE_INTERVAL_MS: int(15_000),
  RECONCILE_AFTER_MS: int(60_000),
  SHUTDOWN_TIMEOUT_MS: int(30_000),
  BOOTSTRAP_TENANT: z.string().min(1).default('default'),
  SIGNALS_RETENTION_SECONDS: int(14 * 24 * 3600),
  NEAR_DUPLICATE_THRESHOLD: z.coerce.number().gt(0).max(1).default(0.5),
  COORDINATION_WINDOW_SECONDS: int(60),
  COORDINATION_MIN_ACCOUNTS: int(3),
  IMPORT_MAX_BYTES: int(1_073_741_824),
  IMPORT_MAX_LINE_BYTES: int(1_048_576),
  IMPORT_CHUNK_LINES: int(500),
  IMPORT_MAX_STORED_ERRORS: int(1000),
  RESCORE_CONCURRENCY: int(2),
  RESCAN_WINDOW: int(2000),
  RESCAN_CHUNK: int(4),
  RESCAN_STEP_MS: int(200),
  REVIEW_LEASE_SECONDS: int(900),
  REVIEW_MAX_LEASE_SECONDS: int(3600),
  REVIEW_MAX_BULK_ITEMS: int(10_000),
  WEBHOOK_ALLOWED_CIDRS: z
    .string()
    .default('')
    .refine(
      (v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .every((cidr) => {
            const [net = '', bits] = cidr.split('/');
            const family = isIP(net);
            const max = family === 4 ? 32 : 128;
            return family !== 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max));
          }),
      'comma-separated addresses or CIDR ranges, e.g. 127.0.0.1/32,10.1.0.0/16',
    ),
  WEBHOOK_ATTEMPTS: int(8),
  WEBHOOK_BACKOFF_MS: int(2000),
  WEBHOOK_TIMEOUT_MS: int(5000),
  WEBHOOK_CONCURRENCY: int(8),
  OUTBOX_DISPATCH: bool(true),
  OUTBOX_POLL_MS: int(250),
  OUTBOX_BATCH: int(500),
  OUTBOX_LEASE_MS: int(15_000),
  REEVALUATE_CHUNK: int(100),
  REEVALUATE_CONCURRENCY: int(2),
  LABEL_PROPAGATOR: z.string().trim().min(1).max(256).default('slopguard'),
  // Comments (issue 16): their own queue and worker concurrency; the detector reads only comments this long.
  COMMENT_CONCURRENCY: int(8),
  COMMENT_DETECTOR_MIN_LENGTH: int(60),
  CONSOLE_SESSION_TTL_SECONDS: int(8 * 3600),
  CONSOLE_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  http: {
    host: string;
    port: number;
    /** A worker process serves its own /metrics here (0: not at all). */
    workerMetricsPort: number;
    /** A client must send its request headers within this long (then 408). */
    headersTimeoutMs: number;
    /** A client must send its whole request, body included, within this long (then 408): bounds a trickled body. */
    requestTimeoutMs: number;
    /** A connection with nothing sent either way for this long is closed: a stalled body is dropped quickly. */
    idleTimeoutMs: number;
    /** An idle keep-alive connection is closed after this long. */
    keepAliveTimeoutMs: number;
  };
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  dataDir: string;
  /** Undefined: embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** Postgres schema (search_path); undefined: the server's default. */
  databaseSchema: string | undefined;
  /** Undefined: a private redis-server started in `dataDir`. */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** REDIS_URL parsed: one server, or the seed nodes of a Redis Cluster; undefined as `redisUrl`. */
  redisTarget: RedisTarget | undefined;
  model: {
    dir: string;
    detector: string;
    detectorEnabled: boolean;
    /** Windows per forward pass, gathered across concurrent jobs. */
    maxBatch: number;
    /** How long a partly filled batch waits for windows of other jobs. */
    batchWaitMs: number;
    /** onnxruntime threads per model thread; 0: onnxruntime's choice (one model thread) or the cores divided among them. */
    threads: number;
    /** Model threads per process, each running forward passes of its own. */
    modelThreads: number;
    /** Causal LM folders under `dir` for the zero-shot scorer; undefined: off. */
    zeroShot: { observer: string; performer: string | undefined } | undefined;
    /** Human text refined by an LLM: `strict` sends more of it to review (fusion-config `aiAssisted`). */
    aiAssisted: 'lenient' | 'strict';
  };
  limits: {
    maxBodyBytes: number;
    maxBatchBodyBytes: number;
    maxTextChars: number;
    maxBatchItems: number;
    rateLimitPerMinute: number;
  };
  scoring: {
    concurrency: number;
    attempts: number;
    backoffMs: number;
    /** A worker that dies holding a job loses it after this long; then it is retried. */
    lockMs: number;
    keepCompleted: number;
    keepFailed: number;
    reconcileIntervalMs: number;
    reconcileAfterMs: number;
  };
  shutdownTimeoutMs: number;
  bootstrapTenant: string;
  accountSignals: AccountSignalSettings;
  /** Bulk NDJSON imports, scored on the low-priority `rescore` queue. */
  imports: {
    /** Decompressed bytes one import may read; past it the import stops (413, the part read stays). */
    maxBytes: number;
    /** Longest NDJSON line; a longer one is rejected on its own, without being buffered. */
    maxLineBytes: number;
    /** Lines stored per transaction. */
    chunkLines: number;
    /** Per-line errors kept per import (the count goes on). */
    maxStoredErrors: number;
  };
  /** Rescans of stored articles, scored on the low-priority `rescore` queue. */
  rescans: {
    /** Concurrency of the `rescore` worker (imports and rescans), separate from SCORE_CONCURRENCY. */
    rescoreConcurrency: number;
    /** Most rescan articles one tenant has in the rescore queue at a time: tenants' rescans interleave. */
    window: number;
    /** Articles per rescan job: queue and bookkeeping costs are paid once per chunk. */
    chunk: number;
    /** How often a rescan driver tops its window up. */
    stepMs: number;
  };
  review: { leaseSeconds: number; maxLeaseSeconds: number; maxBulkItems: number };
  webhooks: {
    allowedCidrs: string[];
    attempts: number;
    backoffMs: number;
    timeoutMs: number;
    concurrency: number;
  };
  console: { sessionTtlSeconds: number; cookieSecure: 'auto' | 'true' | 'false' };
  /** The dispatcher that turns committed events into side effects (`outbox/dispatcher.ts`). */
  outbox: {
    /** Run the dispatcher in this worker process (any number may; a lease keeps one per consumer busy). */
    dispatch: boolean;
    /** How often an idle dispatcher looks for new events. */
    pollMs: number;
    /** Events read per consumer per pass. */
    batch: number;
    /** A dispatcher that stops renewing its lease (killed) is taken over after this long. */
    leaseMs: number;
  };
  /** Re-evaluating earlier articles when a farm or a burst shows later. */
  reevaluation: {
    /** Articles per re-evaluation job. */
    chunk: number;
    /** Concurrency of the `reevaluate` worker. */
    concurrency: number;
  };
  /** AI-content labelling: this platform's name or code, written as `ContentPropagator` (GB 45438-2025). */
  labelling: { propagator: string };
  /** Comment scoring: worker concurrency, and the length (Han characters + Latin words) from which the detector reads a comment. */
  comments: { concurrency: number; detectorMinLength: number };
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
  }
}

/** Parses environment-shaped input into the grouped settings; throws ConfigError listing every bad field. */
export function buildConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    http: {
      host: e.HOST,
      port: e.PORT,
      workerMetricsPort: e.WORKER_METRICS_PORT,
      // Node requires the header limit not to exceed the request limit; 0 would mean none.
      headersTimeoutMs: Math.max(100, Math.min(e.HTTP_HEADERS_TIMEOUT_MS, Math.max(100, e.HTTP_REQUEST_TIMEOUT_MS))),
      requestTimeoutMs: Math.max(100, e.HTTP_REQUEST_TIMEOUT_MS),
      idleTimeoutMs: Math.max(100, e.HTTP_IDLE_TIMEOUT_MS),
      keepAliveTimeoutMs: Math.max(100, e.HTTP_KEEP_ALIVE_TIMEOUT_MS),
    },
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    redisUrl: e.REDIS_URL,
    redisTarget: e.REDIS_URL === undefined ? undefined : (redisTargetOf(e.REDIS_URL) ?? undefined),
    redisPrefix: e.REDIS_PREFIX,
    model: {
      dir: path.resolve(e.MODEL_DIR),
      detector: e.DETECTOR_MODEL,
      detectorEnabled: e.DETECTOR_ENABLED,
      maxBatch: Math.max(1, e.DETECTOR_MAX_BATCH),
      batchWaitMs: e.DETECTOR_BATCH_WAIT_MS,
      threads: e.DETECTOR_THREADS,
      modelThreads: e.DETECTOR_MODEL_THREADS,
      zeroShot: e.ZEROSHOT_OBSERVER ? { observer: e.ZEROSHOT_OBSERVER, performer: e.ZEROSHOT_PERFORMER } : undefined,
      aiAssisted: e.AI_ASSISTED_POLICY,
    },
    limits: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      maxBatchBodyBytes: e.MAX_BATCH_BODY_BYTES,
      maxTextChars: e.MAX_TEXT_CHARS,
      maxBatchItems: e.MAX_BATCH_ITEMS,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    },
    scoring: {
      concurrency: Math.max(1, e.SCORE_CONCURRENCY),
      attempts: Math.max(1, e.SCORE_ATTEMPTS),
      backoffMs: e.SCORE_BACKOFF_MS,
      lockMs: Math.max(1000, e.SCORE_LOCK_MS),
      keepCompleted: e.KEEP_COMPLETED_JOBS,
      keepFailed: e.KEEP_FAILED_JOBS,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
      reconcileAfterMs: e.RECONCILE_AFTER_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    bootstrapTenant: e.BOOTSTRAP_TENANT,
    accountSignals: accountSignalSettingsSchema.parse({
      retentionSeconds: e.SIGNALS_RETENTION_SECONDS,
      nearDuplicate: { threshold: e.NEAR_DUPLICATE_THRESHOLD },
      coordination: { windowSeconds: e.COORDINATION_WINDOW_SECONDS, minAccounts: Math.max(2, e.COORDINATION_MIN_ACCOUNTS) },
    }),
    imports: {
      maxBytes: e.IMPORT_MAX_BYTES,
      maxLineBytes: Math.max(1024, e.IMPORT_MAX_LINE_BYTES),
      chunkLines: Math.min(1000, Math.max(1, e.IMPORT_CHUNK_LINES)),
      maxStoredErrors: e.IMPORT_MAX_STORED_ERRORS,
    },
    rescans: {
      rescoreConcurrency: Math.max(1, e.RESCORE_CONCURRENCY),
      window: Math.max(10, e.RESCAN_WINDOW),
      chunk: Math.min(100, Math.max(1, e.RESCAN_CHUNK)),
      stepMs: Math.max(10, e.RESCAN_STEP_MS),
    },
    review: {
      leaseSeconds: Math.max(1, e.REVIEW_LEASE_SECONDS),
      maxLeaseSeconds: Math.max(1, e.REVIEW_MAX_LEASE_SECONDS, e.REVIEW_LEASE_SECONDS),
      maxBulkItems: Math.max(1, e.REVIEW_MAX_BULK_ITEMS),
    },
    webhooks: {
      allowedCidrs: e.WEBHOOK_ALLOWED_CIDRS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      attempts: Math.max(1, e.WEBHOOK_ATTEMPTS),
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: Math.max(100, e.WEBHOOK_TIMEOUT_MS),
      concurrency: Math.max(1, e.WEBHOOK_CONCURRENCY),
    },
    console: { sessionTtlSeconds: Math.max(60, e.CONSOLE_SESSION_TTL_SECONDS), cookieSecure: e.CONSOLE_COOKIE_SECURE },
    outbox: {
      dispatch: e.OUTBOX_DISPATCH,
      pollMs: Math.max(10, e.OUTBOX_POLL_MS),
      batch: Math.min(5000, Math.max(1, e.OUTBOX_BATCH)),
      leaseMs: Math.max(500, e.OUTBOX_LEASE_MS),
    },
    reevaluation: { chunk: Math.min(1000, Math.max(1, e.REEVALUATE_CHUNK)), concurrency: Math.max(1, e.REEVALUATE_CONCURRENCY) },
    labelling: { propagator: e.LABEL_PROPAGATOR },
    comments: { concurrency: Math.max(1, e.COMMENT_CONCURRENCY), detectorMinLength: Math.max(1, e.COMMENT_DETECTOR_MIN_LENGTH) },
  };
}

/** The process environment, parsed. Entry points call this once. */
export function loadConfig(): Config {
  return buildConfig(process.env);
}

/**
 * Where the operator CLI's HTTP commands reach the service, from the environment; `urlSet`
 * says SLOPGUARD_URL was given (the `keys` command then talks to that service, not the database).
 */
export function loadCliClientDefaults(): { url: string; urlSet: boolean; key: string | undefined } {
  const parsed = z.object({ SLOPGUARD_URL: z.string().url().optional().or(z.literal('')), SLOPGUARD_KEY: optionalString }).safeParse(process.env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const given = parsed.data.SLOPGUARD_URL || undefined;
  return { url: given ?? 'http://127.0.0.1:8080', urlSet: given !== undefined, key: parsed.data.SLOPGUARD_KEY };
}
