import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ChainableCommander } from 'ioredis';
import { execPerNode, type RedisClient } from '../infra/redis.ts';
import type { Logger } from 'pino';
import { ServiceError } from '../domain/errors.ts';
import { isStorableText, TEXT_RULE_MESSAGE } from '../domain/fields.ts';
import type { Role } from '../domain/types.ts';
import { Coalescer } from '../infra/coalescer.ts';
import type { Metrics } from '../infra/metrics.ts';
import type { KeyService } from '../services/keys.ts';
import type { AppEnv } from './env.ts';

/** Request id (taken from `X-Request-Id` when sane), a child logger, latency metrics. */
export function requestContext(log: Logger, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    c.set('log', log.child({ requestId }));
    const started = performance.now();
    // Set before the response exists, these ride on it for free; set after, Hono rebuilds the
    // finished response (measured ~5% of a single submit's CPU). A handler that built its own
    // Response object gets them afterwards.
    c.header('X-Request-Id', requestId);
    // Never let a browser sniff an API answer (or hostile article text in it) into HTML.
    c.header('X-Content-Type-Options', 'nosniff');
    await next();
    if (c.res.headers.get('X-Request-Id') !== requestId) {
      c.header('X-Request-Id', requestId);
      c.header('X-Content-Type-Options', 'nosniff');
    }
    const route = c.req.routePath || 'unmatched';
    const ms = performance.now() - started;
    metrics.httpDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, ms / 1000);
    // Errors at info so they show by default; the hot path of 2xx only at debug.
    c.get('log')[c.res.status >= 400 ? 'info' : 'debug']({ method: c.req.method, route, status: c.res.status, ms: Math.round(ms * 10) / 10 }, 'request');
  };
}

const JSON_TYPE = /^application\/(?:[a-z.-]+\+)?json\s*(?:;.*)?$/i;

/** Reads at most `maxBytes` of the body, whatever Content-Length claims. */
export async function readLimited(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ServiceError('payload_too_large', `request body is larger than ${maxBytes} bytes`, { limit: maxBytes });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * For JSON bodies: 415 for another content type, 413 past the size limit, 400 for invalid
 * UTF-8 or malformed JSON. The checked text is left in Hono's body cache for the validator.
 */
export function jsonBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (!JSON_TYPE.test(type)) {
      throw new ServiceError('unsupported_media_type', 'send the body as application/json');
    }
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > maxBytes) {
      throw new ServiceError('payload_too_large', `request body is larger than ${maxBytes} bytes`, { limit: maxBytes });
    }
    // A declared length is enforced by Node's HTTP parser, so that body is bounded and can
    // take the adapter's direct read (no web stream, no full Request object: measured ~10% of
    // a single submit's CPU). A chunked body is read as a stream and cut off at the limit.
    const bounded = c.req.header('content-length') !== undefined && c.req.header('transfer-encoding') === undefined;
    const bytes = bounded ? new Uint8Array(await c.req.raw.arrayBuffer()) : await readLimited(c.req.raw.body, maxBytes);
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new ServiceError('invalid_utf8', 'request body is not valid UTF-8');
    }
    try {
      JSON.parse(text);
    } catch (error) {
      throw new ServiceError('malformed_json', `request body is not valid JSON: ${(error as Error).message}`);
    }
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    await next();
  };
}

/**
 * The text rule (`domain/fields.ts`) for every path segment and query parameter, names
 * included, of every route at once: an id or filter a route passes to the database as it is
 * cannot carry a NUL there (422 instead of the database's refusal as a 500).
 */
export function storableParams(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = c.req.url;
    const start = url.indexOf('/', url.indexOf('//') + 2);
    const query = url.indexOf('?', start);
    const path = query === -1 ? url.slice(start) : url.slice(start, query);
    const issues: { path: string; message: string }[] = [];
    if (path.includes('%')) {
      for (const segment of path.split('/')) {
        let decoded: string;
        try {
          decoded = decodeURIComponent(segment);
        } catch {
          continue; // not decodable: routes see it percent-encoded, which is storable
        }
        if (!isStorableText(decoded)) issues.push({ path: `path.${segment}`, message: TEXT_RULE_MESSAGE });
      }
    }
    if (query !== -1) {
      for (const [name, value] of new URLSearchParams(url.slice(query + 1))) {
        if (!isStorableText(name) || !isStorableText(value)) issues.push({ path: `query.${name}`, message: TEXT_RULE_MESSAGE });
      }
    }
    if (issues.length > 0) throw new ServiceError('validation_failed', 'request does not match the schema', issues);
    await next();
  };
}

/** `Authorization: Bearer <key>` to a principal; 401 otherwise. */
export function authenticate(keys: KeyService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ServiceError('unauthorized', 'missing API key: send Authorization: Bearer <key>');
    c.set('principal', await keys.authenticate(match[1]!));
    await next();
  };
}

export function requireRole(...roles: Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { role } = c.get('principal');
    if (!roles.includes(role)) {
      throw new ServiceError('forbidden', `this action needs one of the roles: ${roles.join(', ')}`);
    }
    await next();
  };
}

/**
 * Counts hits per Redis key; concurrent hits share one INCRBY per key (one round trip and one
 * write for a whole burst, not one MULTI per request). Each hit gets its own running count.
 */
function windowCounter(redis: RedisClient): Coalescer<string, number> {
  return new Coalescer(
    async (keys: string[]) => {
      const hits = new Map<string, number>();
      for (const key of keys) hits.set(key, (hits.get(key) ?? 0) + 1);
      // Keys of several API keys live on several nodes of a cluster: one pipeline per node.
      const results = await execPerNode(
        redis,
        [...hits].flatMap(([key, n]) => [
          { key, add: (p: ChainableCommander) => p.incrby(key, n) },
          { key, add: (p: ChainableCommander) => p.pexpire(key, 61_000) },
        ]),
      );
      const totals = new Map<string, number>();
      [...hits.keys()].forEach((key, i) => totals.set(key, Number(results[i * 2]?.[1] ?? 0) - hits.get(key)!));
      return keys.map((key) => {
        const count = totals.get(key)! + 1;
        totals.set(key, count);
        return count;
      });
    },
    { maxInFlight: 1 },
  );
}

/**
 * Fixed one-minute window per key in Redis. When Redis is unreachable the limit is not
 * enforced (reads keep working; writes answer 503 on their own).
 */
export function rateLimit(redis: RedisClient, prefix: string, perMinute: number): MiddlewareHandler<AppEnv> {
  const counter = windowCounter(redis);
  return async (c, next) => {
    if (perMinute > 0 && redis.status === 'ready') {
      const { keyId } = c.get('principal');
      const window = Math.floor(Date.now() / 60_000);
      const count = await counter.run(`${prefix}:rl:${keyId}:${window}`).catch(() => 0);
      c.header('RateLimit-Limit', String(perMinute));
      c.header('RateLimit-Remaining', String(Math.max(0, perMinute - count)));
      if (count > perMinute) {
        const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - Date.now()) / 1000));
        c.header('Retry-After', String(retryAfter));
        throw new ServiceError('rate_limited', `rate limit of ${perMinute} requests per minute exceeded`, { retryAfter });
      }
    }
    await next();
  };
}
