// An anchor: the signed head of the audit log (count, last hash, time, the key's id and public key),
// written by `lethe audit anchor` to be kept outside the deployment (another machine, a ticket, a
// notary). Whoever can write the data folder can delete the whole log (it then looks new) and, when
// the key lies in DATA/keys, rewrite and re-sign it; `lethe audit verify --anchor FILE` finds both: a
// log shorter than the anchor, another hash at the anchor's entry, or another key.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { LetheError } from '../util/errors.js';
import { headMessage, readAuditHead, verifyAudit, type AuditExpectation } from './audit.js';
import type { Workflow } from './context.js';
import { keyIdOf } from './deployment.js';
import { authorize, SYSTEM_ACTOR, type Actor } from './roles.js';

export interface AuditAnchor {
  kind: 'lethe-audit-anchor';
  version: 1;
  count: number;
  hash: string;
  /** When the head was written (part of what its signature covers). */
  at: string;
  keyId: string;
  /** The signing key's public half (SPKI PEM): the anchor checks itself, and names the key. */
  publicKey: string;
  /** The deployment key's signature of the head {count, hash, at}. */
  signature: string;
  anchoredAt: string;
}

/** The current signed head as an anchor, once the log verifies (an anchor vouches for what it ends). */
export async function makeAnchor(w: Workflow, by: Actor = SYSTEM_ACTOR): Promise<AuditAnchor> {
  authorize(by, 'audit.read');
  const v = await verifyAudit(w);
  if (!v.ok)
    throw new LetheError(
      'CONFLICT',
      `audit anchor: the log does not verify (${v.problems.length} problem(s); first: ${v.problems[0]}); run \`lethe audit verify\``,
    );
  const head = await readAuditHead(w.store.db);
  if (!head) throw new LetheError('CONFLICT', 'audit anchor: the log has no entries yet; anchor it once it has some');
  return {
    kind: 'lethe-audit-anchor',
    version: 1,
    count: head.count,
    hash: head.hash,
    at: head.at,
    keyId: w.deployment.keyId,
    publicKey: w.deployment.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    signature: head.signature,
    anchoredAt: w.now().toISOString(),
  };
}

/** Reads an anchor and checks it against itself (its key id, its signature): what verifyAudit expects. */
export function parseAnchor(text: string, source: string): AuditExpectation & { at: string } {
  const bad = (what: string) => new LetheError('BAD_INPUT', `audit anchor ${source}: ${what}`);
  let a: Partial<AuditAnchor>;
  try {
    a = JSON.parse(text) as Partial<AuditAnchor>;
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (!a || typeof a !== 'object' || a.kind !== 'lethe-audit-anchor' || a.version !== 1)
    throw bad('expected {"kind": "lethe-audit-anchor", "version": 1, …} as `lethe audit anchor` writes it');
  if (!Number.isInteger(a.count) || a.count! < 1) throw bad(`'count' must be a positive integer, got ${JSON.stringify(a.count)}`);
  if (typeof a.hash !== 'string' || !/^[0-9a-f]{64}$/.test(a.hash)) throw bad("'hash' must be 64 lowercase hex digits");
  if (typeof a.at !== 'string' || typeof a.signature !== 'string' || typeof a.keyId !== 'string')
    throw bad("'at', 'keyId' and 'signature' must be strings");
  let key: KeyObject;
  try {
    key = createPublicKey(String(a.publicKey));
  } catch {
    throw bad("'publicKey' must be a PEM public key");
  }
  if (keyIdOf(key) !== a.keyId) throw bad(`'keyId' ${a.keyId} is not the id of its 'publicKey' (${keyIdOf(key)})`);
  if (!verify(null, headMessage({ count: a.count!, hash: a.hash, at: a.at }), key, Buffer.from(a.signature, 'base64')))
    throw bad(`its signature does not verify with its key ${a.keyId} (the file was altered)`);
  return { count: a.count!, hash: a.hash, at: a.at, keyId: a.keyId };
}
