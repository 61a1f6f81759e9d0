import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { type Db, isUnavailable } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { Coalescer } from '../infra/coalescer.ts';
import { deliverJobId, type DeliverJob, type JobQueue, type JOBS } from '../jobs/catalog.ts';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signature.ts';
import type { AddressPolicy } from './url-guard.ts';
import type { Labelling } from '../domain/labelling.ts';
import type { Label, Reason, Verdict } from '../domain/types.ts';

/**
 * Webhooks to the platform. An event becomes one `webhook_deliveries` row per subscribed
 * webhook (unique per webhook and event id, so emitting twice is a no-op) and one job on
 * the `deliver` queue. The worker signs and POSTs; a non-2xx answer or a network error is
 * retried with exponential backoff; after the last attempt the row is `dead`, listed for
 * admins and redrivable. Nothing here runs inside scoring: the outbox dispatcher emits from
 * committed events (`outbox/consumers.ts`), so a crash after the commit loses nothing.
 *
 * Example:
 *   const { webhook, secret } = await webhooks.create('t1', 'key_…', { url: 'https://platform.example/hooks', events: ['article.flagged'] });
 *   await webhooks.emit('t1', 'article.flagged', 'flagged-scr_…', { articleId: 'art_…', score: 0.93 });
 */

import type { DeliveryView, WebhookEvent, WebhookView } from './views.ts';

/** One committed score as webhooks report it. */
export interface ScoredArticle {
  tenantId: string;
  articleId: string;
  externalId: string;
  accountId: string;
  revision: number;
  scoreId: string;
  score: number;
  label: Label;
  verdict: Verdict;
  reasons: Reason[];
  labelling: Labelling;
}

/** One committed moderator decision (the `review.decided` events of one transaction). */
export interface DecidedEvent {
  tenantId: string;
  actor: string;
  decision: string;
  comment: string | null;
  target: unknown;
  items: { articleId: string; externalId: string; revision: number; eventId: number; score: number; verdict: string; label: string }[];
  decidedAt: string;
}

function scoredData(s: ScoredArticle) {
  return {
    articleId: s.articleId,
    externalId: s.externalId,
    accountId: s.accountId,
    revision: s.revision,
    score: s.score,
    label: s.label,
    verdict: s.verdict,
    reasons: s.reasons.map((r) => ({ code: r.code, source: r.source, contribution: r.contribution, message: r.message })),
    labelling: s.labelling,
  };
}

export interface WebhookSettings {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

const WEBHOOK_COLUMNS = `w.id, w.url, w.events, w.description, w.active, w.created_by AS "createdBy", w.created_at AS "createdAt", w.updated_at AS "updatedAt",
  (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending')::int AS pending,
  (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'delivered')::int AS delivered,
  (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'dead')::int AS dead`;

const DELIVERY_COLUMNS = `id, webhook_id AS "webhookId", event_type AS "eventType", event_id AS "eventId", status, attempts, redrives,
  last_status_code AS "lastStatusCode", last_error AS "lastError", created_at AS "createdAt", updated_at AS "updatedAt", delivered_at AS "deliveredAt"`;

type WebhookRow = Omit<WebhookView, 'deliveries' | 'createdAt' | 'updatedAt'> & { createdAt: Date; updatedAt: Date; pending: number; delivered: number; dead: number };
type DeliveryRow = Omit<DeliveryView, 'createdAt' | 'updatedAt' | 'deliveredAt'> & { createdAt: Date; updatedAt: Date; deliveredAt: Date | null };

function toView(r: WebhookRow): WebhookView {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    description: r.description,
    active: r.active,
    createdBy: r.createdBy,
    createdAt: iso(r.createdAt) as string,
    updatedAt: iso(r.updatedAt) as string,
    deliveries: { pending: Number(r.pending), delivered: Number(r.delivered), dead: Number(r.dead) },
  };
}

function toDelivery(r: DeliveryRow): DeliveryView {
  return { ...r, createdAt: iso(r.createdAt) as string, updatedAt: iso(r.updatedAt) as string, deliveredAt: iso(r.deliveredAt) };
}

/** The outcome of one HTTP attempt. */
export type AttemptResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

/** One event waiting for its delivery rows (jsonb_to_recordset column names). */
interface PendingEvent {
  delivery: string;
  tenant_id: string;
  event_type: WebhookEvent;
  event_id: string;
  payload: Record<string, unknown>;
}

export class WebhookService {
  private readonly emits = new Coalescer<PendingEvent, { id: string; redrives: number }[]>((events) => this.insertDeliveries(events), {
    maxInFlight: 2,
    // The same event twice in one statement would hit its unique key twice.
    conflictKey: (event) => event.event_id,
    retryAlone: (error) => !isUnavailable(error),
  });

