// The methods' results table: one row per evaluated run (plus the target and retain models when their
// results are known), one column per chosen metric.
import { entryOf, refEntry, refRoles, refValue, REF_KINDS, type EvalRun, type RefKind } from './load.js';
import { bestIndex, metricInfo, nullReason, type MetricInfo } from './format.js';
import type { EvalEntry } from '../eval-file.js';
import { LetheError } from '../../util/errors.js';

/** Default columns, in this order, where at least one run has them (otherwise every metric). */
export const DEFAULT_COMPARE_METRICS = [
  'forget_quality',
  'forget_truth_ratio',
  'forget_Q_A_Prob',
  'forget_Q_A_ROUGE',
  'forget_knowmem_ROUGE',
  'forget_verbmem_ROUGE',
  'forget_familiarity_completion',
  'extraction_strength',
  'exact_memorization',
  'model_utility',
  'model_utility_rel_target',
  'retain_knowmem_ROUGE',
  'gcide_NLL',
  'privleak',
  'mia_min_k',
  'mia_loss',
  'neighbour_Q_A_Prob',
  'forget_gen_ref_NLL',
];

export interface CompareRow {
  run: string;
  /** 'run' for an unlearned candidate, 'target' / 'retain' for the reference rows (a run that is the
   *  target or retain model itself included, see refRoles). */
  kind: 'run' | RefKind;
  dir: string | null;
  /** The unlearning method (last request of unlearning.json), when known. */
  method: string | null;
  values: Record<string, number | null>;
  /** Why a value is null, for the metrics whose entry records one. */
  reasons: Record<string, string>;
}

export interface CompareTable {
  metrics: MetricInfo[];
  rows: CompareRow[];
  /** Per metric, the index into rows of the best run (-1: none); reference rows never count. */
  best: Record<string, number>;
}

export function chooseMetrics(runs: EvalRun[], wanted?: string[]): string[] {
  const present = new Set(runs.flatMap((r) => Object.keys(r.eval).filter((k) => k !== '_meta')));
  if (wanted?.length) {
    const unknown = wanted.filter((m) => !present.has(m));
    if (unknown.length === wanted.length)
      throw new LetheError(
        'NOT_FOUND',
        `none of the metrics ${wanted.join(', ')} is in these evaluations (they have ${[...present].sort().join(', ')})`,
      );
    return wanted;
  }
  const dflt = DEFAULT_COMPARE_METRICS.filter((m) => present.has(m));
  return dflt.length ? dflt : [...present];
}

/** The recorded reason of each metric whose entry is null. */
function reasonsOf(names: string[], entry: (name: string) => EvalEntry | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const why = nullReason(entry(n));
    if (why) out[n] = why;
  }
  return out;
}

export function compareTable(runs: EvalRun[], wanted?: string[]): CompareTable {
  const names = chooseMetrics(runs, wanted);
  const metrics = names.map((n) => metricInfo(runs, n));
  const roles = refRoles(runs);
  const rows: CompareRow[] = runs.map((r, i) => ({
    run: r.name,
    kind: roles[i] ?? 'run',
    dir: r.dir,
    method: r.unlearning?.at(-1)?.method ?? null,
    values: Object.fromEntries(
      names.map((n) => {
        const v = entryOf(r, n)?.agg_value;
        return [n, typeof v === 'number' && Number.isFinite(v) ? v : null];
      }),
    ),
    reasons: reasonsOf(names, (n) => entryOf(r, n)),
  }));
  for (const who of REF_KINDS) {
    if (rows.some((r) => r.kind === who)) continue; // the model is one of the runs already
    const values = Object.fromEntries(names.map((n) => [n, runs.map((r) => refValue(r, who, n)).find((v) => v !== null) ?? null]));
    const reasons = reasonsOf(names, (n) => (values[n] === null ? (runs.map((r) => refEntry(r, who, n)).find((e) => e) ?? null) : null));
    if (Object.values(values).some((v) => v !== null)) rows.push({ run: who, kind: who, dir: null, method: null, values, reasons });
  }
  const retainRow = rows.find((r) => r.kind === 'retain');
  const best: Record<string, number> = {};
  for (const m of metrics) {
    const vals = rows.map((r) => (r.kind === 'run' ? r.values[m.name]! : null));
    best[m.name] = bestIndex(vals, m.higherIsBetter, retainRow?.values[m.name]);
  }
  return { metrics, rows, best };
}

/** The table as plain JSON (for --json and compare.json). */
export function compareJson(t: CompareTable): unknown {
  return {
    metrics: t.metrics.map((m) => ({ name: m.name, group: m.group, higher_is_better: m.higherIsBetter, description: m.description })),
    rows: t.rows.map((r) => ({
      run: r.run,
      kind: r.kind,
      dir: r.dir,
      method: r.method,
      values: r.values,
      ...(Object.keys(r.reasons).length ? { reasons: r.reasons } : {}),
    })),
    best: Object.fromEntries(Object.entries(t.best).map(([k, i]) => [k, i >= 0 ? t.rows[i]!.run : null])),
  };
}
