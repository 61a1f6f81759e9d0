import type { Db } from '../db/db.ts';

/**
 * The outbox's cursors (`outbox_cursors`: one per consumer, with the lease of the dispatcher
 * running it) and its reads of the event log in commit order. The dispatcher
 * (`outbox/dispatcher.ts`) decides batches and runs the consumers.
 */

export interface OutboxEvent {
  id: number;
  txid: number;
  tenantId: string;
  subjectType: string;
  subjectId: string;
  type: string;
  actor: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

const EVENT_COLUMNS = `id::float8 AS id, txid::float8 AS txid, tenant_id AS "tenantId", subject_type AS "subjectType", subject_id AS "subjectId",
  type, actor, payload, created_at AS "createdAt"`;

/** Creates the consumer's cursor at the present when it has none. */
export async function ensureCursor(db: Db, consumer: string): Promise<void> {
  await db.query(
    `INSERT INTO outbox_cursors (consumer, txid, event_id)
         SELECT $1, COALESCE(max(txid), 0), COALESCE(max(id), 0) FROM events ON CONFLICT (consumer) DO NOTHING`,
    [consumer],
  );
}

/** Takes or renews the lease on the consumer's cursor for `leaseMs`; the cursor, or null when another owner holds it. */
export async function leaseCursor(db: Db, consumer: string, owner: string, leaseMs: number): Promise<{ txid: number; eventId: number } | null> {
  const [cursor] = await db.query<{ txid: number; eventId: number }>(
    `UPDATE outbox_cursors SET leased_by = $2, leased_until = now() + $3::int * interval '1 millisecond'
        WHERE consumer = $1 AND (leased_by IS NULL OR leased_by = $2 OR leased_until < now())
        RETURNING txid::float8 AS txid, event_id::float8 AS "eventId"`,
    [consumer, owner, leaseMs],
  );
  return cursor ?? null;
}

/** Moves the cursor to the event (txid, id) and renews the lease, if `owner` still holds it. */
export async function advanceCursor(db: Db, consumer: string, owner: string, to: { txid: number; id: number }, leaseMs: number): Promise<void> {
  await db.query(
    `UPDATE outbox_cursors SET txid = $3, event_id = $4, updated_at = now(), leased_until = now() + $5::int * interval '1 millisecond'
        WHERE consumer = $1 AND leased_by = $2`,
    [consumer, owner, to.txid, to.id, leaseMs],
  );
}

/** Gives back every lease `owner` holds. */
export async function releaseLeases(db: Db, owner: string): Promise<void> {
  await db.query('UPDATE outbox_cursors SET leased_by = NULL, leased_until = NULL WHERE leased_by = $1', [owner]);
}

/**
 * Up to `limit` events after (txid, id), in commit order, only from transactions older than
 * every running one (see migration 060): an event that commits late cannot land behind a cursor.
 */
export async function eventsAfter(db: Db, after: { txid: number; eventId: number }, limit: number): Promise<OutboxEvent[]> {
  return db.query<OutboxEvent>(
    `SELECT ${EVENT_COLUMNS} FROM events
        WHERE (txid, id) > ($1::bigint, $2::bigint) AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
        ORDER BY txid, id LIMIT $3`,
    [after.txid, after.eventId, limit],
  );
}

/** The rest of a transaction's events after event `id`. */
export async function restOfTransaction(db: Db, txid: number, id: number): Promise<OutboxEvent[]> {
  return db.query<OutboxEvent>(`SELECT ${EVENT_COLUMNS} FROM events WHERE txid = $1 AND id > $2 ORDER BY id`, [txid, id]);
}
