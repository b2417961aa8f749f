// A workflow: the store plus the deployment's key and salt, and a clock (tests fix it).
import type { Kysely, Transaction } from 'kysely';
import { loadDeployment, type Deployment, type DeploymentOptions } from './deployment.js';
import { openStore, type OpenStoreOptions, type Store } from './store/open.js';
import type { WorkflowDatabase } from './store/schema.js';

export interface Workflow {
  store: Store;
  deployment: Deployment;
  now: () => Date;
  /** Where it was opened from: a job's worker process opens the same store from these. */
  dataDir: string;
  /** More folders (absolute) where files named by users may lie besides the data folder (`--data-root`). */
  roots: string[];
  /** The database URL when not the data folder's SQLite file (postgres://…, pglite:…). */
  dbUrl?: string;
  /** True when the store is an in-process PGlite handed in by the caller: no other process can open it. */
  inProcessOnly: boolean;
  close(): Promise<void>;
}

export type Db = Kysely<WorkflowDatabase>;
export type Trx = Transaction<WorkflowDatabase>;

export async function openWorkflow(o: OpenStoreOptions & DeploymentOptions & { now?: () => Date; roots?: string[] }): Promise<Workflow> {
  const deployment = loadDeployment(o.dataDir, { keyFile: o.keyFile });
  const store = await openStore(o);
  return {
    store,
    deployment,
    now: o.now ?? (() => new Date()),
    dataDir: o.dataDir,
    roots: o.roots ?? [],
    dbUrl: o.db,
    inProcessOnly: !!o.pglite || o.db?.startsWith('pglite:') === true,
    close: () => store.close(),
  };
}
