// Named (prepared) statements on a pg pool for Kysely. Kysely sends every query unnamed, so the
// server parses and plans it each time: more than half of a status read's round trip under load.
// A query with parameters is sent with a name derived from its text instead, and each connection
// prepares it once. At most MAX_NAMED texts are named (lists of varying length make new texts;
// past the cap they go unnamed as before), and a text the server refuses to run from its cached
// plan (its tables' columns changed under it: another process migrated) goes unnamed from then on.
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

export const MAX_NAMED = 200;
/** "cached plan must not change result type" */
const PLAN_CHANGED = '0A000';

export function namedStatements(pool: pg.Pool, max = MAX_NAMED): PostgresPool {
  const names = new Map<string, string | null>(); // SQL text → its name, or null: never named
  const nameOf = (text: string): string | null => {
    let name = names.get(text);
    if (name === undefined) {
      name = names.size < max ? `lethe_${createHash('sha256').update(text).digest('hex').slice(0, 32)}` : null;
      names.set(text, name);
    }
    return name;
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      const query = client.query.bind(client) as (q: unknown, values?: unknown[]) => Promise<unknown>;
      return Object.assign(Object.create(client) as pg.PoolClient, {
        async query(text: unknown, values?: readonly unknown[]) {
          const name = typeof text === 'string' && values?.length ? nameOf(text) : null;
          if (!name) return query(text, values as unknown[]);
          try {
            return await query({ name, text, values });
          } catch (err) {
            if ((err as { code?: string }).code !== PLAN_CHANGED) throw err;
            names.set(text as string, null);
            // Once more, unnamed; in a transaction the first error stands (the transaction is aborted).
            return query(text, values as unknown[]).catch(() => Promise.reject(err));
          }
        },
        release: (destroy?: boolean) => client.release(destroy),
      }) as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
