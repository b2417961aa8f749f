// The report's per-layer plots: the logit lens' curve (extra.perLayer) and the linear probe's (the
// target's cross-validated accuracy per layer, P(trained) per layer of each model), one curve per
// evaluated model plus the target's, counted in the SVG the HTML inlines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportHtml } from '../../src/eval/report/index.js';
import { runFromEval } from '../../src/eval/report/load.js';
import type { EvalJson } from '../../src/eval/eval-file.js';

const LAYERS = 5;
const curve = (start: number, step: number) => Array.from({ length: LAYERS }, (_, l) => start + l * step);

function run(model: string, lens: number[], probe: number[] | null, target: EvalJson) {
  const e: EvalJson = {
    forget_logit_lens_Prob: { agg_value: Math.max(...lens), perLayer: lens, bestLayer: lens.indexOf(Math.max(...lens)) },
    ...(probe ? { forget_probe_Prob: { agg_value: probe[2]!, perLayer: probe, bestLayer: 2 } } : {}),
    _meta: { model, suite: 'persona:forget10', target_results: target },
  } as unknown as EvalJson;
  return runFromEval(e, null);
}

/** In one figure of the page: the lines drawn (one path per series) and the points (one per layer and series). */
function marks(html: string, id: string): { lines: number; points: number } {
  const start = html.indexOf(`<figure class="plot" id="${id}"`);
  assert.ok(start >= 0, `no figure ${id}`);
  const fig = html.slice(start, html.indexOf('</figure>', start));
  const count = (role: string) => (fig.match(new RegExp(`<path [^>]*aria-roledescription="${role}"`, 'g')) ?? []).length;
  return { lines: count('line mark'), points: count('point') };
}

test('report.html: per-layer curves of the logit lens and the linear probe, one per model, one point per layer', async () => {
  const target = {
    forget_probe_fit: { agg_value: 0.9, cvAccuracy: curve(0.5, 0.1), bestLayer: 4 },
    forget_logit_lens_Prob: { agg_value: 0.8, perLayer: curve(0, 0.2) },
  } as unknown as EvalJson;
  const runs = [run('/m/npo', curve(0.05, 0.1), curve(0.2, 0.1), target), run('/m/graddiff', curve(0.1, 0.02), null, target)];
  const html = await reportHtml(runs);
  assert.match(html, /<h2 id="layers">/);
  // Two runs and the target, five layers each.
  assert.deepEqual(marks(html, 'layers-forget_logit_lens_Prob'), { lines: 3, points: 3 * LAYERS });
  // Only npo has the probe's reading; the fit is the target's alone.
  assert.deepEqual(marks(html, 'layers-forget_probe_Prob'), { lines: 1, points: LAYERS });
  assert.deepEqual(marks(html, 'layers-forget_probe_fit'), { lines: 1, points: LAYERS });
  assert.ok(!html.includes('id="layers-holdout_logit_lens_Prob"'), 'no figure without a curve');
  // Without any curve the section says so.
  const none = await reportHtml([
    runFromEval({ forget_Q_A_Prob: { agg_value: 0.5 }, _meta: { model: '/m/x' } } as unknown as EvalJson, null),
  ]);
  assert.match(none, /no logit lens or linear probe in these evaluations/);
});
