// Release policy: thresholds over EVAL.json metrics that a model must meet before it is released.
// Works without a retain model (nobody retrains one in production). Each check names one metric
// and exactly one kind of threshold:
//   {"metric": M, "min": a} / {"metric": M, "max": b} / both      absolute bounds
//   {"metric": M, "between": [a, b]}                              a ≤ value ≤ b
//   {"metric": M, "max_ratio_to": N, "ratio": r}                  value ≤ r × N (same evaluation)
//   {"metric": M, "min_ratio_to": N, "ratio": r}                  value ≥ r × N (same evaluation)
//   {"metric": M, "min_ratio_to_original": r}                     value ≥ r × the original model's M
//   {"metric": M, "max_ratio_to_original": r}                     value ≤ r × the original model's M
// A missing metric (null, absent, or absent in the original) fails its check, with the reason.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LetheError } from '../util/errors.js';
import type { EvalEntry, EvalJson } from '../eval/eval-file.js';
import { parseInput } from './inputs.js';

const metricName = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'a metric name (letters, digits, _ . -)');
const finite = z.number().refine(Number.isFinite, 'a finite number');
const positive = finite.refine((x) => x > 0, 'a number above 0');

const KINDS = ['min/max', 'between', 'max_ratio_to', 'min_ratio_to', 'min_ratio_to_original', 'max_ratio_to_original'] as const;

export const PolicyCheck = z
  .strictObject({
    metric: metricName,
    min: finite.optional(),
    max: finite.optional(),
    between: z.tuple([finite, finite]).optional(),
    max_ratio_to: metricName.optional(),
    min_ratio_to: metricName.optional(),
    ratio: positive.optional(),
    min_ratio_to_original: positive.optional(),
    max_ratio_to_original: positive.optional(),
  })
  .superRefine((c, ctx) => {
    const kinds = [
      c.min !== undefined || c.max !== undefined ? 'min/max' : null,
      c.between ? 'between' : null,
      c.max_ratio_to !== undefined ? 'max_ratio_to' : null,
      c.min_ratio_to !== undefined ? 'min_ratio_to' : null,
      c.min_ratio_to_original !== undefined ? 'min_ratio_to_original' : null,
      c.max_ratio_to_original !== undefined ? 'max_ratio_to_original' : null,
    ].filter((k) => k !== null);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `exactly one threshold kind (${KINDS.join(', ')}), found ${kinds.length ? kinds.join(' and ') : 'none'}`,
      });
      return;
    }
    const ratioTo = c.max_ratio_to ?? c.min_ratio_to;
    if (ratioTo !== undefined && c.ratio === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['ratio'],
        message: `a number above 0 (required with ${c.max_ratio_to ? 'max_ratio_to' : 'min_ratio_to'})`,
      });
    if (ratioTo === undefined && c.ratio !== undefined)
      ctx.addIssue({ code: 'custom', path: ['ratio'], message: 'absent unless max_ratio_to or min_ratio_to is given' });
    if (c.between && c.between[0] > c.between[1])
      ctx.addIssue({ code: 'custom', path: ['between'], message: `[low, high] with low ≤ high` });
    if (c.min !== undefined && c.max !== undefined && c.min > c.max)
      ctx.addIssue({ code: 'custom', path: ['max'], message: `at least min (${c.min})` });
  });
export type PolicyCheck = z.infer<typeof PolicyCheck>;

export const Policy = z.strictObject({
  /** Optional name shown in the certificate. */
  name: z.string().trim().min(1).max(200).optional(),
  checks: z.array(PolicyCheck).min(1).max(200),
});
export type Policy = z.infer<typeof Policy>;

/** Validates a policy object; a bad one is BAD_INPUT naming the field ("checks.1.ratio"). */
export function parsePolicy(value: unknown): Policy {
  return parseInput('policy', Policy, value);
}

