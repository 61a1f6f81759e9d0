import { z } from 'zod';
import { hasLoneSurrogate } from './normalize.ts';

/**
 * One rule for every value that reaches the database, applied at the boundary so the
 * database never refuses what validation let through (a refusal there is a 500, or a lost
 * batch): text holds no NUL (PostgreSQL `text` and `jsonb` cannot store it) and no lone UTF-16
 * surrogate (not Unicode: refused by `jsonb`, mangled elsewhere); numbers are finite (JSON
 * `1e999999` parses to Infinity, which `jsonb` would store as null); times lie in a documented
 * range that every store and every date parser round-trips unchanged.
 */

export const TEXT_RULE_MESSAGE = 'must not contain NUL or a lone UTF-16 surrogate';

/** True when `value` may be stored as text: no NUL, no lone surrogate. */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !hasLoneSurrogate(value);
}

/** A string field under the text rule. */
export const storableText = () => z.string().refine(isStorableText, TEXT_RULE_MESSAGE);

/** Earliest and latest instant accepted for any time a client sends (stored or filtered on). */
export const TIME_MIN = '1970-01-01T00:00:00Z';
export const TIME_MAX = '2100-12-31T23:59:59.999Z';
const TIME_MIN_MS = Date.parse(TIME_MIN);
const TIME_MAX_MS = Date.parse(TIME_MAX);
export const TIME_RANGE_MESSAGE = `must be an ISO 8601 time with an offset between ${TIME_MIN.slice(0, 10)} and ${TIME_MAX.slice(0, 10)}`;

// Four-digit year first: `Date.parse` reads two-digit and bare years with guesses of its own
// ("0001" may come back as 2001), and PostgreSQL reads year 0 as an error.
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const isoDateTime = z.iso.datetime({ offset: true });

/** True for an ISO 8601 date-time with an offset inside [TIME_MIN, TIME_MAX]. */
export function isTimeInRange(value: string): boolean {
  if (!ISO_WITH_OFFSET.test(value) || !isoDateTime.safeParse(value).success) return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= TIME_MIN_MS && ms <= TIME_MAX_MS;
}

/** An instant a client sends (publishedAt, every date filter): kept as given, never rewritten. */
export const timestamp = () => z.string().refine(isTimeInRange, TIME_RANGE_MESSAGE);

export interface ValueIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Every key and string under the text rule and every number finite, at any depth. Iterative,
 * so a hostile depth cannot overflow the stack; stops at `maxIssues`.
 */
export function unstorableValues(value: unknown, maxIssues = 20): ValueIssue[] {
  const issues: ValueIssue[] = [];
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0 && issues.length < maxIssues) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isStorableText(v)) issues.push({ path, message: TEXT_RULE_MESSAGE });
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) issues.push({ path, message: 'must be a finite number' });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, path: [...path, i] }));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        if (!isStorableText(k)) issues.push({ path: [...path, k], message: `key ${TEXT_RULE_MESSAGE}` });
        stack.push({ v: item, path: [...path, k] });
      }
    }
  }
  return issues;
}

/** Adds the issues of `unstorableValues` to a zod refinement context. */
export function refineStorable(value: unknown, ctx: z.core.$RefinementCtx): void {
  for (const issue of unstorableValues(value)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
}

/**
 * Our own diagnostics that quote client input (an error's message, a field path naming a
 * hostile key) made storable: NUL and lone surrogates become U+FFFD. Never used on the
 * client's data itself, which is refused instead.
 */
export function storableCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
    typeof v === 'string' && !isStorableText(v) ? v.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD') : v,
  ) as T;
}
