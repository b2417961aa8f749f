// Canonical JSON: object keys sorted (recursively), no whitespace, undefined members dropped. What
// the audit chain hashes and signs, so the same entry always gives the same bytes on any engine.
import { LetheError } from '../util/errors.js';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LetheError('BAD_INPUT', `canonical JSON: numbers must be finite, got ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new LetheError('BAD_INPUT', `canonical JSON: cannot encode a ${typeof value}`);
}
