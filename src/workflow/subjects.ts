// Subjects are never stored: only an HMAC-SHA256 of the normalized identifier under the deployment's
// salt, so the same person maps to the same hash within one deployment and to nothing elsewhere.
import { createHmac } from 'node:crypto';
import { LetheError } from '../util/errors.js';

/** NFKC, trimmed, inner whitespace collapsed, lower case: "  Ada  LOVELACE " and "ada lovelace" match. */
export function normalizeSubject(subject: string): string {
  return subject.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

export function hashSubject(salt: Buffer, subject: string): string {
  const s = normalizeSubject(subject);
  if (!s) throw new LetheError('BAD_INPUT', "request: 'subject' must be a non-empty identifier");
  return createHmac('sha256', salt).update(s).digest('hex');
}
