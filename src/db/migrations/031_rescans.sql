-- Rescans: a filter over a tenant's stored articles, paged by id cursor and scored again on
-- the low-priority queue. Each selected article gets an item holding the verdict it had when
-- selected and the one it has after rescoring: the change report is a query over the items.

CREATE TABLE rescans (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL,
  actor        text NOT NULL,
  filter       jsonb NOT NULL,
  status       text NOT NULL CHECK (status IN ('running', 'paused', 'completed', 'cancelled', 'failed')),
  -- Articles matching the filter when the rescan was created.
  total        integer NOT NULL,
  -- Articles selected (items written and queued) so far.
  selected     integer NOT NULL DEFAULT 0,
  -- Last article id selected: the driver continues after it.
  cursor       text,
  exhausted    boolean NOT NULL DEFAULT false,
  -- Bumped on resume: a driver job of an older generation stops.
  generation   integer NOT NULL DEFAULT 1,
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX rescans_tenant ON rescans (tenant_id, id);
CREATE INDEX rescans_active ON rescans (tenant_id) WHERE status IN ('running', 'paused');

CREATE TABLE rescan_items (
  rescan_id          text NOT NULL,
  article_id         text NOT NULL,
  revision           integer NOT NULL,
  status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed', 'skipped', 'cancelled')),
  old_score          real,
  old_label          text,
  old_verdict        text,
  old_model_version  text,
  old_config_version text,
  new_score          real,
  new_label          text,
  new_verdict        text,
  new_model_version  text,
  new_config_version text,
  outcome            text,
  changed            boolean NOT NULL DEFAULT false,
  newly_flagged      boolean NOT NULL DEFAULT false,
  error              text,
  enqueued_at        timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz,
  PRIMARY KEY (rescan_id, article_id)
);
-- In flight per rescan (the driver's window) and finished per time (the rate).
CREATE INDEX rescan_items_pending ON rescan_items (rescan_id, enqueued_at) WHERE status = 'pending';
CREATE INDEX rescan_items_finished ON rescan_items (rescan_id, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX rescan_items_changed ON rescan_items (rescan_id, article_id) WHERE changed;
