import { createHash } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { trainingLabel } from '../domain/review.ts';
import { auditRows, iso, labelledRows } from '../store/review.ts';
import type { AuditEvent } from './review-views.ts';
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
    if (q.articleId) await this.queue.assertArticle(tenantId, q.articleId);
    if (q.batchId) await this.queue.assertBatch(tenantId, q.batchId);
    const clusterId = q.clusterId ? await this.queue.resolveCluster(tenantId, q.clusterId) : undefined;
    const limit = Math.min(Math.max(q.limit, 1), 5000);
    const rows = await auditRows(this.db, tenantId, { ...q, clusterId }, limit);
    const page = rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id), at: iso(r.at) as string }));
    const last = page[page.length - 1];
    return { events: page, nextCursor: rows.length > limit && last ? String(last.id) : null };
  }

  /**
   * Confirmed decisions on current revisions as training records, in decision order; the
   * cursor is the last decision's event id. Escalations are not labels and are left out.
   */
  async labelled(tenantId: string, options: { after?: number; limit: number; since?: string; until?: string }): Promise<{ records: LabelledRecord[]; nextCursor: number | null }> {
    const rows = await labelledRows(this.db, tenantId, options);
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
          decision: {
            at: iso(r.decidedAt) as string,
            verdict: r.verdict,
            score: r.score === null ? null : Number(r.score),
            modelVersion: r.modelVersion,
            configVersion: r.configVersion,
          },
        },
      ];
    });
    const last = rows[rows.length - 1];
    return { records, nextCursor: rows.length === options.limit && last ? Number(last.eventId) : null };
  }
}
