// What an unlearning method is: a name, arguments with defaults (a zod schema), what it needs
// prepared, and its loss on one step's batch. The loop, the data and the saving are shared
// (forget.ts); a method file holds only its own math. Registered by name (registry.ts).
import type { z } from 'zod';
import type { Tensor } from '../torch/index.js';
import type { CausalLM } from '../models/model.js';
import type { LossOutput } from '../train/loop.js';
import type { Tokenizer } from '../models/tokenizer.js';
import type { DataRow } from '../train/examples.js';
import type { TrainingOptions } from '../train/options.js';

/** A right-padded batch: ids, labels (-100 on prompt and padding) and attention mask, all [B, T]. */
export interface Encoded {
  ids: Tensor;
  labels: Tensor;
  attentionMask: Tensor;
  /** Row numbers in the set it came from. */
  rows: number[];
  tokens: number;
}

export interface StepBatch {
  forget: Encoded;
  /** A retain batch of the same size (for methods that keep something). */
  retain?: Encoded;
  /** The forget questions with the alternate answers (DPO's preferred, IdK), same rows as forget. */
  alternate?: Encoded;
  /** Cached starting-model sequence log-likelihoods (sum over labelled tokens) of the forget rows, [B]. */
  refForgetLogLik?: Tensor;
  /** The same for the alternate answers, [B]. */
  refAlternateLogLik?: Tensor;
}

export interface MethodNeeds {
  /** Whether retain data is required, optional (used when given) or ignored. */
  retain: 'required' | 'optional' | 'none';
  /** Sequence log-likelihoods under the starting model, computed once per item (NPO, DPO). */
  referenceLogLik?: boolean;
  /** A frozen copy of the starting model kept resident, for per-step distributions or activations. */
  referenceModel?: boolean;
  /** Alternate answers for forget questions: 'idk' (shipped refusals) or 'alternate' (the row's
   *  alternate_answer, else a perturbed answer, else an IdK answer). */
  alternate?: 'idk' | 'alternate';
}

export interface StepContext<A> {
  args: A;
  model: CausalLM;
  /** The frozen starting model, when needs.referenceModel. */
  reference: CausalLM | null;
  step: number;
  totalSteps: number;
  /** The method's own state across steps (RMU's control vector, PDU's dual variable). */
  state: MethodState;
}

export interface MethodState {
  tensors: Map<string, Tensor>;
  numbers: Record<string, number>;
}

export interface SetupContext<A> {
  args: A;
  model: CausalLM;
  seed: number;
  state: MethodState;
  /** The parameter-name patterns to train, when the method chooses (RMU); LoRA and masks still apply. */
  trainOnly: (patterns: string[]) => void;
}

/** The learning rate and length a method trains with when the user gives neither, and where they
 *  come from (a paper, open-unlearning's config at a named commit, or a measurement here with its
 *  command): `lethe methods` and `lethe forget --help` print them. */
export interface TrainingDefaults {
  lr: number;
  epochs: number;
  source: string;
}

/** Methods without defaults of their own train at this lr for this many epochs. */
export const GENERIC_TRAINING: TrainingDefaults = {
  lr: 1e-4,
  epochs: 5,
  source: "generic defaults, not tuned for this method: give --lr and --epochs, or find them with `lethe table`'s recipes",
};

/** What `lethe forget --search` tries for a method: learning rates × the values of its key
 *  argument(s) (the one open-unlearning tunes per model and data), other arguments at their defaults. */
export interface SearchSpace {
  lr: number[];
  args?: Record<string, unknown[]>;
}

/** Methods without a search space of their own: these learning rates, default arguments. */
export const GENERIC_SEARCH: SearchSpace = { lr: [3e-5, 1e-4, 3e-4, 1e-3] };

export interface MethodDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  /** One line for `lethe methods`. */
  description: string;
  /** Its lr and epochs when the user gives none (GENERIC_TRAINING when absent; procedures set their own). */
  training?: TrainingDefaults;
  /** The grid `--search` draws its candidates from (GENERIC_SEARCH when absent). */
  search?: SearchSpace;
  /** Arguments with defaults; `--set key=value` is checked against it. */
  args: S;
  needs: (args: z.infer<S>) => MethodNeeds;
  /** Once before the first step. */
  setup?: (ctx: SetupContext<z.infer<S>>) => void;
  /** The loss of one step (backward is the loop's); parts are logged. State it changes in
   *  `state.numbers` is checkpointed with the weights. */
  loss?: (ctx: StepContext<z.infer<S>>, batch: StepBatch) => LossOutput;
  /** false when the loss is not a sum of per-rank shares (it reads a batch value back into its
   *  state, as PDU's dual update): such a method refuses data-parallel runs. */
  dataParallel?: false;
  /** Methods that are a whole procedure rather than one loss on the loop (TaskVector, WHP,
   *  Distill): they change `ctx.model` in place (or return another model) and forget() saves it. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a procedure may change the model in place and return nothing
  procedure?: (ctx: ProcedureContext<z.infer<S>>) => Promise<CausalLM | void>;
}

export interface ProcedureContext<A> {
  args: A;
  /** The starting model (already loaded; LoRA added when asked for). */
  model: CausalLM;
  modelDir: string;
  tokenizer: Tokenizer;
  forgetRows: DataRow[];
  retainRows: DataRow[];
  /** Training settings the user gave (steps, epochs, lr, batch size, seed, device, format…). */
  training: ProcedureTraining;
  /** A folder for intermediate models and checkpoints (inside --out; removed on success). */
  workDir: string;
  report: (line: string) => void;
}

/** The user's training settings as a procedure sees them: seed, device and maxLength resolved. */
export type ProcedureTraining = Pick<TrainingOptions, 'epochs' | 'steps' | 'lr' | 'batchSize' | 'format' | 'resume'> &
  Required<Pick<TrainingOptions, 'seed' | 'device' | 'maxLength'>>;
