/**
 * The record store seen by services: PostgreSQL through `pg`, or PGlite (embedded Postgres)
 * when no `DATABASE_URL` is configured. Same SQL on both; parameters are `$1, $2, ...`.
 */
export interface Db {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
