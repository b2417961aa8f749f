// The report's plots: Vega-Lite specs compiled with vega-lite and rendered to SVG in Node by vega
// (renderer 'none': no canvas, no DOM), inlined into the HTML.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { entryOf, refEntry, sharedRef, type EvalRun } from './load.js';
import type { MetricInfo } from './format.js';

export interface Figure {
  id: string;
  title: string;
  caption: string;
  /** The Vega-Lite spec the SVG was rendered from. */
  spec: Record<string, unknown>;
  svg: string;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const CONFIG = {
  font: 'sans-serif',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelLimit: 280 },
};

/** Vega-Lite → Vega → SVG string. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vgSpec = compile({ $schema: SCHEMA, config: CONFIG, background: 'white', ...spec } as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export interface PlannedFigure {
  id: string;
  title: string;
  caption: string;
  spec: Record<string, unknown>;
}

/** Per group: every metric as bars for each run, the target and the retain model (one row per metric, own scale). */
export function metricBarsSpec(runs: EvalRun[], metrics: MetricInfo[]): Record<string, unknown> | null {
  const values: { metric: string; model: string; value: number }[] = [];
  for (const m of metrics) {
    for (const r of runs) {
      const v = entryOf(r, m.name)?.agg_value;
      if (finite(v)) values.push({ metric: m.name, model: r.name, value: v });
    }
    for (const who of ['target', 'retain'] as const) {
      const v = sharedRef(runs, who, m.name);
      if (finite(v)) values.push({ metric: m.name, model: who, value: v });
    }
  }
  if (!values.length) return null;
  const domain = [...runs.map((r) => r.name), 'target', 'retain'];
  // One small layered chart per metric (own data, own scale), stacked: bars and their values.
  return {
    spacing: 6,
    vconcat: [...new Set(values.map((v) => v.metric))].map((metric) => ({
      title: { text: metric, anchor: 'start', fontSize: 12, font: 'monospace' },
      width: 420,
      height: { step: 16 },
      data: { values: values.filter((v) => v.metric === metric) },
      encoding: {
        y: { field: 'model', type: 'nominal', sort: domain, title: null },
        x: { field: 'value', type: 'quantitative', title: null },
      },
      layer: [
        { mark: { type: 'bar' }, encoding: { color: { field: 'model', type: 'nominal', scale: { domain }, legend: null } } },
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
          encoding: { text: { field: 'value', type: 'quantitative', format: '.4~g' } },
        },
      ],
    })),
  };
}

/** The forget-vs-utility axes: the first metric of each list that some run (or reference) has. */
const FORGET_AXIS = [
  'forget_quality',
  'forget_Q_A_Prob',
  'forget_knowmem_ROUGE',
  'forget_verbmem_ROUGE',
  'forget_familiarity_prob',
  'forget_truth_ratio',
  'extraction_strength',
];
const UTILITY_AXIS = ['model_utility', 'retain_Q_A_Prob', 'retain_knowmem_ROUGE', 'gcide_NLL', 'wf_Q_A_Prob'];

/** Values of a metric for the scatter: each run's, then the target's and the retain model's. */
function scatterValues(runs: EvalRun[], m: string): (number | null)[] {
  const own = runs.map((r) => entryOf(r, m)?.agg_value);
  return [...own, sharedRef(runs, 'target', m), sharedRef(runs, 'retain', m)].map((v) => (finite(v) ? v : null));
}

/** The pair of metrics (one from each list) that places the most points; ties go to the earlier in the lists. */
export function scatterAxes(runs: EvalRun[]): { x: string; y: string } | null {
  let best: { x: string; y: string; n: number } | null = null;
  for (const x of FORGET_AXIS) {
    const xs = scatterValues(runs, x);
    for (const y of UTILITY_AXIS) {
      const ys = scatterValues(runs, y);
      const n = xs.filter((v, i) => v !== null && ys[i] !== null).length;
      if (n > 0 && (!best || n > best.n)) best = { x, y, n };
    }
  }
  return best && { x: best.x, y: best.y };
}

