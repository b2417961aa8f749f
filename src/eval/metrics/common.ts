// Small helpers the metric files share.
import type { ItemStats, MetricResult, ValueByIndex, SetKind, Need } from './registry.js';
import { mean } from '../stats.js';
import { LetheError } from '../../util/errors.js';

export const QA: SetKind[] = ['qa'];
export const QA_OR_PAIR: SetKind[] = ['qa', 'pair'];
export const ANY: SetKind[] = ['qa', 'text', 'pair'];

export function stats(set: string, setKind: SetKind[] = QA): Need {
  return { kind: 'stats', set, setKind };
}

export function generations(set: string, setKind: SetKind[] = QA): Need {
  return { kind: 'generations', set, setKind };
}

/** Mean of the finite values (open-unlearning drops None before np.mean). */
export function finiteMean(xs: readonly (number | null | undefined)[]): number | null {
  const ok = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return ok.length ? mean(ok) : null;
}

/** {aggValue: mean of field, valueByIndex: {i: row}}. */
export function perItem(rows: Record<string, unknown>[], field: string): MetricResult {
  const valueByIndex: ValueByIndex = {};
  rows.forEach((r, k) => (valueByIndex[String(k)] = r));
  const values = rows.flatMap((r) => r[field]) as (number | null)[];
  return { aggValue: finiteMean(values), valueByIndex };
}

export type QaStats = ItemStats[];

/** Reads `agg_value`-style scores out of another metric's value_by_index. */
export function scoresOf(r: MetricResult, field = 'score'): number[] {
  if (!r.valueByIndex) throw new LetheError('INTERNAL', 'metric result has no value_by_index');
  return Object.values(r.valueByIndex).map((v) => v[field] as number);
}
