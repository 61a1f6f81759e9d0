-- The console dashboard's scans (src/services/dashboard.ts): a tenant's articles by arrival time
-- (volume by verdict per day) and by scoring time (the score distribution of recent weeks),
-- answered from the index alone. bench/dashboard.ts measures them on 1M articles.
CREATE INDEX articles_tenant_received ON articles (tenant_id, received_at) INCLUDE (verdict);
CREATE INDEX articles_tenant_scored ON articles (tenant_id, scored_at) INCLUDE (score) WHERE score IS NOT NULL;
