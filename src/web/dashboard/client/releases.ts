// Releases: the model registry's versions and a release certificate — each policy check's value
// beside its threshold, and the certificate page itself, fetched with the token and shown in a
// sandboxed frame (a frame cannot send the Authorization header on its own).
import type { ModelVersion, ReleaseCertificate } from '../../../workflow/index.js';
import { api, apiText } from './api.js';
import { $, fill, h, row, sayError, when } from './dom.js';

const fmt = (x: number | null | undefined) =>
  typeof x === 'number' ? (Math.abs(x) >= 1e-3 || x === 0 ? String(Number(x.toPrecision(4))) : x.toExponential(2)) : '—';

let listing = 0;

export async function loadReleases(): Promise<void> {
  const mine = ++listing;
  const { releases } = await api<{ releases: ModelVersion[] }>('GET', '/v1/releases');
  if (mine !== listing) return; // a newer load is on its way
  fill(
    $('#release-list tbody'),
    releases.map((v) => {
      const open = h('button', { type: 'button', class: 'open-certificate' }, 'Certificate');
      open.addEventListener('click', () => void openCertificate(v).catch(sayError));
      return row([v.name, v.version, v.requestId ?? '—', v.releasedBy, when(v.releasedAt), open], {
        'data-release': `${v.name}@${v.version}`,
        'data-request': v.requestId ?? '',
      });
    }),
  );
}

let blobUrl: string | null = null;

export async function openCertificate(v: { name: string; version: number }): Promise<void> {
  const base = `/v1/releases/${encodeURIComponent(v.name)}/${v.version}/certificate`;
  const [cert, html] = await Promise.all([api<ReleaseCertificate>('GET', base), apiText(`${base}.html`)]);
  $('#certificate').hidden = false;
  $('#certificate-title').textContent = `${cert.model.name} version ${cert.model.version} (request ${cert.request.id})`;
  const verdict = $('#certificate-verdict');
  verdict.textContent = cert.policy.passed ? 'policy passed' : 'policy failed';
  verdict.className = cert.policy.passed ? 'pass' : 'fail';
  fill(
    $('#certificate-checks tbody'),
    cert.policy.checks.map((c) =>
      row(
        [
          c.metric,
          fmt(c.value),
          fmt(cert.metrics[c.metric]?.original),
          c.threshold.rule,
          h('span', { class: c.passed ? 'pass' : 'fail' }, c.passed ? 'pass' : `fail${c.reason ? `: ${c.reason}` : ''}`),
        ],
        { 'data-metric': c.metric },
      ),
    ),
  );
  $<HTMLIFrameElement>('#certificate-frame').srcdoc = html;
  if (blobUrl) URL.revokeObjectURL(blobUrl);
  blobUrl = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
  $<HTMLAnchorElement>('#certificate-open').href = blobUrl;
  $('#certificate').scrollIntoView({ block: 'start' });
}
