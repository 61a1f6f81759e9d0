-- Webhooks to the platform: per-tenant subscriptions and one delivery row per
-- (event, webhook). The row is the record (status, attempts, last error); the BullMQ
-- `deliver` queue only carries its id.

CREATE TABLE webhooks (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL,
  url          text NOT NULL,
  secret       text NOT NULL,
  events       text[] NOT NULL,
  description  text NOT NULL DEFAULT '',
  active       boolean NOT NULL DEFAULT true,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
  id                text PRIMARY KEY,
  tenant_id         text NOT NULL,
  webhook_id        text NOT NULL REFERENCES webhooks (id),
  event_type        text NOT NULL,
  event_id          text NOT NULL,
  payload           jsonb NOT NULL,
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
  attempts          integer NOT NULL DEFAULT 0,
  redrives          integer NOT NULL DEFAULT 0,
  last_status_code  integer,
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  delivered_at      timestamptz,
  UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (tenant_id, webhook_id, status, id);
