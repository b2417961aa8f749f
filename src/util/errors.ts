// The small, closed set of error kinds Lethe throws at its boundaries (as tch-rs's TchError): the
// CLI prints the message, the HTTP layer maps the code to a status instead of matching messages.
export type LetheErrorCode =
  | 'BAD_INPUT'
  | 'NOT_FOUND'
  | 'BAD_CHECKPOINT'
  | 'NON_FINITE_LOSS'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'INTERRUPTED'
  | 'INTERNAL';

export class LetheError extends Error {
  /** The input field at fault ("forgetFile", "args"), for replies that point at it. Declared, not
   *  defined: an error without one has no `field` key at all. */
  declare readonly field?: string;

  constructor(
    readonly code: LetheErrorCode,
    message: string,
    options: { field?: string } = {},
  ) {
    super(message);
    this.name = 'LetheError';
    if (options.field !== undefined) this.field = options.field;
  }
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** "forget: 'beta' must be a number, got 'abc'" — one format for every rejected argument; `field`
 *  when the argument is an input field a reply should name. */
export function invalidArgument(
  where: string,
  name: string,
  expected: string,
  actual: unknown,
  options: { field?: string } = {},
): LetheError {
  return new LetheError('BAD_INPUT', `${where}: '${name}' must be ${expected}, got ${show(actual)}`, options);
}

// ---------------------------------------------------------------------------------------------
// Bad rows of data files. A row may be personal data (a forget row names the subject of an erasure),
// and errors reach audit entries, job rows, logs and API replies: they name the file, the line, the
// field and what was expected, and say only the TYPE of what was found, never a value from the row.

/** "a string", "an empty string", "a number", "a list", "an object", "null", "nothing". */
export function typeOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return v.trim() ? 'a string' : 'an empty string';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? `a ${typeof v}` : `a ${typeof v} value`;
}

/** "FILE:LINE: FIELD: expected X, got a <type>" (field null: the row itself). */
export function badRow(file: string, line: number, field: string | null, expected: string, actual: unknown): LetheError {
  return new LetheError(
    'BAD_INPUT',
    `${file}:${line}: ${field === null ? 'the row' : `field '${field}'`}: expected ${expected}, got ${typeOf(actual)}`,
  );
}

/** JSON.parse of one line of a JSONL file. V8's SyntaxError quotes the text around the fault, so it is
 *  replaced by the character position alone. */
export function parseJsonLine(text: string, file: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    throw new LetheError(
      'BAD_INPUT',
      `${file}:${line}: not valid JSON${at ? ` (at character ${Number(at[1]) + 1})` : ''}; expected one JSON object per line`,
    );
  }
}

/** An error's message if Lethe wrote it (LetheError: no values from data rows, by the rule above);
 *  otherwise only its kind, since a runtime or library message can quote the data it choked on
 *  (V8 quotes JSON text and string values). For reasons that reach audit entries, job rows and replies. */
export function contentFreeMessage(err: unknown): string {
  if (err instanceof LetheError) return err.message;
  const name = err instanceof Error ? err.name : typeof err;
  return `an unexpected ${name} (its message is not recorded, as it may quote the data)`;
}
