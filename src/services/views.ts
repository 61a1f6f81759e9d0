import { z } from 'zod';
import { rescanFilterSchema } from './rescans.ts';

/**
 * What the import, rescan and webhook routes answer, declared once: the services' return types
 * are inferred from these schemas, the routes document them (`.meta({ id })` names the OpenAPI
 * component) and the CLI parses the service's answers with them.
 *
 *   importViewSchema.parse(await (await fetch(`${url}/v1/imports/${id}`, auth)).json())
 *   -> { id: 'imp_…', status: 'completed', linesRead: 3, accepted: 2, rejected: 1, … }
 */

const count = z.number().int().min(0);
const time = z.string().describe('ISO 8601');

export const importViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(['running', 'completed', 'failed']),
    linesRead: count.describe('Non-blank lines read: accepted + duplicates + rejected'),
    accepted: count.describe('New or changed articles, stored and queued for scoring'),
    duplicates: count.describe('Valid lines whose content was already stored: nothing to do'),
    rejected: count,
    articles: count.describe('Distinct articles the import named (accepted or duplicate)'),
    scored: count.describe('Of those articles, how many are scored now'),
    failed: count,
    bytesRead: count.describe('Decompressed bytes read'),
    truncated: z.boolean().describe('Stopped at IMPORT_MAX_BYTES'),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    errorsStored: count.describe('Per-line errors kept (at most IMPORT_MAX_STORED_ERRORS; `rejected` keeps counting)'),
    createdAt: time,
    finishedAt: time.nullable(),
  })
  .meta({
    id: 'Import',
    example: {
      id: 'imp_01JD6Z8Q4W',
      status: 'completed',
      linesRead: 3,
      accepted: 2,
      duplicates: 0,
      rejected: 1,
      articles: 2,
      scored: 0,
      failed: 0,
      bytesRead: 512,
      truncated: false,
      error: null,
      errorsStored: 1,
      createdAt: '2026-11-27T08:00:00.000Z',
      finishedAt: '2026-11-27T08:00:00.120Z',
    },
  });
export type ImportView = z.infer<typeof importViewSchema>;

export const importLineErrorSchema = z.object({ line: z.number().int().min(1), code: z.string(), message: z.string(), details: z.unknown().optional() });
export type ImportLineError = z.infer<typeof importLineErrorSchema>;

export const importErrorsPageSchema = z
  .object({ errors: z.array(importLineErrorSchema), next: z.number().int().nullable().describe('Pass as `after` for the next page') })
  .meta({ id: 'ImportErrors', example: { errors: [{ line: 2, code: 'validation_failed', message: 'article is invalid' }], next: null } });

const rescanStatus = z.enum(['running', 'paused', 'completed', 'cancelled', 'failed']);

export const rescanViewSchema = z
  .object({
    id: z.string(),
    status: rescanStatus,
    filter: rescanFilterSchema,
    total: count.describe('Articles that matched when the rescan was created (the final count once it is done)'),
    selected: count.describe('Selected and queued so far'),
    done: count.describe('Rescored (a no-op when model and config are unchanged)'),
    failed: count,
    skipped: count.describe('A newer revision arrived meanwhile: live scoring handles it'),
    cancelled: count,
    inFlight: count.describe('In the rescore queue now'),
    changed: count,
    newlyFlagged: count,
    progress: z.number().min(0).max(1),
    ratePerSecond: z.number().describe('Articles finished per second over the last 30 seconds (or the whole run once it ended)'),
    etaSeconds: z.number().nullable(),
    error: z.string().nullable(),
    createdAt: time,
    updatedAt: time,
    finishedAt: time.nullable(),
  })
  .meta({
    id: 'Rescan',
    example: {
      id: 'rsc_01JD6Z9A1B',
      status: 'running',
      filter: { verdicts: ['pass'] },
      total: 1200,
      selected: 400,
      done: 350,
      failed: 0,
      skipped: 2,
      cancelled: 0,
      inFlight: 48,
      changed: 12,
      newlyFlagged: 3,
      progress: 0.29,
      ratePerSecond: 41.5,
      etaSeconds: 20,
      error: null,
      createdAt: '2026-11-27T08:00:00.000Z',
      updatedAt: '2026-11-27T08:00:09.000Z',
      finishedAt: null,
    },
  });
export type RescanView = z.infer<typeof rescanViewSchema>;

export const rescanListSchema = z.object({ rescans: z.array(rescanViewSchema) }).meta({ id: 'RescanList' });

export const rescanCreateSchema = z
  .object({ filter: rescanFilterSchema.default({}), dryRun: z.boolean().default(false) })
  .strict()
  .meta({ id: 'RescanInput', example: { filter: { verdicts: ['pass'], configVersionNot: 'fusion-2026-11-26.1' }, dryRun: true } });

export const rescanDryRunSchema = z
  .object({ dryRun: z.literal(true), filter: rescanFilterSchema, count })
  .meta({ id: 'RescanDryRun', example: { dryRun: true, filter: { verdicts: ['pass'] }, count: 1200 } });

const transitionSchema = z.object({ from: z.string(), to: z.string(), count });
export type Transition = z.infer<typeof transitionSchema>;

export const changeSummarySchema = z
  .object({
    rescanId: z.string(),
    status: rescanStatus,
    compared: count,
    changed: count,
    newlyFlagged: count,
    verdicts: z.array(transitionSchema),
    labels: z.array(transitionSchema),
    versions: z.array(
      z.object({ fromModel: z.string().nullable(), fromConfig: z.string().nullable(), toModel: z.string().nullable(), toConfig: z.string().nullable(), count }),
    ),
  })
  .meta({ id: 'RescanChanges' });
export type ChangeSummary = z.infer<typeof changeSummarySchema>;

export const WEBHOOK_EVENTS = ['article.scored', 'article.flagged', 'article.verdict_changed', 'review.decided', 'comment.scored', 'comment.flagged', 'comment.decided'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'cancelled'] as const;

export const webhookViewSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    description: z.string(),
    active: z.boolean(),
    createdBy: z.string().describe('Key id that created it'),
    createdAt: time,
    updatedAt: time,
    deliveries: z.object({ pending: count, delivered: count, dead: count }),
  })
  .meta({ id: 'Webhook' });
export type WebhookView = z.infer<typeof webhookViewSchema>;

export const webhookCreatedSchema = z
  .object({ webhook: webhookViewSchema, secret: z.string().describe('HMAC signing secret: shown in this answer only') })
  .meta({ id: 'WebhookCreated' });
export const webhookListSchema = z.object({ webhooks: z.array(webhookViewSchema) }).meta({ id: 'WebhookList' });
export const webhookSecretSchema = z.object({ secret: z.string() }).meta({ id: 'WebhookSecret' });

export const deliveryViewSchema = z
  .object({
    id: z.string().describe('X-Slopguard-Delivery: stable across retries'),
    webhookId: z.string(),
    eventType: z.string(),
    eventId: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: count,
    redrives: count,
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: time,
    updatedAt: time,
    deliveredAt: time.nullable(),
  })
  .meta({ id: 'Delivery' });
export type DeliveryView = z.infer<typeof deliveryViewSchema>;

export const deliveryListSchema = z.object({ deliveries: z.array(deliveryViewSchema) }).meta({ id: 'DeliveryList' });
export const redrivenSchema = z.object({ redriven: z.array(z.string()).describe('Delivery ids queued again') }).meta({ id: 'Redriven' });
