// `lethe forget --search`: picks a recipe (lr × the method's key argument) by successive halving
// along training, each candidate evaluated every epoch by the two-sided criterion (or forget quality
// against a retain model) with keep-best; candidates train one after another in this process, rung
// by rung, through the loop's checkpoints (pause at the rung's end, resume for the next rung). The
// candidates live under OUT/.search/ (removed at the end); OUT receives the winner's model, its
// unlearning.json (with the search recorded), search.json (every candidate) and recipe.json (what
// `lethe forget --config OUT/recipe.json` re-runs to the same weights).
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { readJsonFile } from '../../util/json-file.js';
import { readJsonl } from '../../util/jsonl.js';
import { join } from 'node:path';
import { LetheError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { sha256, sha256File } from '../../util/hash.js';
import { checkOutputDir, claimOutputDir } from '../../util/output.js';
import { readRows } from '../../train/examples.js';
import { stepsPerEpoch } from '../../train/batches.js';
import { finishedRun, hasCheckpoint } from '../../train/loop.js';
import { isDataParallel } from '../../train/parallel.js';
import { forget, getMethod, resolveArgs, type ForgetOptions } from '../../unlearn/index.js';
import { GENERIC_TRAINING } from '../../unlearn/method.js';
import { SEARCH_SCORE, checkCriterion, readSearchData, searchCriterion, type Criterion } from '../../eval/search-criterion.js';
import { candidateGrid, describeCandidate, pickCandidates, type Candidate } from './candidates.js';
import { evaluationSteps, halvingSteps, rungEnds, successiveHalving, type HalvingTrace } from './halving.js';
import { RECIPE_KIND, type Recipe } from './recipe.js';

export const DEFAULT_BUDGET = 8;
/** A chosen recipe whose membership AUCs are further than this from 0.5 gets a warning. */
export const MIA_TOLERANCE = 0.1;

export interface RecipeSearchOptions extends Omit<ForgetOptions, 'evaluation' | 'pauseAt' | 'progress'> {
  holdoutFile: string;
  utilityTextFile?: string;
  criterion?: Criterion;
  retainModelDir?: string;
  /** Candidates in the first rung. */
  budget?: number;
}

/** One candidate's record in search.json. */
export interface CandidateRecord extends Candidate {
  /** The last step it trained to; where it stopped. */
  step: number;
  stopped: boolean;
  seconds: number;
  best: { step: number; score: number } | null;
  /** Every evaluation: its step and terms (search_score among them). */
  evaluations: { step: number; terms: Record<string, number> }[];
}

export interface SearchRecord {
  job: string;
  method: string;
  criterion: Criterion;
  budget: number;
  gridSize: number;
  totalSteps: number;
  evalEvery: number;
  rungs: number[];
  candidates: CandidateRecord[];
  rounds: number[][];
  winner: number | null;
  /** Seconds over every run of the search (resumed ones added), and steps trained. */
  seconds: number;
  steps: number;
  baseline: Record<string, number>;
}

export interface SearchPlan {
  dryRun: true;
  method: string;
  candidates: Candidate[];
  gridSize: number;
  totalSteps: number;
  evalEvery: number;
  rungs: number[];
  /** Steps trained over the whole halving. */
  stepBudget: number;
}

export interface SearchResult {
  outDir: string;
  recipe: Recipe;
  search: SearchRecord;
}

const candidateDir = (out: string, id: number) => join(out, '.search', `c${id}`);

/** The evaluations the loop logged in a candidate's train_log.jsonl (a resumed run's log has each step once). */
function loggedEvaluations(dir: string): CandidateRecord['evaluations'] {
  const log = join(dir, 'train_log.jsonl');
  if (!existsSync(log)) return [];
  return readJsonl<{ step: number; eval?: Record<string, number> }>(log, { what: 'search candidate log', allowEmpty: true })
    .filter((e) => e.eval)
    .map((e) => ({ step: e.step, terms: e.eval! }));
}

/** The terms of a candidate's best evaluation (the one keep-best kept), or null before any. */
function termsAtBest(c: CandidateRecord): Record<string, number> | null {
  return c.evaluations.find((e) => e.step === c.best?.step)?.terms ?? null;
}

/** The first best evaluation (what keep-best keeps: a later tie does not replace it). */
function bestOf(evaluations: CandidateRecord['evaluations']): CandidateRecord['best'] {
  let best: CandidateRecord['best'] = null;
  for (const e of evaluations) {
    const score = e.terms[SEARCH_SCORE]!;
    if (!best || score < best.score) best = { step: e.step, score };
  }
  return best;
}

export async function recipeSearch(o: RecipeSearchOptions & { dryRun: true }): Promise<SearchPlan>;
export async function recipeSearch(o: RecipeSearchOptions): Promise<SearchResult>;
export async function recipeSearch(o: RecipeSearchOptions): Promise<SearchResult | SearchPlan> {
  const report = o.report ?? ((l: string) => process.stderr.write(`${l}\n`));
  const method = getMethod(o.method);
  if (method.procedure)
    throw new LetheError(
      'BAD_INPUT',
      `forget: --search needs a gradient method (one loss on the training loop); ${method.name} is a procedure of its own`,
    );
  if (isDataParallel()) throw new LetheError('BAD_INPUT', 'forget: --search trains its candidates in one process; run it without --nproc');
  if (!o.holdoutFile)
    throw new LetheError(
      'BAD_INPUT',
      'forget: --search needs --holdout FILE ({"question","answer"} rows of similar records the model never saw)',
    );
  const criterion = checkCriterion(o.criterion, o.retainModelDir);
  const budget = o.budget ?? DEFAULT_BUDGET;
  if (!(Number.isInteger(budget) && budget >= 1))
    throw new LetheError('BAD_INPUT', `forget: --search BUDGET must be a positive integer, got ${budget}`);
  const fixedArgs = o.args ?? {};
  resolveArgs(method, fixedArgs); // the user's --set values, checked before anything runs

  // Every candidate trains as long: 2 × the method's epochs (or --epochs / --steps), evaluated every epoch.
  const rows = [o.forgetFile, ...(o.alsoForget ?? [])].reduce((n, f) => n + readRows(f, 'forget', o.fields).rows.length, 0);
  const batchSize = Math.min(o.batchSize ?? 8, rows);
  const perEpoch = stepsPerEpoch(rows, batchSize);
  const epochs = o.steps === undefined ? (o.epochs ?? 2 * (method.training ?? GENERIC_TRAINING).epochs) : undefined;
  const totalSteps = o.steps ?? Math.max(1, Math.round(epochs! * perEpoch));
  const evalEvery = Math.max(1, Math.min(perEpoch, Math.floor(totalSteps / 4)));
  const rungs = rungEnds(totalSteps, evalEvery);
  const grid = candidateGrid(method, { lr: o.lr, args: fixedArgs });
  const candidates = pickCandidates(grid, budget, o.seed ?? 0);
  const chosen = candidates.length < grid.length ? `${candidates.length} of a grid of ${grid.length}` : `all ${grid.length}`;
  report(
    `[search] ${method.name}: ${chosen} candidates, ${totalSteps} steps each at most (evaluated every ${evalEvery}: ${evaluationSteps(totalSteps, evalEvery).length} points), rungs end at steps ${rungs.join(', ')}; ${halvingSteps(candidates.length, rungs)} steps in all`,
  );
  candidates.forEach((c, k) => report(`[search]   c${k}: ${describeCandidate(c)}`));
  const claim = {
    what: 'forget --search',
    overwrite: o.overwrite,
    resume: o.resume,
    resumable: (d: string) => existsSync(join(d, '.search')),
    inputs: [
      { name: 'the input model folder --model', path: o.modelDir },
      { name: '--forget', path: o.forgetFile },
      ...(o.retainFile ? [{ name: '--retain', path: o.retainFile }] : []),
      { name: '--holdout', path: o.holdoutFile },
      ...(o.utilityTextFile ? [{ name: '--utility-text', path: o.utilityTextFile }] : []),
      ...(o.retainModelDir ? [{ name: '--retain-model', path: o.retainModelDir }] : []),
    ],
  };
  if (o.dryRun) {
    readSearchData({ ...o, every: evalEvery }, report);
    report(`[search] dry run: nothing trained; --out ${o.outDir}: ${checkOutputDir(o.outDir, claim)}`);
    return {
      dryRun: true,
      method: method.name,
      candidates,
      gridSize: grid.length,
      totalSteps,
      evalEvery,
      rungs,
      stepBudget: halvingSteps(candidates.length, rungs),
    };
  }
  const evaluation = await searchCriterion({
    modelDir: o.modelDir,
    forgetFile: o.forgetFile,
    retainFile: o.retainFile,
    holdoutFile: o.holdoutFile,
    utilityTextFile: o.utilityTextFile,
    criterion,
    retainModelDir: o.retainModelDir,
    every: evalEvery,
    format: o.format,
    fields: o.fields,
    device: o.device,
    maxLength: o.maxLength,
    report,
  });
  const job = sha256(
    JSON.stringify({
      model: o.modelDir,
      method: method.name,
      fixedArgs,
      candidates,
      totalSteps,
      evalEvery,
      batchSize,
      seed: o.seed ?? 0,
      criterion,
      data: [o.forgetFile, o.retainFile, o.holdoutFile, o.utilityTextFile].map((f) => (f ? sha256File(f) : null)),
    }),
  );
  const use = claimOutputDir(o.outDir, claim);
  mkdirSync(join(o.outDir, '.search'), { recursive: true });
  const searchJson = join(o.outDir, 'search.json');
  let record: SearchRecord = {
    job,
    method: method.name,
    criterion,
    budget,
    gridSize: grid.length,
    totalSteps,
    evalEvery,
    rungs,
    candidates: candidates.map((c) => ({ ...c, step: 0, stopped: false, seconds: 0, best: null, evaluations: [] })),
    rounds: [],
    winner: null,
    seconds: 0,
    steps: 0,
    baseline: evaluation.baseline,
  };
  if (use === 'resume' && existsSync(searchJson)) {
    const saved = readJsonFile(searchJson, 'BAD_CHECKPOINT') as SearchRecord;
    if (saved.job !== job)
      throw new LetheError(
        'BAD_CHECKPOINT',
        `forget --search: ${o.outDir} holds another search (other candidates, data, length or criterion); run it as it was started, or choose another --out`,
      );
    record = saved;
    report(`[search] resuming: ${record.candidates.filter((c) => c.step > 0).length} candidates have trained`);
  }
  const save = () => writeFileAtomic(searchJson, `${JSON.stringify(record, null, 2)}\n`);
  save();
  const started = Date.now();
  const secondsBefore = record.seconds;

  const advance = async (id: number, until: number): Promise<number> => {
    const c = record.candidates[id]!;
    const dir = candidateDir(o.outDir, id);
    // Already there (a resumed search), or finished before search.json said so.
    if (c.step < until && finishedRun(dir) === null) {
      report(`[search] c${id} (${describeCandidate(c)}): steps ${c.step} → ${until}`);
      const r = await forget({
        ...o,
        lr: c.lr,
        epochs,
        steps: o.steps,
        args: { ...fixedArgs, ...c.args },
        outDir: dir,
        evaluation,
        pauseAt: until,
        resume: hasCheckpoint(dir),
        overwrite: !hasCheckpoint(dir),
      });
      c.seconds += r.seconds;
    }
    c.step = until;
    c.evaluations = loggedEvaluations(dir);
    c.best = bestOf(c.evaluations);
    record.seconds = secondsBefore + (Date.now() - started) / 1000;
    save();
    return c.best?.score ?? NaN;
  };
  const afterRung = (t: HalvingTrace) => {
    record.rounds = t.rounds;
    for (const id of t.rounds.at(-1)!) record.candidates[id]!.stopped = !t.alive.includes(id);
    save();
  };
  const trace = await successiveHalving(record.candidates.length, rungs, advance, afterRung);
  record.winner = trace.winner;
  record.steps = record.candidates.reduce((s, c) => s + c.step, 0);
  record.seconds = secondsBefore + (Date.now() - started) / 1000;
  const win = record.candidates[trace.winner]!;
  const winnerDir = candidateDir(o.outDir, trace.winner);
  const resolved = resolveArgs(method, { ...fixedArgs, ...win.args });
  const recipe: Recipe = {
    kind: RECIPE_KIND,
    method: method.name,
    args: resolved,
    training: {
      lr: win.lr,
      ...(epochs !== undefined ? { epochs } : { steps: totalSteps }),
      batchSize,
      seed: o.seed ?? 0,
      evalEvery,
      keepBest: `${SEARCH_SCORE}:min`,
    },
    criterion: {
      name: criterion,
      holdoutSha256: sha256File(o.holdoutFile),
      utilityTextSha256: o.utilityTextFile ? sha256File(o.utilityTextFile) : null,
      retainModel: criterion === 'forget_quality',
    },
  };
  // The winner's output becomes OUT's; its unlearning.json records how the recipe was chosen.
  for (const name of readdirSync(winnerDir)) renameSync(join(winnerDir, name), join(o.outDir, name));
  const unlearning = readJsonFile(join(o.outDir, 'unlearning.json')) as { requests: Record<string, unknown>[] };
  const t = termsAtBest(win);
  unlearning.requests.at(-1)!.search = {
    recipe,
    best: win.best,
    terms: t,
    candidates: record.candidates.length,
    gridSize: grid.length,
    steps: record.steps,
    seconds: record.seconds,
  };
  writeFileAtomic(join(o.outDir, 'unlearning.json'), `${JSON.stringify(unlearning, null, 2)}\n`, { fsync: true });
  writeFileAtomic(join(o.outDir, 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
  save();
  rmSync(join(o.outDir, '.search'), { recursive: true, force: true });
  report(formatSearchTable(record));
  if (t && (t.violation! > 0 || t.mia! > MIA_TOLERANCE))
    report(
      `[search] warning: the chosen recipe ${t.violation! > 0 ? `breaks the utility constraints (violation ${t.violation!.toFixed(3)})` : `leaves the forget rows distinguishable from the holdout (membership AUC: LOSS ${t.auc_loss!.toFixed(3)}, Min-K% ${t.auc_mink!.toFixed(3)}; 0.5 = not at all)`}: no candidate did better; try a larger BUDGET, more --epochs, or another method`,
    );
  return { outDir: o.outDir, recipe, search: record };
}

/** The candidates as a table (stderr at the end of a search). */
export function formatSearchTable(r: SearchRecord): string {
  const lines = [`[search] ${r.method}, criterion ${r.criterion}: ${r.steps} steps in ${r.seconds.toFixed(1)} s`];
  lines.push(
    `  ${'cand'.padEnd(5)}${'recipe'.padEnd(32)}${'steps'.padStart(6)}${'best at'.padStart(9)}${'score'.padStart(9)}${'AUC loss'.padStart(10)}${'AUC mink'.padStart(10)}${'retain×'.padStart(9)}`,
  );
  r.candidates.forEach((c, k) => {
    const t = termsAtBest(c) ?? {};
    const f = (v: number | undefined, d = 3) => (v === undefined ? '-' : v.toFixed(d));
    lines.push(
      `  ${`${k === r.winner ? '*' : ' '}c${k}`.padEnd(5)}${describeCandidate(c).padEnd(32)}${String(c.step).padStart(6)}${String(c.best?.step ?? '-').padStart(9)}${f(c.best?.score).padStart(9)}${f(t.auc_loss).padStart(10)}${f(t.auc_mink).padStart(10)}${f(t.retain_ratio).padStart(9)}`,
    );
  });
  return lines.join('\n');
}
