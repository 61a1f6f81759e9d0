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
import {
  absorbClusters,
  addMembers,
  addMembersAndRecount,
  type ClusterCounts,
  type ClusterRow,
  clusterOfArticle,
  clusterRow,
  coverage,
  existingClusters,
  insertCluster,
  insertClusterGrew,
  liveClusterRows,
  lockTenant,
  maxAccountCount,
} from '../store/clusters.ts';
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
        await lockTenant(tx, tenantId);
      }
      const ids: string[] = [];
      for (const obs of batch) ids.push(await this.applyObservation(tx, obs));
      return ids;
    });
  }

  /** One observation with near-duplicates, inside a transaction holding its tenant's lock. */
  private async applyObservation(tx: Db, obs: ClusterObservation): Promise<string> {
    const { tenantId } = obs;
    const members = [{ articleId: obs.articleId, accountId: obs.accountId, postedAt: obs.postedAt, similarity: obs.similar[0]?.similarity ?? null }, ...obs.similar];
    const ids = members.map((m) => m.articleId);
    const proposed = obs.clusterId ?? newClusterId(tenantId, ids);
    // The clusters the articles are already in, and the live cluster the id Redis proposed
    // leads to through earlier merges (at most 32 hops, never into another tenant): one read.
    // The proposed id is used when none of the articles has a cluster yet, or when it names a
    // live cluster that must then be joined too.
    const { existing, live } = await existingClusters(tx, tenantId, ids, proposed);
    const candidates = new Set<string>(existing);
    if (live || candidates.size === 0) candidates.add(live ?? proposed);
    const sorted = [...candidates].sort();
    const target = sorted[0] as string;
    const absorbed = sorted.slice(1);

    // The account count before, to tell when the farm crosses a re-evaluation step.
    const before = await maxAccountCount(tx, sorted);
    // Only a brand-new cluster needs its row; every other candidate already has one.
    if (!live && existing.length === 0) {
      await insertCluster(tx, target, tenantId);
    }
    if (absorbed.length > 0) await absorbClusters(tx, tenantId, target, absorbed);
    let after: ClusterCounts | undefined;
    if (absorbed.length > 0) {
      // A merge: insert, then recount the merged cluster from its members.
      after = await addMembersAndRecount(tx, tenantId, target, members);
    } else {
      // The common case, a farm growing by one article: update the counts from the rows
      // this observation adds, not from every member.
      after = await addMembers(tx, tenantId, target, members);
    }
    // The farm became visible or grew a step: its earlier members are re-evaluated. The event
    // commits with the membership (the outbox), so a crash here cannot lose it.
    if (after && crossesStep(before, after.accounts)) {
      await insertClusterGrew(tx, tenantId, target, { clusterId: target, accounts: after.accounts, size: after.size, trigger: obs.articleId });
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
    const r = await coverage(this.db, obs.tenantId, ids, similarities);
    return r && r.covered === ids.length && r.clusters === 1 && r.live ? r.cluster_id : null;
  }

  /** Live clusters of a tenant, most recently active first, by cursor. */
  async list(tenantId: string, options: ListClustersOptions = {}): Promise<{ clusters: ClusterSummary[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    const memberLimit = Math.min(Math.max(options.memberLimit ?? 100, 1), 10_000);
    const [afterAt, afterId] = options.cursor ? decodeCursor(options.cursor) : [null, null];
    const rows = await liveClusterRows(this.db, tenantId, { afterAt, afterId, minAccounts: options.minAccounts ?? 2, memberLimit, limit: limit + 1 });
    const page = rows.slice(0, limit).map(toSummary);
    const last = page[page.length - 1];
    return { clusters: page, nextCursor: rows.length > limit && last ? encodeCursor(last.lastPostedAt, last.id) : null };
  }

  /** One cluster; an id merged into another resolves to the surviving cluster. */
  async get(tenantId: string, id: string, options: { memberLimit?: number } = {}): Promise<ClusterSummary | null> {
    const memberLimit = Math.min(Math.max(options.memberLimit ?? 1000, 1), 100_000);
    let current = id;
    for (let hop = 0; hop < 32; hop++) {
      const row = await clusterRow(this.db, tenantId, current, memberLimit);
      if (!row) return null;
      if (!row.merged_into) return toSummary(row);
      current = row.merged_into;
    }
    return null;
  }

  /** The cluster an article belongs to, if any. */
  async clusterOf(tenantId: string, articleId: string): Promise<string | null> {
    return clusterOfArticle(this.db, tenantId, articleId);
  }
}
