// A JSON file read one way everywhere (configs, adapter configs, shard indexes, EVAL.json): a file
// that does not parse is a LetheError naming it, with the code the caller's layer uses.
import { readFileSync } from 'node:fs';
import { LetheError, type LetheErrorCode } from './errors.js';

/** The value of a JSON file; "PATH is not valid JSON: …" (`code`, default BAD_INPUT) when it does not parse. */
export function readJsonFile(path: string, code: LetheErrorCode = 'BAD_INPUT'): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new LetheError(code, `${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** A JSON file that must hold an object ("PATH must hold a JSON object" otherwise). */
export function readJsonObject(path: string): Record<string, unknown> {
  const raw = readJsonFile(path);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new LetheError('BAD_INPUT', `${path} must hold a JSON object`);
  return raw as Record<string, unknown>;
}
