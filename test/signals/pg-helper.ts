import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db } from '../../src/db/db.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createPgDb } from '../../src/db/pg.ts';
import { TEST_DATABASE_URL as PG_URL } from '../helpers/urls.ts';

/** A fresh schema with every migration applied (clusters write their `cluster.grew` events); `cleanup` drops it. */
export async function isolatedPg(): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  const schema = `sgtest_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = createPgDb(PG_URL, { schema, max: 4 });
  await migrate(db);
  return {
    db,
    cleanup: async () => {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}
