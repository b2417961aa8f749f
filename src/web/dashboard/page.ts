// The dashboard's HTML shell and style sheet, served by src/server/routes/dashboard.ts. Static
// markup only: every value from the API is put in by the client script (./client/) as text nodes,
// never as HTML. The categories and states come from the workflow, so the page and the API agree.
import { escapeHtml } from '../../eval/report/format.js';

export interface PageOptions {
  /** Justification categories and their descriptions (workflow/inputs.ts CATEGORIES). */
  categories: Record<string, string>;
  /** Request states, in order (workflow/states.ts STATES). */
  states: readonly string[];
}

const options = (values: [string, string][]) =>
  values.map(([v, label]) => `<option value="${escapeHtml(v)}">${escapeHtml(label)}</option>`).join('');

export function dashboardHtml(o: PageOptions): string {
  const categories = options(Object.entries(o.categories));
  const states = options(o.states.map((s) => [s, s]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lethe — erasure requests</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/style.css">
<script type="module" src="/dashboard/js/main.js"></script>
</head><body>
<header>
  <h1>Lethe — erasure requests</h1>
  <form id="token-form" autocomplete="off">
    <label>Bearer token <input id="token" type="password" autocomplete="off" required spellcheck="false"></label>
    <button type="submit">Use token</button>
    <button type="button" id="sign-out" hidden>Forget token</button>
  </form>
  <p id="whoami" aria-live="polite">Not signed in: paste a token (it is kept in this tab only, until the tab closes).</p>
  <nav><a href="/transparency" id="transparency-link">Public transparency report</a> · <a href="/openapi.json">API (OpenAPI)</a></nav>
</header>
<noscript><p class="error">The dashboard needs JavaScript; the <a href="/transparency">transparency report</a> does not.</p></noscript>
<div id="message" role="alert" hidden></div>
<main id="app" hidden>
<section id="create" data-roles="requester admin">
  <h2>New erasure request</h2>
  <form id="create-form" autocomplete="off">
    <label>Category <select name="category" required>${categories}</select></label>
    <label>Subject <input name="subject" required maxlength="512" autocomplete="off" spellcheck="false">
      <small>who the request is about; the server hashes it at once and never stores or shows it again</small></label>
    <label>Evidence reference <input name="reference" required maxlength="500" placeholder="ticket DPO-2025-0042"></label>
    <label>Evidence sha256 <input name="evidenceSha256" pattern="[0-9a-f]{64}" placeholder="optional"></label>
    <label>Reason <input name="reason" maxlength="2000" placeholder="optional"></label>
    <button type="submit">File request</button>
  </form>
</section>
<section id="requests">
  <h2>Requests</h2>
  <label>State <select id="state-filter"><option value="">all</option>${states}</select></label>
  <button type="button" id="refresh">Refresh</button>
  <table id="request-list"><thead><tr><th>id</th><th>state</th><th>category</th><th>requested by</th><th>created</th><th>updated</th></tr></thead><tbody></tbody></table>
  <p id="request-count"></p>
</section>
<section id="detail" hidden>
  <h2>Request <code id="detail-id"></code> <span id="detail-state" class="state"></span></h2>
  <dl id="detail-facts"></dl>
  <h3>Timeline</h3>
  <table id="timeline"><thead><tr><th>when</th><th>from</th><th>to</th><th>who</th><th>why</th></tr></thead><tbody></tbody></table>
  <form id="scope-form" class="action" data-roles="requester admin" data-states="received" autocomplete="off">
    <h3>Scope</h3>
    <label>Model <input name="model" required placeholder="registry name or folder"></label>
    <label>Method <input name="method" required placeholder="NPO, GradAscent, …"></label>
    <label>Forget file <input name="forgetFile" type="file" accept=".jsonl,.json,.txt">
      <small>read in this browser only, to compute its sha256 and row count; it is not uploaded</small></label>
    <label>Forget sha256 <input name="sha256" required pattern="[0-9a-f]{64}"></label>
    <label>Forget rows <input name="rows" type="number" min="1" required></label>
    <label>Reason <input name="reason" placeholder="optional"></label>
    <button type="submit">Scope</button>
  </form>
  <form id="decide-form" class="action" data-roles="approver admin" data-states="received scoped approved" autocomplete="off">
    <h3>Decision</h3>
    <p><small>Four-eyes: the approver must be another person than whoever requested and scoped it.</small></p>
    <label>Reason <input name="reason" required maxlength="2000"></label>
    <button type="submit" name="decision" value="approve" data-states="scoped">Approve</button>
    <button type="submit" name="decision" value="reject">Reject</button>
  </form>
  <form id="run-form" class="action" data-roles="admin" data-states="approved" autocomplete="off">
    <h3>Run (unlearn, verify, release)</h3>
    <p><small>Paths are on the server. The forget file must have the scoped sha256.</small></p>
    <label>Model folder <input name="model" required></label>
    <label>Forget file <input name="forgetFile" required></label>
    <label>Retain file <input name="retainFile" placeholder="optional"></label>
    <label>Holdout file <input name="holdoutFile" placeholder="optional"></label>
    <label>Method <input name="method" required></label>
    <label>Steps <input name="steps" type="number" min="1" placeholder="method default"></label>
    <label>Learning rate <input name="lr" type="number" step="any" min="0" placeholder="method default"></label>
    <label>Release policy <textarea name="policy" required rows="5" placeholder='{"checks": [{"metric": "forget_Q_A_Prob", "max_ratio_to_original": 0.5}]} or the name of a policy in the server’s policies folder'></textarea></label>
    <button type="submit">Run</button>
  </form>
  <div id="job" hidden>
    <h3>Job <code id="job-id"></code> <span id="job-state" class="state"></span></h3>
    <progress id="job-progress" max="1" value="0"></progress>
    <p id="job-detail"></p>
    <button type="button" id="job-cancel" data-roles="admin" hidden>Cancel job</button>
  </div>
</section>
<section id="releases">
  <h2>Releases</h2>
  <button type="button" id="refresh-releases">Refresh</button>
  <table id="release-list"><thead><tr><th>model</th><th>version</th><th>request</th><th>released by</th><th>at</th><th></th></tr></thead><tbody></tbody></table>
  <div id="certificate" hidden>
    <h3>Certificate: <span id="certificate-title"></span> — <span id="certificate-verdict"></span></h3>
    <table id="certificate-checks"><thead><tr><th>metric</th><th>value</th><th>original</th><th>threshold</th><th>result</th></tr></thead><tbody></tbody></table>
    <p><a id="certificate-open" href="#" target="_blank" rel="noopener">Open the certificate page</a></p>
    <iframe id="certificate-frame" sandbox="" title="release certificate"></iframe>
  </div>
</section>
<section id="audit" data-roles="auditor admin">
  <h2>Audit log</h2>
  <p><small>Every step above is an entry of an append-only log, hash-chained and signed with the deployment's key.</small></p>
  <button type="button" id="verify-audit">Verify the audit log</button>
  <p id="audit-result" aria-live="polite"></p>
</section>
</main>
</body></html>
`;
}

export const dashboardCss = `
[hidden]{display:none !important}
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{background:#20314a;color:#fff;padding:.8em 1.5em}header a{color:#cfe0ff}header h1{margin:0 0 .4em;font-size:1.3em}
header form{display:inline-flex;gap:.5em;align-items:center}#whoami{margin:.4em 0}
main{padding:0 1.5em 2em;display:grid;gap:1em}section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5em 1.2em 1em}
form label{display:block;margin:.35em 0}form label input,form label select,form label textarea{display:block;width:min(40em,100%);box-sizing:border-box}
header form label input{display:inline-block;width:24em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
tbody tr[data-id]{cursor:pointer}tbody tr[data-id]:hover,tbody tr.selected{background:#eef4ff}
.state{display:inline-block;padding:0 .5em;border-radius:1em;background:#e8e8e8;font-size:.85em}
.state.released,.state.succeeded{background:#d5f2d5}.state.rejected,.state.failed,.state.cancelled{background:#f8d7d7}
.state.unlearning,.state.verifying,.state.running,.state.queued{background:#fff1c9}
#message{margin:1em 1.5em;padding:.6em 1em;border-radius:6px;white-space:pre-wrap}
#message.error,.error{background:#fde2e2;border:1px solid #d88;color:#7a0000}#message.info{background:#e3f1e3;border:1px solid #8b8}
.action{border-top:1px dashed #ccc;margin-top:1em}.pass{color:#060}.fail{color:#a00}
progress{width:min(40em,100%)}iframe{width:100%;height:32em;border:1px solid #ccc}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
.report{max-width:60em;margin:0 auto;padding:1em 1.5em}.report td.num{text-align:right}
`;
