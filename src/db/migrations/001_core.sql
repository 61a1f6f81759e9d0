-- The record: tenants, API keys, articles (current revision), scores (one row per content x
-- model version x fusion config), append-only events, submission batches.

CREATE TABLE tenants (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id),
  role        text NOT NULL CHECK (role IN ('submitter', 'moderator', 'admin')),
  name        text NOT NULL DEFAULT '',
  key_hash    text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE articles (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL,
  external_id    text NOT NULL,
  revision       integer NOT NULL DEFAULT 1,
  account_id     text NOT NULL,
  title          text,
  url            text,
  text           text NOT NULL,
  lang           text NOT NULL,
  content_hash   text NOT NULL,
  published_at   timestamptz,
  received_at    timestamptz NOT NULL DEFAULT now(),
  declared_ai    boolean NOT NULL DEFAULT false,
  labels         jsonb NOT NULL DEFAULT '[]',
  metadata       jsonb NOT NULL DEFAULT '{}',
  status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'scoring', 'scored', 'failed')),
  status_at      timestamptz NOT NULL DEFAULT now(),
  attempts       integer NOT NULL DEFAULT 0,
  last_error     text,
  -- Denormalised from the current score, for listing and filtering.
  score          real,
  label          text,
  verdict        text,
  model_version  text,
  config_version text,
  scored_at      timestamptz,
  UNIQUE (tenant_id, external_id)
);
CREATE INDEX articles_account ON articles (tenant_id, account_id, id);
CREATE INDEX articles_tenant_id ON articles (tenant_id, id);
-- The reconciler's scan: what was accepted but is not finished.
CREATE INDEX articles_unfinished ON articles (status_at) WHERE status IN ('queued', 'scoring');

CREATE TABLE scores (
  id             text PRIMARY KEY,
  article_id     text NOT NULL REFERENCES articles (id),
  tenant_id      text NOT NULL,
  revision       integer NOT NULL,
  content_hash   text NOT NULL,
  model_version  text NOT NULL,
  config_version text NOT NULL,
  score          real NOT NULL,
  label          text NOT NULL,
  verdict        text NOT NULL,
  reasons        jsonb NOT NULL,
  segments       jsonb NOT NULL,
  signals        jsonb NOT NULL,
  timings        jsonb NOT NULL,
  trigger        text NOT NULL DEFAULT 'live',
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (article_id, content_hash, model_version, config_version)
);
CREATE INDEX scores_article ON scores (article_id, created_at DESC);

CREATE TABLE events (
  id             bigserial PRIMARY KEY,
  tenant_id      text NOT NULL,
  subject_type   text NOT NULL,
  subject_id     text NOT NULL,
  type           text NOT NULL,
  actor          text NOT NULL,
  payload        jsonb NOT NULL DEFAULT '{}',
  model_version  text,
  config_version text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_subject ON events (tenant_id, subject_type, subject_id, id);
CREATE INDEX events_actor ON events (tenant_id, actor, id);

CREATE TABLE batches (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL,
  kind        text NOT NULL DEFAULT 'batch',
  total       integer NOT NULL,
  accepted    integer NOT NULL,
  rejected    integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batches_tenant ON batches (tenant_id, id);

CREATE TABLE batch_items (
  batch_id    text NOT NULL,
  idx         integer NOT NULL,
  article_id  text NOT NULL,
  PRIMARY KEY (batch_id, idx)
);
CREATE INDEX batch_items_article ON batch_items (article_id);
