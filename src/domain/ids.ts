import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function base32(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

/**
 * `prefix_` + 10 time characters + 14 random ones: sortable by creation time (cursor
 * pagination follows insertion order) and free of `:` (BullMQ job ids must not hold one).
 */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `${prefix}_${time}${base32(randomBytes(14))}`;
}

/** True when `id` has the shape `newId(prefix)` produces; anything else names nothing. */
export function isId(prefix: string, id: string): boolean {
  return id.length === prefix.length + 25 && id.startsWith(`${prefix}_`) && /^[0-9a-z]{24}$/.test(id.slice(prefix.length + 1));
}
