import type { Db } from '../db/db.ts';
import type { Role } from '../domain/types.ts';

/**
 * The `api_keys` record: rows mapped here once. Keys are stored as SHA-256 hashes; nothing
 * here ever sees a secret.
 */

/** A key as stored and listed (dates as dates; the API answers `KeyViewSchema`): never its secret or hash. */
export interface KeyRecord {
  id: string;
  tenantId: string;
  role: Role;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** What authentication needs of a live key. */
export interface LiveKey {
  id: string;
  tenantId: string;
  role: Role;
  keyHash: string;
}

const KEY_COLUMNS = `id, tenant_id AS "tenantId", role, name, created_at AS "createdAt", revoked_at AS "revokedAt"`;

export async function insertKey(db: Db, key: { id: string; tenantId: string; role: Role; name: string; keyHash: string }): Promise<{ createdAt: Date }> {
  await db.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING', [key.tenantId]);
  const rows = await db.query<{ createdAt: Date }>('INSERT INTO api_keys (id, tenant_id, role, name, key_hash) VALUES ($1, $2, $3, $4, $5) RETURNING created_at AS "createdAt"', [
    key.id,
    key.tenantId,
    key.role,
    key.name,
    key.keyHash,
  ]);
  return rows[0]!;
}

/** Live (unrevoked) keys with these hashes, one query for many. */
export function liveKeysByHash(db: Db, hashes: readonly string[]): Promise<LiveKey[]> {
  return db.query<LiveKey>('SELECT id, tenant_id AS "tenantId", role, key_hash AS "keyHash" FROM api_keys WHERE key_hash = ANY($1::text[]) AND revoked_at IS NULL', [
    [...new Set(hashes)],
  ]);
}

/** Revokes (keeping the first revocation time); `changed` is false when it was revoked already. */
export async function revokeKey(db: Db, keyId: string, tenantId: string | null): Promise<{ tenantId: string; changed: boolean } | undefined> {
  const rows = await db.query<{ tenantId: string; changed: boolean }>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)
     RETURNING tenant_id AS "tenantId", (revoked_at = now()) AS changed`,
    [keyId, tenantId],
  );
  return rows[0];
}

/** Keys: all, one tenant's, or one key, oldest first. */
export function listKeys(db: Db, filter: { tenantId?: string | undefined; keyId?: string | undefined }): Promise<KeyRecord[]> {
  return db.query<KeyRecord>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR id = $2) ORDER BY created_at, id`, [
    filter.tenantId ?? null,
    filter.keyId ?? null,
  ]);
}

export async function countKeys(db: Db): Promise<number> {
  const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys');
  return rows[0]?.n ?? 0;
}

/** False for a key that is revoked or does not exist. */
export async function isKeyLive(db: Db, keyId: string): Promise<boolean> {
  const rows = await db.query<{ live: boolean }>('SELECT revoked_at IS NULL AS live FROM api_keys WHERE id = $1', [keyId]);
  return rows[0]?.live ?? false;
}
