// JSON Lines, read and written one way everywhere: a missing file, a line that is not JSON and a
// file without rows are errors that name the file (and the line), never a value from it, since a
// row may be the personal data of someone who asked for erasure (see badRow in errors.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { LetheError, parseJsonLine } from './errors.js';
import { writeFileAtomic, type WriteFileAtomicOptions } from './atomic.js';
import { sha256 } from './hash.js';

export interface ReadJsonlOptions<T> {
  /** How errors name the file: 'forget file', '--holdout', 'persona suite'. */
  what: string;
  /** Checks (and may convert) one parsed row; `line` is its 1-based line in the file. Throws a
   *  content-free error (badRow) for a bad row. Without it rows are returned as parsed. */
  validate?: (row: unknown, line: number) => T;
  /** What each row should be, for the message of a file without rows ('{"text"} rows'). */
  expected?: string;
  /** A file without rows is a file of no rows, not an error. */
  allowEmpty?: boolean;
  /** Added to the message of a missing file: how to make it. */
  hint?: string;
}

/** The rows of a JSONL file. Blank lines are skipped; a UTF-8 byte-order mark is ignored. */
export function readJsonl<T = unknown>(path: string, o: ReadJsonlOptions<T>): T[] {
  if (!existsSync(path)) throw new LetheError('NOT_FOUND', `${o.what}: ${path} does not exist${o.hint ? ` (${o.hint})` : ''}`);
  if (!statSync(path).isFile())
    throw new LetheError('BAD_INPUT', `${o.what}: ${path} is a folder, not a file; give a JSONL file (one JSON object per line)`);
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  if (isJsonArray(text))
    throw new LetheError(
      'BAD_INPUT',
      `${o.what}: ${path} is one JSON array; expected JSONL, one JSON object per line (convert it with: jq -c '.[]' FILE > FILE.jsonl)`,
    );
  const rows: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let row: unknown;
    try {
      row = parseJsonLine(line, path, i + 1);
    } catch (err) {
      throw err instanceof LetheError ? new LetheError(err.code, `${o.what}: ${err.message}`) : err;
    }
    rows.push(o.validate ? o.validate(row, i + 1) : (row as T));
  });
  if (!rows.length && !o.allowEmpty)
    throw new LetheError('BAD_INPUT', `${o.what}: ${path} holds no rows${o.expected ? ` (expected ${o.expected})` : ''}`);
  return rows;
}

/** A whole file that is one JSON array (a common export) rather than one object per line. */
function isJsonArray(text: string): boolean {
  if (!text.trimStart().startsWith('[')) return false;
  try {
    return Array.isArray(JSON.parse(text));
  } catch {
    return false;
  }
}

/** The text of rows as JSONL: one JSON value per line, each line ended by a newline. */
export function jsonlText(rows: readonly unknown[]): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/** Writes rows as JSONL, atomically; returns the sha256 of the bytes written and the row count. */
export function writeJsonl(path: string, rows: readonly unknown[], o: WriteFileAtomicOptions = {}): { sha256: string; rows: number } {
  const text = jsonlText(rows);
  writeFileAtomic(path, text, o);
  return { sha256: sha256(text), rows: rows.length };
}
