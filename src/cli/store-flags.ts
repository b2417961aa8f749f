// The flags that name a deployment's store (`--data`, `--db`, `--key-file`, `--data-root`) and the
// workflow they open, shared by the workflow commands, `lethe serve` and `lethe worker`.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LetheError } from '../util/errors.js';
import type { Workflow } from '../workflow/index.js';

export interface StoreFlags {
  data?: string;
  db?: string;
  dataRoot?: string[];
  keyFile?: string;
}

export function storeOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'the deployment data folder: keys, salt and the SQLite file (default $LETHE_DATA)')
    .option('--db <url>', 'postgres://… (or pglite:DIR) instead of SQLite in the data folder (default $LETHE_DB)')
    .option('--key-file <file>', 'the audit signing key, kept outside the data folder (default $LETHE_AUDIT_KEY_FILE, else DATA/keys)');
}

/** Where files named for the deployment may lie besides the data folder (recorded forget files, job inputs). */
export const withDataRoots = (cmd: Command) =>
  cmd.option(
    '--data-root <dir>',
    'another folder that files named for the deployment (forget files, models, data) may lie in, besides the data folder (repeatable)',
    (v: string, prev: string[]) => [...prev, resolve(v)],
    [] as string[],
  );

export async function open(o: StoreFlags): Promise<Workflow> {
  const dataDir = o.data ?? process.env.LETHE_DATA;
  if (!dataDir) throw new LetheError('BAD_INPUT', "'--data' (or $LETHE_DATA) must name the deployment's data folder");
  const { openWorkflow, KEY_FILE_ENV } = await import('../workflow/index.js');
  return openWorkflow({
    dataDir,
    db: o.db ?? process.env.LETHE_DB,
    roots: o.dataRoot ?? [],
    keyFile: o.keyFile ?? (process.env[KEY_FILE_ENV] || undefined),
  });
}
