/**
 * Failures a caller can act on, with a stable code. The API maps each code to one HTTP
 * status (`src/api/errors.ts`); workers treat them as permanent.
 */
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
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

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
