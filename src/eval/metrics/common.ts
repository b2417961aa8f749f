// Small helpers the metric files share.
import type { ItemStats, MetricContext, MetricResult, ValueByIndex, SetKind, Need } from './registry.js';
import { harmonicMean, mean } from '../stats.js';
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

/** {aggValue: mean of field, valueByIndex: {i: row}}; null with a reason when no item has a finite value. */
export function perItem(rows: Record<string, unknown>[], field: string): MetricResult {
  const valueByIndex: ValueByIndex = {};
  rows.forEach((r, k) => (valueByIndex[String(k)] = r));
  const values = rows.flatMap((r) => r[field]) as (number | null)[];
  const aggValue = finiteMean(values);
  if (aggValue !== null) return { aggValue, valueByIndex };
  return { aggValue, valueByIndex, reason: rows.length ? `no item has a finite ${field} (items: ${rows.length})` : 'the set has no items' };
}

/**
 * Why a metric over a set is not computed when some of its rows lack an input (null when every row
 * has it). All or nothing, as the paraphrase and perturbation metrics of TOFU assume: a mean over the
 * rows that have it would be another population reported under the metric's name, and would not be
 * comparable with a run on the whole set.
 */
export function lacking(set: string, has: readonly boolean[], field: string): string | null {
  const miss = has.flatMap((ok, k) => (ok ? [] : [k]));
  if (!miss.length) return has.length ? null : `the ${set} set has no items`;
  if (miss.length === has.length) return `no row of the ${set} set has '${field}'`;
  const shown = miss.slice(0, 5).join(', ') + (miss.length > 5 ? ', …' : '');
  return `'${field}' is missing in ${miss.length} of ${has.length} rows of the ${set} set (items ${shown}); not computed on the rest alone`;
}

/** A derived metric's reason when an input metric has no value: which one, for whom, and its own reason. */
export function inputMissing(name: string, who: string, r: MetricResult): string {
  return `${name} of ${who} has no value${r.reason ? ` (${r.reason})` : ''}`;
}

export type QaStats = ItemStats[];

/** Reads `agg_value`-style scores out of another metric's value_by_index. */
export function scoresOf(r: MetricResult, field = 'score'): number[] {
  if (!r.valueByIndex) throw new LetheError('INTERNAL', 'metric result has no value_by_index');
  return Object.values(r.valueByIndex).map((v) => v[field] as number);
}

/**
 * The harmonic mean of every part, or null with a reason naming the parts without a value (grouped
 * by their reasons). extra.parts holds the values there are, extra.missing the names without one.
 */
export async function harmonicOfAll(ctx: MetricContext, names: readonly string[]): Promise<MetricResult> {
  const parts: Record<string, number> = {};
  const missing: string[] = [];
  const byReason = new Map<string, string[]>();
  for (const name of names) {
    let r: MetricResult;
    try {
      r = await ctx.get<MetricResult>({ kind: 'metric', name });
    } catch (err) {
      // A part that fails is reported as missing with its error, not dropped from the mean.
      r = { aggValue: null, reason: `failed: ${(err as Error).message}` };
    }
    if (r.aggValue !== null && Number.isFinite(r.aggValue)) {
      parts[name] = r.aggValue;
      continue;
    }
    missing.push(name);
    const why = r.reason ?? 'no value';
    byReason.set(why, [...(byReason.get(why) ?? []), name]);
  }
  if (!missing.length) return { aggValue: harmonicMean(Object.values(parts)), extra: { parts, missing } };
  const detail = [...byReason].map(([why, ns]) => `${ns.join(', ')}: ${why}`).join('; ');
  return {
    aggValue: null,
    reason: `missing ${missing.length} of its ${names.length} parts (${detail})`,
    extra: { parts, missing },
  };
}
