import { z } from 'zod';

/**
 * What the webhook routes answer, declared once: the service's return types are inferred from
 * these schemas and the routes document them (`.meta({ id })` names the OpenAPI component).
 */

const count = z.number().int().min(0);
const time = z.string().describe('ISO 8601');

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
