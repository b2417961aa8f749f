// What someone who can write the store (and, with the key in DATA/keys, sign) does to the audit log
// so that it still looks whole: entries rewritten with fresh seq, prev_hash, hash and signature, the
// head re-signed, the rows an entry commits to recomputed. The tests use it to show which tampering
// verifyAudit() finds by itself, and which only an anchor or a key kept elsewhere catches.
import { sign, type KeyObject } from 'node:crypto';
import { auditEntries, entryHash, GENESIS_HASH, headMessage, type AuditEntry } from '../../src/workflow/audit.js';
import { requestRowsDigest } from '../../src/workflow/audit-rows.js';
import { canonicalJson } from '../../src/util/hash.js';
import type { Workflow } from '../../src/workflow/index.js';

export type Draft = Pick<AuditEntry, 'at' | 'actor' | 'action' | 'requestId' | 'details'> & Partial<Pick<AuditEntry, 'seq' | 'prevHash'>>;

export async function readChain(w: Workflow): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  for await (const e of auditEntries(w.store.db)) all.push(e);
  return all;
}

/** Replaces the log by `mutate(entries)`, each renumbered, relinked, rehashed and signed with `key`
 *  (unless `relink: false` keeps each draft's own seq and prev_hash), and a head signed with `key`
 *  (unless `head: false` leaves the old head row as it was). */
export async function rewriteChain(
  w: Workflow,
  key: KeyObject,
  mutate: (entries: AuditEntry[]) => Draft[] | Promise<Draft[]>,
  o: { relink?: boolean; head?: boolean } = {},
): Promise<void> {
  const drafts = await mutate(await readChain(w));
  await w.store.db.deleteFrom('audit').execute();
  let prev = GENESIS_HASH;
  let seq = 0;
  let last: { hash: string; at: string } | null = null;
  for (const d of drafts) {
    seq++;
    const base = {
      seq: o.relink === false ? d.seq! : seq,
      at: d.at,
      actor: d.actor,
      action: d.action,
      requestId: d.requestId,
      details: d.details,
      prevHash: o.relink === false ? d.prevHash! : prev,
    };
    const hash = entryHash(base);
    await w.store.db
      .insertInto('audit')
      .values({
        seq: base.seq,
        at: base.at,
        actor: base.actor,
        action: base.action,
        request_id: base.requestId,
        details: canonicalJson(base.details),
        prev_hash: base.prevHash,
        hash,
        signature: sign(null, Buffer.from(hash, 'hex'), key).toString('base64'),
      })
      .execute();
    prev = hash;
    last = { hash, at: base.at };
  }
  if (o.head === false) return;
  await w.store.db.deleteFrom('audit_head').execute();
  if (last) {
    const head = { count: drafts.length, hash: last.hash, at: last.at };
    await w.store.db
      .insertInto('audit_head')
      .values({ id: 1, ...head, signature: sign(null, headMessage(head), key).toString('base64') })
      .execute();
  }
}

/** The entries with the last one that commits to request `id`'s rows recomputed from the tables now. */
export async function recommitRows(w: Workflow, entries: AuditEntry[], id: string): Promise<Draft[]> {
  let lastIdx = -1;
  entries.forEach((e, i) => {
    if (e.requestId === id && e.details.rows) lastIdx = i;
  });
  const rows = await requestRowsDigest(w.store.db, id);
  return entries.map((e, i) => (i === lastIdx ? { ...e, details: { ...e.details, rows } } : e));
}
