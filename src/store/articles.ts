import type { Db } from '../db/db.ts';
import type { ArticleStatus, Label, Verdict } from '../domain/types.ts';

/**
 * The `articles` record: one row per article (tenant, external id), its current revision and
 * the derived verdict of its current score. Rows are mapped to `StoredArticle` here, once.
 */

export interface StoredArticle {
  id: string;
  tenantId: string;
  externalId: string;
  revision: number;
  accountId: string;
  title: string | null;
  url: string | null;
  text: string;
  lang: 'zh' | 'en';
  contentHash: string;
  publishedAt: Date | null;
  receivedAt: Date;
  declaredAi: boolean;
  labels: string[];
  metadata: Record<string, unknown>;
  status: ArticleStatus;
  statusAt: Date;
  attempts: number;
  lastError: string | null;
  score: number | null;
  label: Label | null;
  verdict: Verdict | null;
  modelVersion: string | null;
  configVersion: string | null;
  scoredAt: Date | null;
}

export const ARTICLE_COLUMNS = `id, tenant_id AS "tenantId", external_id AS "externalId", revision, account_id AS "accountId",
  title, url, text, lang, content_hash AS "contentHash", published_at AS "publishedAt", received_at AS "receivedAt",
  declared_ai AS "declaredAi", labels, metadata, status, status_at AS "statusAt", attempts, last_error AS "lastError",
  score, label, verdict, model_version AS "modelVersion", config_version AS "configVersion", scored_at AS "scoredAt"`;

export async function articleById(db: Db, tenantId: string, id: string): Promise<StoredArticle | null> {
  const rows = await db.query<StoredArticle>(`SELECT ${ARTICLE_COLUMNS} FROM articles WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0] ?? null;
}

export async function articleByExternalId(db: Db, tenantId: string, externalId: string): Promise<StoredArticle | null> {
  const rows = await db.query<StoredArticle>(`SELECT ${ARTICLE_COLUMNS} FROM articles WHERE tenant_id = $1 AND external_id = $2`, [tenantId, externalId]);
  return rows[0] ?? null;
}
