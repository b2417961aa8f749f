// Item files of an evaluation (suite files and the user's --forget/--retain/--holdout): JSONL rows
// as objects, and a file's kind from its rows. Rows may be a subject's personal data: errors name
// the file, line and field, never a value (see badRow).
import { existsSync, readFileSync } from 'node:fs';
import { badRow, LetheError, parseJsonLine } from '../util/errors.js';
import type { SetKind } from './metrics/registry.js';

export type Row = Record<string, unknown>;

export function readJsonlFile(path: string, what: string): Row[] {
  if (!existsSync(path)) throw new LetheError('NOT_FOUND', `${what}: ${path} does not exist`);
  const rows: Row[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, k) => {
    if (!line.trim()) return;
    const v = withWhat(what, () => parseJsonLine(line, path, k + 1));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw prefixed(what, badRow(path, k + 1, null, 'a JSON object', v));
    rows.push(v as Row);
  });
  if (!rows.length) throw new LetheError('BAD_INPUT', `${what}: ${path} has no rows`);
  return rows;
}

/** Prefixes a row error with the option or suite it came from ("--forget: FILE:3: ..."). Rows may be a
 *  subject's personal data: errors name the file, line and field, never a value (see badRow). */
function withWhat<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof LetheError ? prefixed(what, err) : err;
  }
}

const prefixed = (what: string, err: LetheError) => new LetheError(err.code, `${what}: ${err.message}`);

const LAYOUTS = { qa: ['question', 'answer'], text: ['text'], probe: ['prompt', 'reference'] } as const;

/** A file's kind from its first row: {question, answer} → qa, {text} → text, {prompt, reference} → probe. */
export function kindOf(rows: Row[], path: string, what: string): SetKind {
  const r = rows[0]!;
  const str = (k: string) => typeof r[k] === 'string';
  const kind: SetKind | null = str('question') && str('answer') ? 'qa' : str('text') ? 'text' : str('prompt') && str('reference') ? 'probe' : null;
  // Field names only: a row's keys and values may be personal data.
  if (!kind) throw new LetheError('BAD_INPUT', `${what}: ${path} rows must be {"question","answer"} (QA), {"text"} or {"prompt","reference"}; the first row has none of these as strings`);
  rows.forEach((row, k) => {
    for (const f of LAYOUTS[kind as keyof typeof LAYOUTS]) if (typeof row[f] !== 'string') throw prefixed(what, badRow(path, k + 1, f, 'a string (like line 1)', row[f]));
    if (kind === 'qa' && row.perturbed_answer !== undefined && !(Array.isArray(row.perturbed_answer) && row.perturbed_answer.every((x) => typeof x === 'string'))) {
      throw prefixed(what, badRow(path, k + 1, 'perturbed_answer', 'a list of strings', row.perturbed_answer));
    }
  });
  return kind;
}
