// Training data: labels of padded batches and of QA examples token by token (-100 on padding and
// on the prompt), and batch assembly (every example once per epoch, no batch dropped, batches that
// change from epoch to epoch, deterministic by seed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch, IGNORE_INDEX, type Tokenizer } from '../../src/index.js';
import { batchAt, collate, packBlocks, type Example } from '../../src/train/batches.js';
import { encodeQa } from '../../src/eval/qa.js';

const X = IGNORE_INDEX;

test('collate: right-padded ids, labels -100 on every pad, given labels kept, token count without pads', () => {
  const batch: Example[] = [{ ids: [5, 6, 7] }, { ids: [8, 9, 10, 11, 12], labels: [X, X, 10, 11, 12] }, { ids: [13], labels: [13] }];
  const { ids, labels, tokens } = collate(batch, 0);
  assert.deepEqual(ids.toArray(), [
    [5, 6, 7, 0, 0],
    [8, 9, 10, 11, 12],
    [13, 0, 0, 0, 0],
  ]);
  assert.deepEqual(labels.toArray(), [
    [5, 6, 7, X, X],
    [X, X, 10, 11, 12],
    [13, X, X, X, X],
  ]);
  assert.equal(ids.dtype, 'int64');
  assert.equal(labels.dtype, 'int64');
  assert.equal(tokens, 9);
  // The pad id is a real token id (often EOS): labels must not be the padded ids.
  const eosPad = collate([{ ids: [1, 2] }, { ids: [3, 4, 5, 6] }], 2);
  assert.deepEqual(eosPad.labels.toArray(), [
    [1, 2, X, X],
    [3, 4, 5, 6],
  ]);
  torch.dispose([ids, labels, eosPad.ids, eosPad.labels]);
});

test('QA examples as training builds them: loss on the answer tokens (and EOS) only', async () => {
  // One token per character, so every position is known by hand.
  const tok = { encode: async (t: string) => [...t].map((c) => c.charCodeAt(0)) } as unknown as Tokenizer;
  const qa = await encodeQa(tok, 'Who?', 'Ada');
  const prompt = 'Question: Who?\nAnswer:';
  assert.equal(qa.promptLength, prompt.length);
  // What src/train/run-data.ts's qaExamples does with it (ids + EOS; -100 below promptLength).
  const ids = [...qa.ids, 0];
  const labels = ids.map((t, k) => (k < qa.promptLength ? X : t));
  const { labels: l } = collate([{ ids, labels }, { ids: [1, 2] }], 0);
  const row = (l.toArray() as number[][])[0]!;
  assert.deepEqual(row, [...new Array<number>(prompt.length).fill(X), ...' Ada'.split('').map((c) => c.charCodeAt(0)), 0]);
  l.dispose();
});

/** The batches of `epochs` epochs of n examples of varied lengths, as example numbers; an epoch has ceil(n/B) steps. */
function epochs(n: number, bs: number, count: number, seed: number): number[][][] {
  const examples: Example[] = Array.from({ length: n }, (_, i) => ({ ids: [i, ...new Array<number>((i * 7) % 13).fill(1)] }));
  const k = Math.ceil(n / bs);
  return Array.from({ length: count }, (_, e) =>
    Array.from({ length: k }, (_, s) => batchAt(examples, bs, e * k + s, seed).map((x) => x.ids[0]!)),
  );
}

const compositions = (epoch: number[][]) => epoch.map((b) => [...b].sort((x, y) => x - y).join(',')).sort();

test('batchAt: every example exactly once per epoch for n < B, n = B, n mod B ≠ 0 and n > 16·B; no batch dropped', () => {
  const bs = 8;
  for (const n of [3, 8, 20, 16 * bs + 13]) {
    for (const [e, epoch] of epochs(n, bs, 3, 7).entries()) {
      assert.deepEqual(
        epoch.flat().sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
        `n ${n}, epoch ${e}: every row once`,
      );
      // ceil(n/B) batches of at most B rows whose sizes differ by at most one: the rows B leaves over are trained on.
      const sizes = epoch.map((b) => b.length);
      assert.ok(
        sizes.every((x) => x >= 1 && x <= bs),
        `n ${n}: batch sizes ${sizes}`,
      );
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n ${n}: batch sizes ${sizes} are balanced`);
      if (n % bs)
        assert.ok(
          sizes.some((x) => x < bs),
          `n ${n}: a short batch is trained on`,
        );
    }
  }
  assert.throws(() => batchAt([], bs, 0, 1), /at least one example/);
});

test('batchAt: which rows train together changes from epoch to epoch, deterministic by seed', () => {
  const bs = 8;
  for (const n of [9, 20, 16 * bs + 13, 200]) {
    const [e0, e1, e2] = epochs(n, bs, 3, 7);
    assert.notDeepEqual(compositions(e1!), compositions(e0!), `n ${n}: epochs 0 and 1 batch other rows together`);
    assert.notDeepEqual(compositions(e2!), compositions(e1!), `n ${n}: epochs 1 and 2 too`);
    assert.deepEqual(epochs(n, bs, 3, 7), [e0, e1, e2], `n ${n}: same seed, same batches`);
    assert.notDeepEqual(epochs(n, bs, 1, 8)[0], e0, `n ${n}: another seed, other batches`);
  }
});

test('batchAt: rows of similar length train together in a large set (little padding)', () => {
  // 400 rows of lengths 1..40 at B 8: a batch's rows come from one window of 4 batches of a
  // length-sorted group of 16, so the spread within a batch is far below that of random batches.
  const n = 400;
  const bs = 8;
  const examples: Example[] = Array.from({ length: n }, (_, i) => ({ ids: new Array<number>(1 + ((i * 17) % 40)).fill(i) }));
  const spread = (b: Example[]) => Math.max(...b.map((e) => e.ids.length)) - Math.min(...b.map((e) => e.ids.length));
  const mean = Array.from({ length: n / bs }, (_, s) => spread(batchAt(examples, bs, s, 1))).reduce((a, b) => a + b, 0) / (n / bs);
  assert.ok(mean < 15, `mean length spread in a batch ${mean}`);
});

test('packBlocks: documents joined with EOS, cut into full blocks', () => {
  const blocks = packBlocks(
    [
      [1, 2, 3],
      [4, 5],
      [6, 7, 8, 9],
    ],
    4,
    0,
  );
  assert.deepEqual(
    blocks.map((b) => b.ids),
    [
      [1, 2, 3, 0],
      [4, 5, 0, 6],
      [7, 8, 9, 0],
    ],
  );
  assert.ok(
    blocks.every((b) => b.labels === undefined),
    'labels default to the ids',
  );
});
