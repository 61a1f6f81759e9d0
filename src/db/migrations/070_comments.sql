-- Comments: a second content type beside articles. A platform's comment answers one of its
-- articles (by the platform's article id: the article may or may not be stored here) and
-- optionally another comment. Same shape of record as articles: the current revision with
-- derived score fields, one score row per content x model x config, events in `events`
-- (subject_type 'comment'), so the outbox carries their side effects.

CREATE TABLE comments (
  id                  text PRIMARY KEY,
  tenant_id           text NOT NULL,
  external_id         text NOT NULL,
  revision            integer NOT NULL DEFAULT 1,
  account_id          text NOT NULL,
  article_external_id text NOT NULL,
  parent_external_id  text,
  -- The article's author on the platform, when the platform sends it (else read from a stored article).
  article_account_id  text,
  text                text NOT NULL,
  lang                text NOT NULL,
  content_hash        text NOT NULL,
  posted_at           timestamptz,
  received_at         timestamptz NOT NULL DEFAULT now(),
  declared_ai         boolean NOT NULL DEFAULT false,
  metadata            jsonb NOT NULL DEFAULT '{}',
  status              text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'scoring', 'scored', 'failed')),
  status_at           timestamptz NOT NULL DEFAULT now(),
  attempts            integer NOT NULL DEFAULT 0,
  last_error          text,
  score               real,
  label               text,
  verdict             text,
  model_version       text,
  config_version      text,
  scored_at           timestamptz,
  -- The near-duplicate template the comment shares with others (null: none seen yet).
  template_id         text,
  UNIQUE (tenant_id, external_id)
);
CREATE INDEX comments_tenant_id ON comments (tenant_id, id);
CREATE INDEX comments_article ON comments (tenant_id, article_external_id, id);
CREATE INDEX comments_account ON comments (tenant_id, account_id, id);
CREATE INDEX comments_template ON comments (tenant_id, template_id, id) WHERE template_id IS NOT NULL;
CREATE INDEX comments_review_queue ON comments (tenant_id, score DESC, id) WHERE verdict IN ('flag', 'review');
CREATE INDEX comments_unfinished ON comments (status_at) WHERE status IN ('queued', 'scoring');

CREATE TABLE comment_scores (
  id             text PRIMARY KEY,
  comment_id     text NOT NULL REFERENCES comments (id),
  tenant_id      text NOT NULL,
  revision       integer NOT NULL,
  content_hash   text NOT NULL,
  model_version  text NOT NULL,
  config_version text NOT NULL,
  score          real NOT NULL,
  label          text NOT NULL,
  verdict        text NOT NULL,
  reasons        jsonb NOT NULL,
  signals        jsonb NOT NULL,
  timings        jsonb NOT NULL,
  trigger        text NOT NULL DEFAULT 'live',
  -- Re-evaluation with later evidence (the template grew) writes a new version; 0: scored.
  evaluation     integer NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (comment_id, content_hash, model_version, config_version, evaluation)
);
CREATE INDEX comment_scores_comment ON comment_scores (comment_id, created_at DESC);

-- The derived review state of each comment: a projection of the append-only
-- `comment.review_decided` events, written in the same statement as them.
CREATE TABLE comment_review (
  tenant_id   text NOT NULL,
  comment_id  text NOT NULL,
  revision    integer NOT NULL,
  state       text NOT NULL CHECK (state IN ('escalated', 'decided')),
  decision    text NOT NULL CHECK (decision IN ('confirm_ai', 'ai_declared_ok', 'human', 'escalate')),
  note        text,
  decided_by  text NOT NULL,
  decided_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, comment_id)
);

-- Comments' webhooks and template re-evaluations leave through the outbox like articles': their consumers start at the present.
INSERT INTO outbox_cursors (consumer, txid, event_id)
SELECT c, COALESCE(max(e.txid), 0), COALESCE(max(e.id), 0)
  FROM unnest(ARRAY['comment-webhooks', 'comment-templates']) AS c LEFT JOIN events e ON true GROUP BY c
ON CONFLICT (consumer) DO NOTHING;
