// The one training loop: pretraining, fine-tuning and every unlearning method run through it. The
// caller gives the batches (a pure function of the step, so a resumed run sees exactly the batches
// of an uninterrupted one) and the loss; the loop owns AdamW, warmup + schedule, clipping, gradient
// masks, checkpoints and --resume, the guards against a run that diverges or silently does nothing
// (non-finite loss, gradients or weights, exploding weights, a gradient of exactly zero step after
// step), periodic evaluation that keeps the best state, the JSONL log and the progress line.
// Data-parallel (parallel.ts) when torch.distributed is initialised: the gradients are summed
// across ranks and only rank 0 writes.
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync, rmSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import { LetheError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { isDataParallel, isMainRank, onMainRank, reduceStep, syncStart } from './parallel.js';
import { watchInterrupt, type InterruptWatch } from './interrupt.js';
import { samAscend } from './sam.js';
import { PhaseClock } from './profile.js';

export interface OptimConfig {
  lr: number;
  weightDecay: number;
  betas?: [number, number];
  warmupSteps: number;
  /** Sharpness-aware minimisation radius ρ (./sam.ts); 0 or absent: plain steps. */
  samRho?: number;
  /** cosine (to minLrRatio × lr, default 0.1), linear (to 0) or constant after warmup. Default cosine. */
  schedule?: 'cosine' | 'linear' | 'constant';
  minLrRatio?: number;
  /** Gradient-norm clipping (default 1.0; 0 turns it off). */
  clipNorm?: number;
}

export interface LossOutput {
  loss: Tensor;
  /** Extra numbers to log (e.g. the forget and retain terms). */
  parts?: Record<string, number>;
}

export interface Evaluation {
  /** Evaluate every this many steps (and at the end). */
  every: number;
  run: (model: CausalLM, step: number) => Promise<Record<string, number>>;
  /** Keep the weights of the best evaluation by this criterion, instead of the last ones. */
  keepBest?: { metric: string; mode: 'min' | 'max' };
}

export interface LoopOptions<B> {
  name: string;
  model: CausalLM;
  totalSteps: number;
  /** The batch of step `step` (0-based); must depend on the step only. */
  batch: (step: number) => B | Promise<B>;
  /** The loss of one batch; the loop calls backward(). Runs inside torch.tidy. */
  loss: (batch: B, step: number) => Tensor | LossOutput;
  /** Frees what a batch holds (after its step). */
  release?: (batch: B) => void;
  /** Tokens a batch trains on (for tokens/s). */
  tokensOf?: (batch: B) => number;
  optim: OptimConfig;
  seed: number;
  outDir: string;
  /** Save a checkpoint every this many steps (0: never). */
  checkpointEvery: number;
  resume?: boolean;
  /** Ctrl-C stops the run after the current step with a checkpoint (INTERRUPTED) instead of killing it. */
  interruptible?: boolean;
  /** Identifies the job; a checkpoint of another job is refused on resume. */
  fingerprint?: string;
  /** What the fingerprint was made of (method, arguments, data hashes, steps...): kept with each
   *  checkpoint, so a resume that does not match says what differs. */
  job?: Record<string, unknown>;
  report?: (line: string) => void;
  /** Called after every step (awaited: a worker process uses it to let its event loop breathe). */
  progress?: (p: StepProgress) => void | Promise<void>;
  /** Per trainable parameter, a 0/1 tensor multiplied into its gradient (parameter isolation). */
  gradMasks?: Map<Tensor, Tensor>;
  /** State of the method beyond the weights (e.g. a dual variable), saved with checkpoints. */
  extraState?: { get: () => Record<string, number>; set: (s: Record<string, number>) => void };
  evaluation?: Evaluation;
  /** Writes the finished model into outDir. */
  save: (model: CausalLM, dir: string) => void;
  /** This rank trains a model of its own (a SISA shard): no gradient exchange, and it writes. */
  local?: boolean;
  /** Stop when the trainable weights' norm exceeds this many times its value at the start (default
   *  WEIGHT_GROWTH_LIMIT); null for a model trained from a fresh initialisation, whose weights grow. */
  weightGrowthLimit?: number | null;
  /** Stop after this step (its evaluation done) with a checkpoint, as an interruption does but without
   *  an error: a later run with `resume` continues it (a recipe search trains candidates rung by rung). */
  pauseAt?: number;
}

export interface StepProgress {
  step: number;
  totalSteps: number;
  loss: number;
  resumedFrom: number;
}

export interface LoopResult {
  steps: number;
  finalLoss: number;
  tokens: number;
  seconds: number;
  resumedFrom: number;
  /** The evaluation whose weights were kept, when keepBest was asked for. */
  best?: { step: number; metrics: Record<string, number> };
  /** Stopped at `pauseAt` with a checkpoint; no model was saved. */
  paused?: boolean;
  /** Seconds per phase of the steps (data, forward + loss, backward, sam, exchange, optimizer, evaluation, checkpoints, save, other). */
  profile: Record<string, number>;
}

interface TrainerState {
  name: string;
  step: number;
  tokens: number;
  seed: number;
  fingerprint: string;
  job?: Record<string, unknown>;
  extra?: Record<string, number>;
  best?: { step: number; metrics: Record<string, number>; value: number };
}

/** "a finished run of N steps" when `dir` holds a model the loop saved and no checkpoint; else null. */
export function finishedRun(dir: string): string | null {
  const log = join(dir, 'train_log.jsonl');
  if (hasCheckpoint(dir) || !existsSync(log) || !(existsSync(join(dir, 'config.json')) || existsSync(join(dir, 'adapter_config.json'))))
    return null;
  const steps = logLines(log)
    .map(stepOf)
    .filter((s): s is number => typeof s === 'number');
  return steps.length ? `a finished run of ${Math.max(...steps)} steps` : 'a finished run';
}

/** The non-blank lines of train_log.jsonl. */
const logLines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim());

