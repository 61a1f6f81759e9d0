import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { ServiceError } from '../domain/errors.ts';
import { newId } from '../domain/ids.ts';
import { Coalescer } from '../infra/coalescer.ts';
import { appendEvent } from '../store/events.ts';
import { countKeys, insertKey, isKeyLive, type KeyRecord, listKeys, type LiveKey, liveKeysByHash, revokeKey } from '../store/keys.ts';

export type { KeyRecord } from '../store/keys.ts';
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

const KEY_PREFIX = 'sg_';

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
  private readonly lookups = new Coalescer<string, LiveKey | undefined>(
    async (hashes) => {
      const rows = await liveKeysByHash(this.db, hashes);
      const byHash = new Map(rows.map((r) => [r.keyHash, r]));
      return hashes.map((h) => byHash.get(h));
      // One lookup at a time: it takes a fraction of a millisecond, and whatever arrives
      // meanwhile rides along in the next one.
    },
    { maxInFlight: 1 },
  );

  constructor(private readonly db: Db) {}

  /** A new key; `actor` (who asked: `system:cli` or the admin key's id) goes into the event log. */
  async create(tenantId: string, role: Role, name = '', actor = 'system:cli'): Promise<CreatedKey> {
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    const keyId = newId('key');
    const { createdAt } = await this.db.transaction(async (tx) => {
      const inserted = await insertKey(tx, { id: keyId, tenantId, role, name, keyHash: hashKey(key) });
      await appendEvent(tx, { tenantId, subjectType: 'api_key', subjectId: keyId, type: 'api_key.created', actor, payload: { role, name } });
      return inserted;
    });
    return { key, keyId, tenantId, role, name, createdAt };
  }

  /**
   * Revokes at once: every request looks the key up, there is no cache to outlive it. With
   * `tenantId`, only a key of that tenant. Answers the key, or null when there is no such key
   * (a key already revoked is answered as it is).
   */
  async revoke(keyId: string, options: { tenantId?: string | undefined; actor?: string } = {}): Promise<KeyRecord | null> {
    const revoked = await revokeKey(this.db, keyId, options.tenantId ?? null);
    if (!revoked) return null;
    if (revoked.changed) {
      await appendEvent(this.db, { tenantId: revoked.tenantId, subjectType: 'api_key', subjectId: keyId, type: 'api_key.revoked', actor: options.actor ?? 'system:cli' });
    }
    return (await this.list({ tenantId: revoked.tenantId, keyId }))[0] ?? null;
  }

  /** Keys, never their secrets: all, one tenant's, or one key. */
  async list(filter: { tenantId?: string | undefined; keyId?: string } = {}): Promise<KeyRecord[]> {
    return listKeys(this.db, filter);
  }

  /** False for a revoked or unknown key (console sessions end with their key). */
  isLive(keyId: string): Promise<boolean> {
    return isKeyLive(this.db, keyId);
  }

  async count(): Promise<number> {
    return countKeys(this.db);
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
    if (!row || !timingSafeEqual(Buffer.from(row.keyHash, 'hex'), Buffer.from(hash, 'hex'))) {
      throw new ServiceError('unauthorized', 'invalid API key');
    }
    return { keyId: row.id, tenantId: row.tenantId, role: row.role };
  }
}
