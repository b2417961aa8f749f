#!/usr/bin/env node
// The `lethe` command line.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { doctor, formatDoctor } from './doctor.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('lethe')
  .description('Remove data and knowledge from trained language models, verify it is gone, keep the model useful.')
  .version(pkg.version);

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
  .description('doctor, then a small training run whose loss must fall')
  .option('--steps <n>', 'training steps', (v) => Number.parseInt(v, 10), 300)
  .action(async (opts: { steps: number }) => {
    const report = await doctor();
    console.log(formatDoctor(report));
    if (!report.addon.loaded) {
      process.exitCode = 1;
      return;
    }
    const { trainDemo } = await import('./demo.js');
    console.log(`\ntraining a 1-64-64-1 MLP on y = sin(3x) + x^2 with AdamW (${opts.steps} steps)`);
    const r = trainDemo(console.log, opts.steps);
    const fell = r.lastLoss < r.firstLoss / 10;
    console.log(`loss ${r.firstLoss.toFixed(5)} -> ${r.lastLoss.toFixed(5)} in ${r.seconds.toFixed(2)} s: ${fell ? 'fell more than 10x' : 'DID NOT FALL ENOUGH'}`);
    if (!fell) process.exitCode = 1;
  });

program
  .command('train')
  .description('train the tokenizer, the base model, the target and the retain (gold-standard) models from built data')
  .requiredOption('--data <dir>', 'folder with persona/, book/ and general/ (from `lethe data build all`)')
  .requiredOption('--out <dir>', 'run folder (tokenizer/, base/, target/, retain-*/)')
  .option('--preset <name>', 'tiny (2 CPU cores) or small (GPU)', 'tiny')
  .option('--seed <n>', 'seed', (v) => Number.parseInt(v, 10), 0)
  .option('--forget-splits <list>', 'persona forget splits that get a retain model', 'forget10')
  .option('--no-book-retain', 'skip the retain model trained without the Jargon File')
  .option('--resume', 'continue an interrupted run from its checkpoints')
  .action(async (opts: { data: string; out: string; preset: string; seed: number; forgetSplits: string; bookRetain: boolean; resume?: boolean }) => {
    const { runPipeline } = await import('../train/pipeline.js');
    const r = await runPipeline({
      dataDir: opts.data, outDir: opts.out, preset: opts.preset, seed: opts.seed,
      forgetSplits: opts.forgetSplits.split(',').map((s) => s.trim()).filter(Boolean), bookRetain: opts.bookRetain, resume: opts.resume,
    });
    console.log(`trained ${Object.keys(r.stages).join(', ')} in ${r.seconds.toFixed(0)} s → ${opts.out}`);
  });

program.parseAsync(process.argv).catch((err: Error) => {
  console.error(`lethe: ${err.message}`);
  process.exit(1);
});
