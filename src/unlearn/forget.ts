// `lethe forget`: a model folder + the data to forget (+ data to keep) → an unlearned model
// folder, through one registered method's loss on the shared training loop. The input model and
// data are only read; the output carries unlearning.json (every request that produced it).
import { existsSync, readFileSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadModel } from '../models/load.js';
import { loadTokenizer, missingEosWarning } from '../models/tokenizer.js';
import type { CausalLM } from '../models/model.js';
import { LetheError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { modelFingerprint } from '../util/model-fingerprint.js';
import { sha256, sha256File } from '../util/hash.js';
import { checkOutputDir, claimOutputDir } from '../util/output.js';
import { readRows, encodeRow, rowList, rowsWithoutTargets, targetTokens, type DataRow } from '../train/examples.js';
import { loopSettings, type TrainingOptions } from '../train/options.js';
import { batchAt, rankShare, stepsPerEpoch, type Example } from '../train/batches.js';
import { runLoop, namedTrainable, hasCheckpoint, finishedRun, type Evaluation, type LoopOptions, type LoopResult } from '../train/loop.js';
import { isDataParallel, isMainRank } from '../train/parallel.js';
import { saveTrained } from '../train/trainer.js';
import { getMethod, resolveArgs } from './registry.js';
import { PhaseClock } from '../train/profile.js';
import { GENERIC_TRAINING, type MethodNeeds, type MethodState, type StepBatch } from './method.js';
import { idkAnswer } from './idk.js';
import { disposeEncoded, encodeBatch, referenceLogLiks, type Row } from './batch.js';
import { saliencyMasks, type MaskSpec } from './mask.js';
import './methods/index.js';

export interface ForgetOptions extends TrainingOptions {
  modelDir: string;
  forgetFile: string;
  retainFile?: string;
  /** Run a method that uses retain data without it, on purpose (no warning that its retain term is dropped). */
  noRetain?: boolean;
  method: string;
  /** Method arguments (strings from --set are coerced to each default's type). */
  args?: Record<string, unknown>;
  outDir: string;
  mask?: MaskSpec;
  /** Earlier forget sets that must stay forgotten: mixed into the forget data. */
  alsoForget?: string[];
  evaluation?: Evaluation;
  /** After every training step (see LoopOptions.progress). */
  progress?: LoopOptions<StepBatch>['progress'];
  /** Stop after this step with a checkpoint in outDir (no model or record written; `resume` continues it). */
  pauseAt?: number;
  /** Check every input and return the plan (rows, tokens, steps, what would be written) without training or writing. */
  dryRun?: boolean;
}

/** What a run would do (`lethe forget --dry-run`). */
export interface ForgetPlan {
  dryRun: true;
  method: string;
  args: Record<string, unknown>;
  model: { dir: string; type: string; parameters: number; eos: boolean };
  rows: { forget: number; retain: number; alternate: number };
  /** Tokens the loss is computed on (answers of QA rows, all tokens of text rows), after --max-length. */
  targetTokens: { forget: number; retain: number };
  maxLength: number;
  batchSize: number;
  steps: number;
  lr: number | null;
  device: string;
  lora: boolean;
  out: { dir: string; use: string; writes: string[] };
}

export interface ForgetResult {
  outDir: string;
  method: string;
  args: Record<string, unknown>;
  steps: number;
  seconds: number;
  parametersChanged: number;
  parametersTotal: number;
  loop: LoopResult;
  /** Stopped at pauseAt: outDir holds a checkpoint, not a model. */
  paused?: boolean;
  /** Seconds per phase: loading, encoding, reference log-likelihoods, the loop's phases, the record. */
  profile: Record<string, number>;
}

export interface UnlearningRecord {
  /** sha256 of the input model folder as the registry and certificates compute it (modelFingerprint). */
  inputModelSha256: string;
  method: string;
  args: Record<string, unknown>;
  data: { forget: string[]; retain: string | null };
  rows: { forget: number; retain: number };
  training: Record<string, unknown>;
  startedAt: string;
  seconds: number;
  parametersChanged: number;
  parametersTotal: number;
  metrics?: Record<string, number>;
  /** How the recipe was chosen, when `lethe forget --search` chose it (the recipe, its score terms, the cost). */
  search?: Record<string, unknown>;
}

function checkInputs(o: ForgetOptions): void {
  if (!existsSync(join(o.modelDir, 'config.json')))
    throw new LetheError('NOT_FOUND', `forget: --model ${o.modelDir} is not a Hugging Face model folder (no config.json)`);
  for (const [name, v] of [
    ['epochs', o.epochs],
    ['steps', o.steps],
    ['batch-size', o.batchSize],
  ] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      throw new LetheError('BAD_INPUT', `forget: '--${name}' must be a positive integer, got ${v}`);
  }
  if (o.epochs !== undefined && o.steps !== undefined) throw new LetheError('BAD_INPUT', 'forget: give --epochs or --steps, not both');
  if (o.lr !== undefined && !(o.lr > 0 && Number.isFinite(o.lr)))
    throw new LetheError('BAD_INPUT', `forget: '--lr' must be a positive number, got ${o.lr}`);
}

/** What a method loses without retain data: its weighted retain term (null when it has none or its weight is 0). */
export function retainTermDropped(method: string, args: Record<string, unknown>, needs: MethodNeeds): string | null {
  if (needs.retain !== 'optional' || typeof args.alpha !== 'number' || !(args.alpha > 0)) return null;
  const term = args.retain_loss_type === 'KL' ? 'KL to the starting model on retain rows' : 'NLL on retain rows';
  return `${method}'s retain term (alpha ${args.alpha} × ${term}) is dropped: only the forget term trains, and nothing holds what the model should keep`;
}

/** Rows cut by maxLength down to no token to train on. All of a set so cut is an error (nothing
 *  would be unlearned, or the retain term would be 0); some of them a warning that says what they
 *  lose. (A row the target was fine-tuned on with the same cut never taught it that answer.) */
function checkTargets(
  set: 'forget' | 'retain' | 'alternate-answer',
  examples: readonly Example[],
  maxLength: number,
  given: boolean,
  report: (l: string) => void,
): void {
  const empty = rowsWithoutTargets(examples);
  if (!empty.length) return;
  const cut = given ? `--max-length ${maxLength}` : `the model's context (${maxLength} tokens)`;
  const what = `${empty.length} of ${examples.length} ${set} rows (${rowList(empty)}) keep no answer or text token after cutting to ${cut}`;
  const fix = 'Raise --max-length (or shorten the prompt template) so that each question and at least part of its answer fit.';
  const lost = set === 'retain' ? 'the retain term' : 'unlearning';
  if (empty.length === examples.length) throw new LetheError('BAD_INPUT', `forget: ${what}: nothing is left for ${lost}. ${fix}`);
  report(`[forget] warning: ${what}; ${lost} does not reach them. ${fix}`);
}

async function alternateAnswer(row: DataRow, index: number, kind: NonNullable<MethodNeeds['alternate']>): Promise<string> {
  if (kind === 'alternate') {
    if (typeof row.alternate_answer === 'string') return row.alternate_answer;
    if (Array.isArray(row.perturbed_answer) && row.perturbed_answer.length)
      return row.perturbed_answer[index % row.perturbed_answer.length]!;
  }
  return idkAnswer(index);
}

/** The plan of a dry run as the lines `lethe forget --dry-run` prints. */
export function formatPlan(p: ForgetPlan): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    `[forget] dry run: nothing trained, nothing written`,
    `  model      ${p.model.dir} (${p.model.type}, ${n(p.model.parameters)} parameters${p.model.eos ? '' : ', NO EOS token'})${p.lora ? ', LoRA adapters' : ''}`,
    `  method     ${p.method} ${JSON.stringify(p.args)}`,
    `  data       ${n(p.rows.forget)} forget rows (${n(p.targetTokens.forget)} target tokens), ${n(p.rows.retain)} retain rows (${n(p.targetTokens.retain)} target tokens)${p.rows.alternate ? `, ${n(p.rows.alternate)} alternate answers` : ''}; cut to ${n(p.maxLength)} tokens`,
    `  training   ${n(p.steps)} steps at batch size ${p.batchSize}, lr ${p.lr ?? "the method's own"}, on ${p.device}`,
    `  output     ${p.out.dir}: ${p.out.use}; writes ${p.out.writes.join(', ')}`,
  ].join('\n');
}

