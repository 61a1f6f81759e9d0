/**
 * Content-farm clusters in the record: groups of near-duplicate articles across accounts,
 * built from `AccountSignals.observe` results.
 *
 * Union semantics, deterministic: an observation names an article and its near-duplicates;
 * every cluster any of them belongs to, plus the id Redis proposed, are merged into the
 * smallest id. Merges are serialised per tenant with a transaction-scoped advisory lock, so
 * concurrent workers cannot split a cluster. Idempotent: replaying an observation changes
 * nothing.
 *
 * Example:
 *   const clusters = new ClusterService(db);
 *   const id = await clusters.upsertFromObservation(result); // 'cl_3f2a...' or null
 *   const page = await clusters.list('t1', { limit: 20 });
 *   // { clusters: [{ id, size: 12, accountCount: 12, accounts: [...], articleIds: [...],
 *   //   firstPostedAt: '2026-10-07T10:00:00.000Z', lastPostedAt: '...', spanSeconds: 44 }],
 *   //   nextCursor: 'WyIyMDI2...' }
 */
import { createHash } from 'node:crypto';
import { type Db, isUnavailable } from '../db/db.ts';
import { Coalescer } from '../infra/coalescer.ts';
import { isStorableText, isTimeInRange } from '../domain/fields.ts';
import type { AccountSignalsResult } from '../signals/types.ts';
import { crossesStep } from './reevaluation.ts';

export interface ClusterSummary {
  id: string;
  tenantId: string;
  size: number;
  accountCount: number;
  /** Distinct accounts, sorted. */
  accounts: string[];
  /** Member article ids, oldest post first (at most `memberLimit`). */
  articleIds: string[];
  firstPostedAt: string | null;
  lastPostedAt: string | null;
  /** Seconds between the first and the last post. */
  spanSeconds: number;
  maxSimilarity: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface ListClustersOptions {
  limit?: number;
  cursor?: string | null;
  /** Member article ids returned per cluster at most (default 100). */
  memberLimit?: number;
  /** Only clusters with at least this many distinct accounts (default 2). */
  minAccounts?: number;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
  }
}

