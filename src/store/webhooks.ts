import type { Db } from '../db/db.ts';

/**
 * The `webhooks` subscriptions and their `webhook_deliveries`, mapped here once. A delivery
 * row is unique per webhook and event, so recording the same event twice records it once.
 */

export interface WebhookRecord {
  id: string;
  url: string;
  events: string[];
  description: string;
  active: boolean;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  /** Deliveries by status. */
  pending: number;
  delivered: number;
  dead: number;
}

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  eventType: string;
  eventId: string;
  status: 'pending' | 'delivered' | 'dead' | 'cancelled';
  attempts: number;
  redrives: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  deliveredAt: Date | null;
}

/** A delivery's id and how often it was redriven: together they name its job. */
export interface DeliveryRef {
  id: string;
  redrives: number;
}

/** One event waiting for its delivery rows (jsonb_to_recordset column names). */
export interface PendingDelivery {
  delivery: string;
  tenant_id: string;
  event_type: string;
  event_id: string;
  payload: Record<string, unknown>;
}

/** What one attempt needs: the delivery and its webhook. */
export interface DeliveryTarget {
  status: string;
  payload: unknown;
  eventType: string;
  url: string;
  secret: string;
  active: boolean;
  deletedAt: Date | null;
}

const WEBHOOK_COLUMNS = `w.id, w.url, w.events, w.description, w.active, w.created_by AS "createdBy", w.created_at AS "createdAt", w.updated_at AS "updatedAt",
  (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending')::int AS pending,
  (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'delivered')::int AS delivered,
  (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'dead')::int AS dead`;

const DELIVERY_COLUMNS = `id, webhook_id AS "webhookId", event_type AS "eventType", event_id AS "eventId", status, attempts, redrives,
  last_status_code AS "lastStatusCode", last_error AS "lastError", created_at AS "createdAt", updated_at AS "updatedAt", delivered_at AS "deliveredAt"`;

// ---------------------------------------------------------------- subscriptions

export async function insertWebhook(
  db: Db,
  row: { id: string; tenantId: string; url: string; secret: string; events: readonly string[]; description: string; createdBy: string },
): Promise<void> {
  await db.query('INSERT INTO webhooks (id, tenant_id, url, secret, events, description, created_by) VALUES ($1, $2, $3, $4, $5::text[], $6, $7)', [
    row.id,
    row.tenantId,
    row.url,
    row.secret,
    [...new Set(row.events)],
    row.description,
    row.createdBy,
  ]);
}

export function listWebhooks(db: Db, tenantId: string): Promise<WebhookRecord[]> {
  return db.query<WebhookRecord>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks w WHERE w.tenant_id = $1 AND w.deleted_at IS NULL ORDER BY w.id`, [tenantId]);
}

export async function webhookById(db: Db, tenantId: string, id: string): Promise<WebhookRecord | null> {
  const rows = await db.query<WebhookRecord>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks w WHERE w.tenant_id = $1 AND w.id = $2 AND w.deleted_at IS NULL`, [tenantId, id]);
  return rows[0] ?? null;
}

