-- The events table is the outbox: what must happen after a commit (webhook deliveries, cluster
-- joins, re-evaluations) is an event row written in the same statement as the change, and a
-- dispatcher in the worker turns events into work, one durable cursor per consumer.
--
-- Event ids come from a sequence, so they are allocated before commit and can become visible
-- out of order: a cursor on the id alone would skip an event whose transaction commits late.
-- Each event records the id of the transaction that wrote it; the dispatcher reads only events
-- of transactions older than every running one (the snapshot's xmin), in (txid, id) order, so
-- nothing can appear behind its cursor.
ALTER TABLE events ADD COLUMN txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX events_outbox ON events (txid, id);

CREATE TABLE outbox_cursors (
  consumer      text PRIMARY KEY,
  txid          bigint NOT NULL,
  event_id      bigint NOT NULL,
  -- One dispatcher at a time per consumer: a lease, taken over when it runs out (a killed worker).
  leased_by     text,
  leased_until  timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Consumers start at the present: events written before the outbox existed had their side
-- effects run by the callbacks of that time.
INSERT INTO outbox_cursors (consumer, txid, event_id)
SELECT c, COALESCE(max(e.txid), 0), COALESCE(max(e.id), 0)
  FROM unnest(ARRAY['webhooks', 'clusters', 'reevaluation']) AS c LEFT JOIN events e ON true GROUP BY c;

-- Re-evaluation: later evidence (a farm that formed, a burst that showed) gives an article a new
-- score version of the same content, model and config; `evaluation` numbers them (0: scored).
ALTER TABLE scores ADD COLUMN evaluation integer NOT NULL DEFAULT 0;
DO $$
DECLARE name text;
BEGIN
  SELECT conname INTO name FROM pg_constraint
   WHERE conrelid = 'scores'::regclass AND contype = 'u' AND array_length(conkey, 1) = 4;
  EXECUTE format('ALTER TABLE scores DROP CONSTRAINT %I', name);
END $$;
ALTER TABLE scores ADD CONSTRAINT scores_version UNIQUE (article_id, content_hash, model_version, config_version, evaluation);
