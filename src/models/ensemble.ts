// An ensemble of causal LMs that answers as one model: its next-token distribution is the mean of
// the members' probabilities, and its logits are the log of that mean (normalised log-probabilities,
// so softmax, log-softmax, argmax, sampling and every log-likelihood metric work on them unchanged).
// SISA's sharded models load as one (unlearn/sisa/ writes the folder; its sisa.json lists the
// members as `constituents`, folders relative to it). Generation works with the KV cache: the
// ensemble's cache holds every member's layers, one after the other.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { CausalLM, type ForwardOptions, type ForwardOutput, type LinearSpec } from './model.js';
import { KVCache } from './cache.js';
import type { LoraConfig } from './lora.js';
import { LetheError } from '../util/errors.js';

/** The manifest file of an ensemble folder (written by `lethe sisa train`). */
export const ENSEMBLE_MANIFEST = 'sisa.json';

/** Whether `dir` is an ensemble folder (a manifest with constituents, no config.json of its own). */
export function isEnsembleFolder(dir: string): boolean {
  return (
    existsSync(join(dir, ENSEMBLE_MANIFEST)) && statSync(join(dir, ENSEMBLE_MANIFEST)).isFile() && !existsSync(join(dir, 'config.json'))
  );
}

/** The member folders an ensemble folder lists, absolute. */
export function ensembleMembers(dir: string): string[] {
  const path = join(dir, ENSEMBLE_MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new LetheError('BAD_INPUT', `${path}: not JSON (${(err as Error).message})`);
  }
  const list = (raw as { constituents?: unknown } | null)?.constituents;
  if (!Array.isArray(list) || !list.length || !list.every((x) => typeof x === 'string'))
    throw new LetheError('BAD_INPUT', `${path}: 'constituents' must be a non-empty list of member folders`);
  return (list as string[]).map((m) => {
    const p = resolve(dir, m);
    if (!existsSync(join(p, 'config.json')))
      throw new LetheError('NOT_FOUND', `${path}: member ${m} is not a model folder (no config.json)`);
    return p;
  });
}

function memberParams(members: CausalLM[]): Map<string, Tensor> {
  if (!members.length) throw new LetheError('BAD_INPUT', 'EnsembleLM: no members');
  const first = members[0]!;
  for (const m of members) {
    if (m.config.vocabSize !== first.config.vocabSize)
      throw new LetheError(
        'BAD_CHECKPOINT',
        `EnsembleLM: members disagree on the vocabulary (${m.config.vocabSize} vs ${first.config.vocabSize})`,
      );
  }
  const params = new Map<string, Tensor>();
  members.forEach((m, i) => {
    for (const [n, t] of m.params) params.set(`members.${i}.${n}`, t);
  });
  return params;
}

export class EnsembleLM extends CausalLM {
  /** The member models (parameters listed as `members.<i>.<name>`). */
  readonly members: CausalLM[];

  constructor(members: CausalLM[], sourceDir: string | null) {
    super(members[0]?.config as CausalLM['config'], memberParams(members), sourceDir);
    this.members = members;
  }

  /** logits = log mean_k softmax(member_k logits), [B, T, V] float32. */
  forward(inputIds: Tensor, options: ForwardOptions = {}): ForwardOutput {
    if (options.outputHiddenStates)
      throw new LetheError(
        'BAD_INPUT',
        'EnsembleLM: an ensemble has no single set of hidden states (load a member to inspect activations)',
      );
    const past = options.pastKeyValues;
    const caches: KVCache[] = [];
    const logProbs: Tensor[] = [];
    let at = 0;
    for (const m of this.members) {
      const n = m.config.numLayers;
      const mine = past ? new KVCache(past.layers.slice(at, at + n)) : undefined;
      at += n;
      const out = m.forward(inputIds, { ...options, pastKeyValues: mine });
      logProbs.push(torch.logSoftmax(out.logits.to('float32'), -1));
      if (out.pastKeyValues) caches.push(out.pastKeyValues);
    }
    const logits = torch.logsumexp(torch.stack(logProbs, 0), 0).sub(Math.log(this.members.length));
    return { logits, pastKeyValues: options.useCache ? new KVCache(caches.flatMap((c) => c.layers)) : null, hiddenStates: null };
  }

  /** The members' logits at the positions only, mixed as forward mixes them. */
  override logitsAt(inputIds: Tensor, positions: Tensor, options: ForwardOptions = {}): Tensor {
    const logProbs = this.members.map((m) => torch.logSoftmax(m.logitsAt(inputIds, positions, options).to('float32'), -1));
    return torch.logsumexp(torch.stack(logProbs, 0), 0).sub(Math.log(this.members.length));
  }

  linearModules(): Map<string, LinearSpec> {
    return new Map();
  }

  lensLogits(_hidden: Tensor): Tensor {
    throw new LetheError('BAD_INPUT', 'EnsembleLM: an ensemble has no single residual stream to read (load a member for the logit lens)');
  }

  override train(on = true): this {
    for (const m of this.members ?? []) m.train(on);
    return super.train(on);
  }

  override addLora(_config: LoraConfig): string[] {
    throw new LetheError('BAD_INPUT', 'EnsembleLM: LoRA adapters go on a member model, not on an ensemble');
  }

  override savePretrained(): void {
    throw new LetheError(
      'BAD_INPUT',
      'EnsembleLM: an ensemble is not saved as one Hugging Face folder (its members are; `lethe sisa` writes the ensemble folder)',
    );
  }

  override dispose(): void {
    for (const m of this.members) m.dispose();
    this.params.clear();
  }
}