/** A log line's step: a number, null for a line without one, undefined for a line cut short (not JSON). */
function stepOf(line: string): number | null | undefined {
  try {
    const s = (JSON.parse(line) as { step?: unknown }).step;
    return typeof s === 'number' ? s : null;
  } catch {
    return undefined;
  }
}

/** Whether `dir` holds a checkpoint of an interrupted run (what --resume continues; the loop checks it is this job's). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'checkpoint', 'trainer_state.json')) || existsSync(join(dir, '.work'));
}

/** The trainable tensors by name (what a checkpoint stores: all weights, LoRA adapters, or a masked subset). */
export function namedTrainable(model: CausalLM): Map<string, Tensor> {
  return new Map(model.namedParameters().filter(([, t]) => t.requiresGrad));
}

function saveTrainable(model: CausalLM, path: string): void {
  torch.saveSafetensors(path, Object.fromEntries(namedTrainable(model)));
}

function loadTrainable(model: CausalLM, path: string): void {
  const own = namedTrainable(model);
  const { tensors } = torch.loadSafetensors(path);
  try {
    for (const [name, t] of own) {
      const saved = tensors[name];
      if (!saved || saved.shape.join() !== t.shape.join())
        throw new LetheError(
          'BAD_CHECKPOINT',
          `${path}: no tensor '${name}' of shape [${t.shape}] (the checkpoint belongs to another model or adapter set)`,
        );
      torch.tidy(() =>
        torch.noGrad(() => {
          t.copy_(saved);
        }),
      );
    }
  } finally {
    torch.dispose(tensors);
  }
}

function saveOptimizer(opt: torch.optim.AdamW, path: string): void {
  const sd = opt.stateDict();
  const tensors: Record<string, Tensor> = {};
  const steps = sd.state.map((s, i) => {
    for (const [k, t] of Object.entries(s.tensors)) tensors[`state.${i}.${k}`] = t;
    return s.step;
  });
  torch.saveSafetensors(path, tensors, { optimizer: JSON.stringify({ steps, paramGroups: sd.paramGroups }) });
}

