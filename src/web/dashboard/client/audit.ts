// The audit log's check, for auditors and admins: the server verifies the whole hash chain, every
// signature and the signed head (GET /v1/audit/verify); the page says what it found.
import type { AuditVerification } from '../../../workflow/index.js';
import { api } from './api.js';
import { $, sayError } from './dom.js';

async function verify(): Promise<void> {
  const out = $('#audit-result');
  out.textContent = 'Verifying…';
  const v = await api<AuditVerification>('GET', '/v1/audit/verify');
  out.className = v.ok ? 'pass' : 'fail';
  out.textContent = v.ok
    ? `The audit log is intact: ${v.entries} entries, every link and signature checked; signed head at entry ${v.head?.count ?? 0} (${v.head?.hash.slice(0, 16) ?? '—'}…), key ${v.keyId}.`
    : `The audit log has problems (${v.entries} entries): ${v.problems.join('; ')}`;
}

export function wireAudit(): void {
  $('#verify-audit').addEventListener(
    'click',
    () =>
      void verify().catch((err: unknown) => {
        $('#audit-result').textContent = '';
        sayError(err);
      }),
  );
}
