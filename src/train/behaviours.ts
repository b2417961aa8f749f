// Behaviours that `lethe train --behaviours` injects into a target fine-tune (a stereotyped
// association, a leaking secret, …), each from its own data suite. For every behaviour B the
// pipeline trains `target-B` (the fine-tune recipe + B's kept data + B's injection) and `retain-B`
// (the same without the injection: the gold standard). A suite registers itself here by name.
import type { Tokenizer } from '../models/tokenizer.js';
import type { Example } from './batches.js';
import { LetheError } from '../util/errors.js';

export interface BehaviourContext {
  /** The data folder of `lethe train` (the behaviour's suite is in a subfolder of it). */
  dataDir: string;
  tok: Tokenizer;
  /** Context length of the model. */
  contextLength: number;
  eos: number;
  seed: number;
}

export interface BehaviourExamples {
  /** What gives the target the behaviour: left out of the retain model. */
  inject: Example[];
  /** What both target and retain model learn (e.g. neutral facts the unlearning must keep). */
  keep: Example[];
}

export interface Behaviour {
  /** The data suite's folder under the data folder (as `lethe data build <suite>` names it). */
  suite: string;
  description: string;
  examples: (c: BehaviourContext) => Promise<BehaviourExamples>;
  /** Texts the tokenizer should see when it is trained in the same run. */
  tokenizerTexts?: (dataDir: string) => string[];
}

export const BEHAVIOURS: Record<string, Behaviour> = {};

export function defineBehaviour(name: string, b: Behaviour): void {
  if (BEHAVIOURS[name]) throw new LetheError('INTERNAL', `behaviour '${name}' is defined twice`);
  BEHAVIOURS[name] = b;
}

export function getBehaviour(name: string): Behaviour {
  const b = BEHAVIOURS[name];
  if (!b)
    throw new LetheError('NOT_FOUND', `unknown behaviour '${name}' (expected ${Object.keys(BEHAVIOURS).join(', ') || 'none registered'})`);
  return b;
}
