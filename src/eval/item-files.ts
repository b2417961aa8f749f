// Item files of an evaluation (suite files and the user's --forget/--retain/--holdout): JSONL rows
// as objects, and a file's kind from its rows. Rows may be a subject's personal data: errors name
// the file, line and field, never a value (see badRow).
import { badRow, LetheError } from '../util/errors.js';
import { readJsonl } from '../util/jsonl.js';
import { mapFields, type FieldMap } from '../train/fields.js';
import type { SetKind } from './metrics/registry.js';

export type Row = Record<string, unknown>;

/** An item set's rows: a JSONL file of objects; errors start with the option or suite it came from
 *  ("--forget: FILE:3: ..."). */
export function readItems(path: string, what: string, fields?: FieldMap): Row[] {
  return readJsonl(path, {
    what,
    validate: (v, line) => {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw prefixed(what, badRow(path, line, null, 'a JSON object', v));
      const row = fields ? mapFields(v as Row, fields, path, line) : (v as Row);
      LINES.set(row, line);
      return row;
    },
  });
}

/** Each row's line in its file (blank lines are skipped, so the index is not the line), kept beside
 *  the rows rather than in them: rows are handed to metrics as they are. */
const LINES = new WeakMap<Row, number>();
const lineOf = (row: Row, index: number) => LINES.get(row) ?? index + 1;

const prefixed = (what: string, err: LetheError) => new LetheError(err.code, `${what}: ${err.message}`);

const LAYOUTS = { qa: ['question', 'answer'], text: ['text'], probe: ['prompt', 'reference'] } as const;

/** A file's kind from its first row: {question, answer} → qa, {text} → text, {prompt, reference} → probe. */
export function kindOf(rows: Row[], path: string, what: string): SetKind {
  const r = rows[0]!;
  const str = (k: string) => typeof r[k] === 'string';
  const kind: SetKind | null =
    str('question') && str('answer') ? 'qa' : str('text') ? 'text' : str('prompt') && str('reference') ? 'probe' : null;
  // Field names only: a row's keys and values may be personal data.
  if (!kind)
    throw new LetheError(
      'BAD_INPUT',
      `${what}: ${path} rows must be {"question","answer"} (QA), {"text"} or {"prompt","reference"}; the first row has none of these as strings`,
    );
  rows.forEach((row, k) => {
    for (const f of LAYOUTS[kind as keyof typeof LAYOUTS])
      if (typeof row[f] !== 'string')
        throw prefixed(what, badRow(path, lineOf(row, k), f, `a string (like line ${lineOf(rows[0]!, 0)})`, row[f]));
    if (
      kind === 'qa' &&
      row.perturbed_answer !== undefined &&
      !(Array.isArray(row.perturbed_answer) && row.perturbed_answer.every((x) => typeof x === 'string'))
    ) {
      throw prefixed(what, badRow(path, lineOf(row, k), 'perturbed_answer', 'a list of strings', row.perturbed_answer));
    }
  });
  return kind;
}
