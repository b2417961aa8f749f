// The audit log as JSON Lines for keeping elsewhere: a header (the key id, the public key, the signed
// head) then every entry. The head's count and hash, kept outside, later anchor verifyAudit().
import { auditEntries, readAuditHead } from './audit.js';
import type { Workflow } from './context.js';
import { authorize, SYSTEM_ACTOR, type Actor } from './roles.js';

export async function* exportAudit(w: Workflow, by: Actor = SYSTEM_ACTOR): AsyncGenerator<string> {
  authorize(by, 'audit.read');
  const head = await readAuditHead(w.store.db);
  yield JSON.stringify({
    kind: 'lethe-audit-export',
    keyId: w.deployment.keyId,
    publicKey: w.deployment.publicKey.export({ type: 'spki', format: 'pem' }),
    head,
    exportedAt: w.now().toISOString(),
  });
  for await (const e of auditEntries(w.store.db)) {
    if (head && e.seq > head.count) break; // entries appended after the head was read belong to the next export
    yield JSON.stringify(e);
  }
}
