// Ops against known values: hand-checkable ones inline, the rest from PyTorch 1.13
// (ref/ops_reference.json, made by ref/make_ops_reference.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { torch } from '../../src/index.js';
import { repoRoot } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/close.js';

const ref = JSON.parse(readFileSync(join(repoRoot, 'test/torch/ref/ops_reference.json'), 'utf8'));
const f64 = (v: unknown) => torch.tensor(v as number[], { dtype: 'float64' });
const close = (t: torch.Tensor, expected: unknown, what: string, tol = 1e-12) =>
  assertClose(t.toArray(), expected, { atol: tol, rtol: tol, what });

test('creation: zeros, ones, full, arange, linspace, eye, like', () => {
  assert.deepEqual(torch.zeros([2, 2]).toArray(), [
    [0, 0],
    [0, 0],
  ]);
  assert.deepEqual(torch.ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
  assert.equal(torch.ones([3], { dtype: 'int32' }).dtype, 'int32');
  assert.deepEqual(torch.full([2], 7).toArray(), [7, 7]);
  assert.equal(torch.full([2], 7).dtype, 'int64');
  assert.equal(torch.full([2], 0.5).dtype, 'float32');
  assert.deepEqual(torch.arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.equal(torch.arange(5).dtype, 'int64');
  assert.deepEqual(torch.arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.equal(torch.arange(1, 2, 0.25).dtype, 'float32');
  assert.deepEqual(torch.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(torch.eye(2).toArray(), [
    [1, 0],
    [0, 1],
  ]);
  const x = torch.tensor([[1.5, 2]], { dtype: 'float64' });
  assert.deepEqual(torch.zerosLike(x).toArray(), [[0, 0]]);
  assert.equal(torch.onesLike(x).dtype, 'float64');
  assert.deepEqual(torch.fullLike(x, 3).toArray(), [[3, 3]]);
  assert.equal(torch.zeros([2], { requiresGrad: true }).requiresGrad, true);
});

test('dtypes: every dtype converts and reads back', () => {
  const values = [0, 1, 2, 100];
  for (const dtype of torch.DTYPES) {
    const t = torch.tensor(values, { dtype });
    assert.equal(t.dtype, dtype);
    const expected = dtype === 'bool' ? values.map((v) => v !== 0) : values;
    assert.deepEqual(t.toArray(), expected, dtype);
    assert.deepEqual(t.to('float64').toArray(), dtype === 'bool' ? [0, 1, 1, 1] : values, `${dtype} → float64`);
  }
  assert.equal(torch.tensor([1.5]).to('bfloat16').to('float32').item(), 1.5);
  assert.equal(
    torch
      .tensor([1 / 3])
      .to('float16')
      .item(),
    0.333251953125,
  );
  assert.equal(
    torch
      .tensor([1 / 3])
      .to('bfloat16')
      .item(),
    0.333984375,
  );
  const big = torch.tensor([2 ** 40 + 1], { dtype: 'int64' });
  assert.equal((big.data() as BigInt64Array)[0], BigInt(2 ** 40 + 1));
});

test('tensor(): typed arrays, shape option, ragged input is an error', () => {
  const t = torch.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(t.toArray(), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(torch.tensor(new Int32Array([7, 8])).toArray(), [7, 8]);
  assert.equal(torch.tensor(new Int32Array([7, 8])).dtype, 'int32');
  assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged|length 2/);
  assert.throws(() => torch.tensor(new Float32Array(5), { shape: [2, 3] }), /20 bytes.*24/);
  assert.equal(torch.tensor(3.5).item(), 3.5);
  assert.deepEqual(torch.tensor(3.5).shape, []);
});

test('elementwise math and type promotion with JS numbers', () => {
  const a = torch.tensor([1, 2, 3]);
  assert.deepEqual(a.add(1).toArray(), [2, 3, 4]);
  assert.equal(a.add(1).dtype, 'int64');
  assert.equal(a.mul(0.5).dtype, 'float32');
  assert.deepEqual(a.mul(0.5).toArray(), [0.5, 1, 1.5]);
  assert.deepEqual(torch.add(a, a, 2).toArray(), [3, 6, 9]);
  assert.deepEqual(torch.sub(a, 1).toArray(), [0, 1, 2]);
  assert.deepEqual(torch.div(a, 2).toArray(), [0.5, 1, 1.5]);
  assert.deepEqual(torch.div(torch.tensor([-7, 7]), 2, 'floor').toArray(), [-4, 3]);
  assert.deepEqual(torch.div(torch.tensor([-7, 7]), 2, 'trunc').toArray(), [-3, 3]);
  assert.deepEqual(torch.pow(a, 2).toArray(), [1, 4, 9]);
  assert.deepEqual(torch.remainder(torch.tensor([-3, 5]), 3).toArray(), [0, 2]);
  const h = torch.tensor([1, 2], { dtype: 'float16' });
  assert.equal(h.mul(2.5).dtype, 'float16', 'a JS number does not promote a float16 tensor');
  const f = torch.tensor([0.25, 4], { dtype: 'float64' });
  close(torch.sqrt(f), [0.5, 2], 'sqrt');
  close(torch.rsqrt(f), [2, 0.5], 'rsqrt');
  close(torch.log2(f), [-2, 2], 'log2');
  close(torch.exp(torch.log(f)), [0.25, 4], 'exp∘log');
  close(torch.reciprocal(f), [4, 0.25], 'reciprocal');
  close(torch.neg(f).abs(), [0.25, 4], 'neg/abs');
  close(torch.sigmoid(torch.tensor([0], { dtype: 'float64' })), [0.5], 'sigmoid');
  close(torch.tanh(torch.tensor([0], { dtype: 'float64' })), [0], 'tanh');
  close(torch.relu(torch.tensor([-1, 2], { dtype: 'float64' })), [0, 2], 'relu');
  close(torch.floor(torch.tensor([-1.5, 1.5], { dtype: 'float64' })), [-2, 1], 'floor');
  close(torch.ceil(torch.tensor([-1.5, 1.5], { dtype: 'float64' })), [-1, 2], 'ceil');
  close(torch.round(torch.tensor([0.5, 1.5, 2.5], { dtype: 'float64' })), [0, 2, 2], 'round half to even');
  close(torch.clamp(torch.tensor([-2, 0.5, 3], { dtype: 'float64' }), -1, 1), [-1, 0.5, 1], 'clamp');
  close(torch.clamp(torch.tensor([-2, 3], { dtype: 'float64' }), null, 1), [-2, 1], 'clamp max only');
  close(torch.maximum(f, torch.tensor([1, 1], { dtype: 'float64' })), [1, 4], 'maximum');
  close(torch.lerp(f, torch.zerosLike(f), 0.5), [0.125, 2], 'lerp');
  close(torch.erf(torch.tensor([0], { dtype: 'float64' })), [0], 'erf');
  close(torch.square(f), [0.0625, 16], 'square');
});

test('comparisons, logic and where', () => {
  const a = torch.tensor([1, 2, 3]);
  assert.deepEqual(a.gt(1).toArray(), [false, true, true]);
  assert.deepEqual(a.le(2).toArray(), [true, true, false]);
  assert.deepEqual(a.eq(torch.tensor([1, 0, 3])).toArray(), [true, false, true]);
  assert.deepEqual(a.ne(2).toArray(), [true, false, true]);
  assert.deepEqual(torch.logicalAnd(a.gt(1), a.lt(3)).toArray(), [false, true, false]);
  assert.deepEqual(torch.logicalNot(a.gt(1)).toArray(), [true, false, false]);
  assert.deepEqual(torch.where(a.gt(1), a, 0).toArray(), [0, 2, 3]);
  assert.deepEqual(torch.where(a.gt(1), 1.5, a).toArray(), [1, 1.5, 1.5]);
  assert.deepEqual(torch.isnan(torch.tensor([NaN, 1])).toArray(), [true, false]);
  assert.deepEqual(torch.isfinite(torch.tensor([Infinity, 1])).toArray(), [false, true]);
  assert.equal(torch.equal(a, torch.tensor([1, 2, 3])), true);
  assert.equal(torch.allclose(torch.tensor([1], { dtype: 'float32' }), torch.tensor([1 + 1e-7], { dtype: 'float32' })), true);
});

test('reductions match PyTorch', () => {
  const x = f64(ref.x);
  assert.equal(x.sum().item(), 5.25);
  close(x.sum(1), [1.25, 4], 'sum dim 1');
  close(x.sum([0, 1], true), [[5.25]], 'sum dims keepdim');
  close(x.mean(0), [1, -0.5, 0.625, 1.5], 'mean dim 0');
  assert.equal(torch.max(x).item(), 3);
  assert.equal(torch.min(x).item(), -1.25);
  const m = torch.max(x, 1);
  close(m.values, [2, 3], 'max values');
  assert.deepEqual(m.indices.toArray(), [2, 3]);
  assert.deepEqual(x.min(1, true).indices.toArray(), [[1], [2]]);
  assert.deepEqual(x.argmax(1).toArray(), [2, 3]);
  assert.equal(x.argmax().item(), 7);
  assert.deepEqual(x.argmin(0).toArray(), [0, 0, 1, 0]);
  close(torch.amax(x, 1), [2, 3], 'amax');
  close(torch.amin(x, [0, 1]), -1.25, 'amin');
  close(torch.logsumexp(x, 1), ref.logsumexp_1, 'logsumexp');
  close(torch.var(x, 1), ref.var_1, 'var');
  close(torch.var(x, 1, false), ref.var_1_biased, 'var biased');
  close(torch.std(x), ref.std_all, 'std');
  close(torch.norm(x), ref.norm, 'norm');
  close(torch.norm(x, 1, 1), ref.norm_p1_dim1, 'norm p=1 dim 1');
  close(torch.cumsum(x, 1), ref.cumsum_1, 'cumsum');
  const tk = torch.topk(x, 2, 1);
  close(tk.values, ref.topk_2_1.values, 'topk values');
  assert.deepEqual(tk.indices.toArray(), ref.topk_2_1.indices);
  const so = torch.sort(x, 1, true);
  close(so.values, ref.sort_1_desc.values, 'sort values');
  assert.deepEqual(so.indices.toArray(), ref.sort_1_desc.indices);
  assert.equal(torch.prod(torch.tensor([2, 3, 4])).item(), 24);
  assert.equal(torch.all(torch.tensor([true, false])).item(), 0);
  assert.equal(torch.any(torch.tensor([true, false])).item(), 1);
  assert.equal(torch.sum(torch.tensor([true, true, false])).item(), 2);
  assert.equal(torch.sum(torch.tensor([1, 2]), null, false, { dtype: 'float64' }).dtype, 'float64');
});

test('shape ops', () => {
  const a = torch.arange(6);
  const m = a.reshape([2, 3]);
  assert.deepEqual(m.toArray(), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  assert.deepEqual(a.view([3, 2]).shape, [3, 2]);
  assert.deepEqual(m.transpose(0, 1).toArray(), [
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  assert.equal(m.transpose(0, 1).isContiguous(), false);
  assert.equal(m.transpose(0, 1).contiguous().isContiguous(), true);
  assert.deepEqual(torch.zeros([2, 3, 4]).permute([2, 0, 1]).shape, [4, 2, 3]);
  assert.deepEqual(torch.zeros([1, 3, 1]).squeeze().shape, [3]);
  assert.deepEqual(torch.zeros([1, 3, 1]).squeeze(0).shape, [3, 1]);
  assert.deepEqual(torch.zeros([3]).unsqueeze(-1).shape, [3, 1]);
  assert.deepEqual(
    torch
      .tensor([[1], [2]])
      .expand([2, 3])
      .toArray(),
    [
      [1, 1, 1],
      [2, 2, 2],
    ],
  );
  assert.deepEqual(torch.zeros([2, 3, 4]).flatten(1).shape, [2, 12]);
  assert.deepEqual(torch.tensor([1, 2]).repeat([2]).toArray(), [1, 2, 1, 2]);
  assert.deepEqual(torch.tensor([1, 2]).repeatInterleave(2).toArray(), [1, 1, 2, 2]);
  assert.deepEqual(torch.cat([torch.tensor([1]), torch.tensor([2, 3])]).toArray(), [1, 2, 3]);
  assert.deepEqual(torch.stack([torch.tensor([1, 2]), torch.tensor([3, 4])], 1).toArray(), [
    [1, 3],
    [2, 4],
  ]);
  assert.deepEqual(
    a.split(4).map((t) => t.toArray()),
    [
      [0, 1, 2, 3],
      [4, 5],
    ],
  );
  assert.deepEqual(
    a.split([1, 5]).map((t) => t.shape),
    [[1], [5]],
  );
  assert.deepEqual(
    a.chunk(3).map((t) => t.toArray()),
    [
      [0, 1],
      [2, 3],
      [4, 5],
    ],
  );
  assert.deepEqual(
    m.unbind(1).map((t) => t.toArray()),
    [
      [0, 3],
      [1, 4],
      [2, 5],
    ],
  );
  assert.deepEqual(a.narrow(0, 2, 3).toArray(), [2, 3, 4]);
  assert.deepEqual(m.select(1, 2).toArray(), [2, 5]);
  assert.deepEqual(a.slice(0, 1, null, 2).toArray(), [1, 3, 5]);
  assert.deepEqual(m.indexSelect(1, torch.tensor([2, 0])).toArray(), [
    [2, 0],
    [5, 3],
  ]);
  assert.deepEqual(m.gather(1, torch.tensor([[0], [2]])).toArray(), [[0], [5]]);
  assert.deepEqual(
    torch
      .zeros([2, 3])
      .scatter(1, torch.tensor([[1], [2]]), 9)
      .toArray(),
    [
      [0, 9, 0],
      [0, 0, 9],
    ],
  );
  assert.deepEqual(
    torch
      .zeros([3], { dtype: 'int64' })
      .scatter(0, torch.tensor([2]), torch.tensor([5]))
      .toArray(),
    [0, 0, 5],
  );
  assert.deepEqual(
    torch
      .zeros([3], { dtype: 'int64' })
      .scatterAdd(0, torch.tensor([1, 1]), torch.tensor([2, 3]))
      .toArray(),
    [0, 5, 0],
  );
  assert.deepEqual(m.maskedFill(m.gt(3), -1).toArray(), [
    [0, 1, 2],
    [3, -1, -1],
  ]);
  assert.deepEqual(torch.ones([3, 3], { dtype: 'int64' }).triu(1).toArray(), [
    [0, 1, 1],
    [0, 0, 1],
    [0, 0, 0],
  ]);
  assert.deepEqual(torch.ones([2, 2], { dtype: 'int64' }).tril().toArray(), [
    [1, 0],
    [1, 1],
  ]);
  assert.deepEqual(a.flip([0]).toArray(), [5, 4, 3, 2, 1, 0]);
  assert.deepEqual(a.roll([1], [0]).toArray(), [5, 0, 1, 2, 3, 4]);
  assert.deepEqual(torch.oneHot(torch.tensor([0, 2]), 3).toArray(), [
    [1, 0, 0],
    [0, 0, 1],
  ]);
  assert.deepEqual(torch.maskedSelect(a, a.gt(3)).toArray(), [4, 5]);
  assert.deepEqual(torch.nonzero(torch.tensor([0, 3, 0, 1])).toArray(), [[1], [3]]);
  assert.equal(m.size(-1), 3);
  assert.equal(m.ndim, 2);
  assert.equal(m.numel(), 6);
});

test('matmul, bmm, linear', () => {
  const a = torch.tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { dtype: 'float64' },
  );
  const b = torch.tensor(
    [
      [5, 6],
      [7, 8],
    ],
    { dtype: 'float64' },
  );
  assert.deepEqual(torch.matmul(a, b).toArray(), [
    [19, 22],
    [43, 50],
  ]);
  assert.deepEqual(torch.mm(a, b).toArray(), [
    [19, 22],
    [43, 50],
  ]);
  assert.deepEqual(torch.matmul(a, torch.tensor([1, 1], { dtype: 'float64' })).toArray(), [3, 7]);
  assert.deepEqual(torch.bmm(a.unsqueeze(0), b.unsqueeze(0)).toArray(), [
    [
      [19, 22],
      [43, 50],
    ],
  ]);
  // linear: x @ W^T + b, W stored [out, in] as nn.Linear does.
  const w = torch.tensor(
    [
      [1, 0],
      [0, 2],
      [1, 1],
    ],
    { dtype: 'float64' },
  );
  assert.deepEqual(torch.linear(a, w, torch.tensor([0.5, 0, -1], { dtype: 'float64' })).toArray(), [
    [1.5, 4, 2],
    [3.5, 8, 6],
  ]);
  assert.deepEqual(torch.linear(a, w).shape, [2, 3]);
  assert.deepEqual(torch.outer(torch.tensor([1, 2]), torch.tensor([3, 4])).toArray(), [
    [3, 4],
    [6, 8],
  ]);
});

test('neural-network functional ops match PyTorch', () => {
  const x = f64(ref.x);
  const w = f64(ref.w);
  const b = f64(ref.b);
  close(torch.layerNorm(x, [4], w, b), ref.layer_norm, 'layerNorm', 1e-10);
  close(torch.rmsNorm(x, [4], w, 1e-6), ref['rms_norm_eps1e-6'], 'rmsNorm', 1e-10);
  close(torch.softmax(x, -1), ref.softmax, 'softmax');
  close(torch.logSoftmax(x, 0), ref.log_softmax0, 'logSoftmax');
  close(torch.gelu(x), ref.gelu, 'gelu');
  close(torch.gelu(x, 'tanh'), ref.gelu_tanh, 'gelu tanh');
  close(torch.silu(x), ref.silu, 'silu');
  close(torch.softplus(x), ref.softplus, 'softplus');
  close(torch.logsigmoid(x), ref.logsigmoid, 'logsigmoid');
  const logits = f64(ref.logits);
  const target = torch.tensor(ref.target as number[]);
  close(torch.crossEntropy(logits, target), ref.ce_mean, 'crossEntropy mean (ignoreIndex -100)');
  close(torch.crossEntropy(logits, target, { reduction: 'none' }), ref.ce_none, 'crossEntropy none');
  close(torch.crossEntropy(logits, target, { reduction: 'sum' }), ref.ce_sum, 'crossEntropy sum');
  close(torch.crossEntropy(logits, target, { labelSmoothing: 0.1 }), ref['ce_label_smoothing_0.1'], 'crossEntropy label smoothing');
  close(torch.nllLoss(torch.logSoftmax(logits, -1), target), ref.ce_mean, 'nllLoss');
  const p = torch.logSoftmax(logits, -1);
  const q = torch.softmax(logits.flip([0]), -1);
  close(torch.klDiv(p, q, { reduction: 'batchmean' }), ref.kl_batchmean, 'klDiv batchmean');
  close(torch.klDiv(p, q), ref.kl_mean, 'klDiv mean');
  close(torch.klDiv(p, q.log(), { reduction: 'sum', logTarget: true }), ref.kl_sum_log_target, 'klDiv logTarget');
  close(torch.mseLoss(x, x.flip([1])), ref.mse, 'mseLoss');
  close(torch.binaryCrossEntropyWithLogits(x, torch.sigmoid(x.flip([0]))), ref.bce_logits, 'bce with logits');
  const table = torch.tensor(
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
    { dtype: 'float64' },
  );
  assert.deepEqual(torch.embedding(torch.tensor([[2, 0]]), table).toArray(), [
    [
      [5, 6],
      [1, 2],
    ],
  ]);
});

test('scaledDotProductAttention matches the PyTorch math (causal; boolean mask with scale)', () => {
  const q = f64(ref.sdpa_q);
  const k = f64(ref.sdpa_k);
  const v = f64(ref.sdpa_v);
  close(torch.scaledDotProductAttention(q, k, v, { isCausal: true }), ref.sdpa_causal, 'causal', 1e-10);
  const keyMask = torch.tensor([true, true, false]);
  close(torch.scaledDotProductAttention(q, k, v, { attnMask: keyMask, scale: 0.3 }), ref['sdpa_keymask_scale0.3'], 'masked', 1e-10);
  assert.throws(() => torch.scaledDotProductAttention(q, k, v, { isCausal: true, attnMask: keyMask }), /either attnMask or isCausal/);
});

test('manualSeed reproduces PyTorch random streams', () => {
  torch.manualSeed(42);
  assertClose(torch.randn([5]).toArray(), ref.randn_seed42_5, { atol: 1e-7, rtol: 0, what: 'randn' });
  torch.manualSeed(42);
  assertClose(torch.rand([3]).toArray(), ref.rand_seed42_3, { atol: 1e-7, rtol: 0, what: 'rand' });
  torch.manualSeed(1);
  const a = torch.randint(0, 10, [20]);
  torch.manualSeed(1);
  assert.deepEqual(torch.randint(0, 10, [20]).toArray(), a.toArray());
  assert.ok((a.toArray() as number[]).every((v) => v >= 0 && v < 10));
  assert.deepEqual(torch.randperm(5).sort(0).values.toArray(), [0, 1, 2, 3, 4]);
});

test('dropout: identity in eval, scales kept elements in training', () => {
  const x = torch.ones([1000], { dtype: 'float64' });
  assert.deepEqual(torch.dropout(x, 0.5, false).toArray(), x.toArray() as number[]);
  const y = torch.dropout(x, 0.25, true).toArray() as number[];
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-12));
  const kept = y.filter((v) => v !== 0).length;
  assert.ok(kept > 650 && kept < 850, `kept ${kept} of 1000 at p=0.25`);
});

test('in-place ops return the same tensor object', () => {
  const a = torch.zeros([3]);
  assert.equal(a.add_(2), a);
  assert.equal(a.mul_(3), a);
  assert.deepEqual(a.toArray(), [6, 6, 6]);
  assert.equal(a.fill_(1), a);
  assert.deepEqual(a.copy_(torch.tensor([1, 2, 3])).toArray(), [1, 2, 3]);
  assert.deepEqual(a.clamp_(1.5, 2.5).toArray(), [1.5, 2, 2.5]);
  assert.deepEqual(a.zero_().toArray(), [0, 0, 0]);
});