export function readPolicyFile(path: string): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LetheError('NOT_FOUND', `policy: cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LetheError('BAD_INPUT', `policy: ${path} is not JSON: ${(err as Error).message}`);
  }
  return parsePolicy(json);
}

/** Every metric a policy reads (the metric of each check and the other metric of ratio checks). */
export function policyMetrics(p: Policy): string[] {
  return [
    ...new Set(
      p.checks.flatMap((c) => [c.metric, ...(c.max_ratio_to ? [c.max_ratio_to] : []), ...(c.min_ratio_to ? [c.min_ratio_to] : [])]),
    ),
  ];
}

/** Which metrics need the original model's evaluation. */
export function policyNeedsOriginal(p: Policy): boolean {
  return p.checks.some((c) => c.min_ratio_to_original !== undefined || c.max_ratio_to_original !== undefined);
}

export interface CheckResult {
  metric: string;
  value: number | null;
  /** The bounds the value had to meet, resolved to numbers (null when they could not be resolved). */
  threshold: { min: number | null; max: number | null; rule: string };
  passed: boolean;
  /** Why it failed, when it failed for want of a value. */
  reason?: string;
}

export interface PolicyVerdict {
  passed: boolean;
  checks: CheckResult[];
}

function metricValue(e: EvalJson | null | undefined, name: string): number | null {
  if (!e || name === '_meta') return null;
  const v = (e[name] as EvalEntry | undefined)?.agg_value;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** " (REASON)" when the evaluation recorded the metric as null with a reason, else "". */
function why(e: EvalJson, name: string): string {
  const reason = name === '_meta' ? undefined : (e[name] as EvalEntry | undefined)?.reason;
  return typeof reason === 'string' ? ` (${reason})` : '';
}

/** At most 6 significant digits, shortest form ("0.375", "1e-30"). */
export const fmt = (x: number) => String(Number(x.toPrecision(6)));

export function verifyAgainstPolicy(evalJson: EvalJson, originalEvalJson: EvalJson | null, policy: Policy): PolicyVerdict {
  const checks = policy.checks.map((c): CheckResult => {
    const value = metricValue(evalJson, c.metric);
    let min: number | null = null;
    let max: number | null = null;
    let rule: string;
    let missing: string | null = value === null ? `'${c.metric}' has no value in the evaluation${why(evalJson, c.metric)}` : null;
    if (c.between) {
      [min, max] = c.between;
      rule = `between ${fmt(min)} and ${fmt(max)}`;
    } else if (c.max_ratio_to !== undefined || c.min_ratio_to !== undefined) {
      const other = (c.max_ratio_to ?? c.min_ratio_to)!;
      const ov = metricValue(evalJson, other);
      const bound = ov === null ? null : c.ratio! * ov;
      if (c.max_ratio_to !== undefined) max = bound;
      else min = bound;
      rule = `${c.max_ratio_to !== undefined ? '≤' : '≥'} ${fmt(c.ratio!)} × ${other} (${ov === null ? 'no value' : fmt(ov)})`;
      if (ov === null) missing ??= `'${other}' has no value in the evaluation${why(evalJson, other)}`;
    } else if (c.min_ratio_to_original !== undefined || c.max_ratio_to_original !== undefined) {
      const ov = metricValue(originalEvalJson, c.metric);
      const r = (c.min_ratio_to_original ?? c.max_ratio_to_original)!;
      const bound = ov === null ? null : r * ov;
      if (c.min_ratio_to_original !== undefined) min = bound;
      else max = bound;
      rule = `${c.min_ratio_to_original !== undefined ? '≥' : '≤'} ${fmt(r)} × the original model's ${c.metric} (${ov === null ? 'no value' : fmt(ov)})`;
      if (ov === null)
        missing ??= originalEvalJson
          ? `the original model's evaluation has no '${c.metric}'${why(originalEvalJson, c.metric)}`
          : 'no evaluation of the original model was given';
    } else {
      min = c.min ?? null;
      max = c.max ?? null;
      rule = [min !== null ? `≥ ${fmt(min)}` : '', max !== null ? `≤ ${fmt(max)}` : ''].filter(Boolean).join(' and ');
    }
    const passed = missing === null && value !== null && (min === null || value >= min) && (max === null || value <= max);
    return { metric: c.metric, value, threshold: { min, max, rule }, passed, ...(missing ? { reason: missing } : {}) };
  });
  return { passed: checks.every((c) => c.passed), checks };
}
