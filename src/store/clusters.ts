import type { Db } from '../db/db.ts';

/**
 * The cluster record: `clusters` (one row per cluster; a merged one points at its survivor
 * through `merged_into`) and `cluster_members` (each article's cluster), with the
 * `cluster.grew` event. The cluster service (`services/clusters.ts`) decides merges and
 * shapes summaries. A cluster's open review items (`open_items`, the dashboard's "largest open
 * clusters") follow its membership through migration 081's trigger on cluster_members, inside
 * these statements and so under the tenant lock; an article opening or closing leaves a mark
 * that the dashboard folds in under the same lock (`store/dashboard.ts`).
 */

export interface ClusterRow {
  id: string;
  tenant_id: string;
  size: number;
  account_count: number;
  first_posted_at: Date | string | null;
  last_posted_at: Date | string | null;
  max_similarity: number | null;
  created_at: Date | string;
  updated_at: Date | string;
  accounts: string[] | null;
  article_ids: string[] | null;
}

/** An article joining a cluster. */
export interface ClusterMember {
  articleId: string;
  accountId: string;
  postedAt: string;
  similarity: number | null;
}

/** A cluster's account count and size after a change. */
export interface ClusterCounts {
  accounts: number;
  size: number;
}

const SELECT_SUMMARY = `
  SELECT c.id, c.tenant_id, c.size, c.account_count, c.first_posted_at, c.last_posted_at,
         c.max_similarity, c.created_at, c.updated_at, c.merged_into,
         (SELECT array_agg(DISTINCT m.account_id ORDER BY m.account_id)
            FROM cluster_members m WHERE m.cluster_id = c.id) AS accounts,
         (SELECT array_agg(x.article_id ORDER BY x.posted_at, x.article_id)
            FROM (SELECT m.article_id, m.posted_at FROM cluster_members m
                   WHERE m.cluster_id = c.id ORDER BY m.posted_at, m.article_id LIMIT $MEMBERS) x) AS article_ids
    FROM clusters c`;

// ---------------------------------------------------------------- joins and merges

/**
 * Serialises cluster changes per tenant for the transaction (the caller passes tenants sorted, so
 * two never deadlock). Article changes that open or close a review item try its shared form
 * (migration 081) and never wait on it; the dashboard's fold tries the exclusive form.
 */
