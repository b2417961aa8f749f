// The recipes a search tries: the method's search space (its own, else GENERIC_SEARCH) as a grid of
// learning rates × key-argument values; what the user fixed (--lr, --set) is left out of the grid.
// A budget smaller than the grid takes a seeded subset spread evenly over it.
import { Rng } from '../../data/rng.js';
import { GENERIC_SEARCH, type MethodDefinition } from '../../unlearn/method.js';

export interface Candidate {
  lr: number;
  /** The searched arguments' values (the others: the user's, else the method's defaults). */
  args: Record<string, unknown>;
}

/** lr-major cartesian product of the learning rates and every searched argument's values. */
export function candidateGrid(method: MethodDefinition, fixed: { lr?: number; args: Record<string, unknown> }): Candidate[] {
  const space = method.search ?? GENERIC_SEARCH;
  const lrs = fixed.lr !== undefined ? [fixed.lr] : space.lr;
  let combos: Record<string, unknown>[] = [{}];
  for (const [name, values] of Object.entries(space.args ?? {})) {
    if (name in fixed.args) continue;
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return lrs.flatMap((lr) => combos.map((args) => ({ lr, args })));
}

/** `budget` candidates of the grid: all of it when it fits, else one from each of `budget` equal
 *  stretches of it, at a seeded offset (the same seed, the same choice). */
export function pickCandidates(grid: readonly Candidate[], budget: number, seed: number): Candidate[] {
  if (budget >= grid.length) return [...grid];
  const u = new Rng(seed).next();
  return Array.from({ length: budget }, (_, k) => grid[Math.floor(((k + u) * grid.length) / budget)]!);
}

/** "lr 1e-4, beta 0.15". */
export function describeCandidate(c: Candidate): string {
  return [`lr ${c.lr}`, ...Object.entries(c.args).map(([k, v]) => `${k} ${String(v)}`)].join(', ');
}
