import { serve, type ServerType } from '@hono/node-server';
import type { Config } from '../config.ts';

/** The HTTP listener of an `api` or `all` process, with a bounded drain on close. */

/** Serves the API; resolves once listening. */
export async function startHttp(
  app: { fetch(request: Request): Response | Promise<Response> },
  config: Pick<Config, 'http' | 'shutdownTimeoutMs'>,
): Promise<{ server: ServerType; port: number; close(): Promise<void> }> {
  // Handlers still running at shutdown (a client may have hung up, the work has not) finish
  // before the context closes their database and Redis connections under them.
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const fetch = async (request: Request) => {
    inFlight++;
    try {
      return await app.fetch(request);
    } finally {
      if (--inFlight === 0) drained?.();
    }
  };
  return new Promise((resolve) => {
    const { host, port, headersTimeoutMs, requestTimeoutMs, idleTimeoutMs, keepAliveTimeoutMs } = config.http;
    const serverOptions = {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // How often Node checks the header and request limits (its default, 30 s, would let a
      // short limit run over by that much).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeoutMs / 4)),
    };
    const server = serve({ fetch, hostname: host, port, serverOptions }, (info) => {
      // Nothing sent either way for this long: a stalled body or a silent client is dropped
      // (Node destroys the socket on timeout when no handler takes the event).
      server.setTimeout(idleTimeoutMs);
      resolve({
        server,
        port: info.port,
        async close() {
          const closed = new Promise<void>((done) => server.close(() => done()));
          const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((done) => (drained = done));
          const deadline = new Promise<void>((done) => setTimeout(done, config.shutdownTimeoutMs).unref());
          await Promise.race([Promise.all([closed, idle]), deadline]);
        },
      });
    });
  });
}
