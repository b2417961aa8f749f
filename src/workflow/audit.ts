// The audit log: append-only, hash-chained and signed. Entry n stores prev_hash = hash of entry n-1
// and hash = sha256(canonical JSON of {seq, at, actor, action, requestId, details, prevHash}); the
// deployment's Ed25519 key signs every hash and a head checkpoint {count, hash}, so an edit, a
// deletion, a reordering or a truncation is found by verifyAudit(). Entries also commit to the table
// rows they describe (./audit-rows.ts). A wipe, or a history rewritten and re-signed by someone who
// holds the key, is found only against a head kept elsewhere (./audit-anchor.ts), which is why the key
// can live outside the data folder (./deployment.ts). Details never hold personal data.
import { sign, verify } from 'node:crypto';
import { sql } from 'kysely';
import { checkDescribedTables, DescribedRows } from './audit-tables.js';
import { canonicalJson, sha256 } from '../util/hash.js';
import type { Deployment } from './deployment.js';
import type { Db, Trx, Workflow } from './context.js';
import type { AuditTable } from './store/schema.js';
import type { Dialect } from './store/open.js';

export const GENESIS_HASH = '0'.repeat(64);
const PG_AUDIT_LOCK = 7_460_311;

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  requestId: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
  signature: string;
}

export interface AuditHead {
  count: number;
  hash: string;
  at: string;
  signature: string;
}

export function entryHash(e: Omit<AuditEntry, 'hash' | 'signature'>): string {
  return sha256(
    canonicalJson({
      seq: e.seq,
      at: e.at,
      actor: e.actor,
      action: e.action,
      requestId: e.requestId,
      details: e.details,
      prevHash: e.prevHash,
    }),
  );
}

export const headMessage = (h: Pick<AuditHead, 'count' | 'hash' | 'at'>) =>
  Buffer.from(canonicalJson({ kind: 'lethe-audit-head', count: h.count, hash: h.hash, at: h.at }));
const signBytes = (d: Deployment, bytes: Buffer) => sign(null, bytes, d.privateKey).toString('base64');

/** Takes the write lock for the rest of the transaction (Postgres: an advisory lock; SQLite: a write
 *  statement, which makes the transaction the one writer), so appends and state checks serialize. */
