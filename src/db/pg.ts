import pg from 'pg';
import type { Db } from './db.ts';
import { DatabaseUnavailableError, isUnavailable } from './db.ts';

type Queryable = pg.Pool | pg.PoolClient;

// int8 (counts, bigserial) as JS numbers: our counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

function wrap(q: Queryable, onClose: () => Promise<void>): Db {
  const db: Db = {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      try {
        const result = await q.query(sql, params as unknown[]);
        return result.rows as T[];
      } catch (error) {
        throw isUnavailable(error) ? new DatabaseUnavailableError(error) : error;
      }
    },
    async exec(sql: string) {
      await db.query(sql);
    },
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      if (!('connect' in q) || 'release' in q) return fn(db); // already inside a transaction
      let client: pg.PoolClient;
      try {
        client = await (q as pg.Pool).connect();
      } catch (error) {
        throw new DatabaseUnavailableError(error);
      }
      const tx = wrap(client, async () => undefined);
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw isUnavailable(error) ? new DatabaseUnavailableError(error) : error;
      } finally {
        client.release();
      }
    },
    close: onClose,
  };
  return db;
}

export interface PgOptions {
  /** Schema to use as search_path (tests isolate themselves with one schema each). */
  schema?: string;
  max?: number;
}

/** A pooled connection to a PostgreSQL server. */
export function createPgDb(url: string, options: PgOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 3000,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  return wrap(pool, () => pool.end());
}
