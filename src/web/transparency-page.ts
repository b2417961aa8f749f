// The public transparency report as a page anyone may open (no token, no script): how many erasure
// requests, by justification category and by outcome — counts only — and who decides and who is
// accountable at each step, with the questions this process does not settle.
import { escapeHtml } from '../eval/report/format.js';
import type { TransparencyReport } from '../workflow/index.js';

const IN_PROGRESS = ['received', 'scoped', 'approved', 'unlearning', 'verifying'];

export function transparencyHtml(r: TransparencyReport, categories: Record<string, string>, states: readonly string[]): string {
  const head = `<tr><th>category</th>${states.map((s) => `<th>${escapeHtml(s)}</th>`).join('')}<th>total</th></tr>`;
  const rows = Object.entries(r.byCategory)
    .map(([c, byState]) => {
      const counts = states.map((s) => (byState as Record<string, number>)[s] ?? 0);
      const label = categories[c] ?? c;
      return `<tr data-category="${escapeHtml(c)}"><td>${escapeHtml(label)}</td>${counts.map((n) => `<td class="num">${n}</td>`).join('')}<td class="num">${counts.reduce((a, b) => a + b, 0)}</td></tr>`;
    })
    .join('\n');
  const byState = r.byState as Record<string, number>;
  const totals = `<tr data-category="all"><th>all</th>${states.map((s) => `<th class="num">${byState[s] ?? 0}</th>`).join('')}<th class="num">${r.total}</th></tr>`;
  const open = IN_PROGRESS.reduce((a, s) => a + (byState[s] ?? 0), 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lethe — transparency report</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/style.css">
</head><body><div class="report">
<h1>Transparency report: erasure requests</h1>
<p id="summary">${r.total} request${r.total === 1 ? '' : 's'} received: <span id="released">${byState.released ?? 0}</span> released,
${byState.rejected ?? 0} rejected, ${byState.failed ?? 0} failed verification, ${open} in progress. Generated ${escapeHtml(r.generatedAt)}.</p>
<p>Counts only: this page never shows who a request was about, what was forgotten, or who asked.
The same numbers as JSON: <a href="/v1/reports/transparency/public">/v1/reports/transparency/public</a>.</p>
<table id="counts">${head}
${rows}
${totals}</table>

<h2>Who decides, and who is accountable</h2>
<dl>
<dt>The requester</dt><dd>files a request for a person (the subject, or someone acting for them), names its
justification category and where the evidence lies. The subject's name is hashed with a deployment secret
on arrival and never stored; the requester answers for the evidence being real.</dd>
<dt>The approver</dt><dd>decides whether the request is justified and its scope (which model, which data, which
method) is right. It must be another person than whoever filed or scoped it (four-eyes), and every approval or
refusal carries its written reason.</dd>
<dt>The operator</dt><dd>runs the unlearning. A release policy fixed in advance — thresholds on measured forgetting
and on the model's remaining usefulness — decides whether the unlearned model is released or the request fails;
the release certificate records every metric beside its threshold.</dd>
<dt>The audit</dt><dd>every step (who, when, why) is written to an append-only log, hash-chained and signed with the
deployment's key, which an auditor can verify end to end and compare with an earlier signed head.</dd>
</dl>

<h2>What this does not settle</h2>
<ul>
<li>Unlearning is approximate: the metrics bound what was measured (answers, likelihoods, membership signals), not
everything a model might still reveal under other prompts.</li>
<li>Whether a request is justified is a human judgment; the category and evidence reference make it reviewable, not
automatic. Refusals are counted here; their reasons stay in the audit log.</li>
<li>The people who approve and operate belong to the deployment that trained the model; the signed audit log lets an
outside auditor check them, but someone must ask to.</li>
<li>Small counts in a category can themselves be telling when few people could have asked.</li>
</ul>
<p><a href="/dashboard/">Dashboard (needs a token)</a></p>
</div></body></html>
`;
}
