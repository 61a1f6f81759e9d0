-- Moderator review: the derived review state of each article (a projection of the
-- append-only `review.decided` events, written in the same transaction as them) and the
-- exclusive, leased claims moderators hold on items.

CREATE TABLE review_state (
  tenant_id      text NOT NULL,
  article_id     text NOT NULL,
  -- The article revision the decision was made on; a newer revision is pending again.
  revision       integer NOT NULL,
  state          text NOT NULL CHECK (state IN ('pending', 'escalated', 'decided')),
  decision       text CHECK (decision IN ('confirm_ai_undeclared', 'ai_declared_ok', 'human', 'escalate')),
  comment        text,
  decided_by     text,
  decided_at     timestamptz,
  decisions      integer NOT NULL DEFAULT 0,
  last_event_id  bigint,
  PRIMARY KEY (tenant_id, article_id)
);
CREATE INDEX review_state_decision ON review_state (tenant_id, decision, decided_at, article_id);

-- One row per claimed article; the primary key makes "no two moderators hold the same item"
-- a database invariant. An expired row is free: a claim takes it over with a conditional
-- INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <= now().
CREATE TABLE review_claims (
  tenant_id   text NOT NULL,
  article_id  text NOT NULL,
  moderator   text NOT NULL,
  scope_type  text NOT NULL CHECK (scope_type IN ('article', 'batch', 'cluster', 'selection')),
  scope_id    text,
  claimed_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, article_id)
);
CREATE INDEX review_claims_moderator ON review_claims (tenant_id, moderator, expires_at);

-- The review queue's scan: flagged and review-verdict articles of a tenant.
CREATE INDEX articles_review_queue ON articles (tenant_id, score DESC, id DESC) WHERE verdict IN ('flag', 'review');
CREATE INDEX articles_review_age ON articles (tenant_id, received_at, id) WHERE verdict IN ('flag', 'review');
CREATE INDEX events_tenant_id ON events (tenant_id, id);
