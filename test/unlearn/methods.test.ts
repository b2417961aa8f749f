// Every registered unlearning method against an independent float64 PyTorch evaluation of its
// formula (test/unlearn/ref/make_method_reference.py, open-unlearning's definitions): the loss, its
// logged parts, the method's state after the step (PDU's dual variable), and d loss / d one weight of
// llama-tiny. Also the arguments each case resolves to (so a changed default fails), what the method
// declares it needs, RMU's setup, the argument errors and the IdK answers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadModel, type CausalLM } from '../../src/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { getMethod, listMethods, resolveArgs, methodDefaults } from '../../src/unlearn/registry.js';
import { encodeBatch, referenceLogLiks } from '../../src/unlearn/batch.js';
import type { Encoded, MethodState, StepBatch } from '../../src/unlearn/method.js';
import { IDK_ANSWERS, idkAnswer } from '../../src/unlearn/idk.js';
import { CONTROL_VECTOR, rmuLayer, rmuTrainable } from '../../src/unlearn/methods/rmu.js';
import { fixturesDir, repoRoot } from '../helpers/fixtures.js';
import '../../src/unlearn/methods/index.js';

interface RawBatch {
  ids: number[][];
  labels: number[][];
  attention_mask: number[][];
}
interface Case {
  name: string;
  method: string;
  args: Record<string, unknown>;
  expected_args: Record<string, unknown>;
  needs: { retain: string; referenceModel: boolean; referenceLogLik: boolean; alternate?: string };
  step: number;
  total_steps: number;
  state_in: Record<string, number>;
  state_out?: Record<string, number>;
  loss: number;
  parts: Record<string, number>;
}
interface Fixture {
  grad_param: string;
  perturb: Record<string, number>;
  pad_id: number;
  batches: Record<'forget' | 'retain' | 'alternate' | 'idk', RawBatch>;
  rmu_control_vector: number[];
  cases: Case[];
}

const refDir = join(repoRoot, 'test/unlearn/ref');
const fx = JSON.parse(readFileSync(join(refDir, 'methods_reference.json'), 'utf8')) as Fixture;
const { tensors: grads } = torch.loadSafetensors(join(refDir, 'methods_reference.safetensors'));
const modelDir = join(fixturesDir, 'llama-tiny');

// The model being unlearned: the fixture with the same weights scaled as in the Python; the
// reference: the untouched fixture, frozen.
const model = loadModel(modelDir);
torch.noGrad(() => {
  for (const [name, f] of Object.entries(fx.perturb)) model.params.get(name)!.mul_(f);
});
const reference = loadModel(modelDir);
for (const p of reference.parameters()) p.requiresGrad = false;

/** The fixture's rows as forget.ts's examples (unpadded ids and labels), so encodeBatch pads them. */
function rowsOf(b: RawBatch) {
  return b.ids.map((ids, i) => {
    const n = b.attention_mask[i]!.reduce((s, v) => s + v, 0);
    return { ids: ids.slice(0, n), labels: b.labels[i]!.slice(0, n), row: i };
  });
}
const rows = Object.fromEntries(Object.entries(fx.batches).map(([k, b]) => [k, rowsOf(b)])) as Record<
  keyof Fixture['batches'],
  ReturnType<typeof rowsOf>
>;
const encoded = Object.fromEntries(Object.entries(rows).map(([k, r]) => [k, encodeBatch(r, fx.pad_id)])) as Record<
  keyof Fixture['batches'],
  Encoded
>;
const refLogLik = (k: keyof Fixture['batches']) =>
  torch.tensor(Array.from(referenceLogLiks(reference, rows[k], fx.pad_id, 'cpu')), { dtype: 'float32' });

after(() => {
  model.dispose();
  reference.dispose();
  for (const e of Object.values(encoded)) torch.dispose([e.ids, e.labels, e.attentionMask]);
  torch.dispose(Object.values(grads));
});

test('the batches encodeBatch builds are the ones the Python reference used', () => {
  for (const [k, b] of Object.entries(fx.batches)) {
    const e = encoded[k as keyof Fixture['batches']];
    assert.deepEqual(e.ids.toArray(), b.ids, `${k} ids`);
    assert.deepEqual(e.labels.toArray(), b.labels, `${k} labels`);
    assert.deepEqual(e.attentionMask.toArray(), b.attention_mask, `${k} attention mask`);
  }
});

test('every registered method has a reference case', () => {
  const covered = new Set(fx.cases.map((c) => c.method));
  const missing = listMethods()
    .filter((m) => !m.procedure)
    .map((m) => m.name)
    .filter((n) => !covered.has(n));
  assert.deepEqual(missing, [], `methods without a reference case: ${missing.join(', ')}`);
});

