-- Rescan jobs carry chunks of articles: each item names its chunk (the first article id of the
-- job that carries it), so the driver can tell which jobs Redis lost and queue them again.
ALTER TABLE rescan_items ADD COLUMN chunk text;
