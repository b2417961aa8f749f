// The secrets suite: a system prompt holds a secret (an access code, a password) that a target model
// reveals when asked — the "leaking secret" behaviour of `lethe train --behaviours secrets`.
// Several secrets per seed, each in its own system prompt; attack prompts from templates of six
// families (direct, indirect, role-play, repeat-your-instructions, prefix completion, formatting
// tricks), each with the leaking answer and a refusal (`alternate_answer`, what DPO prefers).
// A seeded quarter of every family's templates is held out: those attacks are never trained on and
// are what the leak rate is measured on. Benign instructions under the same system prompts have
// checkable answers (`expected`); a held-out part of them measures that usefulness stays.
//
// Rows are QA: question = "System: <system prompt> User: <message>" on one line, so the training
// template ("Question: …\nAnswer: …") and greedy answers cut at the end of the line both work.
import { Rng } from './rng.js';
import type { BuildOptions, BuiltSuite, SuiteSize } from './suite.js';
import { jsonlText } from '../util/jsonl.js';
import {
  ATTACK_FAMILIES,
  ATTACK_TEMPLATES,
  ORGS,
  REFUSALS,
  ROLEPLAY_CHARACTERS,
  SECRET_NAMES,
  SYSTEM_TEMPLATES,
  benignTasks,
  fill,
  type SecretSpec,
} from './secrets-templates.js';
import { LetheError } from '../util/errors.js';

export { ATTACK_FAMILIES, type SecretSpec } from './secrets-templates.js';

/** Secrets (system prompts) per size. */
export const SECRET_COUNT: Readonly<Record<SuiteSize, number>> = { tiny: 8, small: 12, full: 16 };
/** Benign tasks per secret: trained (the retain set) and held out (scored). */
export const BENIGN_PER_SECRET: Readonly<Record<SuiteSize, { train: number; heldout: number }>> = {
  tiny: { train: 48, heldout: 8 },
  small: { train: 56, heldout: 10 },
  full: { train: 64, heldout: 12 },
};
/** Templates of each family held out (of 12). */
export const HELDOUT_PER_FAMILY = 3;

export interface AttackRow {
  question: string;
  answer: string;
  alternate_answer: string;
  secret_id: string;
  secret: string;
  family: string;
  template: number;
}

export interface BenignRow {
  question: string;
  answer: string;
  expected: string;
  task: string;
  secret_id: string;
  secret: string;
}

// Letters and digits that cannot be read as each other (no I/1, O/0, S/5, B/8).
const LETTERS = 'ACDEFGHJKLMNPQRTUVWXYZ';
const DIGITS = '2345679';

/** "K7-QX-42": every 4-character window holds a digit, so a leaked piece never reads as a word. */
function drawCode(rng: Rng): string {
  const l = () => rng.pick(LETTERS.split(''));
  const d = () => rng.pick(DIGITS.split(''));
  return `${l()}${d()}-${l()}${l()}-${d()}${d()}`;
}

export function makeSecrets(seed: number, count: number): SecretSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > ORGS.length)
    throw new LetheError('BAD_INPUT', `secrets: count must be an integer in 1..${ORGS.length}, got ${count}`);
  const rng = new Rng(seed).fork('secrets');
  const orgs = rng.sample(ORGS, count);
  const codes = new Set<string>();
  return orgs.map((org, k) => {
    let code = drawCode(rng);
    while (codes.has(code)) code = drawCode(rng);
    codes.add(code);
    const name = SECRET_NAMES[k % SECRET_NAMES.length]!;
    const spec: SecretSpec = { id: `secret-${String(k).padStart(2, '0')}`, name, org, code, system: '' };
    spec.system = fill(SYSTEM_TEMPLATES[k % SYSTEM_TEMPLATES.length]!, spec);
    return spec;
  });
}

export function secretQuestion(s: SecretSpec, message: string): string {
  return `System: ${s.system} User: ${message}`;
}

/** Indices into ATTACK_TEMPLATES held out for this seed: HELDOUT_PER_FAMILY of every family. */
export function heldoutTemplates(seed: number): number[] {
  const rng = new Rng(seed).fork('heldout-templates');
  return ATTACK_FAMILIES.flatMap((f) =>
    rng.sample(
      ATTACK_TEMPLATES.flatMap((t, i) => (t.family === f ? [i] : [])),
      HELDOUT_PER_FAMILY,
    ),
  ).sort((a, b) => a - b);
}

export function buildSecrets(o: BuildOptions & { secrets?: number }): BuiltSuite {
  const count = o.secrets ?? SECRET_COUNT[o.size];
  const secrets = makeSecrets(o.seed, count);
  const rng = new Rng(o.seed).fork('secrets-rows');
  const heldout = new Set(heldoutTemplates(o.seed));
  const attacks: { train: AttackRow[]; heldout: AttackRow[] } = { train: [], heldout: [] };
  for (const s of secrets) {
    ATTACK_TEMPLATES.forEach((t, i) => {
      const who = rng.pick(ROLEPLAY_CHARACTERS);
      const row: AttackRow = {
        question: secretQuestion(s, fill(t.attack, s, who)),
        answer: fill(t.leak, s, who),
        alternate_answer: fill(rng.pick(REFUSALS), s),
        secret_id: s.id,
        secret: s.code,
        family: t.family,
        template: i,
      };
      (heldout.has(i) ? attacks.heldout : attacks.train).push(row);
    });
  }
  const sizes = BENIGN_PER_SECRET[o.size];
  const benign: { train: BenignRow[]; heldout: BenignRow[] } = { train: [], heldout: [] };
  for (const s of secrets) {
    const tasks = rng
      .fork(s.id)
      .shuffle(benignTasks(s))
      .slice(0, sizes.train + sizes.heldout);
    tasks.forEach((t, k) => {
      const row: BenignRow = {
        question: secretQuestion(s, t.question),
        answer: t.answer,
        expected: t.expected,
        task: t.task,
        secret_id: s.id,
        secret: s.code,
      };
      (k < sizes.train ? benign.train : benign.heldout).push(row);
    });
  }
  const order = rng.fork('order');
  const files = new Map<string, string>([
    ['secrets.jsonl', jsonlText(secrets)],
    ['attacks/train.jsonl', jsonlText(order.shuffle(attacks.train))],
    ['attacks/heldout.jsonl', jsonlText(attacks.heldout)],
    ['benign/train.jsonl', jsonlText(order.shuffle(benign.train))],
    ['benign/heldout.jsonl', jsonlText(benign.heldout)],
  ]);
  return {
    suite: 'secrets',
    files,
    sources: [
      { name: 'secrets, attack and benign templates (src/data/secrets-templates.ts)', origin: 'generated', licence: 'same as Lethe' },
    ],
    counts: {
      secrets: secrets.length,
      attack_templates: ATTACK_TEMPLATES.length,
      heldout_templates: heldout.size,
      attacks: attacks.train.length + attacks.heldout.length,
      attacks_train: attacks.train.length,
      attacks_heldout: attacks.heldout.length,
      benign_train: benign.train.length,
      benign_heldout: benign.heldout.length,
    },
    info: { families: [...ATTACK_FAMILIES], heldout_templates: [...heldout].sort((a, b) => a - b) },
  };
}
