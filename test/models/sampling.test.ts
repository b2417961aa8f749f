// Sampling (temperature, top-k, top-p) against the exact filtered softmax: many seeded draws from
// fixed logits, empirical frequencies vs the exact distribution (chi-square), and never a token
// the filters remove. The filtered distribution is computed here by hand, in float64, as HF's
// TemperatureLogitsWarper → TopKLogitsWarper → TopPLogitsWarper define it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, generate, type CausalLM } from '../../src/index.js';

const LOGITS = [2.0, 1.5, 1.1, 0.6, 0.0, -0.4, -1.0, -2.5];
const N = 20000;

/** A model whose next-token logits are LOGITS at every position. */
const fixedModel = {
  config: { eosTokenId: [], padTokenId: null },
  device: 'cpu',
  forward: (ids: torch.Tensor) => ({
    logits: torch.tensor([[LOGITS]], { dtype: 'float32' }).expand([ids.size(0), ids.size(1), LOGITS.length]),
    pastKeyValues: null,
    hiddenStates: null,
  }),
} as unknown as CausalLM;

function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => (x === -Infinity ? 0 : Math.exp(x - m)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** The exact distribution after temperature, top-k (ties kept) and top-p (smallest tokens whose mass stays ≤ 1 - p dropped, the top one always kept). */
function exact(o: { temperature?: number; topK?: number; topP?: number }): { probs: number[]; margin: number } {
  let s = LOGITS.map((x) => x / (o.temperature ?? 1));
  if (o.topK) {
    const kth = [...s].sort((a, b) => b - a)[o.topK - 1]!;
    s = s.map((x) => (x < kth ? -Infinity : x));
  }
  let margin = Infinity;
  if (o.topP !== undefined) {
    const p = softmax(s);
    const order = s.map((_, i) => i).sort((a, b) => s[a]! - s[b]!); // ascending
    let cum = 0;
    const drop = new Set<number>();
    order.forEach((i, rank) => {
      cum += p[i]!;
      margin = Math.min(margin, Math.abs(cum - (1 - o.topP!)));
      if (cum <= 1 - o.topP! && rank < order.length - 1) drop.add(i);
    });
    s = s.map((x, i) => (drop.has(i) ? -Infinity : x));
  }
  return { probs: softmax(s), margin };
}

/** The chi-square quantile at z standard deviations (Wilson–Hilferty). */
const chi2Quantile = (df: number, z: number) => df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;

const CASES = [
  { temperature: 0.7 },
  { temperature: 1.6 },
  { topK: 3 },
  { temperature: 1.3, topK: 5 },
  { topP: 0.8 },
  { temperature: 0.8, topP: 0.9 },
  { temperature: 1.2, topK: 6, topP: 0.7 },
];

for (const o of CASES) {
  test(`sampling ${JSON.stringify(o)}: frequencies match the exact filtered softmax`, async () => {
    const { probs, margin } = exact(o);
    assert.ok(margin > 1e-3, `fixture: a top-p boundary this close (${margin}) would depend on rounding`);
    torch.manualSeed(11);
    const out = await generate(fixedModel, torch.zeros([N, 1], { dtype: 'int64' }), {
      doSample: true,
      maxNewTokens: 1,
      useCache: false,
      ...o,
    });
    const drawn = (out.toArray() as number[][]).map((r) => r[1]!);
    out.dispose();
    const counts = new Array<number>(LOGITS.length).fill(0);
    for (const t of drawn) counts[t]!++;
    let chi2 = 0;
    let df = -1;
    probs.forEach((p, i) => {
      if (p === 0) assert.equal(counts[i], 0, `token ${i} is filtered out but was drawn ${counts[i]} times (counts ${counts})`);
      else {
        chi2 += (counts[i]! - N * p) ** 2 / (N * p);
        df++;
      }
    });
    if (df === 0) return;
    const limit = chi2Quantile(df, 4.5);
    assert.ok(
      chi2 < limit,
      `chi-square ${chi2.toFixed(1)} > ${limit.toFixed(1)} (df ${df}): counts ${counts}, expected ${probs.map((p) => (N * p).toFixed(0))}`,
    );
  });
}
