-- The console dashboard's scans (src/services/dashboard.ts): a tenant's articles by arrival time
-- (volume by verdict per day) and by scoring time (the score distribution of recent weeks),
-- answered from the index alone. bench/dashboard.ts measures them on 1M articles.
CREATE INDEX articles_tenant_received ON articles (tenant_id, received_at) INCLUDE (verdict);
CREATE INDEX articles_tenant_scored ON articles (tenant_id, scored_at) INCLUDE (score) WHERE score IS NOT NULL;
-- The open review items (backlog by age, open clusters) from the index alone: the revision is
-- what the anti-join with review_state compares.
CREATE INDEX articles_open_items ON articles (tenant_id, id) INCLUDE (received_at, revision) WHERE verdict IN ('flag', 'review');

-- Per-day rollups of the dashboard's two scans, for days that are closed (3 days old and
-- more): `received` counts a day's arrivals by verdict, `scored` its scorings by score bin
-- (0..19); key '' marks a day as computed, even when it held nothing. The dashboard scans
-- the open days live and computes a closed day once, or again when it is marked stale.
CREATE TABLE dashboard_days (
  tenant_id  text NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('received', 'scored')),
  day        date NOT NULL,
  key        text NOT NULL,
  n          integer NOT NULL,
  PRIMARY KEY (tenant_id, kind, day, key)
);

-- Days whose rollup a later change made stale: a rescan or re-evaluation of old articles, a
-- late scoring. Written by the statement triggers below for days 2 days old and more (a day
-- of margin before the dashboard trusts a rollup), so live scoring of today's articles marks
-- nothing. DO UPDATE (not DO NOTHING) takes the row's lock: the dashboard's DELETE of a mark
-- waits for a transaction that marked it to commit, so no change slips between the two.
CREATE TABLE dashboard_stale (
  tenant_id  text NOT NULL,
  kind       text NOT NULL,
  day        date NOT NULL,
  marked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, kind, day)
);

CREATE FUNCTION dashboard_mark_stale() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cutoff date := (now() AT TIME ZONE 'UTC')::date - 2;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO dashboard_stale AS s (tenant_id, kind, day)
    SELECT DISTINCT tenant_id, kind, day FROM (
      SELECT tenant_id, 'received' AS kind, (received_at AT TIME ZONE 'UTC')::date AS day FROM old_rows
      UNION ALL SELECT tenant_id, 'scored', (scored_at AT TIME ZONE 'UTC')::date FROM old_rows WHERE scored_at IS NOT NULL) x
    WHERE day <= cutoff
    ON CONFLICT (tenant_id, kind, day) DO UPDATE SET marked_at = now();
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO dashboard_stale AS s (tenant_id, kind, day)
    SELECT DISTINCT tenant_id, kind, day FROM (
      SELECT tenant_id, 'received' AS kind, (received_at AT TIME ZONE 'UTC')::date AS day FROM new_rows
      UNION ALL SELECT tenant_id, 'scored', (scored_at AT TIME ZONE 'UTC')::date FROM new_rows WHERE scored_at IS NOT NULL) x
    WHERE day <= cutoff
    ON CONFLICT (tenant_id, kind, day) DO UPDATE SET marked_at = now();
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER articles_dashboard_insert AFTER INSERT ON articles REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dashboard_mark_stale();
CREATE TRIGGER articles_dashboard_update AFTER UPDATE ON articles REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dashboard_mark_stale();
CREATE TRIGGER articles_dashboard_delete AFTER DELETE ON articles REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION dashboard_mark_stale();
