// A workflow: the store plus the deployment's key and salt, and a clock (tests fix it).
import type { Kysely, Transaction } from 'kysely';
import { loadDeployment, type Deployment } from './deployment.js';
import { openStore, type OpenStoreOptions, type Store } from './store/open.js';
import type { WorkflowDatabase } from './store/schema.js';

export interface Workflow {
  store: Store;
  deployment: Deployment;
  now: () => Date;
  close(): Promise<void>;
}

export type Db = Kysely<WorkflowDatabase>;
export type Trx = Transaction<WorkflowDatabase>;

export async function openWorkflow(o: OpenStoreOptions & { now?: () => Date }): Promise<Workflow> {
  const deployment = loadDeployment(o.dataDir);
  const store = await openStore(o);
  return { store, deployment, now: o.now ?? (() => new Date()), close: () => store.close() };
}
