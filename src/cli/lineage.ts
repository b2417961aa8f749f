// `lethe register` and `lethe lineage` (src/workflow/lineage.ts), and the `--register NAME` that
// `forget`, `finetune` and `sisa` take to record what they made. The local operator's commands, as
// `lethe release`: they need the deployment's folder and act as 'system'. `register` and the training
// commands name that folder `--deployment` (their `--data` is training data); `lineage` takes the
// workflow commands' `--data`.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../util/errors.js';
import type { How, LineageModel, RegisterInput } from '../workflow/lineage.js';
import { storeOptions, type StoreFlags } from './store-flags.js';
import { withWorkflow } from './workflow.js';

/** A repeatable flag's values (no default: --help would print '[]'). */
const collect = (v: string, prev: string[] = []) => [...prev, v];

interface DeploymentFlags {
  deployment?: string;
  db?: string;
  keyFile?: string;
}
const storeFlags = (o: DeploymentFlags): StoreFlags => ({ data: o.deployment, db: o.db, keyFile: o.keyFile });

function describe(m: LineageModel): string {
  const from = m.parents.length ? ` from ${m.parents.join(', ')}` : '';
  const data = m.data.length ? `, ${m.data.length} data file(s) recorded` : '';
  return `registered ${m.name} (${m.how}${from}${data}), content sha256 ${m.contentSha256}`;
}

export function registerLineageCommands(program: Command): void {
  program
    .command('register')
    .description("record a model in the deployment's lineage: its parents, how it was made, the sha256 of the data that went in")
    .argument('<name>', 'the name to register it under (never reused; erasure requests name it with --model)')
    .requiredOption('--model <dir>', 'the model folder (its fingerprint is recorded)')
    .option('--parent <name>', 'a registered model it was made from (repeatable: a merge has several)', collect)
    .option(
      '--how <how>',
      'base | finetune | unlearning | lora | merge | quantization | distillation | sisa (default: base without --parent)',
    )
    .option('--data <files...>', 'the data files it was trained on (JSONL): path and sha256 recorded')
    .option('--forget-data <files...>', 'with --how unlearning: the forget files (unlearned, not learned)')
    .option('--deployment <dir>', 'the deployment data folder (default $LETHE_DATA)')
    .option('--db <url>', 'postgres://… (or pglite:DIR) instead of SQLite in the data folder (default $LETHE_DB)')
    .option('--key-file <file>', 'the audit signing key, kept outside the data folder (default $LETHE_AUDIT_KEY_FILE)')
    .option('--json', 'print the registered model as JSON')
    .action(
      async (
        name: string,
        o: DeploymentFlags & { model: string; parent?: string[]; how?: string; data?: string[]; forgetData?: string[]; json?: boolean },
      ) =>
        withWorkflow(storeFlags(o), async (w) => {
          const { registerModel, HOW_NAMES } = await import('../workflow/lineage.js');
          const { SYSTEM_ACTOR } = await import('../workflow/index.js');
          if (o.parent && !o.how)
            throw new LetheError('BAD_INPUT', `register: '--parent' needs '--how' (${HOW_NAMES.filter((h) => h !== 'base').join(', ')})`);
          const m = await registerModel(w, SYSTEM_ACTOR, {
            name,
            modelDir: o.model,
            how: o.how ?? (o.parent ? undefined : 'base'),
            parents: o.parent ?? [],
            data: [
              ...(o.data ?? []).map((path) => ({ path, role: 'train' })),
              ...(o.forgetData ?? []).map((path) => ({ path, role: 'forget' })),
            ],
          });
          console.log(o.json ? JSON.stringify(m, null, 2) : describe(m));
        }),
    );

  storeOptions(
    program
      .command('lineage')
      .description('the models a registered model was made from and those made from it, as a tree (* marks it)')
      .argument('<model>', 'a registered name, or a model folder (found by its fingerprint)')
      .option('--json', 'as JSON {model, ancestors, descendants}'),
  ).action(async (model: string, o: StoreFlags & { json?: boolean }) =>
    withWorkflow(o, async (w) => {
      const { lineageOf, formatLineage } = await import('../workflow/lineage.js');
      const { SYSTEM_ACTOR } = await import('../workflow/index.js');
      const v = await lineageOf(w, SYSTEM_ACTOR, model);
      console.log(o.json ? JSON.stringify(v, null, 2) : formatLineage(v));
    }),
  );
}

