// The same workflow tests run on three stores: SQLite (a fresh data folder each), PostgreSQL through
// PGlite (one in-process engine per test file, its schema dropped and re-migrated for each workflow)
// and a real PostgreSQL server (Debian's, one throw-away cluster per test file, a new database for
// each workflow; a job's worker process can open it by URL, which PGlite cannot offer).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { openWorkflow, type Workflow } from '../../src/workflow/index.js';
import { postgresServer, postgresSkip, stopPostgresServer } from '../helpers/postgres-server.js';

export const STORE_KINDS = ['sqlite', 'pglite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** Test options for a test or suite on `kind`: the real server's are skipped, with the reason, where
 *  Debian's postgresql is not installed (never in CI, where a missing server fails). */
export function storeOptions(kind: StoreKind): { skip: string | false } {
  return { skip: kind === 'postgres' && postgresSkip() };
}

let pglite: Promise<PGlite> | null = null;

async function sharedPglite(): Promise<PGlite> {
  pglite ??= import('@electric-sql/pglite').then(({ PGlite }) => new PGlite());
  return pglite;
}

export interface TestWorkflow extends Workflow {
  dataDir: string;
  dispose(): Promise<void>;
}

export async function freshWorkflow(
  kind: StoreKind,
  o: { now?: () => Date; dataDir?: string; roots?: string[]; keyFile?: string } = {},
): Promise<TestWorkflow> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), `lethe-flow-${kind}-`));
  let pg: PGlite | undefined;
  let db: string | undefined;
  if (kind === 'pglite') {
    pg = await sharedPglite();
    await pg.exec('drop schema if exists public cascade; create schema public;');
  } else if (kind === 'postgres') {
    db = await (await postgresServer()).createDatabase();
  }
  const w = await openWorkflow({ dataDir, pglite: pg, db, now: o.now, roots: o.roots, keyFile: o.keyFile });
  return {
    ...w,
    dataDir,
    dispose: async () => {
      await w.close();
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Closes the shared PGlite and stops the PostgreSQL server (call from the test file's after()). */
export async function closeStores(): Promise<void> {
  if (pglite) await (await pglite).close();
  pglite = null;
  await stopPostgresServer();
}

/** A clock that moves one second per reading, from a fixed start. */
export function steppingClock(start = Date.UTC(2025, 0, 2, 3, 4, 5)): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}
