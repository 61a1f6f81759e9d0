/**
 * Failures a caller can act on, with a stable code. The API maps each code to one HTTP
 * status (`src/api/errors.ts`); workers classify them as transient or permanent
 * (`src/workers/define-worker.ts`).
 */
export const ERROR_CODES = [
  'malformed_json',
  'invalid_utf8',
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'import_too_large',
  'text_too_long',
  'unsupported_media_type',
  'validation_failed',
  'rate_limited',
  'internal_error',
  'redis_unavailable',
  'database_unavailable',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A dependency is down: the same work succeeds later, so a job retries (or waits) instead of failing. */
export const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set(['redis_unavailable', 'database_unavailable']);

export interface FieldIssue {
  path: string;
  message: string;
}

export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
