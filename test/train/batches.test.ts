// Training data: labels of padded batches and of QA examples token by token (-100 on padding and
// on the prompt), and batch assembly (every example once per epoch, deterministic by seed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, IGNORE_INDEX, type Tokenizer } from '../../src/index.js';
import { batchAt, collate, packBlocks, type Example } from '../../src/train/batches.js';
import { encodeQa } from '../../src/eval/qa.js';

const X = IGNORE_INDEX;

test('collate: right-padded ids, labels -100 on every pad, given labels kept, token count without pads', () => {
  const batch: Example[] = [
    { ids: [5, 6, 7] },
    { ids: [8, 9, 10, 11, 12], labels: [X, X, 10, 11, 12] },
    { ids: [13], labels: [13] },
  ];
  const { ids, labels, tokens } = collate(batch, 0);
  assert.deepEqual(ids.toArray(), [[5, 6, 7, 0, 0], [8, 9, 10, 11, 12], [13, 0, 0, 0, 0]]);
  assert.deepEqual(labels.toArray(), [[5, 6, 7, X, X], [X, X, 10, 11, 12], [13, X, X, X, X]]);
  assert.equal(ids.dtype, 'int64');
  assert.equal(labels.dtype, 'int64');
  assert.equal(tokens, 9);
  // The pad id is a real token id (often EOS): labels must not be the padded ids.
  const eosPad = collate([{ ids: [1, 2] }, { ids: [3, 4, 5, 6] }], 2);
  assert.deepEqual(eosPad.labels.toArray(), [[1, 2, X, X], [3, 4, 5, 6]]);
  torch.dispose([ids, labels, eosPad.ids, eosPad.labels]);
});

test('QA examples as training builds them: loss on the answer tokens (and EOS) only', async () => {
  // One token per character, so every position is known by hand.
  const tok = { encode: async (t: string) => [...t].map((c) => c.charCodeAt(0)) } as unknown as Tokenizer;
  const qa = await encodeQa(tok, 'Who?', 'Ada');
  const prompt = 'Question: Who?\nAnswer:';
  assert.equal(qa.promptLength, prompt.length);
  // What src/train/pipeline.ts's qaExamples does with it (ids + EOS; -100 below promptLength).
  const ids = [...qa.ids, 0];
  const labels = ids.map((t, k) => (k < qa.promptLength ? X : t));
  const { labels: l } = collate([{ ids, labels }, { ids: [1, 2] }], 0);
  const row = (l.toArray() as number[][])[0]!;
  assert.deepEqual(row, [...new Array<number>(prompt.length).fill(X), ...' Ada'.split('').map((c) => c.charCodeAt(0)), 0]);
  l.dispose();
});

test('batchAt: every example exactly once per epoch, deterministic by seed, reshuffled each epoch', () => {
  const examples: Example[] = Array.from({ length: 200 }, (_, i) => ({ ids: [i, ...new Array<number>(i % 13).fill(1)] }));
  const bs = 4;
  const perEpoch = 50;
  const epoch = (seed: number, e: number) => Array.from({ length: perEpoch }, (_, s) => batchAt(examples, bs, e * perEpoch + s, seed).map((x) => x.ids[0]!));
  const e0 = epoch(7, 0);
  assert.ok(e0.every((b) => b.length === bs));
  assert.deepEqual(e0.flat().sort((a, b) => a - b), examples.map((_, i) => i), 'epoch 0 covers every example once');
  const e1 = epoch(7, 1);
  assert.deepEqual(e1.flat().sort((a, b) => a - b), examples.map((_, i) => i), 'epoch 1 too');
  assert.notDeepEqual(e1, e0, 'a new order each epoch');
  assert.deepEqual(epoch(7, 0), e0, 'same seed, same batches');
  assert.notDeepEqual(epoch(8, 0), e0, 'another seed, other batches');
  // Not a multiple of the batch size: each epoch drops fewer than one batch and repeats nothing.
  const odd = examples.slice(0, 37);
  const oddEpoch = Array.from({ length: 9 }, (_, s) => batchAt(odd, bs, s, 3)).flat().map((x) => x.ids[0]!);
  assert.equal(new Set(oddEpoch).size, 36);
  assert.throws(() => batchAt(examples.slice(0, 3), bs, 0, 1), /fewer than one batch/);
});

test('packBlocks: documents joined with EOS, cut into full blocks', () => {
  const blocks = packBlocks([[1, 2, 3], [4, 5], [6, 7, 8, 9]], 4, 0);
  assert.deepEqual(blocks.map((b) => b.ids), [[1, 2, 3, 0], [4, 5, 0, 6], [7, 8, 9, 0]]);
  assert.ok(blocks.every((b) => b.labels === undefined), 'labels default to the ids');
});
