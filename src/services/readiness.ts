import type { Redis } from 'ioredis';
import type { Db } from '../db/db.ts';
import type { WorkerHeartbeats } from './worker-heartbeats.ts';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/** What a model loaded in this process (`all` mode) tells readiness. */
export interface LocalModel {
  modelVersion: string;
  isModelReady(): boolean;
}

/** Redis, database, and a model loaded here (all mode) or in a live worker (api mode). */
export function readinessCheck(deps: { redis: Redis; db: Db; heartbeats: WorkerHeartbeats; local: LocalModel | undefined }): () => Promise<Readiness> {
  return async () => {
    const checks: Readiness['checks'] = {};
    try {
      await deps.redis.ping();
      checks.redis = { ok: true };
    } catch (error) {
      checks.redis = { ok: false, detail: (error as Error).message };
    }
    try {
      await deps.db.query('SELECT 1');
      checks.database = { ok: true };
    } catch (error) {
      checks.database = { ok: false, detail: (error as Error).message };
    }
    if (deps.local) {
      checks.model = { ok: deps.local.isModelReady(), detail: deps.local.modelVersion };
    } else {
      const live = await deps.heartbeats.ready().catch(() => []);
      checks.model = live[0] ? { ok: true, detail: live[0].modelVersion } : { ok: false, detail: 'no worker with a loaded model' };
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };
}
