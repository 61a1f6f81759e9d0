import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Where each worker process reports its model version and readiness (a Redis hash under
 * `{prefix}:workers`), so an `api` process, which never loads a model, can answer readiness.
 */

export const HEARTBEAT_TTL_MS = 30_000;

const heartbeatSchema = z.object({ at: z.number(), modelVersion: z.string(), modelReady: z.boolean() });
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export class WorkerHeartbeats {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get key(): string {
    return `${this.prefix}:workers`;
  }

  async beat(workerId: string, beat: Omit<Heartbeat, 'at'>): Promise<void> {
    await this.redis.hset(this.key, workerId, JSON.stringify({ at: Date.now(), ...beat }));
  }

  async remove(workerId: string): Promise<void> {
    await this.redis.hdel(this.key, workerId);
  }

  /** Workers heard from in the last HEARTBEAT_TTL_MS with a loaded model; a value that does not parse is skipped. */
  async ready(): Promise<Heartbeat[]> {
    const all = await this.redis.hgetall(this.key);
    const live: Heartbeat[] = [];
    for (const raw of Object.values(all)) {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        continue;
      }
      const beat = heartbeatSchema.safeParse(value);
      if (beat.success && Date.now() - beat.data.at < HEARTBEAT_TTL_MS && beat.data.modelReady) live.push(beat.data);
    }
    return live;
  }
}
