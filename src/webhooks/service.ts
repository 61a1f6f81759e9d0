import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { type Db, isUnavailable } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { Coalescer } from '../infra/coalescer.ts';
import { appendEvent } from '../store/events.ts';
import {
  cancelDelivery,
  type DeliveryRecord,
  type DeliveryRef,
  deleteWebhook,
  deliveryStatus,
  deliveryTarget,
  insertDeliveries,
  insertWebhook,
  listDeliveries,
  listWebhooks,
  markDeliveryDead,
  type PendingDelivery,
  recordAttempt,
  redriveDeliveries,
  setWebhookSecret,
  stalePendingDeliveries,
  updateWebhook,
  type WebhookRecord,
  webhookById,
} from '../store/webhooks.ts';
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

function toView(r: WebhookRecord): WebhookView {
  return {
    id: r.id,
    url: r.url,
    events: r.events as WebhookEvent[],
    description: r.description,
    active: r.active,
    createdBy: r.createdBy,
    createdAt: iso(r.createdAt) as string,
    updatedAt: iso(r.updatedAt) as string,
    deliveries: { pending: Number(r.pending), delivered: Number(r.delivered), dead: Number(r.dead) },
  };
}

function toDelivery(r: DeliveryRecord): DeliveryView {
  return { ...r, createdAt: iso(r.createdAt) as string, updatedAt: iso(r.updatedAt) as string, deliveredAt: iso(r.deliveredAt) };
}

/** The outcome of one HTTP attempt. */
export type AttemptResult = { ok: true; status: number } | { ok: false; status: number | null; error: string };

export class WebhookService {
  private readonly emits = new Coalescer<PendingDelivery, DeliveryRef[]>((events) => insertDeliveries(this.db, events), {
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
      await insertWebhook(tx, { id, tenantId, url: input.url, secret, events: input.events, description: input.description ?? '', createdBy: actor });
      await appendEvent(tx, { tenantId, subjectType: 'webhook', subjectId: id, type: 'webhook.created', actor, payload: { url: input.url, events: input.events } });
    });
    return { webhook: await this.get(tenantId, id), secret };
  }

  async list(tenantId: string): Promise<WebhookView[]> {
    return (await listWebhooks(this.db, tenantId)).map(toView);
  }

  async get(tenantId: string, id: string): Promise<WebhookView> {
    const found = await webhookById(this.db, tenantId, id);
    if (!found) throw new ServiceError('not_found', 'no such webhook');
    return toView(found);
  }

  async update(tenantId: string, actor: string, id: string, patch: { url?: string; events?: WebhookEvent[]; description?: string; active?: boolean }): Promise<WebhookView> {
    await this.get(tenantId, id);
    if (patch.url !== undefined) await this.policy.check(patch.url);
    await this.db.transaction(async (tx) => {
      await updateWebhook(tx, tenantId, id, patch);
      await appendEvent(tx, { tenantId, subjectType: 'webhook', subjectId: id, type: 'webhook.updated', actor, payload: patch });
    });
    return this.get(tenantId, id);
  }

  /** A new signing secret, returned once; the old one stops signing at once (retries included). */
  async rotateSecret(tenantId: string, actor: string, id: string): Promise<{ secret: string }> {
    await this.get(tenantId, id);
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    await this.db.transaction(async (tx) => {
      await setWebhookSecret(tx, tenantId, id, secret);
      await appendEvent(tx, { tenantId, subjectType: 'webhook', subjectId: id, type: 'webhook.secret_rotated', actor });
    });
    return { secret };
  }

  /** Soft delete: deliveries keep their history; pending ones are cancelled when their job runs. */
  async remove(tenantId: string, actor: string, id: string): Promise<void> {
    await this.get(tenantId, id);
    await this.db.transaction(async (tx) => {
      await deleteWebhook(tx, tenantId, id);
      await appendEvent(tx, { tenantId, subjectType: 'webhook', subjectId: id, type: 'webhook.deleted', actor });
    });
  }

  async deliveries(tenantId: string, webhookId: string, options: { status?: DeliveryView['status']; limit?: number } = {}): Promise<DeliveryView[]> {
    await this.get(tenantId, webhookId);
    const rows = await listDeliveries(this.db, tenantId, webhookId, options.status ?? null, Math.min(Math.max(options.limit ?? 100, 1), 1000));
    return rows.map(toDelivery);
  }

  /**
   * Sends dead deliveries again (one, or every dead one of the webhook): the row goes back
   * to pending with its attempts reset, and a fresh job (new id) is queued.
   */
  async redrive(tenantId: string, actor: string, webhookId: string, deliveryId?: string): Promise<{ redriven: string[] }> {
    await this.get(tenantId, webhookId);
    const rows = await redriveDeliveries(this.db, tenantId, webhookId, deliveryId ?? null);
    if (deliveryId && rows.length === 0) {
      if ((await deliveryStatus(this.db, tenantId, webhookId, deliveryId)) === null) throw new ServiceError('not_found', 'no such delivery');
      throw new ServiceError('conflict', 'only dead deliveries can be redriven');
    }
    if (rows.length > 0) {
      await appendEvent(this.db, { tenantId, subjectType: 'webhook', subjectId: webhookId, type: 'webhook.redriven', actor, payload: { deliveries: rows.map((r) => r.id) } });
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

  private async enqueue(tenantId: string, rows: readonly DeliveryRef[]): Promise<void> {
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
    const rows = await stalePendingDeliveries(this.db, olderThanMs, limit);
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
    const row = await deliveryTarget(this.db, job.tenantId, job.deliveryId);
    if (row?.status !== 'pending') return 'done';
    if (!row.active || row.deletedAt) {
      await cancelDelivery(this.db, job.deliveryId);
      return 'done';
    }
    const body = JSON.stringify(row.payload);
    const result = await this.post(row.url, body, row.secret, row.eventType, job.deliveryId);
    await recordAttempt(this.db, job.deliveryId, result);
    return result;
  }

  /** After the last attempt failed: the delivery is dead until an admin redrives it. */
  async markDead(job: DeliverJob, reason: string): Promise<void> {
    await markDeliveryDead(this.db, job.deliveryId, reason);
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
