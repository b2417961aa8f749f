// A linear probe for knowledge below the surface (as in arXiv 2402.16835 and the WMDP/RMU probing
// studies): on the target model (before unlearning), a logistic regression per layer learns to tell the
// forget records (trained on) from the holdout records (never trained on) by the mean hidden state over
// each answer; the same probe then reads the evaluated model. If unlearning only changed the output,
// the probe still says "trained". Features are standardised with the target's means and deviations.
//   forget_probe_fit   on the model it runs on (the target, through --target-model): the best layer's
//                      5-fold cross-validated accuracy (how well the two can be told apart at all);
//                      extra.layers holds each layer's probe, extra.cvAccuracy the curve.
//   forget_probe_Prob  the target's probe at its best layer applied to this model: the mean P(trained)
//                      of the forget records (the retain model, which never saw them, is the reference);
//                      extra.perLayer and extra.holdoutPerLayer are the curves on forget and holdout.
import { defineMetric, type MetricResult, type Need } from './registry.js';
import { QA_OR_PAIR } from './common.js';
import { fitLogistic, predictLogistic } from '../probe.js';

const forgetFeatures: Need = { kind: 'features', set: 'forget', setKind: QA_OR_PAIR };
const holdoutFeatures: Need = { kind: 'features', set: 'holdout', setKind: QA_OR_PAIR };
const FOLDS = 5;

interface LayerProbe {
  mean: number[];
  std: number[];
  w: number[];
  b: number;
}

function standardiser(rows: number[][]): { mean: number[]; std: number[] } {
  const d = rows[0]!.length;
  const mean = Array.from({ length: d }, (_, k) => rows.reduce((a, r) => a + r[k]!, 0) / rows.length);
  const std = Array.from({ length: d }, (_, k) => {
    const v = rows.reduce((a, r) => a + (r[k]! - mean[k]!) ** 2, 0) / rows.length;
    return v > 1e-12 ? Math.sqrt(v) : 1;
  });
  return { mean, std };
}

const scale = (rows: number[][], s: { mean: number[]; std: number[] }) => rows.map((r) => r.map((v, k) => (v - s.mean[k]!) / s.std[k]!));

function fitLayer(x: number[][], y: number[]): LayerProbe {
  const s = standardiser(x);
  const m = fitLogistic(scale(x, s), y);
  return { ...s, w: m.w, b: m.b };
}

const probability = (p: LayerProbe, rows: number[][]) => predictLogistic(p, scale(rows, p));

/** Accuracy over FOLDS folds (item k in fold k mod FOLDS), each probe fitted on the other folds. */
function crossValidated(x: number[][], y: number[]): number {
  let right = 0;
  for (let f = 0; f < FOLDS; f++) {
    const train = x.map((_, k) => k).filter((k) => k % FOLDS !== f);
    const test = x.map((_, k) => k).filter((k) => k % FOLDS === f);
    if (!test.length || new Set(train.map((k) => y[k])).size < 2) continue;
    const probe = fitLayer(
      train.map((k) => x[k]!),
      train.map((k) => y[k]!),
    );
    probability(
      probe,
      test.map((k) => x[k]!),
    ).forEach((p, j) => {
      if (p > 0.5 === (y[test[j]!] === 1)) right++;
    });
  }
  return right / x.length;
}

defineMetric({
  name: 'forget_probe_fit',
  description:
    'a logistic-regression probe per layer separating forget (trained) from holdout (never trained) answers by their hidden states; the best layer’s cross-validated accuracy (run on the target model)',
  needs: [forgetFeatures, holdoutFeatures],
  group: 'privacy',
  higherIsBetter: null,
  // Not rated by the meta-evaluation: chance depends on the forget/holdout sizes, and this is the probe's
  // quality on the target (what forget_probe_Prob reads through), not a reading of the evaluated model.
  async compute(ctx): Promise<MetricResult> {
    const forget = await ctx.get<number[][][]>(forgetFeatures);
    const holdout = await ctx.get<number[][][]>(holdoutFeatures);
    if (forget.length < FOLDS || holdout.length < FOLDS)
      return {
        aggValue: null,
        reason: `needs at least ${FOLDS} forget and ${FOLDS} holdout items (got ${forget.length} and ${holdout.length})`,
      };
    const y = [...forget.map(() => 1), ...holdout.map(() => 0)];
    const layers: LayerProbe[] = [];
    const cvAccuracy: number[] = [];
    for (let l = 0; l < forget[0]!.length; l++) {
      const x = [...forget, ...holdout].map((item) => item[l]!);
      cvAccuracy.push(crossValidated(x, y));
      layers.push(fitLayer(x, y));
    }
    const bestLayer = cvAccuracy.reduce((b, v, l) => (v > cvAccuracy[b]! ? l : b), 0);
    return { aggValue: cvAccuracy[bestLayer]!, extra: { cvAccuracy, bestLayer, layers } };
  },
});

defineMetric({
  name: 'forget_probe_Prob',
  description:
    'the target model’s linear probe (forget_probe_fit) at its best layer applied to this model: mean P(trained) of the forget answers (lower = less detectable knowledge)',
  // The item sets first: a suite without them skips the metric; with them and no target it is null with the reason.
  needs: [forgetFeatures, holdoutFeatures, { kind: 'target', name: 'forget_probe_fit' }],
  group: 'forget',
  higherIsBetter: false,
  variant: true,
  async compute(ctx): Promise<MetricResult> {
    const fit = await ctx.get<MetricResult>({ kind: 'target', name: 'forget_probe_fit' });
    if (fit.aggValue === null)
      return { aggValue: null, reason: `the target model's probe could not be fitted: ${fit.reason ?? 'no reason'}` };
    const { layers, bestLayer } = fit.extra as { layers: LayerProbe[]; bestLayer: number };
    const forget = await ctx.get<number[][][]>(forgetFeatures);
    const holdout = await ctx.get<number[][][]>(holdoutFeatures);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const perItem = layers.map((p, l) =>
      probability(
        p,
        forget.map((item) => item[l]!),
      ),
    );
    const perLayer = perItem.map(mean);
    const holdoutPerLayer = layers.map((p, l) =>
      mean(
        probability(
          p,
          holdout.map((item) => item[l]!),
        ),
      ),
    );
    const valueByIndex = Object.fromEntries(forget.map((_, k) => [String(k), { prob: perItem[bestLayer]![k]! }]));
    return { aggValue: perLayer[bestLayer]!, valueByIndex, extra: { bestLayer, perLayer, holdoutPerLayer } };
  },
});