function loadOptimizer(opt: torch.optim.AdamW, path: string): void {
  const { tensors, metadata } = torch.loadSafetensors(path);
  const meta = JSON.parse(metadata.optimizer ?? '{}') as { steps: number[]; paramGroups: never };
  const state = meta.steps.map((step, i) => ({
    step,
    tensors: Object.fromEntries(
      ['expAvg', 'expAvgSq'].flatMap((k) => (tensors[`state.${i}.${k}`] ? [[k, tensors[`state.${i}.${k}`]!]] : [])),
    ),
  }));
  opt.loadStateDict({ state, paramGroups: meta.paramGroups });
  torch.dispose(tensors);
}

function makeSchedule(opt: torch.optim.AdamW, o: OptimConfig, totalSteps: number): torch.optim.LRScheduler {
  const warmupSteps = Math.min(o.warmupSteps, Math.max(0, totalSteps - 1));
  switch (o.schedule ?? 'cosine') {
    case 'cosine':
      return torch.optim.cosineWarmup(opt, { warmupSteps, totalSteps, minLrRatio: o.minLrRatio ?? 0.1 });
    case 'linear':
      return torch.optim.linearWarmupDecay(opt, { warmupSteps, totalSteps });
    case 'constant':
      return torch.optim.constantWarmup(opt, { warmupSteps });
  }
}

/** Weight decay only on tensors of 2+ dimensions (norms, biases and gains excluded), as nanoGPT does. */
function paramGroups(params: Tensor[], weightDecay: number): { params: Tensor[]; options: { weightDecay: number } }[] {
  const decay = params.filter((p) => p.ndim >= 2);
  const rest = params.filter((p) => p.ndim < 2);
  return [
    { params: decay, options: { weightDecay } },
    { params: rest, options: { weightDecay: 0 } },
  ].filter((g) => g.params.length);
}

/** Consecutive steps with a gradient of exactly zero after which a run stops: nothing is training. */
export const ZERO_GRAD_STEPS = 20;
/** How far the trainable weights' norm may grow over its value when the run (or resume) started
 *  before the run counts as diverged (GradAscent at a huge lr: finite losses, useless weights).
 *  Training a trained model (fine-tuning, unlearning) moves its weights by a few percent. */
export const WEIGHT_GROWTH_LIMIT = 10;

/** The L2 norm of all the tensors together. */
function totalNorm(params: Tensor[]): number {
  return torch.tidy(() =>
    torch.noGrad(() =>
      torch
        .stack(params.map((p) => p.norm().to('float32')))
        .norm()
        .item(),
    ),
  );
}

/** The log lines of steps after `step` (written after the checkpoint a resume starts from) are dropped,
 *  so a resumed run's log has each step once. */
function dropLogAfter(logPath: string, step: number): void {
  if (!existsSync(logPath)) return;
  const lines = logLines(logPath);
  const kept = lines.filter((l) => {
    const s = stepOf(l);
    return s === null || (s !== undefined && s <= step); // undefined: a line cut short by the interruption
  });
  if (kept.length !== lines.length) writeFileAtomic(logPath, kept.map((l) => `${l}\n`).join(''));
}

/** "totalSteps 200 → 300, args.beta 0.1 → 0.2, forget differs": each field where two jobs differ, into
 *  nested objects (short values shown; data hashes and lists only named). */
export function jobDifferences(saved: Record<string, unknown>, now: Record<string, unknown>, prefix = ''): string {
  const show = (v: unknown) =>
    v === null || typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= 24) ? String(v) : null;
  const plain = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  return [...new Set([...Object.keys(saved), ...Object.keys(now)])]
    .filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]))
    .map((k) => {
      if (plain(saved[k]) && plain(now[k])) return jobDifferences(saved[k], now[k], `${prefix}${k}.`);
      const [a, b] = [show(saved[k]), show(now[k])];
      return a !== null && b !== null ? `${prefix}${k} ${a} → ${b}` : `${prefix}${k} differs`;
    })
    .join(', ');
}

/** Seconds as m:ss, or h:mm:ss from an hour. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

/** Mixes the seed and the step into the generator's seed, so dropout is the same after a resume. */
function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step + 1, 0xc2b2ae35)) >>> 0;
}

