import path from 'node:path';
import type { Config } from '../config.ts';
import type { Db } from './db.ts';
import { createPgDb } from './pg.ts';
import { createPgliteDb } from './pglite.ts';

/** The configured store: PostgreSQL at `DATABASE_URL` (in its schema), else PGlite in the data folder. */
export async function openDatabase(config: Config): Promise<Db> {
  if (config.databaseUrl) return createPgDb(config.databaseUrl, config.databaseSchema ? { schema: config.databaseSchema } : {});
  return createPgliteDb(path.join(config.dataDir, 'pglite'));
}
