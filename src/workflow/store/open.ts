// Opens the workflow store: SQLite embedded by default (one file under the data folder, WAL),
// PostgreSQL for `postgres://…` URLs (through pg), or PGlite for `pglite:DIR` / `pglite:memory`
// (the real Postgres engine in-process: the Postgres path without a server). Migrations run on open.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { LetheError } from '../../errors.js';
import { migrateToLatest } from './migrations.js';
import { pglitePool, type PGliteLike } from './pglite-pool.js';
import type { WorkflowDatabase } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<WorkflowDatabase>;
  dialect: Dialect;
  /** Where it lives, without credentials (for messages). */
  location: string;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** The deployment's data folder (the SQLite file `lethe.db` lives here by default). */
  dataDir: string;
  /** A database URL: postgres://…, postgresql://…, pglite:DIR or pglite:memory. Default: SQLite. */
  db?: string;
  /** An already running PGlite (tests share one); the store does not close it. */
  pglite?: PGliteLike;
}

export const SQLITE_FILE = 'lethe.db';

async function sqlite(dataDir: string): Promise<Store> {
  const { default: Database } = await import('better-sqlite3');
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, SQLITE_FILE);
  const conn = new Database(file);
  conn.pragma('journal_mode = WAL');
  conn.pragma('foreign_keys = ON');
  conn.pragma('busy_timeout = 5000');
  const db = new Kysely<WorkflowDatabase>({ dialect: new SqliteDialect({ database: conn }) });
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
}

async function postgres(url: string): Promise<Store> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const db = new Kysely<WorkflowDatabase>({ dialect: new PostgresDialect({ pool }) });
  const u = new URL(url);
  return { db, dialect: 'postgres', location: `postgres://${u.host}${u.pathname}`, close: () => db.destroy() };
}

function overPglite(pg: PGliteLike, closeOnEnd: boolean, location: string): Store {
  const db = new Kysely<WorkflowDatabase>({ dialect: new PostgresDialect({ pool: pglitePool(pg, { closeOnEnd }) }) });
  return { db, dialect: 'postgres', location, close: () => db.destroy() };
}

export async function openStore(o: OpenStoreOptions): Promise<Store> {
  let store: Store;
  if (o.pglite) store = overPglite(o.pglite, false, 'pglite (shared)');
  else if (!o.db) store = await sqlite(o.dataDir);
  else if (/^postgres(ql)?:\/\//.test(o.db)) store = await postgres(o.db);
  else if (o.db.startsWith('pglite:')) {
    const { PGlite } = await import('@electric-sql/pglite');
    const where = o.db.slice('pglite:'.length);
    store = overPglite(where === 'memory' ? new PGlite() : new PGlite(where), true, o.db);
  } else {
    throw new LetheError('BAD_INPUT', `store: '--db' must be postgres://…, postgresql://…, pglite:DIR or pglite:memory, got '${o.db}'`);
  }
  try {
    await migrateToLatest(store.db as Kysely<unknown>);
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}