export async function lockTenant(tx: Db, tenantId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('slopguard:clusters:' || $1))`, [tenantId]);
}

/**
 * The clusters the articles are already in, and the live cluster `proposed` leads to through
 * earlier merges (at most 32 hops, never into another tenant): one read.
 */
export async function existingClusters(tx: Db, tenantId: string, ids: readonly string[], proposed: string): Promise<{ existing: string[]; live: string | null }> {
  const [found] = await tx.query<{ existing: string[] | null; live: string | null }>(
    `WITH RECURSIVE chain AS (
         SELECT id, merged_into, tenant_id, 0 AS hop FROM clusters WHERE id = $3
         UNION ALL
         SELECT c.id, c.merged_into, c.tenant_id, chain.hop + 1 FROM clusters c JOIN chain ON c.id = chain.merged_into
          WHERE chain.hop < 31 AND chain.tenant_id = $1
       )
       SELECT (SELECT array_agg(DISTINCT cluster_id) FROM cluster_members WHERE tenant_id = $1 AND article_id = ANY($2::text[])) AS existing,
              (SELECT id FROM chain WHERE merged_into IS NULL AND tenant_id = $1 ORDER BY hop LIMIT 1) AS live`,
    [tenantId, ids, proposed],
  );
  return { existing: found?.existing ?? [], live: found?.live ?? null };
}

/** The largest account count among the clusters (0 for none). */
export async function maxAccountCount(tx: Db, clusterIds: readonly string[]): Promise<number> {
  const [before] = await tx.query<{ accounts: number }>('SELECT COALESCE(max(account_count), 0)::int AS accounts FROM clusters WHERE id = ANY($1::text[])', [clusterIds]);
  return before?.accounts ?? 0;
}

export async function insertCluster(tx: Db, id: string, tenantId: string): Promise<void> {
  await tx.query('INSERT INTO clusters (id, tenant_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, tenantId]);
}

/**
 * Moves the absorbed clusters' members into `target` and points them (and what was merged into
 * them) at it. Their open items move with them (migration 081's trigger on cluster_members).
 */
export async function absorbClusters(tx: Db, tenantId: string, target: string, absorbed: readonly string[]): Promise<void> {
  await tx.query('UPDATE cluster_members SET cluster_id = $1 WHERE tenant_id = $2 AND cluster_id = ANY($3::text[])', [target, tenantId, absorbed]);
  await tx.query(
    `UPDATE clusters SET merged_into = $1, size = 0, account_count = 0, open_items = 0, updated_at = now()
          WHERE tenant_id = $2 AND (id = ANY($3::text[]) OR merged_into = ANY($3::text[]))`,
    [target, tenantId, absorbed],
  );
}

const memberParams = (members: readonly ClusterMember[]) => [
  members.map((m) => m.articleId),
  members.map((m) => m.accountId),
  members.map((m) => m.postedAt),
  members.map((m) => m.similarity),
];

/** After a merge: upserts the members, then recounts the merged cluster from all its members. */
export async function addMembersAndRecount(tx: Db, tenantId: string, target: string, members: readonly ClusterMember[]): Promise<ClusterCounts | undefined> {
  await tx.query(
    `INSERT INTO cluster_members (tenant_id, article_id, cluster_id, account_id, posted_at, similarity)
         SELECT $1, u.article_id, $2, u.account_id, u.posted_at, u.similarity
           FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::real[]) AS u(article_id, account_id, posted_at, similarity)
         ON CONFLICT (tenant_id, article_id) DO UPDATE
           SET cluster_id = EXCLUDED.cluster_id,
               similarity = GREATEST(cluster_members.similarity, EXCLUDED.similarity)`,
    [tenantId, target, ...memberParams(members)],
  );
  const [after] = await tx.query<ClusterCounts>(
    `UPDATE clusters c
            SET size = s.n, account_count = s.accounts, first_posted_at = s.first, last_posted_at = s.last,
                max_similarity = s.sim, updated_at = now()
           FROM (SELECT count(*) AS n, count(DISTINCT account_id) AS accounts, min(posted_at) AS first,
                        max(posted_at) AS last, max(similarity) AS sim
                   FROM cluster_members WHERE tenant_id = $2 AND cluster_id = $1) s
          WHERE c.id = $1 RETURNING c.account_count AS accounts, c.size`,
    [target, tenantId],
  );
  return after;
}

/**
 * Without a merge: upserts the members and updates the counts from the rows this adds, not
 * from every member (farms reach thousands of articles, and these upserts are serialised per
 * tenant).
 */
export async function addMembers(tx: Db, tenantId: string, target: string, members: readonly ClusterMember[]): Promise<ClusterCounts | undefined> {
  const [after] = await tx.query<ClusterCounts>(
    `WITH input AS (
           SELECT * FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::real[]) AS u(article_id, account_id, posted_at, similarity)
         ), known_accounts AS (
           SELECT DISTINCT account_id FROM cluster_members
            WHERE tenant_id = $1 AND cluster_id = $2 AND account_id IN (SELECT account_id FROM input)
         ), upserted AS (
           INSERT INTO cluster_members AS m (tenant_id, article_id, cluster_id, account_id, posted_at, similarity)
           SELECT $1, article_id, $2, account_id, posted_at, similarity FROM input
           ON CONFLICT (tenant_id, article_id) DO UPDATE
             SET cluster_id = EXCLUDED.cluster_id, similarity = GREATEST(m.similarity, EXCLUDED.similarity)
           RETURNING m.account_id, m.posted_at, m.similarity, (xmax = 0) AS inserted
         )
         UPDATE clusters c
            SET size = c.size + (SELECT count(*) FROM upserted WHERE inserted),
                account_count = c.account_count + (SELECT count(DISTINCT account_id) FROM upserted
                                                    WHERE inserted AND account_id NOT IN (SELECT account_id FROM known_accounts)),
                first_posted_at = LEAST(c.first_posted_at, (SELECT min(posted_at) FROM upserted)),
                last_posted_at = GREATEST(c.last_posted_at, (SELECT max(posted_at) FROM upserted)),
                max_similarity = GREATEST(c.max_similarity, (SELECT max(similarity) FROM upserted)),
                updated_at = now()
          WHERE c.id = $2 RETURNING c.account_count AS accounts, c.size`,
    [tenantId, target, ...memberParams(members)],
  );
  return after;
}

/** The `cluster.grew` event that re-evaluates the cluster's earlier members (the outbox). */
export async function insertClusterGrew(tx: Db, tenantId: string, clusterId: string, payload: Record<string, unknown>): Promise<void> {
  await tx.query(`INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'cluster', $2, 'cluster.grew', 'system:clusters', $3::jsonb)`, [
    tenantId,
    clusterId,
    JSON.stringify(payload),
  ]);
}

/**
 * How the articles are recorded: how many are members with at least the given similarity
 * (null: any), in how many clusters, the smallest, and whether those are all live.
 */
export async function coverage(
  db: Db,
  tenantId: string,
  ids: readonly string[],
  similarities: readonly (number | null)[],
): Promise<{ covered: number; clusters: number; cluster_id: string | null; live: boolean | null } | undefined> {
  const rows = await db.query<{ covered: number; clusters: number; cluster_id: string | null; live: boolean | null }>(
    `SELECT count(*)::int AS covered, count(DISTINCT m.cluster_id)::int AS clusters, min(m.cluster_id) AS cluster_id,
              bool_and(c.merged_into IS NULL) AS live
         FROM unnest($2::text[], $3::real[]) AS u(article_id, similarity)
         JOIN cluster_members m ON m.tenant_id = $1 AND m.article_id = u.article_id
                                AND (u.similarity IS NULL OR m.similarity >= u.similarity)
         JOIN clusters c ON c.id = m.cluster_id`,
    [tenantId, ids, similarities],
  );
  return rows[0];
}

// ---------------------------------------------------------------- reads

/** Up to `limit` live clusters with at least `minAccounts` accounts, most recently active first, after the cursor. */
export async function liveClusterRows(
  db: Db,
  tenantId: string,
  page: { afterAt: string | null; afterId: string | null; minAccounts: number; memberLimit: number; limit: number },
): Promise<ClusterRow[]> {
  return db.query<ClusterRow>(
    `${SELECT_SUMMARY.replace('$MEMBERS', '$5')}
        WHERE c.tenant_id = $1 AND c.merged_into IS NULL AND c.account_count >= $4
          AND ($2::timestamptz IS NULL OR (c.last_posted_at, c.id) < ($2::timestamptz, $3::text))
        ORDER BY c.last_posted_at DESC, c.id DESC
        LIMIT $6`,
    [tenantId, page.afterAt, page.afterId, page.minAccounts, page.memberLimit, page.limit],
  );
}

/** One cluster row, live or merged (`merged_into` names the cluster it went into). */
export async function clusterRow(db: Db, tenantId: string, id: string, memberLimit: number): Promise<(ClusterRow & { merged_into: string | null }) | null> {
  const rows = await db.query<ClusterRow & { merged_into: string | null }>(`${SELECT_SUMMARY.replace('$MEMBERS', '$3')} WHERE c.tenant_id = $1 AND c.id = $2`, [
    tenantId,
    id,
    memberLimit,
  ]);
  return rows[0] ?? null;
}

/** The cluster an article belongs to, if any. */
export async function clusterOfArticle(db: Db, tenantId: string, articleId: string): Promise<string | null> {
  const rows = await db.query<{ cluster_id: string }>('SELECT cluster_id FROM cluster_members WHERE tenant_id = $1 AND article_id = $2', [tenantId, articleId]);
  return rows[0]?.cluster_id ?? null;
}
