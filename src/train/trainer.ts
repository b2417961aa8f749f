// One training stage: AdamW with warmup + cosine decay, gradient clipping, a JSONL log, a
// progress line, checkpoints every N steps and --resume from the last one.
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync, copyFileSync, rmSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import { loadModel } from '../models/load.js';
import { causalLmLoss } from '../models/loss.js';
import type { CausalLM } from '../models/model.js';
import { TOKENIZER_FILES } from '../models/save.js';
import { batchAt, collate, type Example } from './batches.js';
import { stageSteps, type StageSchedule } from './presets.js';

export interface StageOptions {
  name: string;
  /** The model to train (a fresh one, or one loaded from the previous stage). */
  model: CausalLM;
  examples: Example[];
  schedule: StageSchedule;
  seed: number;
  outDir: string;
  /** Folder whose tokenizer files are copied next to the weights. */
  tokenizerDir: string;
  padId: number;
  checkpointEvery: number;
  /** Where the model trains (default cpu). */
  device?: torch.Device;
  /** Continue from outDir/checkpoint when it exists. */
  resume?: boolean;
  /** A line per log interval (default: stderr). */
  report?: (line: string) => void;
}

export interface StageResult {
  outDir: string;
  steps: number;
  finalLoss: number;
  tokens: number;
  seconds: number;
  resumedFrom: number;
}

function saveOptimizer(opt: torch.optim.AdamW, path: string): void {
  const sd = opt.stateDict();
  const tensors: Record<string, torch.Tensor> = {};
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
    step, tensors: Object.fromEntries(['expAvg', 'expAvgSq'].flatMap((k) => (tensors[`state.${i}.${k}`] ? [[k, tensors[`state.${i}.${k}`]!]] : []))),
  }));
  opt.loadStateDict({ state, paramGroups: meta.paramGroups });
  torch.dispose(tensors);
}

function copyTokenizer(from: string, to: string): void {
  for (const f of TOKENIZER_FILES) if (existsSync(join(from, f))) copyFileSync(join(from, f), join(to, f));
}

/** Writes model + tokenizer + optimizer + progress into outDir/checkpoint (replaced atomically). */
function checkpoint(o: StageOptions, model: CausalLM, opt: torch.optim.AdamW, step: number, tokens: number): void {
  const dir = join(o.outDir, 'checkpoint');
  const tmp = join(o.outDir, `.checkpoint-tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  model.savePretrained(tmp);
  copyTokenizer(o.tokenizerDir, tmp);
  saveOptimizer(opt, join(tmp, 'optimizer.safetensors'));
  writeFileSync(join(tmp, 'trainer_state.json'), JSON.stringify({ stage: o.name, step, tokens, seed: o.seed }, null, 2) + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

export function trainStage(o: StageOptions): StageResult {
  const report = o.report ?? ((line: string) => process.stderr.write(line + '\n'));
  mkdirSync(o.outDir, { recursive: true });
  const logPath = join(o.outDir, 'train_log.jsonl');
  let model = o.model;
  let startStep = 0;
  let tokens = 0;
  const ckpt = join(o.outDir, 'checkpoint');
  const resuming = o.resume && existsSync(join(ckpt, 'trainer_state.json'));
  if (resuming) {
    const state = JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8')) as { step: number; tokens: number; seed: number; stage: string };
    if (state.stage !== o.name || state.seed !== o.seed) throw new Error(`${ckpt} belongs to stage '${state.stage}' seed ${state.seed}, not '${o.name}' seed ${o.seed}`);
    model.dispose();
    model = loadModel(ckpt, { device: o.device });
    startStep = state.step;
    tokens = state.tokens;
    report(`[${o.name}] resuming from step ${startStep}`);
  } else if (!o.resume) {
    rmSync(logPath, { force: true });
  }
  model.train();
  const s = o.schedule;
  const totalSteps = stageSteps(s, o.examples.length);
  const opt = new torch.optim.AdamW(model.trainableParameters(), { lr: s.lr, weightDecay: s.weightDecay, betas: [0.9, 0.95] });
  // The schedule takes its base lr before the saved state (whose lr is already scheduled) is loaded.
  const sched = torch.optim.cosineWarmup(opt, { warmupSteps: s.warmupSteps, totalSteps, minLrRatio: 0.1 });
  if (resuming) loadOptimizer(opt, join(ckpt, 'optimizer.safetensors'));
  sched.loadStateDict({ lastStep: startStep });
  const started = Date.now();
  try {
    return runLoop(o, totalSteps, model, opt, sched, startStep, tokens, started, logPath, ckpt, report);
  } finally {
    // The stage owns the model: freed on success and on failure alike.
    opt.dispose();
    model.dispose();
  }
}

function runLoop(o: StageOptions, totalSteps: number, model: CausalLM, opt: torch.optim.AdamW, sched: torch.optim.LRScheduler, startStep: number,
  tokens: number, started: number, logPath: string, ckpt: string, report: (line: string) => void): StageResult {
  let windowTokens = 0;
  let windowStart = Date.now();
  let lastLoss = NaN;
  const logEvery = Math.max(1, Math.floor(totalSteps / 20));
  for (let step = startStep; step < totalSteps; step++) {
    const batch = collate(batchAt(o.examples, o.schedule.batchSize, step, o.seed), o.padId, o.device);
    lastLoss = torch.tidy(() => {
      const loss = causalLmLoss(model.forward(batch.ids).logits, batch.labels);
      loss.backward();
      return loss.item();
    });
    torch.dispose([batch.ids, batch.labels]);
    if (!Number.isFinite(lastLoss)) throw new Error(`[${o.name}] loss became ${lastLoss} at step ${step + 1}; lower the learning rate`);
    torch.clipGradNorm(model.trainableParameters(), 1.0);
    opt.step();
    opt.zeroGrad();
    sched.step();
    tokens += batch.tokens;
    windowTokens += batch.tokens;
    const done = step + 1;
    if (done % logEvery === 0 || done === totalSteps) {
      const now = Date.now();
      const tps = (windowTokens / Math.max(1, now - windowStart)) * 1000;
      appendFileSync(logPath, JSON.stringify({ stage: o.name, step: done, loss: lastLoss, lr: sched.lr, tokens, tokensPerSec: Math.round(tps), elapsedSec: (now - started) / 1000 }) + '\n');
      const bar = '#'.repeat(Math.round((20 * done) / totalSteps)).padEnd(20, '.');
      report(`[${o.name}] [${bar}] step ${done}/${totalSteps}  loss ${lastLoss.toFixed(4)}  ${Math.round(tps)} tok/s`);
      windowTokens = 0;
      windowStart = now;
    }
    if (done % o.checkpointEvery === 0 && done < totalSteps) checkpoint(o, model, opt, done, tokens);
  }
  model.eval();
  model.savePretrained(o.outDir);
  copyTokenizer(o.tokenizerDir, o.outDir);
  rmSync(ckpt, { recursive: true, force: true });
  return { outDir: o.outDir, steps: totalSteps, finalLoss: lastLoss, tokens, seconds: (Date.now() - started) / 1000, resumedFrom: startStep };
}
