// REPORT.md (each metric's aggregate beside the target's and the retain model's, by group) and the
// Markdown form of the comparison table.
import { entryOf, refRoles, roleRef, type EvalRun, type RefKind } from './load.js';
import { bestIndex, direction, escapeMd, fmt, groupedMetrics, nullReason } from './format.js';
import type { CompareTable } from './compare.js';

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

/** Where the target / retain values come from, in words. */
export function refSources(runs: EvalRun[], who: RefKind): string {
  const given = runs.map((r) => r.refs[who]?.source).filter(Boolean);
  if (given.length) return `${who} results: ${[...new Set(given)].join(', ')}`;
  const model = runs.map((r) => r.meta[`${who}_model`]).find((m) => typeof m === 'string');
  return model ? `${who} model ${model} (values recorded by the evaluation where a metric needed them)` : `no ${who} model`;
}

export function runLines(r: EvalRun, role: RefKind | null = null): string[] {
  const m = r.meta;
  const sets = Object.entries(m.sets ?? {})
    .map(([k, v]) => `${k} ${v.items}`)
    .join(', ');
  const out = [
    `- **${escapeMd(r.name)}**: model \`${escapeMd(m.model ?? '?')}\`, suite ${escapeMd(m.suite ?? '?')}${sets ? ` (${escapeMd(sets)} items)` : ''}` +
      `${m.created ? `, evaluated ${escapeMd(m.created)}` : ''}${typeof m.seconds === 'number' ? ` in ${m.seconds.toFixed(1)} s` : ''}`,
  ];
  if (role) out.push(`  - the ${role} model itself: shown for reference, never marked best`);
  if (m.variants?.length) out.push(`  - robustness variants: ${escapeMd(m.variants.join(', '))}`);
  for (const q of r.unlearning ?? []) {
    const t = q.training ?? {};
    out.push(
      `  - unlearning: ${escapeMd(q.method)}${t.steps !== undefined ? `, ${escapeMd(t.steps)} steps` : ''}${t.lr !== undefined ? `, lr ${escapeMd(t.lr)}` : ''}` +
        `${q.args && Object.keys(q.args).length ? `, args \`${escapeMd(JSON.stringify(q.args))}\`` : ''}` +
        `${typeof q.parametersChanged === 'number' ? `, ${q.parametersChanged} of ${q.parametersTotal} parameters changed` : ''}`,
    );
  }
  if (r.trainLog) out.push(`  - training log: ${r.trainLog.length} rows`);
  return out;
}

/** REPORT.md for one or more evaluation folders. */
export function reportMarkdown(runs: EvalRun[]): string {
  const lines: string[] = [];
  lines.push(runs.length === 1 ? `# Evaluation report: ${escapeMd(runs[0]!.name)}` : `# Evaluation report: ${runs.length} runs`, '');
  const roles = refRoles(runs);
  lines.push(...runs.flatMap((r, i) => runLines(r, roles[i])));
  lines.push(`- ${escapeMd(refSources(runs, 'target'))}`, `- ${escapeMd(refSources(runs, 'retain'))}`, '');
  lines.push(
    '"better" gives the direction for an unlearned model: higher, lower, or near the retain model\'s value. **Bold**: the best of several unlearned runs (the retain and target models never are). —: no value (why: under "Not computed").',
    '',
  );
  const missing: string[] = [];
  for (const g of groupedMetrics(runs)) {
    lines.push(`## ${g.title}`, '');
    lines.push(
      row([
        'metric',
        ...runs.map((r, i) => escapeMd(r.name) + (roles[i] ? ` (${roles[i]} model)` : '')),
        'target',
        'retain',
        'better',
        'description',
      ]),
    );
    lines.push(row(['---', ...runs.map(() => '---:'), '---:', '---:', '---', '---']));
    for (const m of g.metrics) {
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
      lines.push(
        row([
          `\`${m.name}\``,
          ...vals.map((v, i) => (i === best ? `**${fmt(v)}**` : fmt(v))),
          fmt(roleRef(runs, roles, 'target', m.name)),
          fmt(retain),
          direction(m.higherIsBetter),
          escapeMd(m.description),
        ]),
      );
      for (const r of runs) {
        const why = nullReason(entryOf(r, m.name));
        if (why) missing.push(`- \`${m.name}\`${runs.length > 1 ? ` (${escapeMd(r.name)})` : ''}: ${escapeMd(why)}`);
      }
    }
    lines.push('');
  }
  if (missing.length) lines.push('## Not computed', '', ...missing, '');
  return lines.join('\n');
}

/** The comparison table in Markdown: rows = runs (then target / retain), columns = metrics. */
export function compareMarkdown(t: CompareTable): string {
  const withMethod = t.rows.some((r) => r.method);
  const head = [
    'run',
    ...(withMethod ? ['method'] : []),
    ...t.metrics.map((m) => `${m.name} (${m.higherIsBetter === true ? '↑' : m.higherIsBetter === false ? '↓' : '≈retain'})`),
  ];
  const lines = [row(head.map(escapeMd)), row(head.map((_, i) => (i < (withMethod ? 2 : 1) ? '---' : '---:')))];
  const notes: string[] = [];
  t.rows.forEach((r, i) => {
    const name = r.kind === 'run' ? escapeMd(r.run) : r.run === r.kind ? `*${r.kind}*` : `*${r.kind}* (${escapeMd(r.run)})`;
    lines.push(
      row([
        name,
        ...(withMethod ? [escapeMd(r.method ?? '')] : []),
        ...t.metrics.map((m) => (t.best[m.name] === i ? `**${fmt(r.values[m.name])}**` : fmt(r.values[m.name]))),
      ]),
    );
    for (const m of t.metrics) if (r.reasons[m.name]) notes.push(`- ${name}, \`${m.name}\`: ${escapeMd(r.reasons[m.name])}`);
  });
  if (notes.length) lines.push('', 'Not computed (—):', '', ...notes);
  return lines.join('\n') + '\n';
}
