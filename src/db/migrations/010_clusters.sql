-- Content-farm clusters: near-duplicate articles posted by different accounts of one tenant.
-- Union semantics: an article linking two clusters merges them into the one with the smaller
-- id; the absorbed cluster keeps its row with merged_into set, so ids handed out earlier
-- still resolve. Article ids are plain text (no foreign key): clusters may name articles that
-- the record has not stored yet, and the signals tests run without the core schema.

CREATE TABLE clusters (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL,
  size             integer NOT NULL DEFAULT 0,
  account_count    integer NOT NULL DEFAULT 0,
  first_posted_at  timestamptz,
  last_posted_at   timestamptz,
  max_similarity   real,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  merged_into      text
);

CREATE INDEX clusters_tenant_recent ON clusters (tenant_id, last_posted_at DESC, id DESC)
  WHERE merged_into IS NULL;

CREATE TABLE cluster_members (
  tenant_id   text NOT NULL,
  article_id  text NOT NULL,
  cluster_id  text NOT NULL REFERENCES clusters (id),
  account_id  text NOT NULL,
  posted_at   timestamptz NOT NULL,
  -- Best estimated Jaccard similarity to another member seen so far.
  similarity  real,
  joined_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, article_id)
);

CREATE INDEX cluster_members_cluster ON cluster_members (cluster_id, posted_at, article_id);
