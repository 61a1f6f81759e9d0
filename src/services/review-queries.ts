import { ServiceError } from '../domain/errors.ts';
import { isStorableText } from '../domain/fields.ts';
import type { Decision, ReviewState, StateFilter } from '../domain/review.ts';
import type { Label, Verdict } from '../domain/types.ts';
import type { QueueArticle } from './review-views.ts';

/**
 * The review record's SQL, shared by the review modules: the queue's columns and joins, row
 * mapping to the queue view, derived review state, cursors and positional parameters.
 */

export const iso = (v: Date | string | null | undefined): string | null => (v === null || v === undefined ? null : new Date(v).toISOString());

export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export type CursorType = 'number' | 'int' | 'string';

/** A cursor value the database will take for its cast: a crafted cursor answers 422, never a 500. */
function cursorValueFits(x: unknown, type: CursorType): boolean {
  if (type === 'string') return typeof x === 'string' && x.length <= 256 && isStorableText(x);
  if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > 1e30) return false;
  return type === 'number' || (Number.isInteger(x) && Math.abs(x) < 2 ** 31);
}

export function decodeCursor(cursor: string, types: CursorType[]): unknown[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === types.length && v.every((x, i) => cursorValueFits(x, types[i]!))) return v;
  } catch {
    // fall through
  }
  throw new ServiceError('validation_failed', 'invalid cursor', [{ path: 'cursor', message: 'not a cursor this endpoint issued' }]);
}

/** Collects positional parameters while a query is assembled. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export const STATE_SQL = `CASE WHEN rs.revision = a.revision THEN rs.state ELSE 'pending' END`;

export const QUEUE_COLUMNS = `a.id, a.external_id AS "externalId", a.account_id AS "accountId", a.title, a.score, a.label, a.verdict,
  a.model_version AS "modelVersion", a.config_version AS "configVersion", a.received_at AS "receivedAt", a.revision,
  (extract(epoch FROM a.received_at) * 1000000)::float8 AS "ageUs",
  ${STATE_SQL} AS state,
  CASE WHEN rs.revision = a.revision THEN rs.decision END AS decision,
  cm.cluster_id AS "clusterId", COALESCE(c.size, 0)::int AS "clusterSize",
  (SELECT max(bi.batch_id) FROM batch_items bi WHERE bi.article_id = a.id) AS "batchId",
  cl.moderator AS "claimedBy", cl.expires_at AS "claimExpiresAt"`;

export const QUEUE_JOINS = `FROM articles a
  LEFT JOIN review_state rs ON rs.tenant_id = a.tenant_id AND rs.article_id = a.id
  LEFT JOIN cluster_members cm ON cm.tenant_id = a.tenant_id AND cm.article_id = a.id
  LEFT JOIN clusters c ON c.id = cm.cluster_id AND c.tenant_id = a.tenant_id
  LEFT JOIN review_claims cl ON cl.tenant_id = a.tenant_id AND cl.article_id = a.id AND cl.expires_at > now()`;

export interface QueueRow {
  id: string;
  externalId: string;
  accountId: string;
  title: string | null;
  score: number;
  label: Label;
  verdict: Verdict;
  modelVersion: string;
  configVersion: string;
  receivedAt: Date;
  revision: number;
  ageUs: number;
  state: ReviewState;
  decision: Decision | null;
  clusterId: string | null;
  clusterSize: number;
  batchId: string | null;
  claimedBy: string | null;
  claimExpiresAt: Date | null;
}

export function toQueueArticle(r: QueueRow): QueueArticle {
  return {
    kind: 'article',
    id: r.id,
    externalId: r.externalId,
    accountId: r.accountId,
    title: r.title,
    score: Number(r.score),
    label: r.label,
    verdict: r.verdict,
    modelVersion: r.modelVersion,
    configVersion: r.configVersion,
    receivedAt: iso(r.receivedAt) as string,
    state: r.state,
    decision: r.decision,
    clusterId: r.clusterId,
    clusterSize: Number(r.clusterSize),
    batchId: r.batchId,
    claim: r.claimedBy ? { moderator: r.claimedBy, expiresAt: iso(r.claimExpiresAt) as string } : null,
  };
}

export function stateCondition(state: StateFilter): string {
  switch (state) {
    case 'open':
      return `state IN ('pending', 'escalated')`;
    case 'all':
      return 'true';
    default:
      return `state = '${state}'`;
  }
}

export const GROUP_AGGREGATES = `count(*)::int AS items,
  count(*) FILTER (WHERE f.state = 'pending')::int AS pending,
  count(*) FILTER (WHERE f.state = 'escalated')::int AS escalated,
  count(*) FILTER (WHERE f.state = 'decided')::int AS decided,
  count(*) FILTER (WHERE f.verdict = 'flag')::int AS flagged,
  max(f.score) AS "maxScore",
  count(DISTINCT f."accountId")::int AS accounts,
  min(f."ageUs") AS "oldestUs",
  array_remove(array_agg(DISTINCT f."claimedBy"), NULL) AS "claimedBy"`;

export interface GroupRow {
  id: string;
  items: number;
  pending: number;
  escalated: number;
  decided: number;
  flagged: number;
  maxScore: number;
  accounts: number;
  oldestUs: number;
  clusterSize: number | null;
  claimedBy: string[] | null;
}