/** Forget metric against utility metric, one point per run, plus the target and retain models where both values are known. */
export function scatterSpec(runs: EvalRun[]): { spec: Record<string, unknown>; x: string; y: string } | null {
  const axes = scatterAxes(runs);
  if (!axes) return null;
  const points: { model: string; kind: string; x: number; y: number }[] = [];
  for (const r of runs) {
    const x = entryOf(r, axes.x)?.agg_value;
    const y = entryOf(r, axes.y)?.agg_value;
    if (finite(x) && finite(y)) points.push({ model: r.name, kind: 'unlearned run', x, y });
  }
  for (const who of ['target', 'retain'] as const) {
    const x = sharedRef(runs, who, axes.x);
    const y = sharedRef(runs, who, axes.y);
    if (finite(x) && finite(y)) points.push({ model: who, kind: `${who} model`, x, y });
  }
  if (!points.length) return null;
  const enc = {
    x: { field: 'x', type: 'quantitative', title: axes.x, scale: { zero: false, padding: 20 } },
    y: { field: 'y', type: 'quantitative', title: axes.y, scale: { zero: false, padding: 20 } },
  };
  return {
    x: axes.x,
    y: axes.y,
    spec: {
      width: 460,
      height: 320,
      data: { values: points },
      layer: [
        {
          mark: { type: 'point', filled: true, size: 90 },
          encoding: {
            ...enc,
            color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['unlearned run', 'target model', 'retain model'] } },
            shape: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['unlearned run', 'target model', 'retain model'] } },
            tooltip: [{ field: 'model' }, { field: 'x', title: axes.x, format: '.4~g' }, { field: 'y', title: axes.y, format: '.4~g' }],
          },
        },
        { mark: { type: 'text', align: 'left', dx: 7, dy: -6, fontSize: 11 }, encoding: { ...enc, text: { field: 'model' } } },
      ],
    },
  };
}

type Roc = { fpr: number[]; tpr: number[] };
function rocOf(e: Record<string, unknown> | null): Roc | null {
  const roc = e?.roc as Roc | undefined;
  return roc && Array.isArray(roc.fpr) && Array.isArray(roc.tpr) && roc.fpr.length === roc.tpr.length && roc.fpr.length >= 2 ? roc : null;
}

/** ROC curves of every membership attack of a run (and the retain model's, where known); the diagonal is chance. */
export function rocSpec(run: EvalRun): Record<string, unknown> | null {
  const values: { attack: string; fpr: number; tpr: number; i: number }[] = [];
  const add = (label: string, roc: Roc) => roc.fpr.forEach((f, i) => values.push({ attack: label, fpr: f, tpr: roc.tpr[i]!, i }));
  for (const [name] of Object.entries(run.eval)) {
    if (name === '_meta') continue;
    const e = entryOf(run, name);
    const roc = rocOf(e);
    if (roc) add(`${name} (AUC ${Number(e!.agg_value).toFixed(3)})`, roc);
  }
  if (!values.length) return null;
  for (const [name] of Object.entries(run.eval)) {
    if (name === '_meta' || !rocOf(entryOf(run, name))) continue;
    const e = refEntry(run, 'retain', name);
    const roc = rocOf(e);
    if (roc) add(`retain model: ${name} (AUC ${Number(e!.agg_value).toFixed(3)})`, roc);
  }
  return {
    width: 380,
    height: 380,
    layer: [
      {
        data: {
          values: [
            { fpr: 0, tpr: 0 },
            { fpr: 1, tpr: 1 },
          ],
        },
        mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
        encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'tpr', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'line', interpolate: 'linear', strokeWidth: 2, point: { size: 18 } },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'false positive rate', scale: { domain: [0, 1] } },
          y: { field: 'tpr', type: 'quantitative', title: 'true positive rate (holdout recognised as unseen)', scale: { domain: [0, 1] } },
          color: { field: 'attack', type: 'nominal', title: 'attack', legend: { labelLimit: 400 } },
          strokeDash: { condition: { test: "indexof(datum.attack, 'retain model') === 0", value: [6, 3] }, value: [1, 0] },
          order: { field: 'i', type: 'quantitative' },
        },
      },
    ],
  };
}

/** Per-item forget truth ratios of a run beside the retain model's (log10; 0 = the perturbed and paraphrased answers equally likely). */
export function truthRatioSpec(run: EvalRun): { spec: Record<string, unknown>; retain: boolean } | null {
  const scores = (e: Record<string, unknown> | null): number[] =>
    Object.values((e?.value_by_index ?? {}) as Record<string, { score?: unknown }>)
      .map((v) => v.score)
      .filter((s): s is number => finite(s) && s > 0);
  const own = scores(entryOf(run, 'forget_truth_ratio'));
  if (!own.length) return null;
  const ret = scores(refEntry(run, 'retain', 'forget_truth_ratio'));
  const values = [
    ...own.map((s) => ({ model: run.name, log10: Math.log10(s) })),
    ...ret.map((s) => ({ model: 'retain model', log10: Math.log10(s) })),
  ];
  return {
    retain: ret.length > 0,
    spec: {
      width: 460,
      height: 240,
      data: { values },
      mark: { type: 'bar', opacity: 0.55, binSpacing: 0 },
      encoding: {
        x: { field: 'log10', bin: { maxbins: 24 }, type: 'quantitative', title: 'log10 truth ratio  P(perturbed) / P(paraphrased)' },
        y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'items' },
        color: { field: 'model', type: 'nominal', title: null, scale: { domain: [run.name, 'retain model'] } },
      },
    },
  };
}

