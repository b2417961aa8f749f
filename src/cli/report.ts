// `lethe report` (REPORT.md + report.html from evaluation folders) and `lethe compare` (the results
// table of several runs). Neither needs the native addon: they only read JSON and render SVG.
import type { Command } from 'commander';
import { list } from './options.js';

export function registerReportCommands(program: Command): void {
  program
    .command('report')
    .description(
      'regenerate REPORT.md and report.html in evaluation folders (EVAL.json written by `lethe eval`), or one combined report with --out',
    )
    .argument('<dirs...>', 'evaluation folders (or EVAL.json files)')
    .option('--out <file>', 'one report of all the folders: the HTML file (the Markdown goes beside it as .md)')
    .option('--retain <eval>', "the retain model's EVAL.json (or its folder), shown beside each metric")
    .option('--target <eval>', "the target model's EVAL.json (or its folder), shown beside each metric")
    .option('--overwrite', 'replace existing --out files')
    .action(async (dirs: string[], opts: { out?: string; retain?: string; target?: string; overwrite?: boolean }) => {
      const { writeReports } = await import('../eval/report/index.js');
      const written = await writeReports(dirs, { out: opts.out, overwrite: opts.overwrite, retain: opts.retain, target: opts.target });
      for (const f of written) console.log(f);
    });

  program
    .command('compare')
    .description('put several evaluations side by side: rows = runs, columns = metrics (Markdown, HTML and JSON)')
    .argument('<runs...>', 'evaluation folders (or EVAL.json files)')
    .option('--out <dir>', 'write COMPARE.md, compare.html and compare.json into this folder')
    .option('--json', 'print the table as JSON instead of Markdown')
    .option('--metrics <list>', 'comma-separated metric columns (default: the headline metrics present)')
    .option('--retain <eval>', "the retain model's EVAL.json (or its folder), added as a row")
    .option('--target <eval>', "the target model's EVAL.json (or its folder), added as a row")
    .option('--overwrite', 'replace a non-empty --out: its contents are deleted first')
    .action(
      async (
        runs: string[],
        opts: { out?: string; json?: boolean; metrics?: string; retain?: string; target?: string; overwrite?: boolean },
      ) => {
        const { compareRuns } = await import('../eval/report/index.js');
        const r = await compareRuns(runs, {
          out: opts.out,
          overwrite: opts.overwrite,
          metrics: opts.metrics ? list(opts.metrics) : undefined,
          retain: opts.retain,
          target: opts.target,
        });
        process.stdout.write(opts.json ? JSON.stringify(r.json, null, 1) + '\n' : r.markdown);
        for (const f of r.written) console.error(`wrote ${f}`);
      },
    );
}
