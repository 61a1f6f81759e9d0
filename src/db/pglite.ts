import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db } from './db.ts';

type Queryable = PGlite | Transaction;

function wrap(q: Queryable, root: PGlite): Db {
  const db: Db = {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await q.query<T>(sql, params as unknown[]);
      return result.rows;
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      if (q !== root) return fn(db);
      return root.transaction((tx) => fn(wrap(tx, root)));
    },
    close: () => root.close(),
  };
  return db;
}

/** Embedded Postgres in `dir` (single process). `dir` undefined keeps it in memory. */
export async function createPgliteDb(dir?: string): Promise<Db> {
  if (dir) mkdirSync(dir, { recursive: true });
  const root = await PGlite.create(dir);
  return wrap(root, root);
}
