// Sharpness-aware minimisation (src/train/sam.ts) against float64 PyTorch (test/train/ref/make_sam_reference.py):
// the gradient taken at w + ρ·g/‖g‖ on the llama-tiny fixture, and the weights put back exactly; then
// `forget --sam` on the loop: the step's logged loss is the one at the weights, the update differs
// from a plain step, and the run records ρ (a resume without it is another job).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch, loadModel } from '../../src/index.js';
import { causalLmLoss } from '../../src/models/loss.js';
import { samAscend } from '../../src/train/sam.js';
import { forget } from '../../src/unlearn/forget.js';
import { requireFixture, requireRepoFixture } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyModel, writeJsonl, PEOPLE } from '../unlearn/tiny.js';

const ref = JSON.parse(readFileSync(requireRepoFixture('train', 'ref', 'sam_reference.json'), 'utf8')) as {
  ids: number[][];
  rho: number;
  loss: number;
  grad_norm: number;
  sam_loss: number;
  sam_grads: Record<string, number[][] | number[]>;
};

test('SAM: the gradient at w + ρ·g/‖g‖ matches float64 PyTorch, and the weights come back bit for bit', () => {
  const model = loadModel(requireFixture('llama-tiny'));
  try {
    const params = model.parameters();
    for (const p of params) p.requiresGrad = true;
    const ids = torch.tensor(ref.ids, { dtype: 'int64' });
    const lossAt = () =>
      torch.tidy(() => {
        const loss = causalLmLoss(model.forward(ids).logits, ids);
        loss.backward();
        return loss.item();
      });
    assertClose(lossAt(), ref.loss, { rtol: 1e-5, what: 'loss at w' });
    const before = params.map((p) => p.detach().clone());
    const back = samAscend(params, ref.rho);
    for (const p of params) p.grad?.zero_();
    assertClose(lossAt(), ref.sam_loss, { rtol: 1e-5, what: 'loss at the ascent point' });
    const named = new Map(model.namedParameters());
    for (const [name, expected] of Object.entries(ref.sam_grads))
      assertClose(named.get(name)!.grad!.toArray(), expected, { atol: 2e-5, rtol: 1e-3, what: `SAM gradient of ${name}` });
    back();
    params.forEach((p, k) =>
      assert.ok(
        torch.tidy(() => p.detach().eq(before[k]!).all().item()),
        'restored exactly',
      ),
    );
    torch.dispose(before);
  } finally {
    model.dispose();
  }
});

test('forget --sam: the logged loss is at the weights, the update is not a plain step, ρ is recorded', async () => {
  const dir = tempDir('lethe-sam-');
  const model = tinyModel(dir);
  const forgetFile = writeJsonl(
    join(dir, 'forget.jsonl'),
    PEOPLE.slice(0, 4).map((p, i) => ({ question: `Where does ${p} live?`, answer: `In room ${i}.` })),
  );
  const run = async (name: string, sam?: number) => {
    const outDir = join(dir, name);
    const r = await forget({
      modelDir: model,
      forgetFile,
      method: 'GradAscent',
      steps: 2,
      lr: 1e-3,
      outDir,
      report: () => {},
      ...(sam ? { sam } : {}),
    });
    const log = readFileSync(join(outDir, 'train_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step?: number; loss?: number });
    return { r, outDir, log: log.filter((l) => typeof l.loss === 'number') };
  };
  const plain = await run('plain');
  const sam = await run('sam', 0.05);
  assert.equal(sam.log[0]!.loss, plain.log[0]!.loss, 'step 1 starts from the same weights and reports the loss there');
  const weights = (d: string) => torch.loadSafetensors(join(d, 'model.safetensors')).tensors;
  const a = weights(plain.outDir);
  const b = weights(sam.outDir);
  const name = 'model.layers.0.self_attn.q_proj.weight';
  assert.ok(!torch.tidy(() => a[name]!.eq(b[name]!).all().item()), 'SAM changed the update');
  torch.dispose([...Object.values(a), ...Object.values(b)]);
  const record = JSON.parse(readFileSync(join(sam.outDir, 'unlearning.json'), 'utf8')) as { requests: { training: { sam?: number } }[] };
  assert.equal(record.requests.at(-1)!.training.sam, 0.05);
});
