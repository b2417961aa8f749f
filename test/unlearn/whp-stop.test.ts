import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { torch, loadModel } from '../../src/index.js';
import { forget } from '../../src/unlearn/index.js';
import { agreementOf, forgotten, greedyNextTokens } from '../../src/unlearn/methods/whp-stop.js';
import { retainSlice } from '../../src/unlearn/methods/whp.js';
import { PEOPLE, personText, tinyModel, writeJsonl } from './tiny.js';
import { withTempDir } from '../helpers/tmp.js';

const X = -100;

test('WHP stop rule: agreement with the original text and with the generic labels, counted by hand; the rule against the start', () => {
  // Example 0: positions 1..4 labelled except 3; example 1: position 2 labelled. predicted[i][p] follows ids[0..p].
  const examples = [
    { ids: [5, 6, 7, 8, 9], labels: [X, 6, 1, X, 9] },
    { ids: [4, 3, 2], labels: [X, X, 2] },
  ];
  const predicted = [
    [6, 2, 7, 8, 0], // after 5 → 6 (= text), after 6 → 2 (≠ 7), [3 not labelled], after 8 → 8 (≠ 9)
    [0, 2, 0], // after 3 → 2 (= text)
  ];
  // Labelled positions: (0,1) (0,2) (0,4) (1,2) = 4. Text matches: (0,1), (1,2) = 2. Label = text: (0,1), (0,4), (1,2) = 3.
  assert.deepEqual(agreementOf(examples, predicted), { text: 0.5, labels: 0.75, positions: 4 });
  assert.deepEqual(agreementOf([{ ids: [1, 2], labels: [X, X] }], [[0, 0]]), { text: 0, labels: 0, positions: 0 });
  const start = { text: 0.9, labels: 0.1, positions: 10 };
  assert.equal(forgotten({ text: 0.5, labels: 0.1, positions: 10 }, start, 0.5), true, 'half of the excess of 0.8');
  assert.equal(forgotten({ text: 0.52, labels: 0.1, positions: 10 }, start, 0.5), false);
  assert.equal(forgotten({ text: 0.05, labels: 0.1, positions: 10 }, start, 0), true, 'below the labels');
  assert.equal(forgotten({ text: 0.6, labels: 0.3, positions: 10 }, start, 0.5), true, "the labels' agreement is read now");
});

test("WHP stop rule: greedy next tokens of padded batches equal each row's own forward pass", async () => {
  await withTempDir('lethe-whp-greedy-', async (dir) => {
    const model = loadModel(tinyModel(dir));
    try {
      const examples = [{ ids: [3, 17, 40, 2, 9, 11, 60] }, { ids: [8, 1] }, { ids: [21, 22, 23, 24] }];
      const got = greedyNextTokens(model, examples, 0, 'cpu', 2);
      const want = examples.map((e) =>
        torch.tidy(() =>
          torch.noGrad(
            () =>
              (
                model
                  .forward(torch.tensor([e.ids], { dtype: 'int64' }))
                  .logits.argmax(-1)
                  .toArray() as number[][]
              )[0]!,
          ),
        ),
      );
      assert.deepEqual(got, want);
    } finally {
      model.dispose();
    }
  });
});

test('WHP retain mix: each epoch takes fresh retain rows, a pass uses every row once, and the order is seeded', () => {
  const rows = Array.from({ length: 10 }, (_, i) => i);
  const pass = [0, 1, 2, 3, 4].flatMap((e) => retainSlice(rows, 2, e, 7));
  assert.deepEqual(
    [...pass].sort((a, b) => a - b),
    rows,
    'five epochs of 2 rows cover the 10 rows once',
  );
  assert.deepEqual(retainSlice(rows, 2, 5, 7), retainSlice(rows, 2, 0, 7), 'then it wraps');
  assert.deepEqual(retainSlice(rows, 3, 1, 7), retainSlice(rows, 3, 1, 7));
  assert.notDeepEqual(retainSlice(rows, 10, 0, 7), retainSlice(rows, 10, 0, 8), 'another seed, another order');
  assert.deepEqual(retainSlice(rows, 12, 0, 1).length, 12, 'more than there are: rows repeat');
  assert.deepEqual(retainSlice([], 3, 0, 1), []);
  assert.deepEqual(retainSlice(rows, 0, 0, 1), []);
});

test('WHP without --epochs trains epoch by epoch and stops by the rule; with --epochs it trains that long', async () => {
  await withTempDir('lethe-whp-stop-', async (dir) => {
    const model = tinyModel(dir);
    const f = writeJsonl(
      join(dir, 'forget.jsonl'),
      ['Ada', 'Bruno'].flatMap((p, i) => [0, 1, 2].map((k) => ({ text: personText(p, i + k) }))),
    );
    const r = writeJsonl(
      join(dir, 'retain.jsonl'),
      PEOPLE.slice(2).flatMap((p, i) => [0, 1, 2].map((k) => ({ text: personText(p, i + k + 2) }))),
    );
    const lines: string[] = [];
    await forget({
      modelDir: model,
      forgetFile: f,
      retainFile: r,
      method: 'WHP',
      args: { reinforce_epochs: '3', auto_terms: '2', epochs: '4', stop_at: '0.5' },
      outDir: join(dir, 'a'),
      lr: 3e-3,
      batchSize: 2,
      seed: 1,
      report: (l) => lines.push(l),
    });
    // Epoch 0 is the starting model; every later epoch but the last is above half its excess over the
    // labels; the last is within it (and says so) or is the cap's.
    const epochs = lines
      .map((l) => /^\[WHP\] epoch (\d+): .* at ([\d.]+)% of \d+ labelled positions, the generic labels agree with it at ([\d.]+)%/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ epoch: Number(m[1]), excess: Number(m[2]) - Number(m[3]) }));
    assert.ok(epochs.length >= 2 && epochs.length <= 5, lines.join('\n'));
    assert.deepEqual(
      epochs.map((e) => e.epoch),
      epochs.map((_, i) => i),
    );
    const half = epochs[0]!.excess / 2;
    for (const e of epochs.slice(1, -1)) assert.ok(e.excess > half - 0.1, JSON.stringify(e));
    const last = epochs.at(-1)!;
    if (last.excess <= half + 0.1)
      assert.ok(
        lines.some((l) => l.startsWith(`[WHP] stopped after epoch ${last.epoch}: `)),
        lines.join('\n'),
      );
    else assert.ok(last.epoch === 4 && lines.some((l) => /stopped at the cap of 4 epochs/.test(l)), lines.join('\n'));

    const fixed: string[] = [];
    await forget({
      modelDir: model,
      forgetFile: f,
      retainFile: r,
      method: 'WHP',
      args: { reinforce_epochs: '3', auto_terms: '2', stop_at: '0' },
      outDir: join(dir, 'b'),
      epochs: 2,
      batchSize: 2,
      seed: 1,
      report: (l) => fixed.push(l),
    });
    assert.ok(!fixed.some((l) => /^\[WHP\] (epoch|stopped)/.test(l)), fixed.join('\n'));
  });
});