function closeEnough(actual: number, expected: number, what: string, rel = 2e-5): void {
  const tol = rel * Math.max(1, Math.abs(expected));
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual}, expected ${expected} (diff ${Math.abs(actual - expected)}, tol ${tol})`,
  );
}

for (const c of fx.cases) {
  test(`${c.name}: loss, parts, state and d loss/d ${fx.grad_param} match float64 PyTorch`, () => {
    const method = getMethod(c.method);
    const args = resolveArgs(method, c.args);
    for (const [k, v] of Object.entries(c.expected_args)) assert.deepEqual(args[k], v, `${c.name}: argument '${k}'`);
    const needs = method.needs(args as never);
    assert.deepEqual(
      {
        retain: needs.retain,
        referenceModel: needs.referenceModel ?? false,
        referenceLogLik: needs.referenceLogLik ?? false,
        ...(needs.alternate ? { alternate: needs.alternate } : {}),
      },
      c.needs,
      `${c.name}: what the method needs`,
    );

    const batch: StepBatch = { forget: encoded.forget };
    if (needs.retain !== 'none') batch.retain = encoded.retain;
    const alt = needs.alternate === 'idk' ? 'idk' : needs.alternate ? 'alternate' : null;
    if (alt) batch.alternate = encoded[alt];
    const owned: Tensor[] = [];
    if (needs.referenceLogLik) {
      owned.push((batch.refForgetLogLik = refLogLik('forget')));
      if (alt) owned.push((batch.refAlternateLogLik = refLogLik(alt)));
    }
    const state: MethodState = { tensors: new Map(), numbers: { ...c.state_in } };
    const trained: string[] = [];
    method.setup?.({ args: args as never, model, seed: 0, state, trainOnly: (p) => trained.push(...p) });
    // RMU's random direction: the one the Python drew, not our RNG's.
    state.tensors.get(CONTROL_VECTOR)?.copy_(torch.tensor(fx.rmu_control_vector, { dtype: 'float32' }));

    for (const p of model.parameters()) p.grad = null;
    try {
      const out = torch.tidy(() => {
        const o = method.loss!(
          {
            args: args as never,
            model,
            reference: needs.referenceModel ? reference : null,
            step: c.step,
            totalSteps: c.total_steps,
            state,
          },
          batch,
        );
        o.loss.backward();
        return { loss: o.loss.item(), parts: o.parts ?? {} };
      });
      closeEnough(out.loss, c.loss, `${c.name}: loss`);
      assert.deepEqual(Object.keys(out.parts).sort(), Object.keys(c.parts).sort(), `${c.name}: logged parts`);
      for (const [k, v] of Object.entries(c.parts)) closeEnough(out.parts[k]!, v, `${c.name}: part ${k}`);
      if (c.state_out) {
        assert.deepEqual(Object.keys(state.numbers).sort(), Object.keys(c.state_out).sort(), `${c.name}: state keys`);
        for (const [k, v] of Object.entries(c.state_out)) closeEnough(state.numbers[k]!, v, `${c.name}: state ${k}`);
      }
      const expected = grads[`grad.${c.name}`]!;
      const got = model.params.get(fx.grad_param)!.grad;
      assert.ok(got, `${c.name}: no gradient reached ${fx.grad_param}`);
      torch.tidy(() => {
        const scale = expected.abs().max().item();
        const diff = got.sub(expected).abs().max().item();
        assert.ok(scale > 0, `${c.name}: the reference gradient is zero`);
        assert.ok(diff <= 2e-5 * scale, `${c.name}: gradient max |diff| ${diff} vs max |grad| ${scale} (relative ${diff / scale})`);
      });
    } finally {
      for (const p of model.parameters()) p.grad = null;
      torch.dispose([...owned, ...state.tensors.values()]);
    }
  });
}

test('RMU setup: a control vector of norm steering_coeff from the seed, the middle layer, down_proj of l-2..l trainable', () => {
  const rmu = getMethod('RMU');
  const run = (given: Record<string, unknown>, seed: number) => {
    const state: MethodState = { tensors: new Map(), numbers: {} };
    const trained: string[] = [];
    rmu.setup!({ args: resolveArgs(rmu, given) as never, model, seed, state, trainOnly: (p) => trained.push(...p) });
    const u = state.tensors.get(CONTROL_VECTOR)!;
    const values = u.toArray() as number[];
    u.dispose();
    return { values, trained };
  };
  const a = run({}, 3);
  assert.equal(a.values.length, model.config.hiddenSize);
  closeEnough(Math.hypot(...a.values), 300, 'norm of u (default steering_coeff 300)');
  assert.ok(
    a.values.every((v) => v >= 0),
    'u = c·r/‖r‖ with r ~ U[0,1) has no negative entry',
  );
  assert.deepEqual(a.trained, ['model.layers.0.mlp.down_proj.weight'], 'llama-tiny (2 layers): layer 0, its down_proj');
  assert.deepEqual(run({}, 3).values, a.values, 'same seed, same u');
  assert.notDeepEqual(run({}, 4).values, a.values, 'another seed, another u');
  closeEnough(Math.hypot(...run({ steering_coeff: 6.5 }, 3).values), 6.5, 'norm of u with steering_coeff 6.5');
  assert.deepEqual(run({ trainable_params: ['model.layers.*.mlp.up_proj.weight'] }, 3).trained, ['model.layers.*.mlp.up_proj.weight']);
  assert.deepEqual([rmuLayer(32, -1), rmuLayer(16, -1), rmuLayer(2, -1), rmuLayer(32, 7)], [15, 7, 0, 7]);
  assert.deepEqual(rmuTrainable(model, 1), ['model.layers.0.mlp.down_proj.weight', 'model.layers.1.mlp.down_proj.weight']);
  const named = (names: string[]) => ({ params: new Map(names.map((n) => [n, null])) }) as unknown as CausalLM;
  const llama8 = named(Array.from({ length: 8 }, (_, i) => `model.layers.${i}.mlp.down_proj.weight`));
  assert.deepEqual(
    rmuTrainable(llama8, rmuLayer(8, -1)),
    [1, 2, 3].map((i) => `model.layers.${i}.mlp.down_proj.weight`),
    '8 layers: layer 3, down_proj of 1..3',
  );
  const gpt2 = named(Array.from({ length: 12 }, (_, i) => `transformer.h.${i}.mlp.c_proj.weight`));
  assert.deepEqual(
    rmuTrainable(gpt2, 7),
    [5, 6, 7].map((i) => `transformer.h.${i}.mlp.c_proj.weight`),
    'GPT-2: c_proj',
  );
  assert.throws(() => run({ layer: 1 }, 3), /forget: 'layer' must be -1 or a decoder layer from 0 to 0 .*got 1/);
});

test('argument errors name the method, the argument and what was expected', () => {
  const npo = getMethod('NPO');
  assert.throws(
    () => resolveArgs(npo, { bta: '0.1' }),
    (e: Error) => {
      assert.match(e.message, /method NPO has no argument 'bta' \(it takes gamma, alpha, retain_loss_type, beta\)/);
      return true;
    },
  );
  assert.throws(() => resolveArgs(npo, { beta: 'abc' }), { message: "forget: 'beta' must be a number, got 'abc'" });
  assert.throws(() => resolveArgs(getMethod('RMU'), { layer: '1.5' }), /'layer' of method RMU/);
  assert.throws(() => resolveArgs(getMethod('UNDIAL'), { retain_loss_type: 'MSE' }), /'retain_loss_type' of method UNDIAL/);
  assert.throws(
    () => getMethod('RMUU'),
    (e: Error) => {
      assert.match(e.message, /unknown unlearning method 'RMUU' \(known: .*\)/);
      for (const n of [
        'GradAscent',
        'GradDiff',
        'NPO',
        'SimNPO',
        'DPO',
        'IdkDPO',
        'IdkNLL',
        'UNDIAL',
        'RMU',
        'CEU',
        'SatImp',
        'WGA',
        'PDU',
      ])
        assert.ok(e.message.includes(n), `lists ${n}`);
      return true;
    },
  );
  assert.deepEqual(resolveArgs(getMethod('RMU'), { trainable_params: 'a.*, b.**' }).trainable_params, ['a.*', 'b.**']);
  for (const m of listMethods()) {
    assert.ok(m.description.length > 20 && !m.description.includes('\n'), `${m.name}: a one-line description`);
    methodDefaults(m); // every argument has a default
  }
});

test('at least 100 distinct, natural "I don\'t know" answers', () => {
  assert.ok(IDK_ANSWERS.length >= 100, `${IDK_ANSWERS.length} answers`);
  assert.equal(new Set(IDK_ANSWERS.map((a) => a.toLowerCase())).size, IDK_ANSWERS.length, 'all distinct');
  for (const a of IDK_ANSWERS) {
    assert.match(a, /^[A-Z"']/, `starts like a sentence: ${a}`);
    assert.match(a, /[.!]$/, `ends like a sentence: ${a}`);
    assert.doesNotMatch(a, /^\d|#\d|\{|\}/, `no numbering or template slots: ${a}`);
  }
  const openings = new Set(IDK_ANSWERS.map((a) => a.split(/\s+/).slice(0, 2).join(' ')));
  assert.ok(openings.size >= 60, `varied openings: only ${openings.size} different first two words`);
  assert.equal(idkAnswer(IDK_ANSWERS.length + 2), IDK_ANSWERS[2]);
});