export async function runLoop<B>(o: LoopOptions<B>): Promise<LoopResult> {
  // The whole call is charged to phases: setup (data-parallel: waiting for the other ranks) included.
  const phases = new PhaseClock();
  const main = o.local || isMainRank();
  const report = !main ? () => {} : (o.report ?? ((line: string) => process.stderr.write(line + '\n')));
  if (!(Number.isInteger(o.totalSteps) && o.totalSteps > 0))
    throw new LetheError('BAD_INPUT', `${o.name}: the number of steps must be a positive integer, got ${o.totalSteps}`);
  if (main) mkdirSync(o.outDir, { recursive: true });
  const logPath = join(o.outDir, 'train_log.jsonl');
  const ckpt = join(o.outDir, 'checkpoint');
  const fingerprint = o.fingerprint ?? '';
  const model = o.model;
  const trainable = namedTrainable(model);
  const params = [...trainable.values()];
  if (!params.length) throw new LetheError('BAD_INPUT', `${o.name}: the model has no trainable parameter (everything is frozen)`);
  const opt = new torch.optim.AdamW(paramGroups(params, o.optim.weightDecay), {
    lr: o.optim.lr,
    weightDecay: o.optim.weightDecay,
    betas: o.optim.betas ?? [0.9, 0.95],
  });
  const sched = makeSchedule(opt, o.optim, o.totalSteps);
  let state: TrainerState = { name: o.name, step: 0, tokens: 0, seed: o.seed, fingerprint, ...(o.job ? { job: o.job } : {}) };
  const resuming = o.resume && existsSync(join(ckpt, 'trainer_state.json'));
  try {
    if (resuming) {
      const saved = JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8')) as TrainerState;
      if (saved.name !== o.name || saved.seed !== o.seed || (saved.fingerprint ?? '') !== fingerprint) {
        const diff = saved.job && o.job ? jobDifferences(saved.job, o.job) : '';
        throw new LetheError(
          'BAD_CHECKPOINT',
          `${ckpt} belongs to another job ('${saved.name}', seed ${saved.seed}); not resuming '${o.name}' seed ${o.seed} from it` +
            (diff ? ` (the checkpoint's job differs in: ${diff})` : '') +
            '. Run it as it was started, remove the checkpoint, or choose another --out',
        );
      }
      loadTrainable(model, join(ckpt, 'trainable.safetensors'));
      loadOptimizer(opt, join(ckpt, 'optimizer.safetensors'));
      if (saved.extra) o.extraState?.set(saved.extra);
      state = saved;
      if (main) dropLogAfter(logPath, state.step);
      report(`[${o.name}] resuming from step ${state.step}`);
    } else if (main) {
      rmSync(logPath, { force: true });
      rmSync(join(o.outDir, 'best'), { recursive: true, force: true });
    }
    sched.loadStateDict({ lastStep: state.step });
    if (!o.local) syncStart(o.name, state.step, params);
    // The last good state for the NaN guard: the checkpoint on disk, or these weights before step 1.
    const initial =
      state.step === 0
        ? new Map([...trainable].map(([n, t]) => [n, torch.keep(torch.tidy(() => torch.noGrad(() => t.to('cpu').clone())))]))
        : null;
    // Data-parallel ranks agree on the step to stop at through the step's sum (see loop).
    const interrupt = o.interruptible ? watchInterrupt(o.name, report) : null;
    phases.mark('setup (optimizer, checkpoint, ranks in sync)');
    try {
      return await loop(o, state, opt, sched, params, initial, logPath, ckpt, report, interrupt, phases);
    } finally {
      interrupt?.dispose();
      if (initial) torch.dispose([...initial.values()]);
    }
  } finally {
    opt.dispose();
  }
}

