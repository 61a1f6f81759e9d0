-- Which accounts a cluster already has, without reading all its members (incremental counts).
CREATE INDEX cluster_members_accounts ON cluster_members (cluster_id, account_id);
