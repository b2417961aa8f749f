// The recipe a search chose (O/recipe.json), which `lethe forget --config O/recipe.json` re-runs:
// the method, all its arguments, and the training that produced the winner's weights (lr, length,
// batch size, seed, and keep-best on the search score every evalEvery steps).
import { LetheError } from '../../util/errors.js';
import type { Criterion } from '../../eval/search-criterion.js';

export const RECIPE_KIND = 'lethe-recipe';

export interface Recipe {
  kind: typeof RECIPE_KIND;
  method: string;
  args: Record<string, unknown>;
  training: {
    lr: number;
    epochs?: number;
    steps?: number;
    batchSize: number;
    seed: number;
    evalEvery: number;
    keepBest: string;
  };
  /** What keep-best scores by: the re-run needs the same --holdout (and --utility-text, --retain-model). */
  criterion: { name: Criterion; holdoutSha256: string; utilityTextSha256: string | null; retainModel: boolean };
}

export function isRecipe(x: unknown): x is { kind: string } {
  return !!x && typeof x === 'object' && (x as { kind?: unknown }).kind === RECIPE_KIND;
}

/** A --config file's recipe, checked against the command's --method. */
export function checkRecipe(x: unknown, file: string, method: string): Recipe {
  const r = x as Partial<Recipe>;
  const t = r.training;
  const pos = (v: unknown) => typeof v === 'number' && v > 0 && Number.isFinite(v);
  if (
    typeof r.method !== 'string' ||
    !r.args ||
    typeof r.args !== 'object' ||
    !t ||
    !pos(t.lr) ||
    !(pos(t.epochs) || pos(t.steps)) ||
    !Number.isInteger(t.batchSize) ||
    !Number.isInteger(t.seed) ||
    !Number.isInteger(t.evalEvery) ||
    typeof t.keepBest !== 'string' ||
    !r.criterion
  )
    throw new LetheError(
      'BAD_INPUT',
      `--config ${file}: a recipe needs method, args, training {lr, epochs or steps, batchSize, seed, evalEvery, keepBest} and criterion (as \`lethe forget --search\` writes it)`,
    );
  if (r.method.toLowerCase() !== method.toLowerCase())
    throw new LetheError('BAD_INPUT', `--config ${file}: the recipe is for method ${r.method}, not --method ${method}`);
  return r as Recipe;
}
