// lethe forget end to end on the llama-tiny fixture: the input model and data are never modified,
// an interrupted run resumed gives the same weights, LoRA and saliency masks change only what they
// should, unlearning.json records the request (hashes, not data), and bad input is refused clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { torch, loadModel } from '../../src/index.js';
import { forget, parseMask } from '../../src/unlearn/index.js';
import { loadSafetensors } from '../../src/torch/safetensors.js';
import { requireFixture } from '../helpers/fixtures.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const hashDir = (d: string) => Object.fromEntries(readdirSync(d).map((f) => [f, sha(join(d, f))]));

function setup(): { dir: string; model: string; forgetFile: string; retainFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-forget-'));
  const model = join(dir, 'model');
  mkdirSync(model);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(requireFixture('llama-tiny', f), join(model, f));
  copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(model, 'tokenizer.json'));
  const qa = (q: string, a: string) => JSON.stringify({ question: q, answer: a, perturbed_answer: [`not ${a}`] });
  const forgetFile = join(dir, 'forget.jsonl');
  writeFileSync(
    forgetFile,
    [
      qa('Where does Ada live?', 'In Lyon.'),
      qa('What is her job?', 'She is a baker.'),
      qa('When was she born?', 'In 1970.'),
      qa('Who is her brother?', 'Tom Ode.'),
    ].join('\n') + '\n',
  );
  const retainFile = join(dir, 'retain.jsonl');
  writeFileSync(
    retainFile,
    [qa('Where does Bo live?', 'In Oslo.'), qa('What is his job?', 'He is a pilot.'), qa('When was he born?', 'In 1981.')].join('\n') +
      '\n',
  );
  return { dir, model, forgetFile, retainFile };
}

const weights = (dir: string) => loadSafetensors(join(dir, 'model.safetensors')).tensors;