/** The per-layer curves a metric keeps in its extra: the logit lens (each layer's P(true answer)) and the linear probe. */
export const PER_LAYER: readonly { metric: string; field: string; y: string; caption: string }[] = [
  ...['forget', 'holdout', 'retain'].map((set) => ({
    metric: `${set}_logit_lens_Prob`,
    field: 'perLayer',
    y: `P(true answer), ${set} set`,
    caption: 'read from each layer’s hidden state; a curve that peaks below the last layer holds the answer the output no longer gives',
  })),
  {
    metric: 'forget_probe_fit',
    field: 'cvAccuracy',
    y: 'probe accuracy (5-fold CV)',
    caption:
      'on the target: how well a logistic regression on each layer tells forget from holdout records (chance: the larger set’s share)',
  },
  {
    metric: 'forget_probe_Prob',
    field: 'perLayer',
    y: "P(trained) by the target's probe",
    caption:
      'the target’s probe of each layer applied to each model’s forget records; a model that never saw them reads the retain model’s level',
  },
];

function curveOf(e: Record<string, unknown> | null, field: string): number[] | null {
  const c = e?.[field];
  return Array.isArray(c) && c.length > 0 && c.every(finite) ? (c as number[]) : null;
}

/** One metric's per-layer curve: one line per run, plus the target's and the retain model's where recorded
 *  (layer 0 = the embeddings, the last = the model's output). Null when none has the curve. */
export function perLayerSpec(runs: EvalRun[], c: (typeof PER_LAYER)[number]): Record<string, unknown> | null {
  const values: { model: string; layer: number; value: number }[] = [];
  const add = (model: string, curve: number[]) => curve.forEach((value, layer) => values.push({ model, layer, value }));
  for (const r of runs) {
    const curve = curveOf(entryOf(r, c.metric), c.field);
    if (curve) add(r.name, curve);
  }
  // The probe's fit is the target's: an evaluation records it among the target's results only.
  for (const who of ['target', 'retain'] as const) {
    const curve = runs.map((r) => curveOf(refEntry(r, who, c.metric), c.field)).find((x) => x !== null);
    if (curve) add(`${who} model`, curve);
  }
  if (!values.length) return null;
  return {
    width: 460,
    height: 260,
    data: { values },
    mark: { type: 'line', point: { size: 30 } },
    encoding: {
      x: { field: 'layer', type: 'quantitative', title: 'layer (0 = embeddings)', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: c.y },
      color: { field: 'model', type: 'nominal', title: null },
      tooltip: [{ field: 'model' }, { field: 'layer' }, { field: 'value', format: '.4~g' }],
    },
  };
}

const LOG_SKIP = new Set(['stage', 'step', 'gradNorm', 'lr', 'tokens', 'tokensPerSec', 'elapsedSec', 'eval', 'stopped', 'rolledBackTo']);

/** Training curves from train_log.jsonl: the loss and its parts per step, and the periodic evaluation's metrics. */
export function trainingSpecs(run: EvalRun): { title: string; spec: Record<string, unknown> }[] {
  const rows = run.trainLog ?? [];
  const loss: { stage: string; step: number; series: string; value: number }[] = [];
  const evals: { stage: string; step: number; series: string; value: number }[] = [];
  for (const r of rows) {
    const stage = String(r.stage ?? 'train');
    for (const [k, v] of Object.entries(r)) if (!LOG_SKIP.has(k) && finite(v)) loss.push({ stage, step: r.step, series: k, value: v });
    if (r.eval && typeof r.eval === 'object')
      for (const [k, v] of Object.entries(r.eval)) if (finite(v)) evals.push({ stage, step: r.step, series: k, value: v });
  }
  const stages = new Set([...loss, ...evals].map((x) => x.stage));
  const label = (xs: typeof loss) => (stages.size > 1 ? xs.map((x) => ({ ...x, series: `${x.stage} ${x.series}` })) : xs);
  const line = (values: typeof loss, y: string) => ({
    width: 460,
    height: 260,
    data: { values: label(values) },
    mark: { type: 'line', point: { size: 16 } },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: y, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  });
  const out: { title: string; spec: Record<string, unknown> }[] = [];
  if (loss.length) out.push({ title: 'training loss', spec: line(loss, 'loss') });
  if (evals.length) out.push({ title: 'evaluation during training', spec: line(evals, 'value') });
  return out;
}