  constructor(
    private readonly db: Db,
    /** With WEBHOOK_ATTEMPTS and WEBHOOK_BACKOFF_MS as its retry policy (the composition root sets it). */
    private readonly jobs: JobQueue<typeof JOBS.deliver>,
    private readonly policy: AddressPolicy,
    readonly settings: WebhookSettings,
    private readonly log: Logger,
  ) {}

  // ---------------------------------------------------------------- admin CRUD

  /** Creates a subscription; the signing secret is returned once. */
  async create(tenantId: string, actor: string, input: { url: string; events: WebhookEvent[]; description?: string }): Promise<{ webhook: WebhookView; secret: string }> {
    await this.policy.check(input.url);
    const id = newId('whk');
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    await this.db.transaction(async (tx) => {
      await tx.query(
        'INSERT INTO webhooks (id, tenant_id, url, secret, events, description, created_by) VALUES ($1, $2, $3, $4, $5::text[], $6, $7)',
        [id, tenantId, input.url, secret, [...new Set(input.events)], input.description ?? '', actor],
      );
      await tx.query(
        `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'webhook', $2, 'webhook.created', $3, $4::jsonb)`,
        [tenantId, id, actor, JSON.stringify({ url: input.url, events: input.events })],
      );
    });
    return { webhook: await this.get(tenantId, id), secret };
  }

