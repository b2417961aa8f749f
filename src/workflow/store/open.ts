// Opens the workflow store: SQLite embedded by default (one file under the data folder, WAL),
// PostgreSQL for `postgres://…` URLs (through pg), or PGlite for `pglite:DIR` / `pglite:memory`
// (the real Postgres engine in-process: the Postgres path without a server). Migrations run on open.
// The data folder is created private (0700) and the SQLite file 0600 (SQLite gives its -wal and -shm
// the database file's mode): it holds the audit log and the requests.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';
import { LetheError } from '../../util/errors.js';
import { LruMap } from '../../util/lru-map.js';
import { migrateToLatest } from './migrations.js';
import { namedStatements } from './pg-named.js';
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

/** Creates the data folder (and its parents) readable by its owner only; an existing one is left as is. */
export function createDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

/** The database file and its -wal/-shm: created 0600, tightened to 0600 when found wider. Never
 *  opened here once it exists (closing a descriptor of an open database drops SQLite's locks). */
function privateStoreFiles(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'wx', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (statSync(f).mode & 0o077) chmodSync(f, 0o600);
    } catch {
      /* absent, or not ours to change */
    }
  }
}

/** SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, …): Kysely's ROLLBACK then
 *  fails with "cannot rollback - no transaction is active" and that error hides the real one. */
class SqliteDialectKeepingErrors extends SqliteDialect {
  constructor(
    private readonly conn: { inTransaction: boolean } & SqliteDatabase,
    config: ConstructorParameters<typeof SqliteDialect>[0],
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const conn = this.conn;
    return new (class extends SqliteDriver {
      override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
        if (conn.inTransaction) await super.rollbackTransaction(connection);
      }
    })({ database: cachingStatements(conn) });
  }
}

/** Statements prepared once per SQL text (Kysely prepares each query anew: a seventh of the server's
 *  time on status reads under load). Bounded: the least recently used goes first. One still iterating (a
 *  streamed query) is not handed out again; SQLite re-prepares one whose schema changed. */
export function cachingStatements(conn: SqliteDatabase, max = 200): SqliteDatabase {
  const cache = new LruMap<string, SqliteStatement & { busy?: boolean }>(max);
  return {
    close: () => conn.close(),
    prepare(sql: string): SqliteStatement {
      let stmt = cache.get(sql);
      if (!stmt || stmt.busy) {
        stmt = conn.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

async function sqlite(dataDir: string): Promise<Store> {
  const { default: Database } = await import('better-sqlite3');
  createDataDir(dataDir);
  const file = join(dataDir, SQLITE_FILE);
  privateStoreFiles(file);
  const conn = new Database(file);
  conn.pragma('journal_mode = WAL');
  conn.pragma('foreign_keys = ON');
  conn.pragma('busy_timeout = 5000');
  const db = new Kysely<WorkflowDatabase>({ dialect: new SqliteDialectKeepingErrors(conn, { database: conn }) });
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
}

async function postgres(url: string): Promise<Store> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const db = new Kysely<WorkflowDatabase>({ dialect: new PostgresDialect({ pool: namedStatements(pool) }) });
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
