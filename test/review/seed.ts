import { createHash } from 'node:crypto';
import type { Db } from '../../src/db/db.ts';
import { newId } from '../../src/domain/ids.ts';
import type { Segment } from '../../src/domain/types.ts';

/** One scored article as the review tests want it, written straight to the record. */
export interface SeedArticle {
  externalId: string;
  accountId: string;
  verdict: 'pass' | 'review' | 'flag';
  score: number;
  label?: string;
  text?: string;
  title?: string;
  receivedAt?: string;
  segments?: Segment[];
  reasons?: { code: string; source: string; contribution: number; message: { zh: string; en: string } }[];
  signals?: Record<string, unknown>;
}

export const MODEL = 'detector:none+text-signals@test+account-signals@1';
export const CONFIG = 'fusion-test';

/**
 * Writes scored articles with their score rows (and optionally a batch and a cluster) in a
 * few statements, so a 1,000-item test seeds in milliseconds. Returns ids in input order.
 */
export async function seed(db: Db, tenantId: string, articles: SeedArticle[], options: { batchId?: string; clusterId?: string } = {}): Promise<string[]> {
  const rows = articles.map((a, i) => {
    const text = a.text ?? `Article ${a.externalId}: the council met on Tuesday to discuss the new bridge.`;
    return {
      idx: i,
      id: newId('art'),
      external_id: a.externalId,
      account_id: a.accountId,
      title: a.title ?? null,
      text,
      lang: /[\u4e00-\u9fff]/.test(text) ? 'zh' : 'en',
      content_hash: createHash('sha256').update(text).digest('hex'),
      received_at: a.receivedAt ?? new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
      score: a.score,
      label: a.label ?? (a.verdict === 'pass' ? 'human' : 'ai_undeclared'),
      verdict: a.verdict,
      score_id: newId('scr'),
      reasons: a.reasons ?? [{ code: 'text.template', source: 'text', contribution: 0.4, message: { zh: '模板化表达', en: 'Templated phrasing' } }],
      segments: a.segments ?? [],
      signals: a.signals ?? {},
    };
  });
  const json = JSON.stringify(rows);
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO articles (id, tenant_id, external_id, account_id, title, text, lang, content_hash, received_at, status, score, label, verdict,
                             model_version, config_version, scored_at)
       SELECT x.id, $1, x.external_id, x.account_id, x.title, x.text, x.lang, x.content_hash, x.received_at, 'scored', x.score, x.label, x.verdict,
              $3, $4, x.received_at
       FROM jsonb_to_recordset($2::jsonb) AS x(id text, external_id text, account_id text, title text, text text, lang text, content_hash text,
                                               received_at timestamptz, score real, label text, verdict text)`,
      [tenantId, json, MODEL, CONFIG],
    );
    await tx.query(
      `INSERT INTO scores (id, article_id, tenant_id, revision, content_hash, model_version, config_version, score, label, verdict, reasons, segments, signals, timings)
       SELECT x.score_id, x.id, $1, 1, x.content_hash, $3, $4, x.score, x.label, x.verdict, x.reasons, x.segments, x.signals, '{}'
       FROM jsonb_to_recordset($2::jsonb) AS x(score_id text, id text, content_hash text, score real, label text, verdict text,
                                               reasons jsonb, segments jsonb, signals jsonb)`,
      [tenantId, json, MODEL, CONFIG],
    );
    if (options.batchId) {
      await tx.query(`INSERT INTO batches (id, tenant_id, total, accepted, rejected) VALUES ($1, $2, $3, $3, 0) ON CONFLICT (id) DO NOTHING`, [
        options.batchId,
        tenantId,
        rows.length,
      ]);
      await tx.query(`INSERT INTO batch_items (batch_id, idx, article_id) SELECT $1, x.idx, x.id FROM jsonb_to_recordset($2::jsonb) AS x(idx int, id text)`, [
        options.batchId,
        json,
      ]);
    }
    if (options.clusterId) {
      await tx.query(`INSERT INTO clusters (id, tenant_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [options.clusterId, tenantId]);
      await tx.query(
        `INSERT INTO cluster_members (tenant_id, article_id, cluster_id, account_id, posted_at, similarity)
         SELECT $1, x.id, $2, x.account_id, x.received_at, 0.8 FROM jsonb_to_recordset($3::jsonb) AS x(id text, account_id text, received_at timestamptz)`,
        [tenantId, options.clusterId, json],
      );
      await tx.query(
        `UPDATE clusters c SET size = s.n, account_count = s.a, first_posted_at = s.f, last_posted_at = s.l, max_similarity = 0.8
         FROM (SELECT count(*) AS n, count(DISTINCT account_id) AS a, min(posted_at) AS f, max(posted_at) AS l
               FROM cluster_members WHERE cluster_id = $1) s WHERE c.id = $1`,
        [options.clusterId],
      );
    }
  });
  return rows.map((r) => r.id);
}