async function loop<B>(
  o: LoopOptions<B>,
  state: TrainerState,
  opt: torch.optim.AdamW,
  sched: torch.optim.LRScheduler,
  params: Tensor[],
  initial: Map<string, Tensor> | null,
  logPath: string,
  ckpt: string,
  report: (line: string) => void,
  interrupt: InterruptWatch | null,
  phases: PhaseClock,
): Promise<LoopResult> {
  const model = o.model;
  const started = Date.now();
  const resumedFrom = state.step;
  const clip = o.optim.clipNorm ?? 1.0;
  const logEvery = Math.max(1, Math.floor(o.totalSteps / 20));
  let windowTokens = 0;
  let windowStart = Date.now();
  let lastLoss = NaN;
  let lastParts: Record<string, number> = {};
  const dp = !o.local && isDataParallel();
  const main = o.local || isMainRank();
  const log = (entry: Record<string, unknown>) => main && appendFileSync(logPath, JSON.stringify({ stage: o.name, ...entry }) + '\n');
  const growthLimit = o.weightGrowthLimit === undefined ? WEIGHT_GROWTH_LIMIT : o.weightGrowthLimit;
  const startNorm = totalNorm(params);
  // A short run stops too when no step had a gradient: its output would be its input.
  const zeroLimit = Math.min(ZERO_GRAD_STEPS, o.totalSteps);
  let zeroSteps = 0;

  const evaluate = async (step: number): Promise<void> => {
    const ev = o.evaluation!;
    model.eval();
    const metrics = await ev.run(model, step);
    model.train();
    log({ step, eval: metrics });
    report(
      `[${o.name}] eval at step ${step}: ${Object.entries(metrics)
        .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
        .join('  ')}`,
    );
    const kb = ev.keepBest;
    if (!kb) return;
    const value = metrics[kb.metric];
    if (value === undefined || !Number.isFinite(value))
      throw new LetheError(
        'BAD_INPUT',
        `${o.name}: the evaluation gave no finite '${kb.metric}' to keep the best state by (it gave ${Object.keys(metrics).join(', ')})`,
      );
    const better = !state.best || (kb.mode === 'min' ? value < state.best.value : value > state.best.value);
    if (better && main) {
      const dir = join(o.outDir, 'best');
      mkdirSync(dir, { recursive: true });
      saveTrainable(model, join(dir, 'trainable.safetensors'));
    }
    if (better) state.best = { step, metrics, value };
  };

  const rollBack = (step: number, what: string, advice = "Lower the learning rate (--lr) or the method's loss weights"): never => {
    const hasCkpt = existsSync(join(ckpt, 'trainable.safetensors'));
    if (hasCkpt) loadTrainable(model, join(ckpt, 'trainable.safetensors'));
    else if (initial)
      torch.tidy(() =>
        torch.noGrad(() => {
          for (const [n, t] of namedTrainable(model)) t.copy_(initial.get(n)!);
        }),
      );
    const goodStep = hasCkpt ? (JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8')) as TrainerState).step : 0;
    log({ step, stopped: what, rolledBackTo: goodStep });
    throw new LetheError(
      'NON_FINITE_LOSS',
      `[${o.name}] ${what} at step ${step}; stopped and rolled back to step ${goodStep}, the last good state${hasCkpt ? ` (kept in ${ckpt})` : ' (the starting weights)'}. ` +
        `${advice}, then run again` +
        (hasCkpt ? ' with --resume.' : '.'),
    );
  };

  const samRho = o.optim.samRho ?? 0;
  const maskGrads = () => {
    if (!o.gradMasks) return;
    torch.noGrad(() => {
      for (const [p, m] of o.gradMasks!)
        torch.tidy(() => {
          const g = p.grad;
          if (g) g.mul_(m);
        });
    });
  };
  let stopRequested = false;
  model.train();
  for (let step = state.step; step < o.totalSteps; step++) {
    phases.mark('other');
    torch.manualSeed(stepSeed(o.seed, step));
    const batch = await o.batch(step);
    phases.mark('data');
    let parts: Record<string, number> = {};
    let tokens = 0;
    let summed: number[];
    try {
      // Data-parallel: this rank's share of the loss (global counts), summed with the others below.
      // Where a pass's time is charged: SAM's second pass goes to one phase of its own.
      let phaseNames = { forward: 'forward + loss', backward: 'backward' };
      const compute = () => {
        const out = o.loss(batch, step);
        const loss = out instanceof torch.Tensor ? out : out.loss;
        if (!(out instanceof torch.Tensor)) parts = out.parts ?? {};
        phases.mark(phaseNames.forward);
        loss.backward();
        const value = loss.item();
        phases.mark(phaseNames.backward);
        return value;
      };
      const pass = () => torch.tidy(() => (dp ? torch.distributed.shardedLoss(compute) : compute()));
      lastLoss = pass();
      tokens = o.tokensOf?.(batch) ?? 0;
      const names = Object.keys(parts);
      // Last: how many ranks saw Ctrl-C; every rank stops after the same step when any did.
      const values = [lastLoss, tokens, ...names.map((k) => parts[k]!), interrupt?.requested() ? 1 : 0];
      summed = dp ? reduceStep(values, params) : values;
      stopRequested = summed.pop()! > 0;
      if (dp) phases.mark('gradient exchange');
      parts = Object.fromEntries(names.map((k, i) => [k, summed[2 + i]!]));
      if (samRho > 0 && Number.isFinite(lastLoss)) {
        // SAM (./sam.ts): the gradient that trains is taken at the worst nearby point; the step's
        // loss and parts stay those at the weights themselves. The same seed, so dropout agrees.
        maskGrads();
        const back = samAscend(params, samRho);
        try {
          opt.zeroGrad();
          torch.manualSeed(stepSeed(o.seed, step));
          const kept = parts;
          phaseNames = { forward: 'sam (second pass)', backward: 'sam (second pass)' };
          pass();
          parts = kept;
          if (dp) reduceStep([0], params);
        } finally {
          back();
        }
      }
    } finally {
      o.release?.(batch);
    }
    [lastLoss, tokens] = summed as [number, number];
    if (!Number.isFinite(lastLoss)) {
      opt.zeroGrad();
      rollBack(step + 1, `the loss became ${lastLoss}`);
    }
    maskGrads();
    // The norm before clipping (an infinite bound only measures it).
    const norm = torch.clipGradNorm(params, clip > 0 ? clip : Infinity);
    if (!Number.isFinite(norm)) {
      opt.zeroGrad();
      rollBack(step + 1, `the gradient norm became ${norm}`);
    }
    zeroSteps = norm === 0 ? zeroSteps + 1 : 0;
    if (zeroSteps >= zeroLimit) {
      opt.zeroGrad();
      log({ step: step + 1, stopped: `gradient exactly 0 for ${zeroSteps} steps` });
      throw new LetheError(
        'BAD_INPUT',
        `[${o.name}] the gradient was exactly 0 for ${zeroSteps} consecutive steps (${step + 2 - zeroSteps} to ${step + 1}): nothing is training. ` +
          "Check that the data keeps tokens to train on after --max-length, that --mask or --lora leave trainable weights the loss reaches, and that the method's loss weights are not 0.",
      );
    }
    opt.step();
    opt.zeroGrad();
    sched.step();
    const weightNorm = totalNorm(params);
    phases.mark('optimizer');
    if (!Number.isFinite(weightNorm)) rollBack(step + 1, `the trainable weights became non-finite (norm ${weightNorm})`);
    if (growthLimit !== null && startNorm > 0 && weightNorm > growthLimit * startNorm) {
      rollBack(
        step + 1,
        `the trainable weights exploded (norm ${weightNorm.toPrecision(3)}, over ${growthLimit}× its ${startNorm.toPrecision(3)} at the start)`,
        `Lower the learning rate (--lr, now ${o.optim.lr}) or the method's loss weights`,
      );
    }
    lastParts = parts;
    state.tokens += tokens;
    windowTokens += tokens;
    const done = step + 1;
    state.step = done;
    if (done % logEvery === 0 || done === o.totalSteps) {
      const now = Date.now();
      const tps = (windowTokens / Math.max(1, now - windowStart)) * 1000;
      log({
        step: done,
        loss: lastLoss,
        ...lastParts,
        gradNorm: norm,
        lr: sched.lr,
        tokens: state.tokens,
        tokensPerSec: Math.round(tps),
        elapsedSec: (now - started) / 1000,
      });
      const bar = '#'.repeat(Math.round((20 * done) / o.totalSteps)).padEnd(20, '.');
      const extra = Object.entries(lastParts)
        .map(([k, v]) => `  ${k} ${v.toFixed(4)}`)
        .join('');
      // The ETA extrapolates this run's own pace (steps since it started or resumed).
      const elapsed = (now - started) / 1000;
      const eta = done < o.totalSteps ? `  ETA ${clock((elapsed / (done - resumedFrom)) * (o.totalSteps - done))}` : '';
      report(
        `[${o.name}] [${bar}] step ${done}/${o.totalSteps}  loss ${lastLoss.toFixed(4)}${extra}${tokens ? `  ${Math.round(tps)} tok/s` : ''}  ${clock(elapsed)} elapsed${eta}`,
      );
      windowTokens = 0;
      windowStart = now;
    }
    await o.progress?.({ step: done, totalSteps: o.totalSteps, loss: lastLoss, resumedFrom });
    phases.mark('other');
    if (o.evaluation && (done % o.evaluation.every === 0 || done === o.totalSteps)) {
      await evaluate(done);
      phases.mark('evaluation');
    }
    if (main && o.checkpointEvery > 0 && done % o.checkpointEvery === 0 && done < o.totalSteps) {
      if (o.extraState) state.extra = o.extraState.get();
      writeCheckpoint(o, model, opt, state, ckpt);
      phases.mark('checkpoints');
    }
    if (o.pauseAt === done && done < o.totalSteps) {
      if (main) {
        if (o.extraState) state.extra = o.extraState.get();
        writeCheckpoint(o, model, opt, state, ckpt);
      }
      phases.mark('checkpoints');
      return {
        profile: phases.seconds(),
        steps: done,
        finalLoss: lastLoss,
        tokens: state.tokens,
        seconds: (Date.now() - started) / 1000,
        resumedFrom,
        paused: true,
        ...(state.best ? { best: { step: state.best.step, metrics: state.best.metrics } } : {}),
      };
    }
    // A step's awaits resolve at once, so without a turn of the event loop a Ctrl-C is never seen.
    if (interrupt) await new Promise((r) => setImmediate(r));
    if (interrupt && (dp ? stopRequested : interrupt.requested()) && done < o.totalSteps) {
      if (main) {
        if (o.extraState) state.extra = o.extraState.get();
        writeCheckpoint(o, model, opt, state, ckpt);
      }
      throw new LetheError('INTERRUPTED', `[${o.name}] interrupted at step ${done} of ${o.totalSteps}; the checkpoint is in ${ckpt}`);
    }
  }
  model.eval();
  // Data-parallel: every rank returns once rank 0 has written the model.
  const finish = () => {
    if (state.best && state.best.step !== o.totalSteps) {
      loadTrainable(model, join(o.outDir, 'best', 'trainable.safetensors'));
      report(
        `[${o.name}] keeping the weights of step ${state.best.step} (best ${o.evaluation!.keepBest!.metric} ${state.best.value.toPrecision(4)})`,
      );
    }
    o.save(model, o.outDir);
    rmSync(ckpt, { recursive: true, force: true });
    rmSync(join(o.outDir, 'best'), { recursive: true, force: true });
  };
  phases.mark('other');
  if (dp) await onMainRank(finish);
  else finish();
  phases.mark('save');
  return {
    profile: phases.seconds(),
    steps: o.totalSteps,
    finalLoss: lastLoss,
    tokens: state.tokens,
    seconds: (Date.now() - started) / 1000,
    resumedFrom,
    ...(state.best ? { best: { step: state.best.step, metrics: state.best.metrics } } : {}),
  };
}

/** Trainable weights + optimizer + progress into outDir/checkpoint, replaced atomically. */
function writeCheckpoint<B>(o: LoopOptions<B>, model: CausalLM, opt: torch.optim.AdamW, state: TrainerState, ckpt: string): void {
  const tmp = join(o.outDir, `.checkpoint-tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  saveTrainable(model, join(tmp, 'trainable.safetensors'));
  saveOptimizer(opt, join(tmp, 'optimizer.safetensors'));
  writeFileSync(join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
  rmSync(ckpt, { recursive: true, force: true });
  renameSync(tmp, ckpt);
}
