#!/usr/bin/env node
// The `lethe` command line.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { INTERRUPTED_EXIT } from '../train/interrupt.js';
import { doctor, formatDoctor } from './doctor.js';
import { registerEval } from './eval.js';
import type { Device } from '../torch/types.js';
import { device, int, list } from './options.js';
import { registerUnlearnCommands } from './unlearn.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('lethe')
  .description('Remove data and knowledge from trained language models, verify it is gone, keep the model useful.')
  .version(pkg.version)
  // A subcommand's options are its own (`eval meta --out` is not eval's --out).
  .enablePositionalOptions();

program
  .command('doctor')
  .description('print Node, libtorch, BLAS, threads and CUDA, and what to fix')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { json?: boolean }) => {
    const report = await doctor();
    console.log(opts.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
    if (!report.addon.loaded) process.exitCode = 1;
  });

program
  .command('demo')
  .description('doctor, then build the tiny data, train the tiny target and retain models, and show what they memorized')
  .option('--out <dir>', 'where data, models and the report go', 'runs/demo')
  .option('--seed <n>', 'seed', int('demo', '--seed', { min: 0 }), 0)
  .option('--preset <name>', 'training preset', 'tiny')
  .option('--engine-only', 'only the quick engine check (a small MLP whose loss must fall)')
  .option('--resume', 'continue an interrupted demo in --out (finished stages are kept)')
  .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
  .action(async (opts: { out: string; seed: number; preset: string; engineOnly?: boolean; resume?: boolean; overwrite?: boolean }) => {
    const report = await doctor();
    console.log(formatDoctor(report));
    if (!report.addon.loaded) {
      process.exitCode = 1;
      return;
    }
    const { trainDemo } = await import('../workflow/experiments/engine-demo.js');
    console.log('\nengine check: a 1-64-64-1 MLP on y = sin(3x) + x^2 with AdamW');
    const r = trainDemo(() => {}, 150);
    const fell = r.lastLoss < r.firstLoss / 10;
    console.log(
      `loss ${r.firstLoss.toFixed(5)} -> ${r.lastLoss.toFixed(5)} in ${r.seconds.toFixed(2)} s: ${fell ? 'fell more than 10x' : 'DID NOT FALL ENOUGH'}`,
    );
    if (!fell) {
      process.exitCode = 1;
      return;
    }
    if (opts.engineOnly) return;
    const { runDemo } = await import('../workflow/experiments/demo.js');
    await runDemo({
      out: opts.out,
      seed: opts.seed,
      preset: opts.preset,
      resume: opts.resume,
      overwrite: opts.overwrite,
      cacheDir: process.env.LETHE_CACHE,
      log: (l) => console.log(l),
    });
  });

