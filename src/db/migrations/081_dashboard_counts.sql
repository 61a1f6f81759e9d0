-- The console dashboard's figures from indexes and small rollups instead of aggregates over the
-- record (src/store/dashboard.ts; bench/dashboard.ts measures them on 1M articles). Existing
-- rows are backfilled here, so an upgraded store shows the same numbers as before.
--
-- Open review items are the articles with a flag or review verdict not decided on their current
-- revision. Which revision was decided lives on the article (`decided_revision`, kept by a
-- trigger on review_state), so "open" is a property of the article row: the backlog is read from
-- a partial index of open items, and a change that opens or closes an item is seen by one row
-- trigger on `articles`.

-- 080's statement triggers ran once per statement on every write to articles (transition tables
-- of every row); they are replaced below by row triggers whose WHEN skips live articles.
DROP TRIGGER articles_dashboard_insert ON articles;
DROP TRIGGER articles_dashboard_update ON articles;
DROP TRIGGER articles_dashboard_delete ON articles;
DROP FUNCTION dashboard_mark_stale();

ALTER TABLE articles ADD COLUMN decided_revision integer;
UPDATE articles a SET decided_revision = rs.revision
  FROM review_state rs
 WHERE rs.tenant_id = a.tenant_id AND rs.article_id = a.id AND rs.state = 'decided';

DROP INDEX articles_open_items;
CREATE INDEX articles_open ON articles (tenant_id, received_at)
  WHERE verdict IN ('flag', 'review') AND decided_revision IS DISTINCT FROM revision;

-- ---------------------------------------------------------------- day rollups: stale marks

-- A mark is now a row of its own, inserted with the change it marks and never updated: the
-- dashboard deletes the marks its snapshot sees (then recomputes their days), and a mark of a
-- transaction not committed yet is not among them, so it waits for the next dashboard. No key,
-- so no lock: 080's upsert took one per (tenant, kind, day), and two rescans marking the same
-- days in different orders could deadlock once marks were written row by row.
ALTER TABLE dashboard_stale DROP CONSTRAINT dashboard_stale_pkey;
CREATE INDEX dashboard_stale_day ON dashboard_stale (tenant_id, kind, day);

-- Marks the days of one article (old and new row) that 080's rollup holds as closed: 2 days old
-- and more, as 080 did. The triggers' WHEN clauses call this only when a column the rollups count
-- changed (tenant, arrival, verdict, scoring time, score) on an article of such a day, so a live
-- submission and its scoring run no function at all. A day this transaction marked already is
-- not marked again (a rescan of a thousand articles of one day writes one mark).
CREATE FUNCTION dashboard_mark_stale_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cutoff date := (now() AT TIME ZONE 'UTC')::date - 2;
BEGIN
  -- OLD is NULL in an insert, NEW in a delete
  INSERT INTO dashboard_stale (tenant_id, kind, day)
  SELECT DISTINCT x.tenant_id, x.kind, x.day FROM (VALUES
      (OLD.tenant_id, 'received', (OLD.received_at AT TIME ZONE 'UTC')::date),
      (OLD.tenant_id, 'scored', (OLD.scored_at AT TIME ZONE 'UTC')::date),
      (NEW.tenant_id, 'received', (NEW.received_at AT TIME ZONE 'UTC')::date),
      (NEW.tenant_id, 'scored', (NEW.scored_at AT TIME ZONE 'UTC')::date)
    ) AS x(tenant_id, kind, day)
  WHERE x.tenant_id IS NOT NULL AND x.day <= cutoff
    AND NOT EXISTS (SELECT 1 FROM dashboard_stale s WHERE s.tenant_id = x.tenant_id AND s.kind = x.kind AND s.day = x.day
                                                      AND s.xmin = pg_current_xact_id()::xid);
  RETURN NULL;
END $$;

