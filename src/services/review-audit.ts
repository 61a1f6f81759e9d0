import { createHash } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { type Decision, trainingLabel } from '../domain/review.ts';
import type { Verdict } from '../domain/types.ts';
import type { AuditEvent } from './review-views.ts';
import { iso, Params } from './review-queries.ts';
import type { AuditQuery, LabelledRecord } from './review.ts';
import type { ReviewQueue } from './review-queue.ts';

const sha16 = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 16);

/** The audit log (review events, paged) and the labelled export (decisions as dataset records). */
export class ReviewAudit {
  constructor(
    private readonly db: Db,
    private readonly queue: ReviewQueue,
  ) {}

  // ---------------------------------------------------------------- audit and export

  /** Events in id order (or newest first), for an article, batch (its own and its articles'), cluster, or actor. */
  async audit(tenantId: string, q: AuditQuery): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
    const params = new Params();
    const where = [`e.tenant_id = ${params.add(tenantId)}`];
    if (q.articleId) {
      await this.queue.assertArticle(tenantId, q.articleId);
      where.push(`e.subject_type = 'article' AND e.subject_id = ${params.add(q.articleId)}`);
    }
    if (q.batchId) {
      await this.queue.assertBatch(tenantId, q.batchId);
      const p = params.add(q.batchId);
      where.push(
        `((e.subject_type = 'batch' AND e.subject_id = ${p}) OR (e.subject_type = 'article' AND e.subject_id IN (SELECT article_id FROM batch_items WHERE batch_id = ${p})))`,
      );
    }
    if (q.clusterId) {
      const live = await this.queue.resolveCluster(tenantId, q.clusterId);
      const p = params.add(live);
      where.push(
        `((e.subject_type = 'cluster' AND e.subject_id = ${p}) OR (e.subject_type = 'article' AND e.subject_id IN (SELECT article_id FROM cluster_members WHERE tenant_id = e.tenant_id AND cluster_id = ${p})))`,
      );
    }
    if (q.actor) where.push(`e.actor = ${params.add(q.actor)}`);
    if (q.type) where.push(`e.type = ${params.add(q.type)}`);
    if (q.after !== undefined) where.push(`e.id ${q.newestFirst ? '<' : '>'} ${params.add(q.after)}::bigint`);
    const limit = Math.min(Math.max(q.limit, 1), 5000);
    const rows = await this.db.query<{
      id: number;
      at: Date;
      type: string;
      subjectType: string;
      subjectId: string;
      actor: string;
      payload: Record<string, unknown>;
      modelVersion: string | null;
      configVersion: string | null;
    }>(
      `SELECT e.id, e.created_at AS at, e.type, e.subject_type AS "subjectType", e.subject_id AS "subjectId", e.actor, e.payload,
              e.model_version AS "modelVersion", e.config_version AS "configVersion"
       FROM events e WHERE ${where.join(' AND ')} ORDER BY e.id${q.newestFirst ? ' DESC' : ''} LIMIT ${limit + 1}`,
      params.values,
    );
    const page = rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id), at: iso(r.at) as string }));
    const last = page[page.length - 1];
    return { events: page, nextCursor: rows.length > limit && last ? String(last.id) : null };
  }

  /**
   * Confirmed decisions on current revisions as training records, in decision order; the
   * cursor is the last decision's event id. Escalations are not labels and are left out.
   */
  async labelled(tenantId: string, options: { after?: number; limit: number; since?: string; until?: string }): Promise<{ records: LabelledRecord[]; nextCursor: number | null }> {
    const rows = await this.db.query<{
      eventId: number; articleId: string; text: string; lang: 'zh' | 'en'; accountId: string; decision: Decision; clusterId: string | null;
      decidedAt: Date; verdict: Verdict | null; score: number | null; modelVersion: string | null; configVersion: string | null;
    }>(
      `SELECT rs.last_event_id AS "eventId", a.id AS "articleId", a.text, a.lang, a.account_id AS "accountId", rs.decision, cm.cluster_id AS "clusterId",
              rs.decided_at AS "decidedAt", e.payload->>'verdict' AS verdict, (e.payload->>'score')::float8 AS score,
              e.model_version AS "modelVersion", e.config_version AS "configVersion"
       FROM review_state rs
       JOIN articles a ON a.tenant_id = rs.tenant_id AND a.id = rs.article_id AND a.revision = rs.revision
       LEFT JOIN events e ON e.id = rs.last_event_id
       LEFT JOIN cluster_members cm ON cm.tenant_id = a.tenant_id AND cm.article_id = a.id
       WHERE rs.tenant_id = $1 AND rs.state = 'decided' AND rs.decision <> 'escalate'
         AND ($2::bigint IS NULL OR rs.last_event_id > $2::bigint)
         AND ($3::timestamptz IS NULL OR rs.decided_at >= $3::timestamptz)
         AND ($4::timestamptz IS NULL OR rs.decided_at < $4::timestamptz)
       ORDER BY rs.last_event_id LIMIT $5`,
      [tenantId, options.after ?? null, options.since ?? null, options.until ?? null, options.limit],
    );
    const source = `slopguard/${tenantId}-review`;
    const records = rows.flatMap((r): LabelledRecord[] => {
      const label = trainingLabel(r.decision);
      if (!label) return [];
      return [
        {
          text: r.text,
          label,
          lang: r.lang,
          source,
          generator: null,
          id: sha16(source + r.text),
          // Near-duplicates (a cluster) or else one author's posts share a group, so a
          // grouped split never puts the same farm on both sides.
          group: sha16(r.clusterId ? `cluster:${r.clusterId}` : `account:${tenantId}:${r.accountId}`),
          orig_label: r.decision,
          decision: { at: iso(r.decidedAt) as string, verdict: r.verdict, score: r.score === null ? null : Number(r.score), modelVersion: r.modelVersion, configVersion: r.configVersion },
        },
      ];
    });
    const last = rows[rows.length - 1];
    return { records, nextCursor: rows.length === options.limit && last ? Number(last.eventId) : null };
  }
}