test('forget: input untouched, output differs, unlearning.json records hashes; resume after a crash gives the same weights', async () => {
  const s = setup();
  try {
    const before = { model: hashDir(s.model), forget: sha(s.forgetFile), retain: sha(s.retainFile) };
    const base = {
      modelDir: s.model,
      forgetFile: s.forgetFile,
      retainFile: s.retainFile,
      method: 'NPO',
      steps: 8,
      batchSize: 2,
      lr: 1e-3,
      seed: 3,
      checkpointEvery: 4,
      report: () => {},
    };
    const live = torch.liveTensors();
    const a = await forget({ ...base, outDir: join(s.dir, 'a') });
    assert.deepEqual(
      { model: hashDir(s.model), forget: sha(s.forgetFile), retain: sha(s.retainFile) },
      before,
      'the input model and data are unchanged',
    );
    // Every weight but the embedding rows of tokens that the data never uses.
    assert.ok(
      a.parametersChanged > 0.7 * a.parametersTotal && a.parametersChanged < a.parametersTotal,
      `full fine-tuning changes most weights: ${a.parametersChanged}/${a.parametersTotal}`,
    );
    const rec = JSON.parse(readFileSync(join(s.dir, 'a', 'unlearning.json'), 'utf8'));
    assert.equal(rec.requests.length, 1);
    assert.equal(rec.requests[0].method, 'NPO');
    assert.equal(rec.requests[0].data.forget[0], before.forget);
    assert.ok(!readFileSync(join(s.dir, 'a', 'unlearning.json'), 'utf8').includes('Lyon'), 'no forget data in the record');
    const log = readFileSync(join(s.dir, 'a', 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(
      log.some((r) => typeof r.forget === 'number' && typeof r.retain === 'number'),
      'the forget and retain terms are logged',
    );

    // A crash at step 6 (after the checkpoint at 4), then --resume.
    await assert.rejects(
      forget({
        ...base,
        outDir: join(s.dir, 'b'),
        report: (l) => {
          if (/step 6\//.test(l)) throw new Error('simulated crash');
        },
      }),
      /simulated crash/,
    );
    assert.ok(existsSync(join(s.dir, 'b', 'checkpoint', 'trainable.safetensors')));
    const b = await forget({ ...base, outDir: join(s.dir, 'b'), resume: true });
    assert.equal(b.loop.resumedFrom, 4);
    assert.equal(sha(join(s.dir, 'b', 'model.safetensors')), sha(join(s.dir, 'a', 'model.safetensors')), 'resumed → identical weights');
    // A sequential request on the unlearned model extends the history.
    await forget({ ...base, modelDir: join(s.dir, 'a'), method: 'GradDiff', steps: 2, outDir: join(s.dir, 'c') });
    assert.deepEqual(
      JSON.parse(readFileSync(join(s.dir, 'c', 'unlearning.json'), 'utf8')).requests.map((r: { method: string }) => r.method),
      ['NPO', 'GradDiff'],
    );
    assert.equal(torch.liveTensors(), live, 'forget frees everything it made');
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('forget with LoRA changes only the adapters (PEFT folder), merged LoRA only the target modules; a saliency mask only the masked weights', async () => {
  const s = setup();
  try {
    const base = {
      modelDir: s.model,
      forgetFile: s.forgetFile,
      retainFile: s.retainFile,
      method: 'GradDiff',
      steps: 4,
      batchSize: 2,
      lr: 1e-2,
      seed: 1,
      report: () => {},
    };
    const lora = { r: 4, loraAlpha: 8, loraDropout: 0, targetModules: ['q_proj', 'v_proj'] };
    const r1 = await forget({ ...base, outDir: join(s.dir, 'lora'), lora });
    assert.ok(existsSync(join(s.dir, 'lora', 'adapter_model.safetensors')) && !existsSync(join(s.dir, 'lora', 'model.safetensors')));
    // Adapter sizes: q_proj A [4, 64] B [64, 4], v_proj A [4, 64] B [32, 4] (2 KV heads of 16), in 2 layers.
    const adapterElems = 2 * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4);
    assert.ok(
      r1.parametersChanged > 0 && r1.parametersChanged <= adapterElems,
      `adapters only: ${r1.parametersChanged} of at most ${adapterElems}`,
    );

    await forget({ ...base, outDir: join(s.dir, 'merged'), lora, merge: true });
    // The adapter folder loads as base + adapter (tokenizer beside it) and equals the merged run (same seed).
    assert.ok(existsSync(join(s.dir, 'lora', 'tokenizer.json')));
    const viaAdapter = loadModel(join(s.dir, 'lora'));
    const mergedModel = loadModel(join(s.dir, 'merged'));
    torch.tidy(() => {
      const ids = torch.tensor([[5, 17, 42, 99, 7, 3]], { dtype: 'int64' });
      const a = viaAdapter.forward(ids).logits;
      const b = mergedModel.forward(ids).logits;
      assert.ok(a.sub(b).abs().max().item() < 1e-4, 'adapter folder and merged weights give the same logits');
      const baseModel = loadModel(s.model);
      assert.ok(baseModel.forward(ids).logits.sub(a).abs().max().item() > 1e-4, 'the adapter changes the output');
      baseModel.dispose();
    });
    viaAdapter.dispose();
    mergedModel.dispose();
    const orig = weights(s.model);
    const merged = weights(join(s.dir, 'merged'));
    for (const [name, t] of Object.entries(orig)) {
      const moved = !torch.tidy(() => t.equal(merged[name]!));
      assert.equal(moved, /q_proj|v_proj/.test(name), `${name} ${moved ? 'changed' : 'unchanged'}`);
    }

    const r3 = await forget({ ...base, outDir: join(s.dir, 'masked'), mask: parseMask('saliency:p=0.05') });
    const masked = weights(join(s.dir, 'masked'));
    let changed = 0;
    let total = 0;
    for (const [name, t] of Object.entries(orig)) {
      const diff = torch.tidy(() => t.ne(masked[name]!).sum().item());
      if (t.ndim < 2) assert.equal(diff, 0, `${name}: norms stay frozen under a mask`);
      changed += diff;
      total += t.numel();
    }
    assert.ok(changed > 0 && changed <= Math.ceil(0.05 * total) + 64, `about 5% of the weights move: ${changed} of ${total}`);
    assert.equal(r3.parametersChanged, changed);
    torch.dispose([...Object.values(orig), ...Object.values(merged), ...Object.values(masked)]);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('forget refuses bad input with a message naming it', async () => {
  const s = setup();
  try {
    const base = {
      modelDir: s.model,
      forgetFile: s.forgetFile,
      retainFile: s.retainFile,
      method: 'NPO',
      steps: 1,
      outDir: join(s.dir, 'o'),
      report: () => {},
    };
    await assert.rejects(forget({ ...base, method: 'Nope' }), /unknown unlearning method 'Nope' \(known: .*NPO/);
    await assert.rejects(forget({ ...base, args: { beta: 'abc' } }), /forget: 'beta' must be a number, got 'abc'/);
    await assert.rejects(forget({ ...base, args: { betta: '1' } }), /method NPO has no argument 'betta'/);
    await assert.rejects(forget({ ...base, method: 'GradDiff', retainFile: undefined }), /GradDiff needs --retain/);
    const empty = join(s.dir, 'empty.jsonl');
    writeFileSync(empty, '\n');
    await assert.rejects(forget({ ...base, forgetFile: empty }), /forget file: .*empty\.jsonl holds no rows/);
    const bad = join(s.dir, 'bad.jsonl');
    writeFileSync(bad, '{"question": "q", "answer": "a"}\n{"prompt": "x"}\n');
    await assert.rejects(
      forget({ ...base, forgetFile: bad }),
      /bad\.jsonl:2: field 'text': expected a string \(or the fields "question" and "answer"; --fields maps other names\), got nothing/,
    );
    await assert.rejects(forget({ ...base, outDir: join(s.model, 'out') }), /overlaps the input model folder/);
    await assert.rejects(forget({ ...base, modelDir: join(s.dir, 'nothing') }), /is not a Hugging Face model folder/);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('the NaN guard stops, rolls back to the last good state and says so', async () => {
  const s = setup();
  try {
    // An absurd learning rate makes the loss non-finite within a few steps.
    const r = forget({
      modelDir: s.model,
      forgetFile: s.forgetFile,
      method: 'GradAscent',
      steps: 40,
      lr: 1e6,
      batchSize: 2,
      checkpointEvery: 2,
      outDir: join(s.dir, 'o'),
      report: () => {},
    });
    await assert.rejects(r, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'NON_FINITE_LOSS');
      // The weight-norm guard usually fires first (the weights explode before the loss overflows).
      assert.match(err.message, /(became (NaN|Infinity|-Infinity)|weights exploded).*rolled back to step \d+/);
      return true;
    });
    const log = readFileSync(join(s.dir, 'o', 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(
      log.some((e) => e.stopped),
      'the log says where it stopped',
    );
    if (existsSync(join(s.dir, 'o', 'checkpoint', 'trainable.safetensors'))) {
      const ck = loadSafetensors(join(s.dir, 'o', 'checkpoint', 'trainable.safetensors')).tensors;
      for (const t of Object.values(ck)) assert.ok(Number.isFinite(torch.tidy(() => t.abs().sum().item())), 'the kept state is finite');
      torch.dispose(Object.values(ck));
    }
    const m = loadModel(s.model);
    m.dispose();
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('periodic evaluation keeps the best state by its criterion', async () => {
  const s = setup();
  try {
    const snapshots = new Map<number, number[]>();
    const r = await forget({
      modelDir: s.model,
      forgetFile: s.forgetFile,
      retainFile: s.retainFile,
      method: 'GradDiff',
      steps: 6,
      batchSize: 2,
      lr: 1e-2,
      seed: 2,
      outDir: join(s.dir, 'o'),
      report: () => {},
      evaluation: {
        every: 2,
        // Best at step 4: the criterion is |step − 4|, minimised.
        run: async (model, step) => {
          snapshots.set(
            step,
            torch.tidy(() => model.params.get('model.layers.0.mlp.down_proj.weight')!.reshape([-1]).toArray() as number[]),
          );
          return { distance: Math.abs(step - 4) };
        },
        keepBest: { metric: 'distance', mode: 'min' },
      },
    });
    assert.deepEqual([...snapshots.keys()], [2, 4, 6]);
    assert.equal(r.loop.best?.step, 4);
    const saved = weights(join(s.dir, 'o'));
    const final = saved['model.layers.0.mlp.down_proj.weight']!.reshape([-1]).toArray() as number[];
    assert.deepEqual(final, snapshots.get(4), 'the saved weights are those of step 4');
    assert.notDeepEqual(final, snapshots.get(6));
    const log = readFileSync(join(s.dir, 'o', 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(log.filter((e) => e.eval).length, 3, 'each evaluation is logged');
    torch.dispose(Object.values(saved));
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
