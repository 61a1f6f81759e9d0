import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { Coalescer } from '../infra/coalescer.ts';
import type { Role } from '../domain/types.ts';

export interface Principal {
  keyId: string;
  tenantId: string;
  role: Role;
}

export interface CreatedKey extends Principal {
  /** The secret, shown once; only its hash is stored. */
  key: string;
  name: string;
  createdAt: Date;
}

/** A key as stored and listed (dates as dates; the API answers `KeyViewSchema`): never its secret or hash. */
export interface KeyRecord {
  id: string;
  tenantId: string;
  role: Role;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

const KEY_PREFIX = 'sg_';

interface KeyRow {
  id: string;
  tenant_id: string;
  role: Role;
  key_hash: string;
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * API keys: random 256-bit secrets stored as SHA-256 hashes (a fast hash is enough for
 * secrets with this much entropy), each bound to one tenant and one role.
 */
export class KeyService {
  // Concurrent requests share one lookup query; each still reads the database, so a
  // revoked key is refused at once.
  private readonly lookups = new Coalescer<string, KeyRow | undefined>(async (hashes) => {
    const rows = await this.db.query<KeyRow>(
      'SELECT id, tenant_id, role, key_hash FROM api_keys WHERE key_hash = ANY($1::text[]) AND revoked_at IS NULL',
      [[...new Set(hashes)]],
    );
    const byHash = new Map(rows.map((r) => [r.key_hash, r]));
    return hashes.map((h) => byHash.get(h));
    // One lookup at a time: it takes a fraction of a millisecond, and whatever arrives
    // meanwhile rides along in the next one.
  }, { maxInFlight: 1 });

  constructor(private readonly db: Db) {}

  /** A new key; `actor` (who asked: `system:cli` or the admin key's id) goes into the event log. */
  async create(tenantId: string, role: Role, name = '', actor = 'system:cli'): Promise<CreatedKey> {
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    const keyId = newId('key');
    const rows = await this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING', [tenantId]);
      const inserted = await tx.query<{ createdAt: Date }>(
        'INSERT INTO api_keys (id, tenant_id, role, name, key_hash) VALUES ($1, $2, $3, $4, $5) RETURNING created_at AS "createdAt"',
        [keyId, tenantId, role, name, hashKey(key)],
      );
      await tx.query(
        `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor, payload)
         VALUES ($1, 'api_key', $2, 'api_key.created', $3, $4::jsonb)`,
        [tenantId, keyId, actor, JSON.stringify({ role, name })],
      );
      return inserted;
    });
    return { key, keyId, tenantId, role, name, createdAt: rows[0]!.createdAt };
  }

  /**
   * Revokes at once: every request looks the key up, there is no cache to outlive it. With
   * `tenantId`, only a key of that tenant. Answers the key, or null when there is no such key
   * (a key already revoked is answered as it is).
   */
  async revoke(keyId: string, options: { tenantId?: string | undefined; actor?: string } = {}): Promise<KeyRecord | null> {
    const tenantId = options.tenantId ?? null;
    const rows = await this.db.query<{ tenant_id: string; changed: boolean }>(
      `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)
       RETURNING tenant_id, (revoked_at = now()) AS changed`,
      [keyId, tenantId],
    );
    const row = rows[0];
    if (!row) return null;
    if (row.changed) {
      await this.db.query(
        `INSERT INTO events (tenant_id, subject_type, subject_id, type, actor) VALUES ($1, 'api_key', $2, 'api_key.revoked', $3)`,
        [row.tenant_id, keyId, options.actor ?? 'system:cli'],
      );
    }
    return (await this.list({ tenantId: row.tenant_id, keyId }))[0] ?? null;
  }

  /** Keys, never their secrets: all, one tenant's, or one key. */
  async list(filter: { tenantId?: string | undefined; keyId?: string } = {}): Promise<KeyRecord[]> {
    return this.db.query<KeyRecord>(
      `SELECT id, tenant_id AS "tenantId", role, name, created_at AS "createdAt", revoked_at AS "revokedAt"
       FROM api_keys WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR id = $2) ORDER BY created_at, id`,
      [filter.tenantId ?? null, filter.keyId ?? null],
    );
  }

  async count(): Promise<number> {
    const rows = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys');
    return rows[0]?.n ?? 0;
  }

  /** The principal for a presented key, or an `unauthorized` error. */
  async authenticate(presented: string): Promise<Principal> {
    if (!presented.startsWith(KEY_PREFIX) || presented.length > 200) {
      throw new ServiceError('unauthorized', 'invalid API key');
    }
    const hash = hashKey(presented);
    const row = await this.lookups.run(hash);
    // The index lookup already matched; compare again in constant time so no code path
    // depends on how many leading characters agree.
    if (!row || !timingSafeEqual(Buffer.from(row.key_hash, 'hex'), Buffer.from(hash, 'hex'))) {
      throw new ServiceError('unauthorized', 'invalid API key');
    }
    return { keyId: row.id, tenantId: row.tenant_id, role: row.role };
  }
}
