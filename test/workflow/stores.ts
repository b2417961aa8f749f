// The same workflow tests run on both stores: SQLite (a fresh data folder each) and PostgreSQL
// through PGlite (one engine per test file, its schema dropped and re-migrated for each workflow).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { openWorkflow, type Workflow } from '../../src/workflow/index.js';

export const STORE_KINDS = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

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
  if (kind === 'postgres') {
    pg = await sharedPglite();
    await pg.exec('drop schema if exists public cascade; create schema public;');
  }
  const w = await openWorkflow({ dataDir, pglite: pg, now: o.now, roots: o.roots, keyFile: o.keyFile });
  return {
    ...w,
    dataDir,
    dispose: async () => {
      await w.close();
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Closes the shared PGlite (call from the test file's after()). */
export async function closeStores(): Promise<void> {
  if (pglite) await (await pglite).close();
  pglite = null;
}

/** A clock that moves one second per reading, from a fixed start. */
export function steppingClock(start = Date.UTC(2025, 0, 2, 3, 4, 5)): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}
