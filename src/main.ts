import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config.ts';
import { createApp } from './api/app.ts';
import { startHttp } from './api/server.ts';
import { type AppContext, createContext, PROCESS_ROLES } from './context.ts';
import { DataDirLockedError } from './infra/data-lock.ts';
import { startMetricsHttp } from './infra/metrics-http.ts';
import { RedisNotInstalledError } from './infra/redis-server.ts';
import { type RunningWorkers, startWorkers } from './workers/index.ts';

/**
 * Entry point: `api` serves HTTP, `worker` consumes queues, `all` (the embedded default of
 * `npm start`) runs both in one process over PGlite and a private redis-server.
 */
const modeSchema = z.enum(PROCESS_ROLES);
export type Mode = z.infer<typeof modeSchema>;

async function main(mode: Mode) {
  const config = loadConfig();
  if (mode !== 'all' && !config.databaseUrl) {
    throw new ConfigError(['DATABASE_URL: required in api and worker modes (PGlite is single-process: use `all`)']);
  }
  const ctx = await createContext(config, mode);
  let workers: RunningWorkers | undefined;
  if (ctx.worker) workers = await startWorkers(ctx, ctx.worker);
  let http: { close(): Promise<void> } | undefined;
  if (mode === 'worker' && config.http.workerMetricsPort > 0) {
    // The model, delivery and rescan metrics are counted here, not in the API processes. A
    // second worker on the same host finds the port taken: it works on, without metrics.
    try {
      const metrics = await startMetricsHttp(ctx.metrics, config.http.host, config.http.workerMetricsPort);
      http = metrics;
      ctx.log.info({ port: metrics.port }, `worker metrics on http://${config.http.host}:${metrics.port}/metrics`);
    } catch (error) {
      ctx.log.warn({ err: error, port: config.http.workerMetricsPort }, 'worker metrics not served: set WORKER_METRICS_PORT to a free port (0: off)');
    }
  }
  if (ctx.api) {
    const key = await ensureBootstrapKey(ctx);
    const api = await startHttp(createApp(ctx.api), config);
    http = api;
    const url = `http://${urlHost(config.http.host)}:${api.port}`;
    // The CLI finds the service of this data folder here (`npm run cli -- keys ...`).
    ctx.dataLock?.setUrl(url);
    if (key) {
      // The CLI reaches a running service through its admin API with this key (cli/keys.ts).
      const where = ctx.dataLock ? '' : ` SLOPGUARD_URL=${url}`;
      process.stdout.write(
        `\n  Bootstrap admin key for tenant "${config.bootstrapTenant}" (shown once, store it now):\n\n    ${key}\n\n` +
          `  Create more keys while it runs, through its API with this key:\n` +
          `    SLOPGUARD_KEY=<the key above>${where} npm run cli -- keys create --tenant <tenant> --role submitter\n` +
          `  or on the console's Keys page: ${url}/console/keys\n\n`,
      );
    }
    ctx.log.info({ port: api.port, mode }, `slopguard listening on http://${config.http.host}:${api.port}`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ctx.log.info({ signal }, 'shutting down');
    await http?.close();
    await workers?.close();
    await ctx.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Prints a bootstrap admin key once, on the very first start of an empty store. */
async function ensureBootstrapKey(ctx: AppContext): Promise<string | null> {
  if ((await ctx.keys.count()) > 0) return null;
  const created = await ctx.keys.create(ctx.config.bootstrapTenant, 'admin', 'bootstrap', 'system:bootstrap');
  return created.key;
}

/** A host to reach a listener on: a wildcard bind is reached over loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the service in `mode`; on a start-up failure prints why and exits non-zero. */
export function runService(mode: Mode): void {
  main(mode).catch((error: unknown) => {
    if (error instanceof ConfigError || error instanceof RedisNotInstalledError || error instanceof DataDirLockedError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`slopguard failed to start: ${(error as Error).stack ?? String(error)}\n`);
    }
    process.exit(1);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runService(modeSchema.parse(process.argv[2] ?? 'all'));
