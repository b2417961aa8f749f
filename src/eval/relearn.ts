// The relearning attack behind `lethe eval --relearn`: fine-tune a copy of the evaluated model for a
// few steps on text related to the forget set, then measure the forget metrics again (relearn_*).
// For the persona suite the related text is the forgotten people's biographies (another phrasing of
// the same facts, never the QA that is measured); otherwise the first half of the forget file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CausalLM } from '../models/model.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { LetheError, invalidArgument } from '../util/errors.js';
import { readRows, encodeRows, type DataRow } from '../train/examples.js';
import { finetuneLoaded } from '../train/finetune.js';
import { personaQaFiles } from './suites.js';

export interface RelearnSpec {
  steps: number;
  lr: number;
  /** A JSONL file to relearn from (default: see above). */
  data?: string;
  /** Held-out facts: group the forget rows by this field (a person), relearn on the first half of
   *  each group's rows and measure the relearn_* forget metrics on the other half only (knowledge
   *  that comes back on facts the attack never showed; arXiv 2410.08827). */
  split?: string;
}

/** "steps=20,lr=1e-3[,data=FILE][,split=FIELD]" */
export function parseRelearn(spec: string): RelearnSpec {
  const out: RelearnSpec = { steps: 20, lr: 1e-3 };
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v = ''] = part.split('=');
    if (k === 'steps') {
      out.steps = Number(v);
      if (!(Number.isInteger(out.steps) && out.steps > 0)) throw invalidArgument('--relearn', 'steps', 'a positive integer', v);
    } else if (k === 'lr') {
      out.lr = Number(v);
      if (!(out.lr > 0)) throw invalidArgument('--relearn', 'lr', 'a positive number', v);
    } else if (k === 'data') out.data = v;
    else if (k === 'split') {
      if (!v) throw invalidArgument('--relearn', 'split', 'a field that groups the forget rows (e.g. person_id)', v);
      out.split = v;
    } else throw new LetheError('BAD_INPUT', `--relearn: unknown key '${k}' (expected steps, lr, data, split)`);
  }
  return out;
}

/** A persona suite's forget split file (`persona[:forgetNN]` with a data folder), else null. */
function personaForgetFile(o: { suite?: string; dataDir?: string }): string | null {
  return o.dataDir ? (personaQaFiles(o.suite, o.dataDir)?.forget ?? null) : null;
}

/** The forget rows of a suite or file (what evaluate() scores as the 'forget' set, in its order). */
function forgetRowsOf(o: { suite?: string; dataDir?: string; forgetFile?: string }): DataRow[] | null {
  const file = personaForgetFile(o) ?? o.forgetFile;
  return file ? readRows(file, 'forget').rows : null;
}

/**
 * The held-out-facts split: per group of forget rows (same value of `field`), the first half (rounded
 * down) is relearned and the rest measured. Returns the rows to relearn and the indices (in the forget
 * set's order) to measure.
 */
export function heldOutSplit(rows: readonly DataRow[], field: string): { relearn: DataRow[]; measured: number[] } {
  const groups = new Map<string, number[]>();
  rows.forEach((r, k) => {
    const key = (r as Record<string, unknown>)[field];
    if (key === undefined || key === null)
      throw invalidArgument('--relearn', 'split', `a field every forget row has (row ${k + 1} has no '${field}')`, field);
    groups.set(String(key), [...(groups.get(String(key)) ?? []), k]);
  });
  const relearn: DataRow[] = [];
  const measured: number[] = [];
  for (const ks of groups.values()) {
    const half = Math.floor(ks.length / 2);
    relearn.push(...ks.slice(0, half).map((k) => rows[k]!));
    measured.push(...ks.slice(half));
  }
  return { relearn, measured: measured.sort((a, b) => a - b) };
}

/** The rows the attack fine-tunes on, and with `split` the forget items the relearn_* metrics measure. */
export function relearnPlan(
  spec: RelearnSpec,
  o: { suite?: string; dataDir?: string; forgetFile?: string },
): { rows: DataRow[]; measured?: number[] } {
  if (!spec.split) return { rows: relearnRows(spec, o) };
  const forget = forgetRowsOf(o);
  if (!forget) throw new LetheError('BAD_INPUT', '--relearn split=…: needs a forget set (--forget FILE or a persona suite)');
  const { relearn, measured } = heldOutSplit(forget, spec.split);
  if (!relearn.length)
    throw new LetheError('BAD_INPUT', `--relearn split=${spec.split}: every group has one row, so there is no half to relearn on`);
  return { rows: relearn, measured };
}

/** The rows the attack fine-tunes on. */
export function relearnRows(spec: RelearnSpec, o: { suite?: string; dataDir?: string; forgetFile?: string }): DataRow[] {
  if (spec.data) return readRows(spec.data, 'relearn data').rows;
  const personaFile = personaForgetFile(o);
  if (personaFile) {
    const people = new Set(readRows(personaFile, 'forget').rows.map((r) => String(r.person_id)));
    return readRows(join(o.dataDir!, 'persona', 'bio.jsonl'), 'biographies').rows.filter((r) => people.has(String(r.person_id)));
  }
  if (o.forgetFile) {
    const rows = readRows(o.forgetFile, 'forget').rows;
    return rows.slice(0, Math.max(1, Math.floor(rows.length / 2)));
  }
  throw new LetheError('BAD_INPUT', '--relearn: give data=FILE (no forget set to draw related text from)');
}

/** The hook evaluate() calls with a copy of the model. */
export function relearnHook(
  spec: RelearnSpec,
  modelDir: string,
  rows: DataRow[],
  log: (l: string) => void,
): (model: CausalLM) => Promise<CausalLM> {
  return async (model) => {
    const tok = loadTokenizer(modelDir);
    const examples = await encodeRows(tok, rows, { maxLength: model.config.maxPositionEmbeddings });
    const work = mkdtempSync(join(tmpdir(), 'lethe-relearn-'));
    try {
      await finetuneLoaded(model, examples, {
        outDir: work,
        steps: spec.steps,
        lr: spec.lr,
        batchSize: 8,
        warmupSteps: 0,
        checkpointEvery: 0,
        padId: tok.padTokenId,
        save: () => {},
        report: () => {},
      });
      log(`[eval] relearning attack: ${spec.steps} steps at lr ${spec.lr} on ${rows.length} related rows`);
      return model;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  };
}
