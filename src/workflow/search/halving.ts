// Successive halving (η = 2) along training, as `lethe forget --search` runs it: every candidate
// trains towards the same number of steps; at each rung's end the better half by their best score
// so far (lower is better) goes on and the rest stop where they are. The candidate that wins has
// trained to the end, so its recipe re-runs it exactly. Pure: the training is the `advance` callback.
import { LetheError } from '../../util/errors.js';

/** The steps at which the loop evaluates: every `every` steps, and the last. */
export function evaluationSteps(totalSteps: number, every: number): number[] {
  const out: number[] = [];
  for (let s = every; s < totalSteps; s += every) out.push(s);
  return [...out, totalSteps];
}

/** Where the rungs end: the evaluation steps nearest ¼ and ½ of the steps (the earlier one on a tie),
 *  then the last step. Fewer rungs when evaluations are too sparse to tell them apart. */
export function rungEnds(totalSteps: number, every: number): number[] {
  const evals = evaluationSteps(totalSteps, every);
  const nearest = (target: number) => evals.reduce((best, s) => (Math.abs(s - target) < Math.abs(best - target) ? s : best), evals[0]!);
  return [...new Set([nearest(totalSteps / 4), nearest(totalSteps / 2), totalSteps])].sort((a, b) => a - b);
}

/** The better half (⌈n/2⌉) by best score so far; a tie goes to the earlier candidate; NaN ranks last. */
export function betterHalf(best: ReadonlyMap<number, number>): number[] {
  const key = (v: number) => (Number.isNaN(v) ? Infinity : v);
  const ranked = [...best].sort(([a, x], [b, y]) => key(x) - key(y) || a - b).map(([id]) => id);
  return ranked.slice(0, Math.ceil(ranked.length / 2));
}

export interface HalvingTrace {
  /** The candidates that trained in each rung. */
  rounds: number[][];
  /** The rung end each candidate stopped at (the last step for those that ran to the end). */
  stoppedAt: number[];
  /** Each candidate's best score over the steps it trained. */
  best: number[];
  /** Who goes on after the last rung run (the winner alone after the last rung). */
  alive: number[];
  winner: number;
}

/**
 * Runs successive halving over candidates 0..n-1 and rung ends `rungs`: `advance(id, until)` trains
 * candidate `id` up to step `until` (or finds it already there, after a resume) and returns its best
 * score so far. `afterRung` is called after each rung (to record progress).
 */
export async function successiveHalving(
  n: number,
  rungs: readonly number[],
  advance: (id: number, until: number) => Promise<number>,
  afterRung?: (trace: HalvingTrace) => void,
): Promise<HalvingTrace> {
  if (!(n >= 1) || !rungs.length) throw new LetheError('INTERNAL', 'successive halving needs at least one candidate and one rung');
  const trace: HalvingTrace = {
    rounds: [],
    stoppedAt: new Array<number>(n).fill(0),
    best: new Array<number>(n).fill(NaN),
    alive: [],
    winner: -1,
  };
  let alive = Array.from({ length: n }, (_, k) => k);
  for (const [r, until] of rungs.entries()) {
    trace.rounds.push([...alive]);
    const best = new Map<number, number>();
    for (const id of alive) {
      best.set(id, await advance(id, until));
      trace.best[id] = best.get(id)!;
      trace.stoppedAt[id] = until;
    }
    // After the last rung only the winner goes on (into the output); the others train in their order.
    const ranked = betterHalf(best);
    alive = r === rungs.length - 1 ? ranked.slice(0, 1) : ranked.sort((a, b) => a - b);
    trace.alive = [...alive];
    if (r === rungs.length - 1) trace.winner = alive[0]!;
    afterRung?.(trace);
  }
  return trace;
}

/** Steps trained in all by a halving over n candidates and these rung ends (the search's budget). */
export function halvingSteps(n: number, rungs: readonly number[]): number {
  let alive = n;
  let total = 0;
  let from = 0;
  for (const until of rungs) {
    total += alive * (until - from);
    from = until;
    alive = Math.ceil(alive / 2);
  }
  return total;
}
