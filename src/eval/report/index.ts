// Reports from evaluation folders: REPORT.md + report.html (one or more runs beside the target and the
// retain model) and the comparison of several runs (COMPARE.md, compare.html, compare.json).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadRuns, type EvalRun, type LoadOptions } from './load.js';
import { reportMarkdown, compareMarkdown } from './markdown.js';
import { reportHtml, compareHtml } from './html.js';
import { compareTable, compareJson, type CompareTable } from './compare.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { claimOutputDir, claimOutputFile } from '../../util/output.js';

export { loadRun, loadRuns, runFromEval, readEval, refValue, sharedRef, type EvalRun, type LoadOptions } from './load.js';
export { reportMarkdown, compareMarkdown } from './markdown.js';
export { reportHtml, compareHtml } from './html.js';
export { compareTable, compareJson, chooseMetrics, DEFAULT_COMPARE_METRICS, type CompareTable } from './compare.js';
export { renderSvg } from './charts.js';
export { fmt, escapeHtml, escapeMd } from './format.js';

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, text);
}

/** Writes REPORT.md and report.html for these runs into a folder. */
export async function writeReportFiles(runs: EvalRun[], outDir: string): Promise<{ markdown: string; html: string }> {
  const md = join(outDir, 'REPORT.md');
  const html = join(outDir, 'report.html');
  write(md, reportMarkdown(runs));
  write(html, await reportHtml(runs));
  return { markdown: md, html };
}

export interface ReportOptions extends LoadOptions {
  /** One combined report of every folder at this HTML path (REPORT.md beside it as <name>.md); default: each folder gets its own. */
  out?: string;
  /** Replace existing `out` files (refused without it). */
  overwrite?: boolean;
}

/** What a report reads (each run's EVAL.json, the given target/retain EVAL.json): never an output. */
function readFiles(dirs: string[], o: LoadOptions): { name: string; path: string }[] {
  const evalFile = (p: string) => (p.endsWith('.json') ? p : join(p, 'EVAL.json'));
  return [
    ...dirs.map((d) => ({ name: 'the evaluation', path: evalFile(d) })),
    ...(['target', 'retain'] as const).flatMap((k) =>
      typeof o[k] === 'string' ? [{ name: `--${k}`, path: evalFile(o[k] as string) }] : [],
    ),
  ];
}

/** `lethe report`: each folder's REPORT.md and report.html regenerated, or one combined report at `out`. */
export async function writeReports(dirs: string[], o: ReportOptions = {}): Promise<string[]> {
  const runs = loadRuns(dirs, o);
  if (o.out) {
    const md = o.out.replace(/\.html?$/i, '') + '.md';
    for (const f of [o.out, md]) claimOutputFile(f, { what: 'report', overwrite: o.overwrite, inputs: readFiles(dirs, o) });
    write(md, reportMarkdown(runs));
    write(o.out, await reportHtml(runs));
    return [md, o.out];
  }
  const written: string[] = [];
  for (const r of runs) {
    const w = await writeReportFiles([r], r.dir!);
    written.push(w.markdown, w.html);
  }
  return written;
}

export interface CompareOptions extends LoadOptions {
  metrics?: string[];
  /** Folder for COMPARE.md, compare.html and compare.json (nothing written without it). */
  out?: string;
  /** Replace a non-empty `out` folder (its contents are deleted first); refused without it. */
  overwrite?: boolean;
}

/** `lethe compare`: the results table of several runs. */
export async function compareRuns(
  dirs: string[],
  o: CompareOptions = {},
): Promise<{ table: CompareTable; markdown: string; json: unknown; written: string[] }> {
  const runs = loadRuns(dirs, o);
  const table = compareTable(runs, o.metrics);
  const markdown = compareMarkdown(table);
  const json = compareJson(table);
  const written: string[] = [];
  if (o.out) {
    claimOutputDir(o.out, {
      what: 'compare',
      overwrite: o.overwrite,
      inputs: [...dirs.map((d) => ({ name: 'the run', path: d })), ...readFiles([], o)],
    });
    const files = { md: join(o.out, 'COMPARE.md'), html: join(o.out, 'compare.html'), json: join(o.out, 'compare.json') };
    write(files.md, markdown);
    write(files.html, await compareHtml(table, runs));
    write(files.json, JSON.stringify(json, null, 1) + '\n');
    written.push(files.md, files.html, files.json);
  }
  return { table, markdown, json, written };
}
