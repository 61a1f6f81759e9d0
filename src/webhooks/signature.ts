import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, for senders (us) and receivers (the platform).
 *
 * Every delivery is a POST of a JSON body with these headers:
 *   X-Slopguard-Event:      the event type (`article.scored`, `article.flagged`, `article.verdict_changed`, `review.decided`)
 *   X-Slopguard-Delivery:   the delivery id; retries and redrives of one delivery keep it (dedupe on it)
 *   X-Slopguard-Timestamp:  Unix seconds when this attempt was signed
 *   X-Slopguard-Signature:  `v1=` + hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`)
 *
 * A receiver recomputes the HMAC over the raw body bytes, compares in constant time, and
 * rejects a timestamp more than `toleranceSeconds` (default 300: the replay window) away
 * from its clock. Each attempt is signed afresh, so a retry hours later still verifies.
 *
 * Example:
 *   verifyWebhookSignature({ secret: 'whsec_…', body: rawBody,
 *     timestamp: req.headers['x-slopguard-timestamp'], signature: req.headers['x-slopguard-signature'] })
 *   // { ok: true } or { ok: false, reason: 'stale_timestamp' }
 */

export const SIGNATURE_HEADER = 'x-slopguard-signature';
export const TIMESTAMP_HEADER = 'x-slopguard-timestamp';
export const EVENT_HEADER = 'x-slopguard-event';
export const DELIVERY_HEADER = 'x-slopguard-delivery';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: 'missing_header' | 'bad_timestamp' | 'stale_timestamp' | 'bad_signature' };

export function verifyWebhookSignature(input: {
  secret: string;
  body: string | Uint8Array;
  timestamp: string | null | undefined;
  signature: string | null | undefined;
  toleranceSeconds?: number;
  nowMs?: number;
}): VerifyResult {
  const { secret, timestamp, signature } = input;
  if (!timestamp || !signature) return { ok: false, reason: 'missing_header' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad_timestamp' };
  const ts = Number(timestamp);
  const now = Math.floor((input.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - ts) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return { ok: false, reason: 'stale_timestamp' };
  const body = typeof input.body === 'string' ? input.body : Buffer.from(input.body).toString('utf8');
  const expected = Buffer.from(signWebhook(secret, ts, body));
  // Several signatures may be sent comma-separated while a secret rotates.
  const ok = signature.split(',').some((s) => {
    const given = Buffer.from(s.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return ok ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
