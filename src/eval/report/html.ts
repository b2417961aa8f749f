// report.html and compare.html: self-contained pages (inline CSS, plots inlined as SVG, no script, a
// Content-Security-Policy that forbids every fetch), so they open offline and can be mailed as one file.
import { entryOf, refRoles, roleRef, type EvalRun } from './load.js';
import { bestIndex, direction, escapeHtml as h, fmt, groupedMetrics, nullReason } from './format.js';
import { refSources } from './markdown.js';
import {
  metricBarsSpec,
  PER_LAYER,
  perLayerSpec,
  renderSvg,
  rocSpec,
  scatterSpec,
  trainingSpecs,
  truthRatioSpec,
  type Figure,
  type PlannedFigure,
} from './charts.js';
import { compareJson, type CompareTable } from './compare.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;vertical-align:top}
th{background:#f4f4f4;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.best{font-weight:700;background:#eef7ee}td.ref{color:#555;background:#fafafa}td.desc{color:#555;font-size:12px}
figure{margin:1em 0;display:inline-block;vertical-align:top}figcaption{font-size:12px;color:#555;max-width:600px;margin-bottom:.3em}
figure svg{max-width:100%;height:auto}.absent{color:#777;font-style:italic}code{font-size:12px}nav a{margin-right:1em}
td.na[title]{cursor:help;text-decoration:underline dotted #999}
ul.runs{padding-left:1.2em}`;

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lethe">
<title>${h(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

async function render(p: PlannedFigure): Promise<Figure> {
  return { ...p, svg: await renderSvg(p.spec) };
}

function figureHtml(f: Figure): string {
  return `<figure class="plot" id="${h(f.id)}" data-title="${h(f.title)}">\n<figcaption><strong>${h(f.title)}</strong>${f.caption ? ` — ${h(f.caption)}` : ''}</figcaption>\n${f.svg}\n</figure>`;
}

function absent(text: string): string {
  return `<p class="absent">${h(text)}</p>`;
}

/** A value cell: "—" for null, with the reason as its tooltip when one is recorded. */
function valueCell(v: number | null, classes: string[], why: string | null, attrs = ''): string {
  const cls = [...classes, ...(v === null ? ['na'] : [])].join(' ');
  return `<td class="${cls}"${attrs}${v === null && why ? ` title="${h(why)}"` : ''}>${h(fmt(v))}</td>`;
}

/** A comparison row's first cell: the run, or the reference model it is (with the run's name when it is one). */
function rowLabel(r: CompareTable['rows'][number]): string {
  return r.kind === 'run' ? h(r.run) : `<em>${h(r.kind)}</em>${r.run === r.kind ? '' : ` (${h(r.run)})`}`;
}

function runItem(r: EvalRun, role: string | null = null): string {
  const m = r.meta;
  const sets = Object.entries(m.sets ?? {})
    .map(([k, v]) => `${k} ${v.items}`)
    .join(', ');
  const parts = [
    `<strong>${h(r.name)}</strong>${role ? ` (the ${h(role)} model itself: shown for reference, never marked best)` : ''}: model <code>${h(m.model ?? '?')}</code>, suite ${h(m.suite ?? '?')}${sets ? ` (${h(sets)} items)` : ''}`,
  ];
  if (m.created) parts.push(`evaluated ${h(m.created)}${typeof m.seconds === 'number' ? ` in ${h(m.seconds.toFixed(1))} s` : ''}`);
  if (m.variants?.length) parts.push(`robustness variants: ${h(m.variants.join(', '))}`);
  for (const q of r.unlearning ?? []) {
    const t = q.training ?? {};
    parts.push(
      `unlearning: <strong>${h(q.method)}</strong>${t.steps !== undefined ? `, ${h(t.steps)} steps` : ''}${t.lr !== undefined ? `, lr ${h(t.lr)}` : ''}` +
        `${q.args && Object.keys(q.args).length ? `, args <code>${h(JSON.stringify(q.args))}</code>` : ''}` +
        `${typeof q.parametersChanged === 'number' ? `, ${h(q.parametersChanged)} of ${h(q.parametersTotal)} parameters changed` : ''}`,
    );
  }
  return `<li>${parts.join('; ')}</li>`;
}

/** report.html for one or more evaluation folders. */
export async function reportHtml(runs: EvalRun[]): Promise<string> {
  const title = runs.length === 1 ? `Evaluation report: ${runs[0]!.name}` : `Evaluation report: ${runs.length} runs`;
  const out: string[] = [`<h1>${h(title)}</h1>`];
  out.push(
    `<nav><a href="#metrics">Metrics</a><a href="#tradeoff">Forgetting vs utility</a><a href="#mia">Membership inference</a><a href="#layers">Per layer</a><a href="#truth-ratio">Truth ratios</a><a href="#training">Training</a></nav>`,
  );
  const roles = refRoles(runs);
  out.push(
    `<ul class="runs">${runs.map((r, i) => runItem(r, roles[i])).join('\n')}<li>${h(refSources(runs, 'target'))}</li><li>${h(refSources(runs, 'retain'))}</li></ul>`,
  );

  // Metrics, by group: a table and the bars of each metric beside the target and the retain model.
  out.push(
    '<h2 id="metrics">Metrics</h2>',
    '<p>"better" gives the direction for an unlearned model: higher, lower, or near the retain model\'s value. Highlighted: the best of several unlearned runs (the retain and target models never are). —: no value (the reason shows on hover and under "Not computed").</p>',
  );
  const missing: string[] = [];
  for (const g of groupedMetrics(runs)) {
    out.push(`<h3 id="group-${h(g.key)}">${h(g.title)}</h3>`);
    const head = `<tr><th>metric</th>${runs.map((r, i) => `<th>${h(r.name)}${roles[i] ? ` <small>(${h(roles[i])} model)</small>` : ''}</th>`).join('')}<th>target</th><th>retain</th><th>better</th><th>description</th></tr>`;
    const body = g.metrics
      .map((m) => {
        const vals = runs.map((r) => {
          const v = entryOf(r, m.name)?.agg_value;
          return typeof v === 'number' && Number.isFinite(v) ? v : null;
        });
        const retain = roleRef(runs, roles, 'retain', m.name);
        // Only unlearned candidates compete: the retain / target model's own run is left out.
        const best = bestIndex(
          vals.map((v, i) => (roles[i] ? null : v)),
          m.higherIsBetter,
          retain,
        );
        const whys = runs.map((r) => nullReason(entryOf(r, m.name)));
        runs.forEach((r, i) => {
          if (whys[i]) missing.push(`<li><code>${h(m.name)}</code>${runs.length > 1 ? ` (${h(r.name)})` : ''}: ${h(whys[i])}</li>`);
        });
        return (
          `<tr data-metric="${h(m.name)}"><td><code>${h(m.name)}</code></td>${vals.map((v, i) => valueCell(v, ['num', ...(i === best ? ['best'] : [])], whys[i]!)).join('')}` +
          `<td class="num ref">${h(fmt(roleRef(runs, roles, 'target', m.name)))}</td><td class="num ref">${h(fmt(retain))}</td><td>${h(direction(m.higherIsBetter))}</td><td class="desc">${h(m.description)}</td></tr>`
        );
      })
      .join('\n');
    out.push(`<table class="metrics" data-group="${h(g.key)}">${head}\n${body}</table>`);
    const spec = metricBarsSpec(runs, g.metrics);
    if (spec)
      out.push(
        figureHtml(
          await render({
            id: `bars-${g.key}`,
            title: `${g.title}: each metric`,
            caption: 'every run beside the target and the retain model, one scale per metric',
            spec,
          }),
        ),
      );
  }
  if (missing.length) out.push('<h3>Not computed</h3>', `<ul>${missing.join('\n')}</ul>`);

  out.push('<h2 id="tradeoff">Forgetting vs utility</h2>');
  const sc = scatterSpec(runs);
  if (sc)
    out.push(
      figureHtml(
        await render({
          id: 'scatter',
          title: `${sc.x} vs ${sc.y}`,
          caption: 'one point per run, with the target and retain models where both values are known',
          spec: sc.spec,
        }),
      ),
    );
  else out.push(absent('no run has both a forgetting and a utility metric'));

  out.push('<h2 id="mia">Membership inference</h2>');
  let any = false;
  for (const [i, r] of runs.entries()) {
    const spec = rocSpec(r);
    if (!spec) continue;
    any = true;
    out.push(
      figureHtml(
        await render({
          id: `roc-${i}`,
          title: `ROC curves: ${r.name}`,
          caption:
            'positive class = holdout (never trained on); the diagonal is chance; AUC 0.5 = forget set indistinguishable from unseen data',
          spec,
        }),
      ),
    );
  }
  if (!any) out.push(absent('no membership-inference metric with ROC points in these evaluations'));

  out.push('<h2 id="layers">Per layer: knowledge below the output</h2>');
  any = false;
  for (const c of PER_LAYER) {
    const p = perLayerSpec(runs, c);
    if (!p) continue;
    any = true;
    out.push(
      figureHtml(
        await render({
          id: `layers-${c.metric}`,
          title: `${c.metric} per layer`,
          caption: c.caption,
          spec: p,
        }),
      ),
    );
  }
  if (!any) out.push(absent('no logit lens or linear probe in these evaluations'));

  out.push('<h2 id="truth-ratio">Truth ratios</h2>');
  any = false;
  for (const [i, r] of runs.entries()) {
    const t = truthRatioSpec(r);
    if (!t) continue;
    any = true;
    out.push(
      figureHtml(
        await render({
          id: `truth-ratio-${i}`,
          title: `Forget-set truth ratios: ${r.name}${t.retain ? ' vs the retain model' : ''}`,
          caption: t.retain
            ? 'forget_quality is the KS test between these two distributions'
            : "the retain model's truth ratios are not available (give its EVAL.json with --retain)",
          spec: t.spec,
        }),
      ),
    );
  }
  if (!any) out.push(absent('no forget_truth_ratio with per-item values in these evaluations'));

  out.push('<h2 id="training">Training</h2>');
  any = false;
  for (const [i, r] of runs.entries()) {
    for (const [j, t] of trainingSpecs(r).entries()) {
      any = true;
      out.push(
        figureHtml(
          await render({
            id: `training-${i}-${j}`,
            title: `${t.title}: ${r.name}`,
            caption: `from ${r.modelDir ?? r.dir ?? ''}/train_log.jsonl`,
            spec: t.spec,
          }),
        ),
      );
    }
  }
  if (!any) out.push(absent('no train_log.jsonl beside the evaluated model'));
  return page(title, out.join('\n'));
}

/** compare.html: the results table (rows = runs, columns = metrics) and the forget-vs-utility scatter. */
export async function compareHtml(t: CompareTable, runs: EvalRun[]): Promise<string> {
  const title = `Comparison of ${runs.length} runs`;
  const withMethod = t.rows.some((r) => r.method);
  const head = `<tr><th>run</th>${withMethod ? '<th>method</th>' : ''}${t.metrics.map((m) => `<th title="${h(m.description)}">${h(m.name)}<br><small>${h(direction(m.higherIsBetter))}</small></th>`).join('')}</tr>`;
  const body = t.rows
    .map(
      (r, i) =>
        `<tr data-run="${h(r.run)}" data-kind="${h(r.kind)}"><td>${rowLabel(r)}</td>${withMethod ? `<td>${h(r.method ?? '')}</td>` : ''}` +
        t.metrics
          .map((m) =>
            valueCell(
              r.values[m.name] ?? null,
              ['num', ...(t.best[m.name] === i ? ['best'] : []), ...(r.kind !== 'run' ? ['ref'] : [])],
              r.reasons[m.name] ?? null,
              ` data-metric="${h(m.name)}"`,
            ),
          )
          .join('') +
        '</tr>',
    )
    .join('\n');
  const out = [`<h1>${h(title)}</h1>`, `<table class="compare">${head}\n${body}</table>`];
  const notes = t.rows.flatMap((r) =>
    t.metrics.flatMap((m) => (r.reasons[m.name] ? [`<li>${rowLabel(r)}, <code>${h(m.name)}</code>: ${h(r.reasons[m.name])}</li>`] : [])),
  );
  if (notes.length) out.push('<h3>Not computed (—)</h3>', `<ul class="not-computed">${notes.join('\n')}</ul>`);
  const sc = scatterSpec(runs);
  if (sc)
    out.push(
      figureHtml(
        await render({
          id: 'scatter',
          title: `${sc.x} vs ${sc.y}`,
          caption: 'one point per run, with the target and retain models where both values are known',
          spec: sc.spec,
        }),
      ),
    );
  out.push(`<details><summary>JSON</summary><pre>${h(JSON.stringify(compareJson(t), null, 1))}</pre></details>`);
  return page(title, out.join('\n'));
}
