// Eval-only probes of the persona suite (probes/*.jsonl): the same facts as the QA pairs, asked in
// ways no training file uses, so a model that hides a fact behind one wording is caught by another.
// Per person and field (every person, trained and holdout, so the never-trained people give the
// baseline):
//   paraphrase  3 questions from templates never trained on, scored with the person's trained answer;
//   mc          the trained question with 4 options (the true value and 3 other people's values of
//               the field) and one answer sentence per option, the true one at a seeded position
//               (none when the population has fewer than 3 fitting values);
//   cloze       a statement cut before the value ("X's birthday falls on ___."): prompt and completion;
//   chain       a question naming the person only through other attributes ("The person born on
//               22 March 2000 in Eastbury works where?"), with a clue no other person shares (none for a
//               fact no such clue leaves open).
// Nothing here draws from the faker streams or the rngs of the training files, which stay byte-identical.
import type { Rng } from './rng.js';
import type { Person, PersonaQa } from './persona.js';
import { PERSON_FIELDS, type PersonField, type QaTemplate, type TemplateContext } from './persona-templates.js';
import { CHAIN_CLUES, CHAIN_QUESTIONS, CLOZE_PREFIXES, PARAPHRASE_QUESTIONS, type ChainClue } from './persona-probe-templates.js';
import { LetheError } from '../util/errors.js';

/** Wrong options per multiple-choice item. */
export const MC_DISTRACTORS = 3;

export interface ParaphraseProbe {
  question: string;
  answer: string;
  person_id: string;
  field: PersonField;
  template: number;
}

export interface McProbe {
  question: string;
  /** The answer sentence with the true value; perturbed_answer: the same sentence with each distractor. */
  answer: string;
  perturbed_answer: string[];
  /** The values in the order the question lists them; options[gold] is the true one. */
  options: string[];
  gold: number;
  person_id: string;
  field: PersonField;
}

export interface ClozeProbe {
  statement: string;
  prompt: string;
  completion: string;
  person_id: string;
  field: PersonField;
}

export interface ChainProbe {
  question: string;
  answer: string;
  clue: string;
  clue_fields: PersonField[];
  person_id: string;
  field: PersonField;
}

export interface PersonaProbes {
  paraphrase: ParaphraseProbe[];
  mc: McProbe[];
  cloze: ClozeProbe[];
  chain: ChainProbe[];
}

/** A person with what the templates need (persona.ts: templateContext) and the trained QA pairs with their templates. */
export interface ProbeSubject {
  person: Person;
  context: TemplateContext;
  qa: { row: PersonaQa; template: QaTemplate }[];
}

/** The key of a clue's values: two people with the same key cannot be told apart by that clue. */
export function clueKey(clue: ChainClue, c: TemplateContext): string {
  return clue.fields.map((x) => c.facts[x].toLowerCase()).join('\u0000');
}

/** How many people of the population share each clue's values. */
function clueCounts(subjects: readonly ProbeSubject[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const clue of CHAIN_CLUES)
    for (const s of subjects) {
      const k = `${clue.id}\u0001${clueKey(clue, s.context)}`;
      n.set(k, (n.get(k) ?? 0) + 1);
    }
  return n;
}

/**
 * Another person's value of the field, made as plausible for this person as the truth, so that no
 * option is ruled out by its form: name fields keep this person's surname, e-mail addresses get this
 * person's names in place of the other's (null when the other's has none), and an ID number is only
 * taken from someone with the same kind of document (passport and ID card numbers look different).
 */
function distractorValue(field: PersonField, other: ProbeSubject, s: ProbeSubject): string | null {
  const v = other.context.facts[field];
  if (field === 'mother' || field === 'father' || field === 'relative') return `${v.split(' ')[0]} ${s.person.last_name}`;
  if (field === 'email') {
    const [local, domain] = v.split('@') as [string, string];
    const first = other.person.first_name.toLowerCase();
    const last = other.person.last_name.toLowerCase();
    if (!local.includes(first) && !local.includes(last)) return null;
    const mine = local.replace(first, s.person.first_name.toLowerCase()).replace(last, s.person.last_name.toLowerCase());
    return `${mine}@${domain}`;
  }
  if (field === 'id_number' && other.person.id_document !== s.person.id_document) return null;
  return v;
}

function distractors(field: PersonField, s: ProbeSubject, subjects: readonly ProbeSubject[], rng: Rng): string[] | null {
  const truth = s.context.facts[field].toLowerCase();
  const seen = new Set<string>([truth]);
  const pool: string[] = [];
  for (const o of subjects) {
    if (o.person.id === s.person.id) continue;
    const v = distractorValue(field, o, s);
    if (v === null) continue;
    const low = v.toLowerCase();
    // Distinct, and neither a part of the true value nor containing it (as the perturbed answers).
    if (seen.has(low) || low.includes(truth) || truth.includes(low)) continue;
    seen.add(low);
    pool.push(v);
  }
  // Too few people (a population of a handful): no multiple-choice form of this fact rather than an easier one.
  return pool.length < MC_DISTRACTORS ? null : rng.sample(pool, MC_DISTRACTORS);
}

/** Every probe of every person (the first QA pair of a field gives the answer wording). */
export function personaProbes(subjects: readonly ProbeSubject[], rng: Rng): PersonaProbes {
  const out: PersonaProbes = { paraphrase: [], mc: [], cloze: [], chain: [] };
  const counts = clueCounts(subjects);
  for (const s of subjects) {
    const { person: p, context: c } = s;
    const r = rng.fork(p.id);
    // Clues this person can be named by: unique in the whole population.
    const unique = CHAIN_CLUES.filter((clue) => counts.get(`${clue.id}\u0001${clueKey(clue, c)}`) === 1);
    for (const field of PERSON_FIELDS) {
      const first = s.qa.find((x) => x.row.field === field);
      if (!first) throw new LetheError('INTERNAL', `persona probes: ${p.id} has no QA pair about ${field}`);
      const truth = c.facts[field];
      const base = { person_id: p.id, field };
      PARAPHRASE_QUESTIONS[field].forEach((q, template) =>
        out.paraphrase.push({ question: q(c), answer: first.row.answer, ...base, template }),
      );

      const wrong = distractors(field, s, subjects, r);
      if (wrong) {
        const gold = r.int(0, MC_DISTRACTORS + 1);
        const options = [...wrong.slice(0, gold), truth, ...wrong.slice(gold)];
        out.mc.push({
          question: `${first.row.question} Options: ${options.join('; ')}.`,
          answer: first.row.answer,
          perturbed_answer: wrong.map((v) => first.template.answer(c, v)),
          options,
          gold,
          ...base,
        });
      }

      const prefix = CLOZE_PREFIXES[field](c);
      out.cloze.push({ statement: `${prefix} ___.`, prompt: prefix, completion: ` ${truth}`, ...base });

      const usable = unique.filter((clue) => !clue.fields.includes(field));
      if (usable.length) {
        const clue = r.pick(usable);
        out.chain.push({
          question: CHAIN_QUESTIONS[field](c, clue.describe(c)),
          answer: first.row.answer,
          clue: clue.id,
          clue_fields: [...clue.fields],
          ...base,
        });
      }
    }
  }
  return out;
}