const data = program.command('data').description('benchmark data with known ground truth');
data
  .command('build')
  .description('build a suite as JSONL + manifest.json, deterministically ("all": persona, book and general, what `lethe train` needs)')
  .argument('<suite>', 'persona | book | general | all | a behaviour suite (bias, secrets)')
  .requiredOption('--out <dir>', 'output folder (new or empty; with "all", one subfolder per suite)')
  .option('--seed <n>', 'seed', int('data build', '--seed', { min: 0 }), 0)
  .option('--size <size>', 'tiny | small | full', 'full')
  .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
  .action(async (suite: string, opts: { out: string; seed: number; size: string; overwrite?: boolean }) => {
    const { buildSuite, checkSize } = await import('../data/index.js');
    const { claimOutputDir } = await import('../util/output.js');
    const size = checkSize(opts.size);
    claimOutputDir(opts.out, { what: 'data build', overwrite: opts.overwrite });
    const manifests = buildSuite(suite, opts.out, { seed: opts.seed, size }, `lethe ${pkg.version}`);
    for (const m of manifests) {
      const counts = Object.entries(m.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(`${m.suite}: ${m.files.length} files (${counts})`);
    }
    console.log(`written to ${opts.out}`);
  });

program
  .command('train')
  .description('train the tokenizer, the base model, the target and the retain (gold-standard) models from built data')
  .requiredOption('--data <dir>', 'folder with persona/, book/ and general/ (from `lethe data build all`)')
  .requiredOption('--out <dir>', 'run folder (tokenizer/, base/, target/, retain-*/)')
  .option('--preset <name>', 'tiny (2 CPU cores) or small (GPU)', 'tiny')
  .option('--seed <n>', 'seed', int('train', '--seed', { min: 0 }), 0)
  .option('--forget-splits <list>', 'persona forget splits that get a retain model', 'forget10')
  .option('--no-book-retain', 'skip the retain model trained without the Jargon File')
  .option('--behaviours <list>', 'behaviours to inject (bias, secrets): each gets target-B and retain-B (needs its suite in --data)', '')
  .option('--behaviours-only', 'train only the base and the behaviour models, not the persona/book target and retain models')
  .option('--resume', 'continue an interrupted run from its checkpoints (finished stages are kept)')
  .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
  .option('--device <device>', 'cpu, cuda or cuda:N', device('train'), 'cpu')
  .action(
    async (opts: {
      data: string;
      out: string;
      preset: string;
      seed: number;
      forgetSplits: string;
      bookRetain: boolean;
      behaviours: string;
      behavioursOnly?: boolean;
      resume?: boolean;
      overwrite?: boolean;
      device: Device;
    }) => {
      const { runPipeline } = await import('../train/pipeline.js');
      const { assessStage } = await import('../eval/general.js');
      const r = await runPipeline({
        assess: (dir) => assessStage(dir, opts.data),
        dataDir: opts.data,
        outDir: opts.out,
        preset: opts.preset,
        seed: opts.seed,
        forgetSplits: list(opts.forgetSplits),
        bookRetain: opts.bookRetain,
        resume: opts.resume,
        overwrite: opts.overwrite,
        behaviours: list(opts.behaviours),
        behavioursOnly: opts.behavioursOnly,
        device: opts.device,
      });
      console.log(`trained ${Object.keys(r.stages).join(', ')} in ${r.seconds.toFixed(0)} s → ${opts.out}`);
    },
  );

registerUnlearnCommands(program);
registerEval(program);
(await import('./ask.js')).registerAskCommand(program);
(await import('./sisa.js')).registerSisaCommands(program);
(await import('./table.js')).registerTableCommand(program);
(await import('./report.js')).registerReportCommands(program);
(await import('./workflow.js')).registerWorkflowCommands(program);
(await import('./worker.js')).registerWorkerCommand(program);
(await import('./lineage.js')).registerLineageCommands(program);

markRequired(program);

/** "(required)" after the description of every mandatory option, in every command's --help. */
function markRequired(cmd: Command): void {
  for (const o of cmd.options) if (o.mandatory && !o.description.endsWith('(required)')) o.description += ' (required)';
  for (const c of cmd.commands) markRequired(c);
}

// --nproc N launches N data-parallel ranks; a rank (WORLD_SIZE set) joins its process group first.
const started = await import('./launch.js')
  .then((l) => l.launchOrJoin(process.argv))
  .catch((err: Error) => {
    console.error(`lethe: ${err.message}`);
    process.exit(1);
  });
if ('exitCode' in started) process.exit(started.exitCode);
program.parseAsync(started.argv).catch((err: Error) => {
  const interrupted = (err as { code?: string }).code === 'INTERRUPTED';
  // Every data-parallel rank stops at the same step; rank 0 says so.
  if (interrupted && Number(process.env.RANK ?? 0) > 0) process.exit(INTERRUPTED_EXIT);
  console.error(`lethe: ${err.message}`);
  if (interrupted) {
    console.error(`continue it with:\n  ${resumeCommand(process.argv.slice(2))}`);
    process.exit(INTERRUPTED_EXIT);
  }
  process.exit(1);
});

/** The command line that continues an interrupted run: the same arguments with --resume (and never
 *  --overwrite, which would delete the checkpoint), quoted for a POSIX shell. */
function resumeCommand(args: string[]): string {
  const kept = args.filter((a) => a !== '--overwrite' && a !== '--resume');
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  return ['lethe', ...kept, '--resume'].map(quote).join(' ');
}
