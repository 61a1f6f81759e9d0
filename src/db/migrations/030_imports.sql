-- Bulk NDJSON imports: one row per import with running counts, the first N per-line errors,
-- and the articles each import touched (so its progress can count what is scored).

CREATE TABLE imports (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL,
  actor         text NOT NULL,
  status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  -- Non-blank lines read; = accepted + duplicates + rejected.
  lines_read    integer NOT NULL DEFAULT 0,
  -- New or changed articles, stored and queued for scoring.
  accepted      integer NOT NULL DEFAULT 0,
  -- Valid lines whose content was already stored unchanged: no-ops.
  duplicates    integer NOT NULL DEFAULT 0,
  rejected      integer NOT NULL DEFAULT 0,
  -- Decompressed bytes read.
  bytes_read    bigint NOT NULL DEFAULT 0,
  truncated     boolean NOT NULL DEFAULT false,
  error_code    text,
  error_message text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
CREATE INDEX imports_tenant ON imports (tenant_id, id);

CREATE TABLE import_errors (
  import_id  text NOT NULL,
  line       integer NOT NULL,
  code       text NOT NULL,
  message    text NOT NULL,
  details    jsonb,
  PRIMARY KEY (import_id, line)
);

CREATE TABLE import_items (
  import_id   text NOT NULL,
  article_id  text NOT NULL,
  PRIMARY KEY (import_id, article_id)
);
