// The release certificate: what a release records (the model's fingerprint, the unlearning, the data's
// hashes, the policy checks, every metric, the approvals, the models made from it and what the
// release means for each (./lineage-scope.ts), the signed audit head), written as JSON
// (its sha256 goes to the registry) and as a small HTML page, and read back for the API.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LetheError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { sha256 } from '../util/hash.js';
import { safeToRead } from './confine.js';
import type { Workflow } from './context.js';
import type { LineageScope } from './lineage-scope.js';
import { fmt, type CheckResult } from './policy.js';
import { listModelVersions } from './registry.js';
import type { Actor } from './roles.js';

export interface ReleaseCertificate {
  kind: 'lethe-release-certificate';
  version: 1;
  request: { id: string; category: string; state: 'released' };
  model: {
    name: string;
    version: number;
    path: string;
    contentSha256: string;
    files: Record<string, string>;
    originalContentSha256: string;
  };
  unlearning: {
    method: string;
    args: Record<string, unknown>;
    rows: { forget: number; retain: number };
    training: Record<string, unknown>;
    seconds: number;
  };
  data: { forgetSha256: string[]; retainSha256: string | null; forgetRows: number };
  /** `warnings`: the policy metrics the deployment's last meta-evaluation rated below 0.8 faithfulness,
   *  or that no meta-evaluation exists (./meta-evaluation.ts; absent from older certificates). */
  policy: { name: string | null; passed: boolean; checks: CheckResult[]; warnings?: string[] };
  /** Every metric the evaluation computed: the unlearned model's value and the original's. */
  metrics: Record<string, { value: number | null; original: number | null }>;
  approvals: { from: string | null; to: string; actor: string; at: string; reason: string }[];
  /** The registered model and each model made from it: released / needs-own-request / unaffected
   *  (absent from certificates made before lineage was recorded). */
  lineage?: LineageScope;
  /** The signed audit head when the certificate was made (the release entry follows it). */
  auditHead: { count: number; hash: string; at: string; signature: string } | null;
  keyId: string;
  issuedAt: string;
}

const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** A metric value as certificates and failure reasons show it. */
export const formatValue = (x: number | null) => (x === null ? '—' : fmt(x));

/** A small self-contained HTML page (no scripts, no external resources) of a certificate. */
export function certificateHtml(c: ReleaseCertificate): string {
  const row = (cells: unknown[], tag = 'td') => `<tr>${cells.map((x) => `<${tag}>${esc(x)}</${tag}>`).join('')}</tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Release certificate ${esc(c.request.id)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}code{font-size:12px}.pass{color:#060}.fail{color:#a00}</style>
</head><body>
<h1>Release certificate</h1>
<p>Request <code>${esc(c.request.id)}</code> (${esc(c.request.category)}) released <b>${esc(c.model.name)}</b> version ${esc(c.model.version)} on ${esc(c.issuedAt)}.</p>
<h2>Model</h2><table>
${row(['content sha256', c.model.contentSha256])}${row(['original content sha256', c.model.originalContentSha256])}${row(['path', c.model.path])}
</table>
<h2>Unlearning</h2><table>
${row(['method', c.unlearning.method])}${row(['arguments', JSON.stringify(c.unlearning.args)])}${row(['rows', `forget ${c.unlearning.rows.forget}, retain ${c.unlearning.rows.retain}`])}
${row(['forget data sha256', c.data.forgetSha256.join(', ')])}${row(['retain data sha256', c.data.retainSha256 ?? '—'])}
</table>
<h2>Policy${c.policy.name ? `: ${esc(c.policy.name)}` : ''} — <span class="${c.policy.passed ? 'pass' : 'fail'}">${c.policy.passed ? 'passed' : 'failed'}</span></h2><table>
${row(['metric', 'value', 'threshold', 'result'], 'th')}
${c.policy.checks.map((k) => row([k.metric, formatValue(k.value), k.threshold.rule, k.passed ? 'pass' : `fail${k.reason ? `: ${k.reason}` : ''}`])).join('\n')}
</table>
${c.policy.warnings?.length ? `<h3>Warnings</h3><ul>\n${c.policy.warnings.map((w) => `<li class="fail">${esc(w)}</li>`).join('\n')}\n</ul>` : ''}
<h2>Metrics</h2><table>
${row(['metric', 'unlearned', 'original'], 'th')}
${Object.entries(c.metrics)
  .map(([m, v]) => row([m, formatValue(v.value), formatValue(v.original)]))
  .join('\n')}
</table>
<h2>Approvals</h2><table>
${row(['at', 'from', 'to', 'by', 'reason'], 'th')}
${c.approvals.map((t) => row([t.at, t.from ?? '—', t.to, t.actor, t.reason])).join('\n')}
</table>
<h2>Lineage</h2>
${
  c.lineage?.model
    ? `<table>
${row(['model', 'made by', 'from', 'status', 'why'], 'th')}
${c.lineage.models.map((m) => row([m.name, m.how, m.parents.join(', ') || '—', m.status, m.reasons.join('; ')])).join('\n')}
</table>`
    : '<p>The model is not in the lineage registry: no models made from it are known.</p>'
}
<h2>Audit</h2><table>
${row(['signing key id', c.keyId])}${row(['head count', c.auditHead?.count ?? 0])}${row(['head hash', c.auditHead?.hash ?? '—'])}${row(['head signature', c.auditHead?.signature ?? '—'])}
</table>
</body></html>
`;
}

export const CERTIFICATE_FILE = 'certificate.json';
export const CERTIFICATE_HTML_FILE = 'certificate.html';

/** Writes a run's certificate.json and certificate.html (durably: the registry records the JSON's sha256). */
export function writeCertificate(outDir: string, cert: ReleaseCertificate): { json: string; html: string; sha256: string } {
  const text = JSON.stringify(cert, null, 2) + '\n';
  const json = join(outDir, CERTIFICATE_FILE);
  const html = join(outDir, CERTIFICATE_HTML_FILE);
  writeFileAtomic(json, text, { fsync: true });
  writeFileAtomic(html, certificateHtml(cert), { fsync: true });
  return { json, html, sha256: sha256(text) };
}

/** A certificate is a few KiB of JSON. */
const MAX_CERTIFICATE_BYTES = 16 * 1024 * 1024;

/** A release's certificate, read beside its model folder and checked against the sha256 the registry recorded. */
export async function certificateOf(w: Workflow, actor: Actor, name: string, version: number): Promise<ReleaseCertificate> {
  const v = (await listModelVersions(w, actor, name)).find((m) => m.version === version);
  if (!v) throw new LetheError('NOT_FOUND', `release ${name} v${version}: no such release`);
  if (!v.certificateSha256) throw new LetheError('NOT_FOUND', `release ${name} v${version}: has no certificate`);
  let text: string;
  const file = join(dirname(v.path), CERTIFICATE_FILE);
  // Read by the server process: never through a link (to the store, whose locks a closed descriptor drops).
  if (!safeToRead(file, w.dataDir, MAX_CERTIFICATE_BYTES))
    throw new LetheError('NOT_FOUND', `release ${name} v${version}: the certificate file is missing or not a regular file`);
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new LetheError('NOT_FOUND', `release ${name} v${version}: the certificate file is missing`);
  }
  // The registry keeps the certificate's sha256: a file changed since the release is not served.
  if (sha256(text) !== v.certificateSha256)
    throw new LetheError('CONFLICT', `release ${name} v${version}: the certificate file does not match the sha256 recorded at release`);
  return JSON.parse(text) as ReleaseCertificate;
}