  async list(tenantId: string): Promise<WebhookView[]> {
    const rows = await this.db.query<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks w WHERE w.tenant_id = $1 AND w.deleted_at IS NULL ORDER BY w.id`, [tenantId]);
    return rows.map(toView);
  }

  async get(tenantId: string, id: string): Promise<WebhookView> {
    const rows = await this.db.query<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks w WHERE w.tenant_id = $1 AND w.id = $2 AND w.deleted_at IS NULL`, [tenantId, id]);
    if (!rows[0]) throw new ServiceError('not_found', 'no such webhook');
    return toView(rows[0]);
  }

  async update(tenantId: string, actor: string, id: string, patch: { url?: string; events?: WebhookEvent[]; description?: string; active?: boolean }): Promise<WebhookView> {
    await this.get(tenantId, id);
    if (patch.url !== undefined) await this.policy.check(patch.url);
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE webhooks SET url = COALESCE($3, url), events = COALESCE($4::text[], events), description = COALESCE($5, description),
                active = COALESCE($6, active), updated_at = now() WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id, patch.url ?? null, patch.events ? [...new Set(patch.events)] : null, patch.description ?? null, patch.active ?? null],
      );
      await tx.query(
        `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'webhook', $2, 'webhook.updated', $3, $4::jsonb)`,
        [tenantId, id, actor, JSON.stringify(patch)],
      );
    });
    return this.get(tenantId, id);
  }

  /** A new signing secret, returned once; the old one stops signing at once (retries included). */
  async rotateSecret(tenantId: string, actor: string, id: string): Promise<{ secret: string }> {
    await this.get(tenantId, id);
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    await this.db.transaction(async (tx) => {
      await tx.query('UPDATE webhooks SET secret = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2', [tenantId, id, secret]);
      await tx.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor) VALUES ($1, 'webhook', $2, 'webhook.secret_rotated', $3)`, [tenantId, id, actor]);
    });
    return { secret };
  }

  /** Soft delete: deliveries keep their history; pending ones are cancelled when their job runs. */
  async remove(tenantId: string, actor: string, id: string): Promise<void> {
    await this.get(tenantId, id);
    await this.db.transaction(async (tx) => {
      await tx.query('UPDATE webhooks SET deleted_at = now(), active = false WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      await tx.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor) VALUES ($1, 'webhook', $2, 'webhook.deleted', $3)`, [tenantId, id, actor]);
    });
  }

  async deliveries(tenantId: string, webhookId: string, options: { status?: DeliveryView['status']; limit?: number } = {}): Promise<DeliveryView[]> {
    await this.get(tenantId, webhookId);
    const rows = await this.db.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 AND ($3::text IS NULL OR status = $3)
       ORDER BY id DESC LIMIT $4`,
      [tenantId, webhookId, options.status ?? null, Math.min(Math.max(options.limit ?? 100, 1), 1000)],
    );
    return rows.map(toDelivery);
  }

  /**
   * Sends dead deliveries again (one, or every dead one of the webhook): the row goes back
   * to pending with its attempts reset, and a fresh job (new id) is queued.
   */
  async redrive(tenantId: string, actor: string, webhookId: string, deliveryId?: string): Promise<{ redriven: string[] }> {
    await this.get(tenantId, webhookId);
    const rows = await this.db.query<{ id: string; redrives: number }>(
      `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, redrives = redrives + 1, updated_at = now()
       WHERE tenant_id = $1 AND webhook_id = $2 AND status = 'dead' AND ($3::text IS NULL OR id = $3)
       RETURNING id, redrives`,
      [tenantId, webhookId, deliveryId ?? null],
    );
    if (deliveryId && rows.length === 0) {
      const exists = await this.db.query('SELECT status FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2 AND id = $3', [tenantId, webhookId, deliveryId]);
      if (!exists[0]) throw new ServiceError('not_found', 'no such delivery');
      throw new ServiceError('conflict', 'only dead deliveries can be redriven');
    }
    if (rows.length > 0) {
      await this.db.query(
        `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'webhook', $2, 'webhook.redriven', $3, $4::jsonb)`,
        [tenantId, webhookId, actor, JSON.stringify({ deliveries: rows.map((r) => r.id) })],
      );
      await this.enqueue(tenantId, rows);
    }
    return { redriven: rows.map((r) => r.id) };
  }

  // ---------------------------------------------------------------- emitting

  /**
   * Records one delivery per active webhook of the tenant subscribed to `type` and queues
   * them. `eventId` is stable per event, so emitting the same event twice sends it once.
   */
  async emit(tenantId: string, type: WebhookEvent, eventId: string, data: Record<string, unknown>): Promise<number> {
    const payload = { id: eventId, type, createdAt: new Date().toISOString(), tenantId, data };
    const rows = await this.emits.run({ delivery: newId('dlv'), tenant_id: tenantId, event_type: type, event_id: eventId, payload });
    await this.enqueue(tenantId, rows);
    return rows.length;
  }

  /**
   * The delivery rows of concurrent events in one statement: every score emits, and most
   * tenants subscribe to nothing, so this is mostly one cheap read for many scores.
   */
  private async insertDeliveries(events: PendingEvent[]): Promise<{ id: string; redrives: number }[][]> {
    const rows = await this.db.query<{ id: string; redrives: number }>(
      `INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_type, event_id, payload)
       SELECT x.delivery || '_' || w.id, w.tenant_id, w.id, x.event_type, x.event_id, x.payload
         FROM jsonb_to_recordset($1::jsonb) AS x(delivery text, tenant_id text, event_type text, event_id text, payload jsonb)
         JOIN webhooks w ON w.tenant_id = x.tenant_id AND w.active AND w.deleted_at IS NULL AND x.event_type = ANY(w.events)
       ON CONFLICT (webhook_id, event_id) DO NOTHING RETURNING id, redrives`,
      [JSON.stringify(events)],
    );
    return events.map((event) => rows.filter((row) => row.id.startsWith(`${event.delivery}_`)));
  }

  /** A committed score (`article.scored`), and `article.flagged` for a flag verdict. */
  async emitScored(scored: ScoredArticle): Promise<void> {
    const data = scoredData(scored);
    await this.emit(scored.tenantId, 'article.scored', `scored-${scored.scoreId}`, data);
    if (scored.verdict === 'flag') await this.emit(scored.tenantId, 'article.flagged', `flagged-${scored.scoreId}`, data);
  }

  /**
   * A verdict raised by re-evaluation (`article.verdict_changed`, with the previous verdict and
   * the reason), and `article.flagged` when it is now a flag: subscribers of flags alone hear it too.
   */
  async emitVerdictChanged(changed: ScoredArticle & { previous: Record<string, unknown>; reason: Record<string, unknown> }): Promise<void> {
    const data = { ...scoredData(changed), previous: changed.previous, reason: changed.reason };
    await this.emit(changed.tenantId, 'article.verdict_changed', `verdict-${changed.scoreId}`, data);
    if (changed.verdict === 'flag') await this.emit(changed.tenantId, 'article.flagged', `flagged-${changed.scoreId}`, data);
  }

  /** One committed decision: one `review.decided` carrying every item it changed. */
  async emitDecided(event: DecidedEvent): Promise<void> {
    const first = Math.min(...event.items.map((i) => i.eventId));
    await this.emit(event.tenantId, 'review.decided', `decided-${first}-${event.items.length}`, {
      decision: event.decision,
      comment: event.comment,
      actor: event.actor,
      decidedAt: event.decidedAt,
      target: event.target,
      items: event.items,
    });
  }

  private async enqueue(tenantId: string, rows: readonly { id: string; redrives: number }[]): Promise<void> {
    if (rows.length === 0) return;
    const jobs = rows.map((r) => ({ data: { tenantId, deliveryId: r.id }, key: r.redrives }));
    try {
      await this.jobs.addBulk(jobs);
    } catch (error) {
      // The rows stay pending; an admin can see them, and a redrive after marking them dead queues them again.
      this.log.warn({ err: error, count: jobs.length }, 'could not queue webhook deliveries');
    }
  }

  /**
   * Finds deliveries still pending long after their last attempt whose job is gone (Redis
   * lost it, or queueing failed after the row was written) and queues them again; one whose
   * job failed for good but was never marked (the database was down then) is marked dead.
   */
  async requeueStale(olderThanMs: number, limit = 500): Promise<number> {
    const rows = await this.db.query<{ id: string; tenantId: string; redrives: number }>(
      `SELECT id, tenant_id AS "tenantId", redrives FROM webhook_deliveries
       WHERE status = 'pending' AND updated_at < now() - ($1::bigint * interval '1 millisecond') ORDER BY updated_at LIMIT $2`,
      [olderThanMs, limit],
    );
    let requeued = 0;
    for (const row of rows) {
      const job = await this.jobs.queue.getJob(deliverJobId(row.id, row.redrives));
      if (!job) {
        await this.enqueue(row.tenantId, [row]);
        requeued++;
      } else if (await job.isFailed()) {
        await this.markDead({ tenantId: row.tenantId, deliveryId: row.id }, job.failedReason ?? 'failed');
      }
    }
    return requeued;
  }

  // ---------------------------------------------------------------- delivering (worker side)

  /**
   * One attempt of one delivery. Returns 'done' when there was nothing (more) to do, else the
   * attempt's result: delivered, or failed (the worker turns that into a retry).
   */
  async attempt(job: DeliverJob): Promise<'done' | AttemptResult> {
    const rows = await this.db.query<{ status: string; payload: unknown; url: string; secret: string; active: boolean; deletedAt: Date | null; eventType: string }>(
      `SELECT d.status, d.payload, d.event_type AS "eventType", w.url, w.secret, w.active, w.deleted_at AS "deletedAt"
       FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1 AND d.tenant_id = $2`,
      [job.deliveryId, job.tenantId],
    );
    const row = rows[0];
    if (row?.status !== 'pending') return 'done';
    if (!row.active || row.deletedAt) {
      await this.db.query(`UPDATE webhook_deliveries SET status = 'cancelled', updated_at = now() WHERE id = $1`, [job.deliveryId]);
      return 'done';
    }
    const body = JSON.stringify(row.payload);
    const result = await this.post(row.url, body, row.secret, row.eventType, job.deliveryId);
    if (result.ok) {
      await this.db.query(
        `UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status_code = $2, last_error = NULL,
                delivered_at = now(), updated_at = now() WHERE id = $1 AND status = 'pending'`,
        [job.deliveryId, result.status],
      );
      return result;
    }
    await this.db.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status_code = $2, last_error = $3, updated_at = now() WHERE id = $1 AND status = 'pending'`,
      [job.deliveryId, result.status, result.error.slice(0, 500)],
    );
    return result;
  }

  /** After the last attempt failed: the delivery is dead until an admin redrives it. */
  async markDead(job: DeliverJob, reason: string): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries SET status = 'dead', last_error = COALESCE(last_error, $2), updated_at = now() WHERE id = $1 AND status = 'pending'`,
      [job.deliveryId, reason.slice(0, 500)],
    );
  }

  /** Signs and POSTs; never follows redirects; refuses forbidden addresses at connect time. */
  private post(rawUrl: string, body: string, secret: string, eventType: string, deliveryId: string): Promise<AttemptResult> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(rawUrl);
      } catch {
        resolve({ ok: false, status: null, error: 'invalid url' });
        return;
      }
      const host = url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) && !this.policy.permits(host)) {
        resolve({ ok: false, status: null, error: `forbidden address ${host}` });
        return;
      }
      const timestamp = Math.floor(Date.now() / 1000);
      const client = url.protocol === 'https:' ? https : http;
      const req = client.request(
        url,
        {
          method: 'POST',
          lookup: this.policy.lookup,
          timeout: this.settings.timeoutMs,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'slopguard-webhooks/1',
            [EVENT_HEADER]: eventType,
            [DELIVERY_HEADER]: deliveryId,
            [TIMESTAMP_HEADER]: String(timestamp),
            [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          res.resume();
          res.on('end', () => resolve(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` }));
          res.on('error', (e) => resolve({ ok: false, status, error: e.message }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.settings.timeoutMs} ms`)));
      req.on('error', (e) => resolve({ ok: false, status: null, error: e.message }));
      req.end(body);
    });
  }
}
