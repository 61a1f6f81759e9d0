import type { Db } from '../db/db.ts';

/**
 * The append-only event log (`events`): every change of the record writes one, in the
 * transaction that made it (the outbox reads them, `src/outbox/`). Statements that write an
 * event together with the change in one SQL statement (scores, decisions) keep it there.
 */

export interface NewEvent {
  tenantId: string;
  subjectType: string;
  subjectId: string;
  type: string;
  actor: string;
  payload?: Record<string, unknown>;
}

/** Appends one event; `db` is the transaction of the change it records. */
export async function appendEvent(db: Db, event: NewEvent): Promise<void> {
  await db.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`, [
    event.tenantId,
    event.subjectType,
    event.subjectId,
    event.type,
    event.actor,
    JSON.stringify(event.payload ?? {}),
  ]);
}
