// The user's own data: JSONL of {"text"} rows (loss on every token) or QA rows
// {"question","answer"} (loss on the answer), as TOFU and MUSE publish them, with optional
// paraphrased_answer / perturbed_answer[] / alternate answers. Every bad row is an error naming the
// file, the line and the field, never a value from the row (rows may be a subject's personal data).
import { badRow, LetheError } from '../util/errors.js';
import { readJsonl } from '../util/jsonl.js';
import { IGNORE_INDEX } from '../models/loss.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { encodeQa, type PromptFormat } from './prompt.js';
import type { Example } from './batches.js';
import { mapFields, type FieldMap } from './fields.js';

export interface DataRow {
  text?: string;
  question?: string;
  answer?: string;
  paraphrased_answer?: string;
  perturbed_answer?: string[];
  /** An answer a method may train towards instead (DPO's preferred answer); otherwise one is chosen. */
  alternate_answer?: string;
  [key: string]: unknown;
}

export type RowKind = 'text' | 'qa';

/** Reads and checks a JSONL data file: every row one kind, the fields of that kind strings. `lines`:
 *  each row's line in the file. */
export function readRows(path: string, role = 'data', fields?: FieldMap): { rows: DataRow[]; lines: number[]; kind: RowKind } {
  let kind: RowKind | null = null;
  const lines: number[] = [];
  const rows = readJsonl(path, {
    what: `${role} file`,
    expected: 'JSONL with {"text"} or {"question","answer"} rows',
    validate: (row, line) => {
      const bad = (field: string | null, expected: string, actual: unknown) => badRow(path, line, field, expected, actual);
      if (!row || typeof row !== 'object' || Array.isArray(row)) throw bad(null, 'a JSON object ({"text"} or {"question","answer"})', row);
      // Errors name the file's own field (--fields question=prompt: 'prompt'), since that is what the user sees.
      const named = (f: string) => (fields?.[f as keyof FieldMap] && !fields.messages ? fields[f as keyof FieldMap]! : f);
      const r = (fields ? mapFields(row as Record<string, unknown>, fields, path, line) : row) as DataRow;
      const k: RowKind | null =
        typeof r.question === 'string' && typeof r.answer === 'string' ? 'qa' : typeof r.text === 'string' ? 'text' : null;
      if (!k) {
        // Name the first missing field of the layout the row seems meant to have (field names only).
        if ('question' in r || 'answer' in r)
          throw typeof r.question !== 'string'
            ? bad(named('question'), 'a string', r.question)
            : bad(named('answer'), 'a string', r.answer);
        throw bad(named('text'), 'a string (or the fields "question" and "answer"; --fields maps other names)', r.text);
      }
      if (kind && k !== kind)
        throw new LetheError('BAD_INPUT', `${path}:${line}: a ${k} row in a file of ${kind} rows (one layout per file)`);
      if (k === 'qa' && !(r.answer as string).trim()) throw bad(named('answer'), 'a non-empty string', r.answer);
      if (k === 'text' && !(r.text as string).trim()) throw bad(named('text'), 'a non-empty string', r.text);
      if (
        r.perturbed_answer !== undefined &&
        !(Array.isArray(r.perturbed_answer) && r.perturbed_answer.every((x) => typeof x === 'string'))
      ) {
        throw bad('perturbed_answer', 'a list of strings', r.perturbed_answer);
      }
      kind = k;
      lines.push(line);
      return r;
    },
  });
  return { rows, lines, kind: kind! };
}

/** One row as training tokens: labels -100 on the prompt; EOS appended; cut to maxLength. */
export async function encodeRow(
  tok: Tokenizer,
  row: DataRow,
  options: { format?: PromptFormat; maxLength: number; answer?: string },
): Promise<Example> {
  const eos = tok.eosTokenId;
  const tail = eos === null ? [] : [eos];
  if (typeof row.question === 'string') {
    const qa = await encodeQa(tok, row.question, options.answer ?? row.answer!, options.format);
    const ids = [...qa.ids, ...tail].slice(0, options.maxLength);
    return { ids, labels: ids.map((t, k) => (k < qa.promptLength ? IGNORE_INDEX : t)) };
  }
  const ids = [...(await tok.encode(row.text!)), ...tail].slice(0, options.maxLength);
  return { ids };
}

export async function encodeRows(
  tok: Tokenizer,
  rows: DataRow[],
  options: { format?: PromptFormat; maxLength: number },
): Promise<Example[]> {
  const out: Example[] = [];
  for (const r of rows) out.push(await encodeRow(tok, r, options));
  return out;
}

/** Tokens an example trains on: labelled positions after the first (each is predicted from the ones before). */
export function targetTokens(e: Example): number {
  const labels = e.labels ?? e.ids;
  let n = 0;
  for (let k = 1; k < labels.length; k++) if (labels[k] !== IGNORE_INDEX) n++;
  return n;
}

/** The 1-based row numbers of examples left with nothing to train on (their answer or text cut away by maxLength). */
export function rowsWithoutTargets(examples: readonly Example[]): number[] {
  return examples.flatMap((e, i) => (targetTokens(e) ? [] : [i + 1]));
}

/** "rows 1, 2, 5" (at most 10 listed): where a check points in a data file, never what the rows say. */
export function rowList(rows: readonly number[]): string {
  return `row${rows.length > 1 ? 's' : ''} ${rows.slice(0, 10).join(', ')}${rows.length > 10 ? `, … (${rows.length - 10} more)` : ''}`;
}