-- "Before the cutoff": a UTC day 2 days old or more, i.e. before yesterday's UTC midnight.
CREATE TRIGGER articles_dashboard_insert AFTER INSERT ON articles FOR EACH ROW
  WHEN (NEW.received_at < ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC'
        OR NEW.scored_at < ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC')
  EXECUTE FUNCTION dashboard_mark_stale_row();
CREATE TRIGGER articles_dashboard_update AFTER UPDATE ON articles FOR EACH ROW
  WHEN ((OLD.tenant_id, OLD.received_at, OLD.verdict, OLD.scored_at, OLD.score) IS DISTINCT FROM (NEW.tenant_id, NEW.received_at, NEW.verdict, NEW.scored_at, NEW.score)
        AND (OLD.received_at < ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC'
             OR OLD.scored_at < ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC'
             OR NEW.received_at < ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC'
             OR NEW.scored_at < ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC'))
  EXECUTE FUNCTION dashboard_mark_stale_row();
CREATE TRIGGER articles_dashboard_delete AFTER DELETE ON articles FOR EACH ROW
  WHEN (OLD.received_at < ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC'
        OR OLD.scored_at < ((now() AT TIME ZONE 'UTC')::date - 1)::timestamp AT TIME ZONE 'UTC')
  EXECUTE FUNCTION dashboard_mark_stale_row();

-- ---------------------------------------------------------------- open items per cluster

-- Open items per live cluster, so "largest open clusters" is an index scan. Membership changes
-- (the cluster service's joins and merges, under its per-tenant advisory lock) adjust it from
-- the statement's transition tables; an article opening or closing cannot take that lock (it
-- would wait on the cluster service while holding article rows), so it leaves a mark instead,
-- and the dashboard recounts the marked articles' clusters (src/store/dashboard.ts).
ALTER TABLE clusters ADD COLUMN open_items integer NOT NULL DEFAULT 0;
UPDATE clusters c SET open_items = x.n
  FROM (SELECT cm.cluster_id, count(*)::int AS n
          FROM cluster_members cm
          JOIN articles a ON a.tenant_id = cm.tenant_id AND a.id = cm.article_id
         WHERE a.verdict IN ('flag', 'review') AND a.decided_revision IS DISTINCT FROM a.revision
         GROUP BY cm.cluster_id) x
 WHERE c.id = x.cluster_id;
CREATE INDEX clusters_open ON clusters (tenant_id, open_items DESC, size DESC, id)
  WHERE merged_into IS NULL AND open_items > 0;

-- Articles that opened or closed while in a cluster (or while a cluster change was in flight)
-- since the dashboard last folded them into `open_items`: no key, so writers never wait on
-- each other.
CREATE TABLE cluster_open_marks (
  tenant_id   text NOT NULL,
  article_id  text NOT NULL
);
CREATE INDEX cluster_open_marks_tenant ON cluster_open_marks (tenant_id, article_id);

CREATE FUNCTION cluster_members_open_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE clusters c SET open_items = c.open_items + d.n
      FROM (SELECT m.cluster_id, count(*)::int AS n FROM new_rows m
              JOIN articles a ON a.tenant_id = m.tenant_id AND a.id = m.article_id
             WHERE a.verdict IN ('flag', 'review') AND a.decided_revision IS DISTINCT FROM a.revision
             GROUP BY m.cluster_id) d
     WHERE c.id = d.cluster_id;
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE clusters c SET open_items = c.open_items - d.n
      FROM (SELECT m.cluster_id, count(*)::int AS n FROM old_rows m
              JOIN articles a ON a.tenant_id = m.tenant_id AND a.id = m.article_id
             WHERE a.verdict IN ('flag', 'review') AND a.decided_revision IS DISTINCT FROM a.revision
             GROUP BY m.cluster_id) d
     WHERE c.id = d.cluster_id;
  ELSE
    UPDATE clusters c SET open_items = c.open_items + d.n
      FROM (SELECT x.cluster_id, sum(x.n)::int AS n
              FROM (SELECT m.cluster_id, m.tenant_id, m.article_id, 1 AS n FROM new_rows m
                    UNION ALL SELECT m.cluster_id, m.tenant_id, m.article_id, -1 FROM old_rows m) x
              JOIN articles a ON a.tenant_id = x.tenant_id AND a.id = x.article_id
             WHERE a.verdict IN ('flag', 'review') AND a.decided_revision IS DISTINCT FROM a.revision
             GROUP BY x.cluster_id HAVING sum(x.n) <> 0) d
     WHERE c.id = d.cluster_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER cluster_members_open_insert AFTER INSERT ON cluster_members REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cluster_members_open_items();
CREATE TRIGGER cluster_members_open_update AFTER UPDATE ON cluster_members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cluster_members_open_items();
CREATE TRIGGER cluster_members_open_delete AFTER DELETE ON cluster_members REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION cluster_members_open_items();

-- An article opened or closed. The shared form of the cluster service's tenant lock, tried
-- first: held, no cluster change of the tenant is in flight (one that was has committed, and the
-- lookup below sees it) and none starts before this transaction commits (it sees this change
-- in its counts). Not held: a change is in flight, its counts may miss this one, mark anyway.
CREATE FUNCTION articles_open_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  t text := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
  a text := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
BEGIN
  IF pg_try_advisory_xact_lock_shared(hashtext('slopguard:clusters:' || t)) THEN
    IF EXISTS (SELECT 1 FROM cluster_members WHERE tenant_id = t AND article_id = a) THEN
      INSERT INTO cluster_open_marks (tenant_id, article_id) VALUES (t, a);
    END IF;
  ELSE
    INSERT INTO cluster_open_marks (tenant_id, article_id) VALUES (t, a);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER articles_open_insert AFTER INSERT ON articles FOR EACH ROW
  WHEN (NEW.verdict IN ('flag', 'review') AND NEW.decided_revision IS DISTINCT FROM NEW.revision)
  EXECUTE FUNCTION articles_open_changed();
CREATE TRIGGER articles_open_update AFTER UPDATE ON articles FOR EACH ROW
  WHEN ((COALESCE(OLD.verdict IN ('flag', 'review'), false) AND OLD.decided_revision IS DISTINCT FROM OLD.revision)
        IS DISTINCT FROM (COALESCE(NEW.verdict IN ('flag', 'review'), false) AND NEW.decided_revision IS DISTINCT FROM NEW.revision))
  EXECUTE FUNCTION articles_open_changed();
CREATE TRIGGER articles_open_delete AFTER DELETE ON articles FOR EACH ROW
  WHEN (OLD.verdict IN ('flag', 'review') AND OLD.decided_revision IS DISTINCT FROM OLD.revision)
  EXECUTE FUNCTION articles_open_changed();

-- ---------------------------------------------------------------- precision

-- Decided (not escalated) flag/review items per model version, verdict and decision at the
-- decision (from its event, as the moderator saw them). Decisions append rows (+1 for the new
-- decision, -1 for the one it replaced), so no two moderators wait on one counter row; the
-- dashboard sums the rows and folds them into one per key now and then.
CREATE TABLE dashboard_precision (
  tenant_id      text NOT NULL,
  model_version  text,
  verdict        text NOT NULL,
  decision       text NOT NULL,
  n              integer NOT NULL
);
CREATE INDEX dashboard_precision_tenant ON dashboard_precision (tenant_id);
INSERT INTO dashboard_precision (tenant_id, model_version, verdict, decision, n)
SELECT rs.tenant_id, e.model_version, e.payload->>'verdict', rs.decision, count(*)::int
  FROM review_state rs JOIN events e ON e.id = rs.last_event_id
 WHERE rs.state = 'decided' AND rs.decision <> 'escalate' AND e.payload->>'verdict' IN ('flag', 'review')
 GROUP BY 1, 2, 3, 4;

-- A review state written: the article's decided revision, and the precision rows.
CREATE FUNCTION review_state_dashboard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  decided integer;
BEGIN
  IF TG_OP <> 'DELETE' THEN
    decided := CASE WHEN NEW.state = 'decided' THEN NEW.revision END;
    UPDATE articles SET decided_revision = decided
     WHERE tenant_id = NEW.tenant_id AND id = NEW.article_id AND decided_revision IS DISTINCT FROM decided;
  ELSE
    UPDATE articles SET decided_revision = NULL
     WHERE tenant_id = OLD.tenant_id AND id = OLD.article_id AND decided_revision IS NOT NULL;
  END IF;
  INSERT INTO dashboard_precision (tenant_id, model_version, verdict, decision, n)
  SELECT x.tenant_id, e.model_version, e.payload->>'verdict', x.decision, sum(x.n)::int
    FROM (SELECT OLD.tenant_id AS tenant_id, OLD.last_event_id AS event_id, OLD.decision AS decision, -1 AS n
           WHERE TG_OP <> 'INSERT' AND OLD.state = 'decided' AND OLD.decision <> 'escalate'
          UNION ALL
          SELECT NEW.tenant_id, NEW.last_event_id, NEW.decision, 1
           WHERE TG_OP <> 'DELETE' AND NEW.state = 'decided' AND NEW.decision <> 'escalate') x
    JOIN events e ON e.id = x.event_id
   WHERE e.payload->>'verdict' IN ('flag', 'review')
   GROUP BY 1, 2, 3, 4 HAVING sum(x.n) <> 0;
  RETURN NULL;
END $$;

CREATE TRIGGER review_state_dashboard_insert AFTER INSERT ON review_state FOR EACH ROW
  EXECUTE FUNCTION review_state_dashboard();
CREATE TRIGGER review_state_dashboard_update AFTER UPDATE ON review_state FOR EACH ROW
  WHEN ((OLD.state, OLD.revision, OLD.decision, OLD.last_event_id) IS DISTINCT FROM (NEW.state, NEW.revision, NEW.decision, NEW.last_event_id))
  EXECUTE FUNCTION review_state_dashboard();
CREATE TRIGGER review_state_dashboard_delete AFTER DELETE ON review_state FOR EACH ROW
  EXECUTE FUNCTION review_state_dashboard();