export interface LineageFlags {
  register?: string;
  parent?: string[];
  deployment?: string;
}

/** `--register NAME` (with `--parent`, `--deployment`) on a command that writes a model folder. */
export function lineageFlags(cmd: Command): Command {
  return cmd
    .option(
      '--register <name>',
      "record the output in the deployment's lineage under this name, made from the registered --model ($LETHE_DB and $LETHE_AUDIT_KEY_FILE as for `lethe register`)",
    )
    .option(
      '--parent <name>',
      "with --register: the parent's registered name (default: the model registered with --model's content)",
      collect,
    )
    .option('--deployment <dir>', 'with --register: the deployment data folder (default $LETHE_DATA)');
}

/** What a training command made, for its lineage record. */
export interface Made {
  how: How;
  modelDir: string;
  data: NonNullable<RegisterInput['data']>;
  details?: RegisterInput['details'];
}

/** Checks a `--register` before the run (the deployment opens, the name is free, the parent is
 *  registered) and returns what records the output after it; null without `--register`. Only the
 *  main rank of a data-parallel run records (the one that wrote the folder). */
export async function lineageHook(o: LineageFlags, made: Made): Promise<((outDir: string) => Promise<void>) | null> {
  if (!o.register) {
    if (o.parent || o.deployment) throw new LetheError('BAD_INPUT', "'--parent' and '--deployment' go with '--register NAME'");
    return null;
  }
  const name = o.register;
  // Never a new deployment made by a typo: the parent must be registered in an existing one.
  const dataDir = o.deployment ?? process.env.LETHE_DATA;
  if (!dataDir) throw new LetheError('BAD_INPUT', `--register ${name}: name the deployment with '--deployment DIR' or $LETHE_DATA`);
  const { SQLITE_FILE } = await import('../workflow/index.js');
  if (!process.env.LETHE_DB && !existsSync(join(dataDir, SQLITE_FILE)))
    throw new LetheError('NOT_FOUND', `--register ${name}: ${dataDir} is not a deployment (no ${SQLITE_FILE}; $LETHE_DB is not set)`);
  const flags = storeFlags({ deployment: dataDir });
  const { findModel, readLineage, registerModel } = await import('../workflow/lineage.js');
  const { SYSTEM_ACTOR } = await import('../workflow/index.js');
  const parents = await withWorkflow(flags, async (w) => {
    const all = await readLineage(w.store.db);
    if (all.has(name)) throw new LetheError('CONFLICT', `--register ${name}: the name is registered already (names are never reused)`);
    if (o.parent) return o.parent;
    const parent = findModel(all, made.modelDir);
    if (!parent)
      throw new LetheError(
        'NOT_FOUND',
        `--register ${name}: the model ${made.modelDir} is not registered in the deployment: register it first (lethe register NAME --model ${made.modelDir} …) or give '--parent NAME'`,
      );
    return [parent.name];
  });
  if (!(await import('../train/parallel.js')).isMainRank()) return async () => {};
  return async (outDir) => {
    try {
      const m = await withWorkflow(flags, (w) =>
        registerModel(w, SYSTEM_ACTOR, { name, modelDir: outDir, how: made.how, parents, data: made.data, details: made.details ?? {} }),
      );
      console.error(describe(m));
    } catch (err) {
      const again = `lethe register ${name} --model ${outDir} --how ${made.how} ${parents.map((p) => `--parent ${p}`).join(' ')}`;
      throw new LetheError(
        err instanceof LetheError ? err.code : 'INTERNAL',
        `${(err as Error).message} (the model is written in ${outDir}; record it with: ${again} …)`,
      );
    }
  };
}
