// `lethe table persona|book|bias|secrets`: every unlearning method on one suite of a trained run,
// tabulated beside the target and the gold-standard retain model (src/workflow/experiments/).
// Thin: parse, validate, call the library, print the Markdown table.
import type { Command } from 'commander';
import { LetheError } from '../util/errors.js';
import { list, number } from './options.js';

interface TableFlags {
  run: string;
  data: string;
  out: string;
  split: string;
  methods?: string;
  sisa?: boolean;
  waitRetain?: number;
  resume?: boolean;
  overwrite?: boolean;
}

export function registerTableCommand(program: Command): void {
  program
    .command('table')
    .description('run every unlearning method on a suite of a trained run and tabulate the results beside the target and the retain model')
    .argument('<suite>', 'persona | book | bias | secrets')
    .requiredOption('--run <dir>', 'a trained run (lethe train --out, or runs/demo/run)')
    .requiredOption('--data <dir>', 'its data folder (lethe data build all --out, or runs/demo/data)')
    .requiredOption('--out <dir>', 'where models, evaluations and table.md / table.json go')
    .option('--split <name>', 'persona forget split', 'forget10')
    .option('--methods <list>', 'only these recipes (labels or method names, comma-separated)')
    .option('--sisa', 'add the SISA row (trains 4×2 constituent models from the base)')
    .option(
      '--wait-retain <minutes>',
      'secrets: start while retain-secrets still trains; wait this long for it before scoring it last',
      number('table', '--wait-retain', { orZero: true }),
    )
    .option('--resume', 'continue an interrupted table in --out (interrupted trainings resume from their checkpoints)')
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .action(async (suite: string, opts: TableFlags) => {
      const common = {
        run: opts.run,
        data: opts.data,
        out: opts.out,
        resume: opts.resume,
        overwrite: opts.overwrite,
        methods: opts.methods === undefined ? undefined : list(opts.methods),
        cacheDir: process.env.LETHE_CACHE,
        log: (l: string) => console.error(l),
      };
      if (suite === 'bias') {
        const { biasTable } = await import('../workflow/experiments/bias.js');
        console.log((await biasTable(common)).markdown);
      } else if (suite === 'secrets') {
        const { secretsTable } = await import('../workflow/experiments/secrets.js');
        console.log((await secretsTable({ ...common, waitRetainMinutes: opts.waitRetain ?? 0 })).markdown);
      } else if (suite === 'persona' || suite === 'book') {
        const { methodsTable } = await import('../workflow/experiments/persona-book.js');
        console.log((await methodsTable({ ...common, suite, split: opts.split, sisa: opts.sisa })).markdown);
      } else {
        throw new LetheError('BAD_INPUT', `table: suite must be persona, book, bias or secrets, got '${suite}'`);
      }
    });
}