interface ClusterRow {
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

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

function toSummary(r: ClusterRow): ClusterSummary {
  const first = iso(r.first_posted_at);
  const last = iso(r.last_posted_at);
  return {
    id: r.id,
    tenantId: r.tenant_id,
    size: Number(r.size),
    accountCount: Number(r.account_count),
    accounts: r.accounts ?? [],
    articleIds: r.article_ids ?? [],
    firstPostedAt: first,
    lastPostedAt: last,
    spanSeconds: first && last ? Math.round((Date.parse(last) - Date.parse(first)) / 1000) : 0,
    maxSimilarity: r.max_similarity === null ? null : Math.round(Number(r.max_similarity) * 1000) / 1000,
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
  };
}

function encodeCursor(lastPostedAt: string | null, id: string): string {
  return Buffer.from(JSON.stringify([lastPostedAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && isTimeInRange(v[0]) && isStorableText(v[1])) {
      return [v[0], v[1]];
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
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

/** Deterministic id for a brand-new cluster: from the tenant and its smallest article id. */
export function newClusterId(tenantId: string, articleIds: readonly string[]): string {
  const min = [...articleIds].sort()[0] ?? '';
  return `cl_${createHash('sha1').update(tenantId).update('\0').update(min).digest('hex').slice(0, 20)}`;
}

/** What a cluster join reads from an account-signals observation. */
export type ClusterObservation = Pick<AccountSignalsResult, 'tenantId' | 'articleId' | 'accountId' | 'postedAt' | 'firstObservation' | 'similar' | 'clusterId'>;

export class ClusterService {
  // One observation the database refuses fails only itself.
  private readonly upserts = new Coalescer<ClusterObservation, string>((batch) => this.upsertBatch(batch), {
    maxInFlight: 1,
    maxBatch: 100,
    retryAlone: (error) => !isUnavailable(error),
  });

  constructor(private readonly db: Db) {}

  /**
   * Records the article and its cross-account near-duplicates as one cluster, merging every
   * cluster they already belong to. Returns the cluster id, or null when the observation
   * found no near-duplicate and the article is in no cluster.
   */
  async upsertFromObservation(obs: ClusterObservation): Promise<string | null> {
    if (obs.similar.length === 0) return this.clusterOf(obs.tenantId, obs.articleId);
    // An article seen again (a retry, a rescan) usually brings nothing new: answer from one
    // read instead of a locked transaction that would serialise a whole rescan per tenant.
    if (!obs.firstObservation) {
      const recorded = await this.recordedCluster(obs);
      if (recorded) return recorded;
    }
    return this.upserts.run(obs);
  }

  /**
   * Concurrent observations share one transaction: the per-tenant locks (taken in tenant
   * order, so two processes never deadlock) and the commit are paid once per batch, and
   * waiting happens here rather than on a lock holding a database connection.
   */
  private upsertBatch(batch: ClusterObservation[]): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      for (const tenantId of [...new Set(batch.map((o) => o.tenantId))].sort()) {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('slopguard:clusters:' || $1))`, [tenantId]);
      }
      const ids: string[] = [];
      for (const obs of batch) ids.push(await this.applyObservation(tx, obs));
      return ids;
    });
  }

  /** One observation with near-duplicates, inside a transaction holding its tenant's lock. */
  private async applyObservation(tx: Db, obs: ClusterObservation): Promise<string> {
    const { tenantId } = obs;
    const members = [
      { articleId: obs.articleId, accountId: obs.accountId, postedAt: obs.postedAt, similarity: obs.similar[0]?.similarity ?? null },
      ...obs.similar,
    ];
    const ids = members.map((m) => m.articleId);
    const proposed = obs.clusterId ?? newClusterId(tenantId, ids);
    // The clusters the articles are already in, and the live cluster the id Redis proposed
    // leads to through earlier merges (at most 32 hops, never into another tenant): one read.
    // The proposed id is used when none of the articles has a cluster yet, or when it names a
    // live cluster that must then be joined too.
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
    const existing = found?.existing ?? [];
    const live = found?.live ?? null;
    const candidates = new Set<string>(existing);
    if (live || candidates.size === 0) candidates.add(live ?? proposed);
    const sorted = [...candidates].sort();
    const target = sorted[0] as string;
    const absorbed = sorted.slice(1);

    // The account count before, to tell when the farm crosses a re-evaluation step.
    const [before] = await tx.query<{ accounts: number }>('SELECT COALESCE(max(account_count), 0)::int AS accounts FROM clusters WHERE id = ANY($1::text[])', [sorted]);
    // Only a brand-new cluster needs its row; every other candidate already has one.
    if (!live && existing.length === 0) {
      await tx.query('INSERT INTO clusters (id, tenant_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [target, tenantId]);
    }
    if (absorbed.length > 0) {
      await tx.query('UPDATE cluster_members SET cluster_id = $1 WHERE tenant_id = $2 AND cluster_id = ANY($3::text[])', [
        target,
        tenantId,
        absorbed,
      ]);
      await tx.query(
        `UPDATE clusters SET merged_into = $1, size = 0, account_count = 0, updated_at = now()
          WHERE tenant_id = $2 AND (id = ANY($3::text[]) OR merged_into = ANY($3::text[]))`,
        [target, tenantId, absorbed],
      );
    }
    const memberParams = [ids, members.map((m) => m.accountId), members.map((m) => m.postedAt), members.map((m) => m.similarity)];
    let after: { accounts: number; size: number } | undefined;
    if (absorbed.length > 0) {
      // A merge: insert, then recount the merged cluster from its members.
      await tx.query(
        `INSERT INTO cluster_members (tenant_id, article_id, cluster_id, account_id, posted_at, similarity)
         SELECT $1, u.article_id, $2, u.account_id, u.posted_at, u.similarity
           FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::real[]) AS u(article_id, account_id, posted_at, similarity)
         ON CONFLICT (tenant_id, article_id) DO UPDATE
           SET cluster_id = EXCLUDED.cluster_id,
               similarity = GREATEST(cluster_members.similarity, EXCLUDED.similarity)`,
        [tenantId, target, ...memberParams],
      );
      [after] = await tx.query<{ accounts: number; size: number }>(
        `UPDATE clusters c
            SET size = s.n, account_count = s.accounts, first_posted_at = s.first, last_posted_at = s.last,
                max_similarity = s.sim, updated_at = now()
           FROM (SELECT count(*) AS n, count(DISTINCT account_id) AS accounts, min(posted_at) AS first,
                        max(posted_at) AS last, max(similarity) AS sim
                   FROM cluster_members WHERE tenant_id = $2 AND cluster_id = $1) s
          WHERE c.id = $1 RETURNING c.account_count AS accounts, c.size`,
        [target, tenantId],
      );
    } else {
      // The common case, a farm growing by one article: update the counts from the rows
      // this observation adds, not from every member (farms reach thousands of articles,
      // and these upserts are serialised per tenant).
      [after] = await tx.query<{ accounts: number; size: number }>(
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
        [tenantId, target, ...memberParams],
      );
    }
    // The farm became visible or grew a step: its earlier members are re-evaluated. The event
    // commits with the membership (the outbox), so a crash here cannot lose it.
    if (after && crossesStep(before?.accounts ?? 0, after.accounts)) {
      await tx.query(
        `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload) VALUES ($1, 'cluster', $2, 'cluster.grew', 'system:clusters', $3::jsonb)`,
        [tenantId, target, JSON.stringify({ clusterId: target, accounts: after.accounts, size: after.size, trigger: obs.articleId })],
      );
    }
    return target;
  }

  /**
   * The live cluster that already holds every article of the observation with at least the
   * observed similarity, if there is one: then an upsert would change nothing.
   */
  private async recordedCluster(obs: ClusterObservation): Promise<string | null> {
    const ids = [obs.articleId, ...obs.similar.map((s) => s.articleId)];
    const similarities = [obs.similar[0]?.similarity ?? null, ...obs.similar.map((s) => s.similarity)];
    const rows = await this.db.query<{ covered: number; clusters: number; cluster_id: string | null; live: boolean | null }>(
      `SELECT count(*)::int AS covered, count(DISTINCT m.cluster_id)::int AS clusters, min(m.cluster_id) AS cluster_id,
              bool_and(c.merged_into IS NULL) AS live
         FROM unnest($2::text[], $3::real[]) AS u(article_id, similarity)
         JOIN cluster_members m ON m.tenant_id = $1 AND m.article_id = u.article_id
                                AND (u.similarity IS NULL OR m.similarity >= u.similarity)
         JOIN clusters c ON c.id = m.cluster_id`,
      [obs.tenantId, ids, similarities],
    );
    const r = rows[0];
    return r && r.covered === ids.length && r.clusters === 1 && r.live ? r.cluster_id : null;
  }

  /** Live clusters of a tenant, most recently active first, by cursor. */
  async list(tenantId: string, options: ListClustersOptions = {}): Promise<{ clusters: ClusterSummary[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    const memberLimit = Math.min(Math.max(options.memberLimit ?? 100, 1), 10_000);
    const [afterAt, afterId] = options.cursor ? decodeCursor(options.cursor) : [null, null];
    const rows = await this.db.query<ClusterRow>(
      `${SELECT_SUMMARY.replace('$MEMBERS', '$5')}
        WHERE c.tenant_id = $1 AND c.merged_into IS NULL AND c.account_count >= $4
          AND ($2::timestamptz IS NULL OR (c.last_posted_at, c.id) < ($2::timestamptz, $3::text))
        ORDER BY c.last_posted_at DESC, c.id DESC
        LIMIT $6`,
      [tenantId, afterAt, afterId, options.minAccounts ?? 2, memberLimit, limit + 1],
    );
    const page = rows.slice(0, limit).map(toSummary);
    const last = page[page.length - 1];
    return { clusters: page, nextCursor: rows.length > limit && last ? encodeCursor(last.lastPostedAt, last.id) : null };
  }

  /** One cluster; an id merged into another resolves to the surviving cluster. */
  async get(tenantId: string, id: string, options: { memberLimit?: number } = {}): Promise<ClusterSummary | null> {
    const memberLimit = Math.min(Math.max(options.memberLimit ?? 1000, 1), 100_000);
    let current = id;
    for (let hop = 0; hop < 32; hop++) {
      const rows = await this.db.query<ClusterRow & { merged_into: string | null }>(
        `${SELECT_SUMMARY.replace('$MEMBERS', '$3')} WHERE c.tenant_id = $1 AND c.id = $2`,
        [tenantId, current, memberLimit],
      );
      const row = rows[0];
      if (!row) return null;
      if (!row.merged_into) return toSummary(row);
      current = row.merged_into;
    }
    return null;
  }

  /** The cluster an article belongs to, if any. */
  async clusterOf(tenantId: string, articleId: string): Promise<string | null> {
    const rows = await this.db.query<{ cluster_id: string }>(
      'SELECT cluster_id FROM cluster_members WHERE tenant_id = $1 AND article_id = $2',
      [tenantId, articleId],
    );
    return rows[0]?.cluster_id ?? null;
  }
}
