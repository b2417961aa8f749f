// Number formatting, escaping and the grouping of metrics shared by the Markdown and HTML reports.
import type { EvalRun } from './load.js';
import type { EvalEntry } from '../eval-file.js';

/** Report sections, in order; `fluency` (generation quality on forget prompts) is shown after scope. */
export const GROUPS = [
  { key: 'forget', title: 'Forgetting' },
  { key: 'utility', title: 'Utility' },
  { key: 'privacy', title: 'Privacy' },
  { key: 'robustness', title: 'Robustness' },
  { key: 'scope', title: 'Scope' },
  { key: 'fluency', title: 'Fluency' },
  { key: 'other', title: 'Other' },
] as const;
export type GroupKey = (typeof GROUPS)[number]['key'];

export interface MetricInfo {
  name: string;
  group: GroupKey;
  description: string;
  /** true: higher is better; false: lower is better; null: closeness to the retain model matters. */
  higherIsBetter: boolean | null;
}

/** What the runs' _meta says about a metric (the first run that describes it). */
export function metricInfo(runs: EvalRun[], name: string): MetricInfo {
  for (const r of runs) {
    const m = r.meta.metrics?.[name];
    if (m) {
      const group = (GROUPS.some((g) => g.key === m.group) ? m.group : 'other') as GroupKey;
      return { name, group, description: m.description ?? '', higherIsBetter: m.higher_is_better ?? null };
    }
  }
  return { name, group: 'other', description: '', higherIsBetter: null };
}

/** Metric names over all runs, first-seen order, grouped. */
export function groupedMetrics(runs: EvalRun[], names?: string[]): { key: GroupKey; title: string; metrics: MetricInfo[] }[] {
  const all: string[] = names ?? [];
  if (!names) for (const r of runs) for (const k of Object.keys(r.eval)) if (k !== '_meta' && !all.includes(k)) all.push(k);
  const infos = all.map((n) => metricInfo(runs, n));
  return GROUPS.map((g) => ({ key: g.key, title: g.title, metrics: infos.filter((i) => i.group === g.key) })).filter(
    (g) => g.metrics.length,
  );
}

/** Four significant digits, trailing zeros dropped; null / non-finite → '—'. */
export function fmt(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-4 || a >= 1e6)
    return v
      .toExponential(3)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** Why an entry has no value ('—' in a table): its recorded reason; null when it has a value or is absent. */
export function nullReason(e: EvalEntry | null | undefined): string | null {
  if (!e || (typeof e.agg_value === 'number' && Number.isFinite(e.agg_value))) return null;
  return typeof e.reason === 'string' && e.reason ? e.reason : 'no reason recorded';
}

export function direction(h: boolean | null): string {
  return h === true ? 'higher' : h === false ? 'lower' : 'near retain';
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Makes text safe inside a Markdown table cell (pipes, newlines, HTML-looking text). */
export function escapeMd(s: unknown): string {
  return String(s)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'))
    .replace(/\r?\n/g, ' ');
}

/** Index of the best value by the metric's direction (none for 'near retain' or fewer than two values). */
export function bestIndex(values: (number | null)[], h: boolean | null, retain?: number | null): number {
  const ok = values
    .map((v, i) => [v, i] as const)
    .filter((x): x is readonly [number, number] => typeof x[0] === 'number' && Number.isFinite(x[0]));
  if (ok.length < 2) return -1;
  let score: (v: number) => number;
  if (h === true) score = (v) => v;
  else if (h === false) score = (v) => -v;
  else if (typeof retain === 'number' && Number.isFinite(retain)) score = (v) => -Math.abs(v - retain);
  else return -1;
  let best = ok[0]!;
  for (const x of ok) if (score(x[0]) > score(best[0])) best = x;
  // ties: no single best
  return ok.filter((x) => score(x[0]) === score(best[0])).length > 1 ? -1 : best[1];
}
