import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config.ts';
import { createContext } from './context.ts';
import { RedisNotInstalledError } from './infra/redis-server.ts';
import { ensureBootstrapKey, startHttp, startMetricsHttp } from './server.ts';
import { type RunningWorkers, startWorkers } from './workers/runtime.ts';

/**
 * Entry point: `api` serves HTTP, `worker` consumes queues, `all` (the embedded default of
 * `npm start`) runs both in one process over PGlite and a private redis-server.
 */
const modeSchema = z.enum(['api', 'worker', 'all']);
export type Mode = z.infer<typeof modeSchema>;

async function main(mode: Mode) {
  const config = loadConfig();
  if (mode !== 'all' && !config.databaseUrl) {
    throw new ConfigError(['DATABASE_URL: required in api and worker modes (PGlite is single-process: use `all`)']);
  }
  const ctx = await createContext(config);
  let workers: RunningWorkers | undefined;
  if (mode !== 'api') workers = await startWorkers(ctx);
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
  if (mode !== 'worker') {
    const key = await ensureBootstrapKey(ctx);
    if (key) {
      process.stdout.write(
        `\n  Bootstrap admin key for tenant "${config.bootstrapTenant}" (shown once, store it now):\n\n    ${key}\n\n` +
          `  Create more keys with: npm run cli -- keys create --tenant <tenant> --role submitter\n\n`,
      );
    }
    const api = await startHttp(ctx, workers);
    http = api;
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

/** Starts the service in `mode`; on a start-up failure prints why and exits non-zero. */
export function runService(mode: Mode): void {
  main(mode).catch((error: unknown) => {
    if (error instanceof ConfigError || error instanceof RedisNotInstalledError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`slopguard failed to start: ${(error as Error).stack ?? String(error)}\n`);
    }
    process.exit(1);
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runService(modeSchema.parse(process.argv[2] ?? 'all'));
