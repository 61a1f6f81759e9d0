import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';
import { isUnavailable } from '../db/db.ts';
import { type ErrorCode, ServiceError } from '../domain/errors.ts';
import type { AppEnv } from './env.ts';

/** The one HTTP status of each error code. */
export const ERROR_STATUS = {
  malformed_json: 400,
  invalid_utf8: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  import_too_large: 413,
  text_too_long: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  internal_error: 500,
  redis_unavailable: 503,
  database_unavailable: 503,
} as const satisfies Record<ErrorCode, ContentfulStatusCode>;

/** The one error shape every route answers with: `{error: {code, message, requestId, details?}}`. */
export function errorBody(code: ErrorCode, message: string, requestId: string, details?: unknown) {
  return { error: { code, message, requestId, ...(details === undefined ? {} : { details }) } };
}

export function zodIssues(error: ZodError) {
  return error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

export function respondError(c: Context<AppEnv>, code: ErrorCode, message: string, details?: unknown, headers?: Record<string, string>) {
  const status = ERROR_STATUS[code] as ContentfulStatusCode;
  return c.json(errorBody(code, message, c.get('requestId') ?? '', details), status, headers);
}

/** Maps anything a handler throws to the error contract; unknown errors are logged and hidden. */
export function handleError(error: unknown, c: Context<AppEnv>) {
  if (error instanceof ServiceError) return respondError(c, error.code, error.message, error.details);
  if (isUnavailable(error)) return respondError(c, 'database_unavailable', 'the database is unavailable; retry later');
  const redisDown = error instanceof Error && /Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|MaxRetriesPerRequest/i.test(error.message);
  if (redisDown) return respondError(c, 'redis_unavailable', 'Redis is unavailable; retry later');
  if (error instanceof HTTPException) {
    if (error.status === 413) return respondError(c, 'payload_too_large', 'request body is too large');
    if (error.status === 400) return respondError(c, 'bad_request', error.message || 'bad request');
  }
  c.get('log')?.error({ err: error }, 'unhandled error');
  return respondError(c, 'internal_error', 'internal error');
}
