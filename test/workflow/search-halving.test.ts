// The recipe search's successive halving as a pure function over hand-made score curves (lower is
// better): where rungs end, who stops at which rung (by best score so far, ties to the earlier
// candidate, infeasible scores last), who wins; and how candidates are drawn from a method's grid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { betterHalf, evaluationSteps, halvingSteps, rungEnds, successiveHalving } from '../../src/workflow/search/halving.js';
import { candidateGrid, pickCandidates } from '../../src/workflow/search/candidates.js';
import { getMethod } from '../../src/unlearn/index.js';
import '../../src/unlearn/methods/index.js';

/** Runs the halving over curves[c][k] = candidate c's score at evaluation step k + 1 (every step evaluated). */
async function halve(curves: number[][], rungs: number[]) {
  const trained: [number, number][] = [];
  const trace = await successiveHalving(curves.length, rungs, async (id, until) => {
    trained.push([id, until]);
    return Math.min(...curves[id]!.slice(0, until).map((v) => (Number.isNaN(v) ? Infinity : v)));
  });
  return { ...trace, trained };
}

test('halving: rungs end at the evaluations nearest ¼ and ½ of the steps, then the last', () => {
  assert.deepEqual(rungEnds(200, 10), [50, 100, 200]);
  assert.deepEqual(rungEnds(8, 1), [2, 4, 8]);
  assert.deepEqual(evaluationSteps(10, 2), [2, 4, 6, 8, 10]);
  assert.deepEqual(rungEnds(10, 2), [2, 4, 10], '2.5 → 2; 5 is as near 4 as 6: the earlier');
  assert.deepEqual(rungEnds(7, 3), [3, 7], 'evaluations at 3, 6, 7: ¼ and ½ both nearest 3');
  assert.equal(halvingSteps(8, [50, 100, 200]), 8 * 50 + 4 * 50 + 2 * 100);
  assert.equal(halvingSteps(5, [2, 4, 8]), 5 * 2 + 3 * 2 + 2 * 4);
});

test('halving: the better half by best-so-far goes on, the winner has trained to the end', async () => {
  // 8 steps, rungs at 2, 4, 8. c0 starts well then gets worse (its best so far still counts);
  // c3 is slow to start but best at the end; c5 is infeasible throughout (scores above 1).
  const curves = [
    [0.3, 0.1, 0.6, 0.7, 0.8, 0.8, 0.9, 0.9], // c0: best 0.1 at step 2
    [0.5, 0.45, 0.4, 0.35, 0.3, 0.3, 0.3, 0.3], // c1
    [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], // c2
    [0.4, 0.4, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01], // c3
    [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1], // c4
    [1.5, 1.4, 1.3, 1.2, 1.1, 1.1, 1.1, 1.1], // c5 infeasible
    [0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6], // c6
    [0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95], // c7
  ];
  const t = await halve(curves, [2, 4, 8]);
  assert.deepEqual(t.rounds, [
    [0, 1, 2, 3, 4, 5, 6, 7],
    [0, 1, 3, 6], // best at step 2: c0 0.1, c3 0.4, c1 0.45, c6 0.6 (c4 0.7, c2 0.9, c7 0.95, c5 1.4 stop)
    [0, 3], // by step 4: c0 0.1, c3 0.15, c1 0.35, c6 0.6
  ]);
  assert.deepEqual(t.stoppedAt, [8, 4, 2, 8, 2, 2, 4, 2]);
  assert.equal(t.winner, 3, 'c3 reaches 0.01 by step 8; c0 stays at 0.1');
  assert.deepEqual(t.alive, [3]);
  assert.deepEqual(
    t.trained.filter(([, u]) => u === 8).map(([id]) => id),
    [0, 3],
  );
});

test('halving: ties go to the earlier candidate; NaN (no evaluation) and infeasible scores rank last', async () => {
  assert.deepEqual(
    betterHalf(
      new Map([
        [0, 0.2],
        [1, 0.1],
        [2, 0.1],
        [3, 0.3],
      ]),
    ),
    [1, 2],
  );
  assert.deepEqual(
    betterHalf(
      new Map([
        [4, NaN],
        [1, 1.2],
        [2, 0.9],
      ]),
    ),
    [2, 1],
    'ceil(3/2) = 2 go on',
  );
  const tied = await halve(
    [
      [0.5, 0.5],
      [0.5, 0.5],
      [0.5, 0.5],
    ],
    [1, 2],
  );
  assert.deepEqual(tied.rounds, [
    [0, 1, 2],
    [0, 1],
  ]);
  assert.equal(tied.winner, 0);
  // All infeasible: the smallest violation wins.
  const infeasible = await halve(
    [
      [1.3, 1.3],
      [1.1, 1.05],
      [1.2, 1.0],
    ],
    [1, 2],
  );
  assert.equal(infeasible.winner, 2);
  // One candidate: it is the winner after training to the end.
  const one = await halve([[0.4, 0.3]], [1, 2]);
  assert.deepEqual([one.winner, one.stoppedAt[0]], [0, 2]);
});

test('candidates: the method grid without what the user fixed; a seeded subset spread over it', () => {
  const npo = getMethod('NPO');
  const grid = candidateGrid(npo, { args: {} });
  assert.equal(grid.length, npo.search!.lr.length * npo.search!.args!.beta!.length);
  assert.deepEqual(grid[0], { lr: npo.search!.lr[0], args: { beta: npo.search!.args!.beta![0] } });
  assert.deepEqual(
    candidateGrid(npo, { lr: 2e-4, args: { beta: 0.3 } }),
    [{ lr: 2e-4, args: {} }],
    'a given --lr and --set beta leave nothing to search',
  );
  // A method without a search space of its own: the generic learning rates, default arguments.
  assert.deepEqual(
    candidateGrid(getMethod('GradAscent'), { args: {} }).map((c) => c.lr),
    [3e-5, 1e-4, 3e-4, 1e-3],
  );
  const big = Array.from({ length: 12 }, (_, k) => ({ lr: k, args: {} }));
  const a = pickCandidates(big, 4, 7);
  assert.deepEqual(a, pickCandidates(big, 4, 7), 'same seed, same subset');
  assert.equal(a.length, 4);
  a.forEach((c, k) => assert.ok(c.lr >= 3 * k && c.lr < 3 * (k + 1), `one from each stretch of 3: ${a.map((x) => x.lr)}`));
  assert.deepEqual(pickCandidates(big, 20, 1), big);
});