export async function lockForWrite(trx: Trx, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${PG_AUDIT_LOCK})`.execute(trx);
  else await trx.updateTable('audit_head').set({ count: sql`count` }).where('id', '=', 0).execute();
}

export interface AppendAudit {
  actor: string;
  action: string;
  requestId?: string | null;
  details: Record<string, unknown>;
}

/** Appends one entry and moves the signed head, inside the caller's transaction (after lockForWrite). */
export async function appendAudit(trx: Trx, w: Workflow, a: AppendAudit, at: string): Promise<AuditEntry> {
  const head = await trx.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
  const base = {
    seq: (head?.count ?? 0) + 1,
    at,
    actor: a.actor,
    action: a.action,
    requestId: a.requestId ?? null,
    details: a.details,
    prevHash: head?.hash ?? GENESIS_HASH,
  };
  const hash = entryHash(base);
  const entry: AuditEntry = { ...base, hash, signature: signBytes(w.deployment, Buffer.from(hash, 'hex')) };
  await trx
    .insertInto('audit')
    .values({
      seq: entry.seq,
      at,
      actor: entry.actor,
      action: entry.action,
      request_id: entry.requestId,
      details: canonicalJson(entry.details),
      prev_hash: entry.prevHash,
      hash,
      signature: entry.signature,
    })
    .execute();
  const newHead = { count: entry.seq, hash, at, signature: signBytes(w.deployment, headMessage({ count: entry.seq, hash, at })) };
  if (head) await trx.updateTable('audit_head').set(newHead).where('id', '=', 1).execute();
  else
    await trx
      .insertInto('audit_head')
      .values({ id: 1, ...newHead })
      .execute();
  return entry;
}

function fromRow(r: AuditTable): AuditEntry {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    requestId: r.request_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
    signature: r.signature,
  };
}

/** Every entry in seq order, a page at a time. */
export async function* auditEntries(db: Db, pageSize = 500): AsyncGenerator<AuditEntry> {
  let after = 0;
  for (;;) {
    const rows = await db.selectFrom('audit').selectAll().where('seq', '>', after).orderBy('seq').limit(pageSize).execute();
    for (const r of rows) yield fromRow(r);
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.seq;
  }
}

export async function readAuditHead(db: Db): Promise<AuditHead | null> {
  const h = await db.selectFrom('audit_head').select(['count', 'hash', 'at', 'signature']).where('id', '=', 1).executeTakeFirst();
  return h ?? null;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: { count: number; hash: string } | null;
  keyId: string;
  /** Each problem found, first ones first (at most 20). */
  problems: string[];
  /** What could not be checked (rows older entries describe without a digest). */
  notes: string[];
}

/** A head recorded earlier and kept outside the deployment (an anchor, or an export's head). */
export interface AuditExpectation {
  count: number;
  hash: string;
  /** The key that signed it (an anchor records it): another key now means the log was re-signed. */
  keyId?: string;
}

/** Checks the whole chain: order, links, hashes, signatures, and the signed head against truncation;
 *  then the tables the entries describe (requests, transitions, models, tokens, jobs; ./audit-tables.ts).
 *  `expect` (a head kept elsewhere: `lethe audit anchor`) also catches a wipe, a rollback, a history
 *  rewritten and re-signed before it, and a replaced key. */
export async function verifyAudit(w: Workflow, expect?: AuditExpectation): Promise<AuditVerification> {
  const problems: string[] = [];
  const note = (p: string) => {
    if (problems.length < 20) problems.push(p);
  };
  const key = w.deployment.publicKey;
  let prev = GENESIS_HASH;
  let n = 0;
  const seen = new Map<number, string>();
  const described = new DescribedRows();
  for await (const e of auditEntries(w.store.db)) {
    n++;
    if (e.seq !== n) note(`entry ${n}: has seq ${e.seq}, expected ${n} (an entry was deleted or reordered)`);
    if (e.prevHash !== prev)
      note(
        `entry ${e.seq}: does not follow the entry before it (prev_hash ${e.prevHash.slice(0, 12)}…, expected ${prev.slice(0, 12)}…): deleted or reordered`,
      );
    const recomputed = entryHash(e);
    if (recomputed !== e.hash) note(`entry ${e.seq}: content does not match its hash (edited)`);
    if (!verify(null, Buffer.from(e.hash, 'hex'), key, Buffer.from(e.signature, 'base64')))
      note(`entry ${e.seq}: signature does not verify with key ${w.deployment.keyId}`);
    seen.set(e.seq, e.hash);
    described.add(e);
    prev = e.hash;
  }
  const head = await readAuditHead(w.store.db);
  if (!head) {
    if (n > 0) note(`the signed head is missing but ${n} entries exist`);
  } else {
    if (!verify(null, headMessage(head), key, Buffer.from(head.signature, 'base64')))
      note(`the head checkpoint's signature does not verify with key ${w.deployment.keyId}`);
    if (head.count !== n) note(`the signed head counts ${head.count} entries, found ${n}${head.count > n ? ' (truncated)' : ''}`);
    else if (head.hash !== prev) note(`the signed head's hash does not match the last entry's`);
  }
  if (expect) {
    if (expect.keyId !== undefined && expect.keyId !== w.deployment.keyId)
      note(
        `the anchor was signed with key ${expect.keyId}, the deployment now uses key ${w.deployment.keyId} (key replaced: the log may have been re-signed)`,
      );
    if (expect.count > n) note(`the anchor counts ${expect.count} entries, found ${n} (wiped, rolled back or truncated)`);
    else if (expect.count > 0 && seen.get(expect.count) !== expect.hash)
      note(`entry ${expect.count} does not match the anchor's hash (history rewritten before the anchor)`);
  }
  const notes = await checkDescribedTables(w.store.db, described, note);
  return {
    ok: problems.length === 0,
    entries: n,
    head: head ? { count: head.count, hash: head.hash } : null,
    keyId: w.deployment.keyId,
    problems,
    notes,
  };
}
