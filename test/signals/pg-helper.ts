import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Db } from '../../src/db/db.ts';
import { createPgDb } from '../../src/db/pg.ts';
import { TEST_DATABASE_URL as PG_URL } from '../helpers/urls.ts';

/** A fresh schema with the clusters migration applied; `cleanup` drops it. */
export async function isolatedPg(): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  const schema = `sgtest_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = createPgDb(PG_URL, { schema, max: 4 });
  await db.exec(readFileSync(new URL('../../src/db/migrations/010_clusters.sql', import.meta.url), 'utf8'));
  return {
    db,
    cleanup: async () => {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}
