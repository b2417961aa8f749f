// PGlite (PostgreSQL compiled to WASM, in-process) behind the small pg-Pool-like interface that
// Kysely's PostgresDialect expects. PGlite is one session, so the pool hands out one client at a
// time: a transaction's statements never interleave with another's.
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/** The part of PGlite this adapter uses (kept structural, so tests may pass any PGlite). */
export interface PGliteLike {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number; command?: string }>;
  close(): Promise<void>;
}

export function pglitePool(pg: PGliteLike, { closeOnEnd = true } = {}): PostgresPool {
  let queue: Promise<void> = Promise.resolve();
  return {
    async connect(): Promise<PostgresPoolClient> {
      let release!: () => void;
      const previous = queue;
      queue = new Promise<void>((r) => (release = r));
      await previous;
      let released = false;
      const client = {
        async query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> {
          const r = await pg.query<R>(sql, [...parameters]);
          const command = (r.command ?? sql.trim().split(/\s+/, 1)[0]!.toUpperCase()) as PostgresQueryResult<R>['command'];
          return { command, rowCount: r.affectedRows ?? r.rows.length, rows: r.rows };
        },
        release() {
          if (released) return;
          released = true;
          release();
        },
      };
      return client as unknown as PostgresPoolClient;
    },
    async end() {
      if (closeOnEnd) await pg.close();
    },
  };
}
