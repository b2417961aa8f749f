// The identities every layer shares: sha256 of bytes and of files, and one canonical JSON. Record
// ids, audit hashes, cache keys and certificates are built from these, so two layers that hash the
// same thing always agree.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { LetheError } from './errors.js';

/** Hex sha256 of a string (as UTF-8) or of bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex sha256 of what an open descriptor reads to its end, in 1 MiB reads (any file size, little memory). */
export function sha256Fd(fd: number): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
  return hash.digest('hex');
}

/** Hex sha256 of a file's bytes (equal to sha256 of its content). */
export function sha256File(path: string): string {
  const fd = openSync(path, 'r');
  try {
    return sha256Fd(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code unit (recursively), no whitespace, undefined
 * object members dropped and undefined list entries written null (as JSON.stringify does). The same
 * value gives the same bytes on any engine, and for parsed JSON these are the bytes every stored id
 * (record ids, SISA manifests, audit hashes) was made with. NaN and ±Infinity are refused rather than
 * written null: two different values must not share an identity.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LetheError('BAD_INPUT', `canonical JSON: numbers must be finite, got ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new LetheError('BAD_INPUT', `canonical JSON: cannot encode a ${typeof value}`);
}
