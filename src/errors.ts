// The small, closed set of error kinds Lethe throws at its boundaries (as tch-rs's TchError): the
// CLI prints the message, the HTTP layer maps the code to a status instead of matching messages.
export type LetheErrorCode = 'BAD_INPUT' | 'NOT_FOUND' | 'BAD_CHECKPOINT' | 'NON_FINITE_LOSS' | 'CONFLICT' | 'FORBIDDEN' | 'INTERNAL';

export class LetheError extends Error {
  constructor(readonly code: LetheErrorCode, message: string) {
    super(message);
    this.name = 'LetheError';
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

/** "forget: 'beta' must be a number, got 'abc'" — one format for every rejected argument. */
export function invalidArgument(where: string, name: string, expected: string, actual: unknown): LetheError {
  return new LetheError('BAD_INPUT', `${where}: '${name}' must be ${expected}, got ${show(actual)}`);
}
