// What every results table of `lethe table` shares: a recipe (one method with its training budget),
// a row, the Markdown layout, the claimed --out folder, the forget → evaluate step of one recipe,
// and the files written at the end (table.json, table.md).
import { existsSync, mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic.js';
import { join } from 'node:path';
import type { PromptFormat } from '../../train/prompt.js';
import type { TrainingOptions } from '../../train/options.js';
import { claimOutputDir } from '../../util/output.js';

/** One method with its training budget (seed 0; the batch size is the table's). */
export interface Recipe extends Required<Pick<TrainingOptions, 'lr' | 'epochs'>>, Pick<TrainingOptions, 'lora'> {
  label: string;
  method: string;
  args?: Record<string, unknown>;
  /** A saliency mask spec (--mask). */
  mask?: string;
  /** Methods that need no retain data still get it when they can use it. */
  noRetain?: boolean;
}

export interface TableRow {
  name: string;
  metrics: Record<string, number | null>;
  seconds?: number;
  parametersChanged?: number;
  parametersTotal?: number;
  note?: string;
}

/** A row's metrics, from the model folder it names (evaluations go to out/eval/<name>). */
export type Score = (name: string, dir: string) => Promise<Record<string, number | null>>;

/** A model's or an evaluation's folder name for a row name ("NPO + LoRA r=8" → "NPO_LoRA_r_8"). */
export const folderName = (name: string): string => name.replace(/[^\w.-]+/g, '_');

function cell(key: string, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (/_Prob$|_rate(_sampled)?$|_accuracy$/.test(key)) return `${(100 * v).toFixed(2)}%`;
  if (key === 'forget_quality') return v.toExponential(2);
  return v.toFixed(3);
}

export function formatTable(rows: TableRow[], columns: [string, string][]): string {
  const head = ['model', ...columns.map(([, h]) => h), 'time (s)', 'params changed'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const changed =
      r.parametersChanged === undefined
        ? '–'
        : `${r.parametersChanged} (${((100 * r.parametersChanged) / r.parametersTotal!).toFixed(1)}%)`;
    lines.push(
      `| ${[r.name, ...columns.map(([k]) => cell(k, r.metrics[k])), r.seconds === undefined ? '–' : r.seconds.toFixed(0), changed].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** "- NAME: NOTE" for every row with a note, after a blank line (nothing when none has one). */
export function notesOf(rows: TableRow[]): string {
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`);
  return notes.length ? `\n\n${notes.join('\n')}` : '';
}

/** A folder of an earlier `lethe table` (what --resume continues: it keeps nothing but resumes interrupted trainings). */
const isTable = (dir: string) => ['models', 'eval', 'table.json', 'sisa'].some((f) => existsSync(join(dir, f)));

/**
 * The table's --out, claimed once: refused when it overlaps --run or --data, or when it is not
 * empty without --resume or --overwrite. The table owns its sub-folders from then on, so it resumes
 * or replaces the models and evaluations in them itself.
 */
export function claimTableOut(o: { run: string; data: string; out: string; resume?: boolean; overwrite?: boolean }): void {
  claimOutputDir(o.out, {
    what: 'table',
    resume: o.resume,
    overwrite: o.overwrite,
    resumable: isTable,
    inputs: [
      { name: '--run', path: o.run },
      { name: '--data', path: o.data },
    ],
  });
  mkdirSync(o.out, { recursive: true });
}

/** The recipes --methods names (by label or method name); all of them without it. */
export function selectRecipes<R extends Recipe>(recipes: R[], methods: string[] | undefined): R[] {
  return recipes.filter((r) => !methods || methods.includes(r.label) || methods.includes(r.method));
}

export interface RecipeRun {
  /** The model every recipe unlearns from. */
  target: string;
  forgetFile: string;
  retainFile: string;
  /** Where the unlearned model goes (resumed when an earlier run was interrupted). */
  dir: string;
  batchSize: number;
  format?: PromptFormat;
  score: Score;
  /** Called once the model is trained, before it is scored, with what the row records of the training. */
  trained?: (cost: Pick<TableRow, 'seconds' | 'parametersChanged' | 'parametersTotal'>) => void;
  log: (line: string) => void;
}

/** One recipe's row: unlearn the target with it (seed 0), then score the result. A failure becomes a
 *  row without metrics whose note says why, so one method's failure does not stop the table. */
export async function recipeRow(r: Recipe, o: RecipeRun): Promise<TableRow> {
  const { forget, parseMask } = await import('../../unlearn/index.js');
  o.log(`[table] ${r.label}: lr ${r.lr}, ${r.epochs} epochs${r.lora ? ', LoRA' : ''}${r.mask ? `, mask ${r.mask}` : ''}`);
  try {
    const res = await forget({
      modelDir: o.target,
      forgetFile: o.forgetFile,
      retainFile: r.noRetain ? undefined : o.retainFile,
      method: r.method,
      args: r.args,
      outDir: o.dir,
      lr: r.lr,
      epochs: r.epochs,
      batchSize: o.batchSize,
      seed: 0,
      lora: r.lora,
      merge: !!r.lora,
      mask: r.mask ? parseMask(r.mask) : undefined,
      format: o.format,
      resume: true,
      overwrite: true,
      report: () => {},
    });
    const cost = { seconds: res.seconds, parametersChanged: res.parametersChanged, parametersTotal: res.parametersTotal };
    o.trained?.(cost);
    return { name: r.label, metrics: await o.score(r.label, o.dir), ...cost };
  } catch (err) {
    o.log(`[table] ${r.label} failed: ${(err as Error).message}`);
    return { name: r.label, metrics: {}, note: (err as Error).message };
  }
}

/** table.json and table.md in `out`, each written whole (a reader never sees half a table). */
export function writeTable(out: string, json: unknown, markdown: string): void {
  writeFileAtomic(join(out, 'table.json'), JSON.stringify(json, null, 2) + '\n');
  writeFileAtomic(join(out, 'table.md'), markdown + '\n');
}