export async function forget(o: ForgetOptions & { dryRun: true }): Promise<ForgetPlan>;
export async function forget(o: ForgetOptions): Promise<ForgetResult>;
export async function forget(o: ForgetOptions): Promise<ForgetResult | ForgetPlan> {
  const report = !isMainRank() ? () => {} : (o.report ?? ((l: string) => process.stderr.write(l + '\n')));
  checkInputs(o);
  const method = getMethod(o.method);
  if (isDataParallel() && (method.procedure || method.dataParallel === false)) {
    throw new LetheError(
      'BAD_INPUT',
      `forget: method ${method.name} does not run data-parallel (${method.procedure ? 'a procedure of several trainings' : 'its loss is not a sum over rows'}); run it in one process`,
    );
  }
  const args = resolveArgs(method, o.args ?? {});
  const needs = method.needs(args as never);
  const forgetFiles = [o.forgetFile, ...(o.alsoForget ?? [])];
  const forgetRows = forgetFiles.flatMap((f, k) => readRows(f, k === 0 ? 'forget' : 'earlier forget', o.fields).rows);
  let retainRows: DataRow[] = [];
  if (o.retainFile && o.noRetain)
    throw new LetheError('BAD_INPUT', 'forget: --retain and --no-retain contradict each other; give one of them');
  if (o.retainFile) retainRows = readRows(o.retainFile, 'retain', o.fields).rows;
  else if (needs.retain === 'required') throw new LetheError('BAD_INPUT', `forget: method ${method.name} needs --retain (data to keep)`);
  const dropped = o.retainFile || o.noRetain ? null : retainTermDropped(method.name, args, needs);
  if (dropped)
    report(
      `[forget] warning: no --retain given, so ${dropped}. Give --retain FILE (data to keep), or --no-retain to run without it on purpose.`,
    );
  if (needs.alternate && forgetRows.some((r) => typeof r.question !== 'string')) {
    throw new LetheError(
      'BAD_INPUT',
      `forget: method ${method.name} answers the forget questions differently, so the forget file must hold {"question","answer"} rows`,
    );
  }
  // Last of the checks, as it may empty the folder (--overwrite); a dry run only says what would happen.
  const outputUse = (o.dryRun ? checkOutputDir : claimOutputDir)(o.outDir, {
    what: 'forget',
    overwrite: o.overwrite,
    resume: o.resume,
    resumable: hasCheckpoint,
    finished: finishedRun,
    checkOnly: !isMainRank(),
    inputs: [
      { name: 'the input model folder --model', path: o.modelDir },
      ...forgetFiles.map((f) => ({ name: '--forget', path: f })),
      ...(o.retainFile ? [{ name: '--retain', path: o.retainFile }] : []),
    ],
  });
  // What was unlearned from, identified before anything is loaded (only the main rank writes the record).
  const inputModelSha256 = isMainRank() && !o.dryRun ? modelFingerprint(o.modelDir).sha256 : '';
  const device = o.device ?? 'cpu';
  const seed = o.seed ?? 0;
  const started = Date.now();
  const startedAt = new Date().toISOString();
  const phases = new PhaseClock();
  const model = loadModel(o.modelDir, { device });
  phases.mark('load model');
  let reference: CausalLM | null = null;
  const state: MethodState = { tensors: new Map(), numbers: {} };
  let masks: Map<Tensor, Tensor> | undefined;
  let trainableBefore: (readonly [string, Tensor])[] = [];
  try {
    const tok = loadTokenizer(o.modelDir);
    const noEos = missingEosWarning(tok, o.modelDir);
    if (noEos) report(`[forget] warning: ${noEos}`);
    const maxLength = o.maxLength ?? model.config.maxPositionEmbeddings;
    const enc = async (rows: DataRow[], answer?: (r: DataRow, i: number) => Promise<string>): Promise<Row[]> => {
      const out: Row[] = [];
      for (let i = 0; i < rows.length; i++)
        out.push({
          ...(await encodeRow(tok, rows[i]!, { format: o.format, maxLength, answer: answer ? await answer(rows[i]!, i) : undefined })),
          row: i,
        });
      return out;
    };
    phases.mark('read data and tokenizer');
    const forgetEx = await enc(forgetRows);
    const retainEx = needs.retain !== 'none' ? await enc(retainRows) : [];
    const altEx = needs.alternate ? await enc(forgetRows, (r, i) => alternateAnswer(r, i, needs.alternate!)) : [];
    checkTargets('forget', forgetEx, maxLength, o.maxLength !== undefined, report);
    if (altEx.length) checkTargets('alternate-answer', altEx, maxLength, o.maxLength !== undefined, report);
    // (Procedures read retain rows their own way: WHP their words, Distill every token.)
    if (retainEx.length && method.loss) checkTargets('retain', retainEx, maxLength, o.maxLength !== undefined, report);
    const batchSize = Math.min(o.batchSize ?? 8, forgetEx.length);
    const defaults = method.training ?? GENERIC_TRAINING;
    const lr = o.lr ?? defaults.lr;
    // What the plan and the record say: a procedure (TaskVector, WHP, Distill) sets its own lr unless the user gave one.
    const statedLr = method.procedure && o.lr === undefined ? null : lr;
    const totalSteps = o.steps ?? Math.max(1, Math.round((o.epochs ?? defaults.epochs) * stepsPerEpoch(forgetEx.length, batchSize)));
    // The retain stream runs beside the forget stream at the same batch size, through passes of
    // its own (each a new shuffle that uses every retain row once), wrapping when it is shorter.
    const retainPass = retainEx.length ? stepsPerEpoch(retainEx.length, batchSize) : 0;
    if (retainPass > totalSteps && !method.procedure) {
      const seen = Array.from({ length: totalSteps }, (_, s) => batchAt(retainEx, batchSize, s, seed + 1).length).reduce(
        (a, b) => a + b,
        0,
      );
      report(
        `[forget] ${totalSteps} steps use ${seen} of the ${retainEx.length} retain rows (a pass over them takes ${retainPass} steps at batch size ${batchSize}); more steps use them all`,
      );
    }

    if (o.dryRun) {
      const targets = (ex: Row[]) => ex.reduce((s, e) => s + targetTokens(e), 0);
      const plan: ForgetPlan = {
        dryRun: true,
        method: method.name,
        args,
        model: {
          dir: o.modelDir,
          type: model.config.modelType,
          parameters: model.parameters().reduce((s, t) => s + t.numel(), 0),
          eos: tok.eosTokenId !== null,
        },
        rows: { forget: forgetEx.length, retain: retainEx.length, alternate: altEx.length },
        targetTokens: { forget: targets(forgetEx), retain: targets(retainEx) },
        maxLength,
        batchSize,
        steps: totalSteps,
        lr: statedLr,
        device: String(device),
        lora: !!o.lora,
        out: {
          dir: o.outDir,
          use: String(outputUse),
          writes:
            o.lora && !o.merge
              ? ['adapter_model.safetensors', 'adapter_config.json', 'unlearning.json', 'train_log.jsonl']
              : ['config.json', 'model.safetensors', 'tokenizer files', 'unlearning.json', 'train_log.jsonl'],
        },
      };
      report(formatPlan(plan));
      return plan;
    }
    // Quantities from the starting model, computed once before any weight moves.
    phases.mark('encode data');
    const refForget = needs.referenceLogLik ? referenceLogLiks(model, forgetEx, tok.padTokenId, device) : null;
    const refAlt = needs.referenceLogLik && altEx.length ? referenceLogLiks(model, altEx, tok.padTokenId, device) : null;
    if (needs.referenceModel) reference = loadModel(o.modelDir, { device });
    if (reference) for (const t of reference.parameters()) t.requiresGrad = false;
    phases.mark('reference log-likelihoods and model');

    torch.manualSeed(seed); // LoRA's A is drawn from torch's generator: the same seed, the same adapters
    if (o.lora) {
      const targets = model.addLora(o.lora);
      report(`[forget] LoRA r=${o.lora.r} alpha=${o.lora.loraAlpha} on ${targets.length} modules`);
    }
    method.setup?.({
      args: args as never,
      model,
      seed,
      state,
      trainOnly: (patterns) => {
        if (o.lora) return; // the adapters stay the trainable set
        model.freeze();
        model.unfreeze(...patterns);
      },
    });
    if (o.mask) {
      masks = await saliencyMasks(model, o.mask, forgetEx, retainEx, tok.padTokenId, device);
      let kept = 0;
      for (const m of masks.values()) kept += m.sum().item();
      report(
        `[forget] saliency mask (${o.mask.p * 100}% by ${o.mask.rows ? 'rows' : 'weights'}${o.mask.relative ? ', relative to retain' : ''}): ${kept} trainable weights`,
      );
    }
    // Unmerged LoRA changes only the adapters; anything else may change any weight it trains (or merges into).
    const watched = o.lora && !o.merge ? [...namedTrainable(model)] : model.namedParameters().filter(([n]) => !n.includes('.lora_'));
    trainableBefore = watched.map(([n, t]) => [n, torch.keep(torch.tidy(() => torch.noGrad(() => t.to('cpu').clone())))] as const);

    let final: CausalLM = model;
    let loop: LoopResult;
    phases.mark('setup (LoRA, masks, method)');
    if (method.procedure) {
      const workDir = join(o.outDir, '.work');
      const t0 = Date.now();
      const out = await method.procedure({
        args: args as never,
        model,
        modelDir: o.modelDir,
        tokenizer: tok,
        forgetRows,
        retainRows,
        workDir,
        report,
        training: {
          epochs: o.epochs,
          steps: o.steps,
          lr: o.lr,
          batchSize: o.batchSize,
          seed,
          device,
          format: o.format,
          maxLength,
          resume: o.resume,
        },
      });
      if (out && out !== model) final = out;
      final.eval();
      saveTrained(final, o.outDir, o.merge);
      rmSync(workDir, { recursive: true, force: true });
      loop = { steps: 0, finalLoss: NaN, tokens: 0, seconds: (Date.now() - t0) / 1000, resumedFrom: 0, profile: {} };
      phases.mark(`procedure (${method.name})`);
    } else {
      loop = await trainWithLoss();
      phases.reset();
      if (loop.paused)
        return {
          outDir: o.outDir,
          method: method.name,
          args,
          steps: loop.steps,
          seconds: (Date.now() - started) / 1000,
          parametersChanged: 0,
          parametersTotal: 0,
          loop,
          paused: true,
          profile: profileOf(),
        };
    }

    // What moved: compare every watched tensor with its starting value.
    let changed = 0;
    const after = o.lora && !o.merge ? namedTrainable(final) : new Map(final.namedParameters());
    for (const [name, before] of trainableBefore) {
      const now = after.get(name);
      if (now && now.shape.join() === before.shape.join()) changed += torch.tidy(() => now.to('cpu').ne(before).sum().item());
      else changed += before.numel(); // gone or reshaped: every element changed
    }
    const total = final.namedParameters().reduce((s, [, t]) => s + t.numel(), 0);
    if (final !== model) final.dispose();
    const steps = loop.steps;
    if (!isMainRank())
      return {
        outDir: o.outDir,
        method: method.name,
        args,
        steps,
        seconds: (Date.now() - started) / 1000,
        parametersChanged: changed,
        parametersTotal: total,
        loop,
        profile: profileOf(),
      };
    const record: UnlearningRecord = {
      inputModelSha256,
      method: method.name,
      args,
      data: { forget: forgetFiles.map(sha256File), retain: o.retainFile ? sha256File(o.retainFile) : null },
      rows: { forget: forgetRows.length, retain: retainRows.length },
      // A procedure (TaskVector, WHP, Distill) sets its own steps and lr unless the user gave them.
      training: {
        steps: method.procedure ? null : steps,
        batchSize: o.batchSize ?? (method.procedure ? null : batchSize),
        lr: statedLr,
        seed,
        lora: o.lora ?? null,
        merged: o.merge ?? false,
        mask: o.mask ?? null,
        device: String(device),
        // Data-parallel processes: results agree across counts to rounding, not bit for bit.
        processes: torch.distributed.worldSize(),
        ...(o.sam ? { sam: o.sam } : {}),
        // Keep-best decides which weights are saved: part of the recipe.
        ...(o.evaluation
          ? {
              evalEvery: o.evaluation.every,
              keepBest: o.evaluation.keepBest ? `${o.evaluation.keepBest.metric}:${o.evaluation.keepBest.mode}` : null,
            }
          : {}),
      },
      startedAt,
      seconds: (Date.now() - started) / 1000,
      parametersChanged: changed,
      parametersTotal: total,
    };
    writeUnlearningJson(o.modelDir, o.outDir, record);
    report(
      `[forget] ${method.name}: ${steps} steps in ${record.seconds.toFixed(1)} s; ${changed} of ${total} parameters changed → ${o.outDir}`,
    );
    return {
      outDir: o.outDir,
      method: method.name,
      args,
      steps,
      seconds: record.seconds,
      parametersChanged: changed,
      parametersTotal: total,
      loop,
      profile: profileOf(),
    };

    /** forget()'s own phases around the loop's (the loop's charged to its phases). */
    function profileOf(): Record<string, number> {
      phases.mark('compare weights, write the record');
      return { ...phases.seconds(), ...loop.profile };
    }

    async function trainWithLoss(): Promise<LoopResult> {
      if (!method.loss) throw new LetheError('INTERNAL', `method ${method.name} defines neither a loss nor a procedure`);
      const lossFn = method.loss;
      const job = {
        method: method.name,
        args,
        forget: forgetFiles.map(sha256File),
        retain: o.retainFile ? sha256File(o.retainFile) : null,
        lora: o.lora ?? null,
        mask: o.mask ?? null,
        totalSteps,
        batchSize,
        lr,
        seed,
        ...(o.sam ? { sam: o.sam } : {}),
      };
      const fingerprint = sha256(JSON.stringify(job));
      const bf = (step: number): StepBatch => {
        const fRows = rankShare(batchAt(forgetEx, batchSize, step, seed)) as Row[];
        const b: StepBatch = { forget: encodeBatch(fRows, tok.padTokenId, device) };
        if (retainEx.length && needs.retain !== 'none')
          b.retain = encodeBatch(rankShare(batchAt(retainEx, batchSize, step, seed + 1)) as Row[], tok.padTokenId, device);
        if (altEx.length)
          b.alternate = encodeBatch(
            fRows.map((r) => altEx[r.row]!),
            tok.padTokenId,
            device,
          );
        const pick = (values: Float64Array) =>
          torch.tensor(
            fRows.map((r) => values[r.row]!),
            { dtype: 'float32', device },
          );
        if (refForget) b.refForgetLogLik = pick(refForget);
        if (refAlt) b.refAlternateLogLik = pick(refAlt);
        return b;
      };
      return runLoop<StepBatch>({
        name: `forget:${method.name}`,
        model,
        totalSteps,
        seed,
        outDir: o.outDir,
        resume: o.resume,
        interruptible: o.interruptible,
        fingerprint,
        job,
        report,
        progress: o.progress,
        ...loopSettings({ ...o, lr }, totalSteps),
        gradMasks: masks,
        extraState: { get: () => ({ ...state.numbers }), set: (s) => Object.assign(state.numbers, s) },
        evaluation: o.evaluation,
        batch: bf,
        loss: (b, step) => lossFn({ args: args as never, model, reference, step, totalSteps, state }, b),
        release: (b) => {
          disposeEncoded(b.forget);
          disposeEncoded(b.retain);
          disposeEncoded(b.alternate);
          torch.dispose([b.refForgetLogLik, b.refAlternateLogLik].filter((t): t is Tensor => !!t));
        },
        tokensOf: (b) => b.forget.tokens + (b.retain?.tokens ?? 0) + (b.alternate?.tokens ?? 0),
        save: (m, dir) => saveTrained(m, dir, o.merge),
        pauseAt: o.pauseAt,
      });
    }
  } finally {
    model.dispose();
    reference?.dispose();
    if (masks) torch.dispose([...masks.values()]);
    torch.dispose(trainableBefore.map(([, t]) => t));
    torch.dispose([...state.tensors.values()]);
  }
}

/** The history of requests: the input model's, plus this one; written atomically. */
export function writeUnlearningJson(inputDir: string, outDir: string, record: UnlearningRecord): void {
  const prev = join(inputDir, 'unlearning.json');
  const history =
    existsSync(prev) && statSync(prev).isFile()
      ? (JSON.parse(readFileSync(prev, 'utf8')) as { requests: UnlearningRecord[] }).requests
      : [];
  writeFileAtomic(join(outDir, 'unlearning.json'), JSON.stringify({ requests: [...history, record] }, null, 2) + '\n', { fsync: true });
}
