import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../infra/redis.ts';
import { z } from 'zod';
import { type Role, ROLES } from '../domain/types.ts';
import type { KeyService } from '../services/keys.ts';
import { type Lang, LANGS } from './i18n.ts';

/**
 * Console sessions, server-side in Redis: the cookie holds a random 256-bit token, Redis
 * holds (under the token's SHA-256) the key id, tenant, role, CSRF token and language.
 * Every request re-checks that the API key is not revoked, so revoking a key ends its
 * console sessions at once.
 */

/** A session as stored in Redis; a value that does not parse is no session. */
const sessionSchema = z.object({
  keyId: z.string(),
  tenantId: z.string(),
  role: z.enum(ROLES),
  csrf: z.string(),
  lang: z.enum(LANGS),
  createdAt: z.number(),
});
export type Session = z.infer<typeof sessionSchema>;

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<KeyService, 'isLive'>,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(token: string): string {
    return `${this.prefix}:console:sess:${hash(token)}`;
  }

  async create(principal: { keyId: string; tenantId: string; role: Role }, lang: Lang): Promise<{ token: string; session: Session }> {
    const token = randomBytes(32).toString('base64url');
    const session: Session = { ...principal, csrf: randomBytes(32).toString('base64url'), lang, createdAt: Date.now() };
    await this.redis.set(this.key(token), JSON.stringify(session), 'EX', this.ttlSeconds);
    return { token, session };
  }

  async get(token: string | undefined): Promise<Session | null> {
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const raw = await this.redis.get(this.key(token));
    if (!raw) return null;
    let stored: unknown;
    try {
      stored = JSON.parse(raw);
    } catch {
      return null;
    }
    const parsed = sessionSchema.safeParse(stored);
    if (!parsed.success) return null;
    const session = parsed.data;
    if (!(await this.keys.isLive(session.keyId))) {
      await this.destroy(token);
      return null;
    }
    return session;
  }

  async update(token: string, session: Session): Promise<void> {
    await this.redis.set(this.key(token), JSON.stringify(session), 'KEEPTTL');
  }

  async destroy(token: string): Promise<void> {
    await this.redis.del(this.key(token));
  }
}