/** Sets the fields given (undefined leaves one as it is). */
export async function updateWebhook(
  db: Db,
  tenantId: string,
  id: string,
  patch: { url?: string | undefined; events?: readonly string[] | undefined; description?: string | undefined; active?: boolean | undefined },
): Promise<void> {
  await db.query(
    `UPDATE webhooks SET url = COALESCE($3, url), events = COALESCE($4::text[], events), description = COALESCE($5, description),
            active = COALESCE($6, active), updated_at = now() WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id, patch.url ?? null, patch.events ? [...new Set(patch.events)] : null, patch.description ?? null, patch.active ?? null],
  );
}

export async function setWebhookSecret(db: Db, tenantId: string, id: string, secret: string): Promise<void> {
  await db.query('UPDATE webhooks SET secret = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2', [tenantId, id, secret]);
}

/** Soft delete: deliveries keep their history. */
export async function deleteWebhook(db: Db, tenantId: string, id: string): Promise<void> {
  await db.query('UPDATE webhooks SET deleted_at = now(), active = false WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
}

// ---------------------------------------------------------------- deliveries

export function listDeliveries(db: Db, tenantId: string, webhookId: string, status: DeliveryRecord['status'] | null, limit: number): Promise<DeliveryRecord[]> {
  return db.query<DeliveryRecord>(
    `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 AND ($3::text IS NULL OR status = $3)
     ORDER BY id DESC LIMIT $4`,
    [tenantId, webhookId, status, limit],
  );
}

/** Dead deliveries (one, or all of the webhook) back to pending with attempts reset and one more redrive. */
export function redriveDeliveries(db: Db, tenantId: string, webhookId: string, deliveryId: string | null): Promise<DeliveryRef[]> {
  return db.query<DeliveryRef>(
    `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, redrives = redrives + 1, updated_at = now()
     WHERE tenant_id = $1 AND webhook_id = $2 AND status = 'dead' AND ($3::text IS NULL OR id = $3)
     RETURNING id, redrives`,
    [tenantId, webhookId, deliveryId],
  );
}

export async function deliveryStatus(db: Db, tenantId: string, webhookId: string, deliveryId: string): Promise<string | null> {
  const rows = await db.query<{ status: string }>('SELECT status FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 AND id = $3', [tenantId, webhookId, deliveryId]);
  return rows[0]?.status ?? null;
}

/**
 * The delivery rows of many events in one statement, one per active subscribed webhook; per
 * event, the rows it got (none when it was recorded before or nobody subscribes).
 */
export async function insertDeliveries(db: Db, events: readonly PendingDelivery[]): Promise<DeliveryRef[][]> {
  const rows = await db.query<DeliveryRef>(
    `INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_type, event_id, payload)
     SELECT x.delivery || '_' || w.id, w.tenant_id, w.id, x.event_type, x.event_id, x.payload
       FROM jsonb_to_recordset($1::jsonb) AS x(delivery text, tenant_id text, event_type text, event_id text, payload jsonb)
       JOIN webhooks w ON w.tenant_id = x.tenant_id AND w.active AND w.deleted_at IS NULL AND x.event_type = ANY(w.events)
     ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id, redrives`,
    [JSON.stringify(events)],
  );
  return events.map((event) => rows.filter((row) => row.id.startsWith(`${event.delivery}_`)));
}

/** Pending deliveries untouched for `olderThanMs`, oldest first. */
export function stalePendingDeliveries(db: Db, olderThanMs: number, limit: number): Promise<(DeliveryRef & { tenantId: string })[]> {
  return db.query<DeliveryRef & { tenantId: string }>(
    `SELECT id, tenant_id AS "tenantId", redrives FROM webhook_deliveries
     WHERE status = 'pending' AND updated_at < now() - ($1::bigint * interval '1 millisecond') ORDER BY updated_at LIMIT $2`,
    [olderThanMs, limit],
  );
}

export async function deliveryTarget(db: Db, tenantId: string, deliveryId: string): Promise<DeliveryTarget | null> {
  const rows = await db.query<DeliveryTarget>(
    `SELECT d.status, d.payload, d.event_type AS "eventType", w.url, w.secret, w.active, w.deleted_at AS "deletedAt"
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1 AND d.tenant_id = $2`,
    [deliveryId, tenantId],
  );
  return rows[0] ?? null;
}

export async function cancelDelivery(db: Db, deliveryId: string): Promise<void> {
  await db.query(`UPDATE webhook_deliveries SET status = 'cancelled', updated_at = now() WHERE id = $1`, [deliveryId]);
}

/** One attempt's outcome on a pending delivery: delivered, or one more failed attempt. */
export async function recordAttempt(db: Db, deliveryId: string, outcome: { ok: true; status: number } | { ok: false; status: number | null; error: string }): Promise<void> {
  if (outcome.ok) {
    await db.query(
      `UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status_code = $2, last_error = NULL,
              delivered_at = now(), updated_at = now() WHERE id = $1 AND status = 'pending'`,
      [deliveryId, outcome.status],
    );
    return;
  }
  await db.query(`UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = $2, last_error = $3, updated_at = now() WHERE id = $1 AND status = 'pending'`, [
    deliveryId,
    outcome.status,
    outcome.error.slice(0, 500),
  ]);
}

/** Dead until an admin redrives it. */
export async function markDeliveryDead(db: Db, deliveryId: string, reason: string): Promise<void> {
  await db.query(`UPDATE webhook_deliveries SET status = 'dead', last_error = COALESCE(last_error, $2), updated_at = now() WHERE id = $1 AND status = 'pending'`, [
    deliveryId,
    reason.slice(0, 500),
  ]);
}
