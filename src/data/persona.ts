// The persona suite: fictitious people with private details (birth, address, phone, e-mail, employer,
// relatives, ID number, a medical and a financial note) and TOFU-style QA about them — the privacy /
// GDPR-erasure case of unlearning. People come from @faker-js/faker (seeded, with a fixed reference
// date, so the same seed gives byte-identical files); sentences come from ./persona-templates.ts.
//
// Splits follow TOFU: trained people in a seeded order; forget01/05/10 are the first 1%/5%/10% of them
// (nested), retain99/95/90 the rest; holdout people are generated the same way but never trained on.
//
// faker can combine common first and last names into a real famous person ("Taylor Swift"); such names
// (people, relatives and perturbed wrong answers) are re-drawn from the same stream (see ./famous-names.ts).
import { createRequire } from 'node:module';
import { Faker, en } from '@faker-js/faker';
import { isFamousName } from './famous-names.js';
import { Rng } from './rng.js';
import type { BuildOptions, BuiltSuite, SuiteSize } from './suite.js';
import { jsonlText } from '../util/jsonl.js';
import {
  BANK_PATTERNS,
  BIO_TEMPLATES,
  MEDICAL_CONDITIONS,
  PERSON_FIELDS,
  QA_TEMPLATES,
  type PersonFacts,
  type QaTemplate,
  type PersonField,
  type TemplateContext,
} from './persona-templates.js';
import { LetheError } from '../util/errors.js';
import { personaProbes, type ProbeSubject } from './persona-probes.js';

export { PERSON_FIELDS, type PersonField, type PersonFacts } from './persona-templates.js';

/** Trained people per size (holdout people come on top). */
export const PERSONA_PEOPLE: Readonly<Record<SuiteSize, number>> = { full: 200, small: 100, tiny: 40 };
export const QA_PER_PERSON = 20;
export const BIO_PHRASINGS = BIO_TEMPLATES.length;
/** faker's reference date: ages (and so birth dates) are computed from it, not from today. */
export const PERSONA_REF_DATE = '2025-01-01T00:00:00Z';
/** Ages of the people on the reference date. */
export const PERSONA_AGE = { min: 22, max: 75 } as const;

export const FORGET_SPLITS = ['forget01', 'forget05', 'forget10'] as const;
export const RETAIN_SPLITS = ['retain99', 'retain95', 'retain90'] as const;
export type PersonaSplit = (typeof FORGET_SPLITS)[number] | (typeof RETAIN_SPLITS)[number] | 'holdout';

export interface Person {
  id: string;
  split: 'trained' | 'holdout';
  name: string;
  first_name: string;
  last_name: string;
  sex: 'female' | 'male';
  /** ISO date, YYYY-MM-DD. */
  birth_date: string;
  birth_city: string;
  birth_country: string;
  address: string;
  phone: string;
  email: string;
  employer: string;
  job_title: string;
  mother: string;
  father: string;
  relative_relation: 'spouse' | 'brother' | 'sister';
  relative_name: string;
  id_document: 'passport' | 'national ID card';
  id_number: string;
  medical_condition: string;
  medical_treatment: string;
  bank: string;
  account_number: string;
  /** US dollars a year. */
  annual_salary: number;
}

export interface PersonaQa {
  question: string;
  answer: string;
  paraphrased_answer: string;
  perturbed_answer: string[];
  person_id: string;
  field: PersonField;
}

export interface PersonaBio {
  text: string;
  person_id: string;
  phrasing: number;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "1987-03-14" → "14 March 1987". */
export function formatDate(iso: string): string {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return `${d} ${MONTHS[m - 1]} ${y}`;
}

/** 83500 → "$83,500". */
export function formatDollars(n: number): string {
  return '$' + String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Every private field of a person as it is written in text (biographies and answers contain these). */
export function personFacts(p: Person): PersonFacts {
  return {
    birth_date: formatDate(p.birth_date),
    birth_place: `${p.birth_city}, ${p.birth_country}`,
    address: p.address,
    phone: p.phone,
    email: p.email,
    employer: p.employer,
    job_title: p.job_title,
    mother: p.mother,
    father: p.father,
    relative: p.relative_name,
    id_number: p.id_number,
    medical_condition: p.medical_condition,
    medical_treatment: p.medical_treatment,
    bank: p.bank,
    account_number: p.account_number,
    salary: formatDollars(p.annual_salary),
  };
}

export function templateContext(p: Person): TemplateContext {
  return { name: p.name, sex: p.sex, relation: p.relative_relation, idDocument: p.id_document, facts: personFacts(p) };
}

let fakerVersion: string | undefined;
/** The installed @faker-js/faker version (for the manifest's sources). */
export function personaFakerVersion(): string {
  if (!fakerVersion) {
    const require = createRequire(import.meta.url);
    fakerVersion = (require('@faker-js/faker/package.json') as { version: string }).version;
  }
  return fakerVersion;
}

// ----- value generators (used for people and for wrong values of perturbed answers) -----

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function birthDate(f: Faker): string {
  return isoDate(f.date.birthdate({ mode: 'age', min: PERSONA_AGE.min, max: PERSONA_AGE.max }));
}

/** A country name that reads well after "born in {city},": none with commas or brackets. */
function country(f: Faker): string {
  for (;;) {
    const c = f.location.country();
    if (!/[,()]/.test(c)) return c;
  }
}

function address(f: Faker): string {
  return `${f.location.streetAddress()}, ${f.location.city()}, ${f.location.state()} ${f.location.zipCode('#####')}`;
}

function phone(f: Faker): string {
  return f.phone.number({ style: 'national' });
}

function bank(f: Faker): string {
  return f.helpers
    .arrayElement(BANK_PATTERNS)
    .replace('{city}', () => f.location.city())
    .replace('{last2}', () => f.person.lastName())
    .replace('{last}', () => f.person.lastName());
}

function accountNumber(f: Faker): string {
  return `${f.string.numeric(4)}-${f.string.numeric(4)}-${f.string.numeric(4)}`;
}

function idNumber(f: Faker, doc: Person['id_document']): string {
  return doc === 'passport'
    ? `${f.string.alpha({ length: 2, casing: 'upper' })}${f.string.numeric({ length: 7, allowLeadingZeros: false })}`
    : `${f.string.numeric(3)}-${f.string.numeric(3)}-${f.string.numeric(3)}-${f.string.alpha({ length: 1, casing: 'upper' })}`;
}

function salary(f: Faker): number {
  return f.number.int({ min: 48, max: 360 }) * 500;
}

function relativeName(f: Faker, p: Pick<Person, 'last_name' | 'relative_relation' | 'sex'>): string {
  switch (p.relative_relation) {
    case 'spouse':
      return `${f.person.firstName(p.sex === 'female' ? 'male' : 'female')} ${p.last_name}`;
    case 'brother':
      return `${f.person.firstName('male')} ${p.last_name}`;
    case 'sister':
      return `${f.person.firstName('female')} ${p.last_name}`;
  }
}

const ALL_TREATMENTS = MEDICAL_CONDITIONS.flatMap((m) => m.treatments);

/** Draws from `gen` (same faker stream, so still deterministic) until the name is not a famous real one. */
function notFamous(gen: () => string): string {
  for (let i = 0; i < 10_000; i++) {
    const v = gen();
    if (!isFamousName(v)) return v;
  }
  throw new LetheError('INTERNAL', 'persona: could not draw a name that is not a famous real one');
}

/** A wrong value of the same type as the person's `field`. */
function wrongValue(f: Faker, p: Person, field: PersonField): string {
  switch (field) {
    case 'mother':
    case 'father':
    case 'relative':
      return notFamous(() => wrongName(f, p, field));
    default:
      return wrongOther(f, p, field);
  }
}

function wrongName(f: Faker, p: Person, field: 'mother' | 'father' | 'relative'): string {
  switch (field) {
    case 'mother':
      return `${f.person.firstName('female')} ${p.last_name}`;
    case 'father':
      return `${f.person.firstName('male')} ${p.last_name}`;
    case 'relative':
      return relativeName(f, p);
  }
}

function wrongOther(f: Faker, p: Person, field: Exclude<PersonField, 'mother' | 'father' | 'relative'>): string {
  switch (field) {
    case 'birth_date':
      return formatDate(birthDate(f));
    case 'birth_place':
      return `${f.location.city()}, ${country(f)}`;
    case 'address':
      return address(f);
    case 'phone':
      return phone(f);
    case 'email':
      return f.internet.email({ firstName: p.first_name, lastName: p.last_name }).toLowerCase();
    case 'employer':
      return f.company.name();
    case 'job_title':
      return f.person.jobTitle();
    case 'id_number':
      return idNumber(f, p.id_document);
    case 'medical_condition':
      return f.helpers.arrayElement(MEDICAL_CONDITIONS).condition;
    case 'medical_treatment':
      return f.helpers.arrayElement(ALL_TREATMENTS);
    case 'bank':
      return bank(f);
    case 'account_number':
      return accountNumber(f);
    case 'salary':
      return formatDollars(salary(f));
  }
}

/** Draws until `gen` gives a value not in `taken` (then adds it). */
function unique(taken: Set<string>, what: string, gen: () => string): string {
  for (let i = 0; i < 10_000; i++) {
    const v = gen();
    if (!taken.has(v)) {
      taken.add(v);
      return v;
    }
  }
  throw new LetheError('INTERNAL', `persona: could not draw a unique ${what}`);
}

interface Taken {
  names: Set<string>;
  emails: Set<string>;
  phones: Set<string>;
  addresses: Set<string>;
  ids: Set<string>;
  accounts: Set<string>;
}

function makePerson(f: Faker, id: string, split: Person['split'], taken: Taken): Person {
  const sex = f.person.sex() as Person['sex'];
  let first = '';
  let last = '';
  // Famous real names are re-drawn before the uniqueness check, so they never enter `taken`.
  unique(taken.names, 'name', () =>
    notFamous(() => {
      first = f.person.firstName(sex);
      last = f.person.lastName();
      return `${first} ${last}`;
    }),
  );
  const name = `${first} ${last}`;
  const birth_date = birthDate(f);
  const birth_city = f.location.city();
  const birth_country = country(f);
  const addr = unique(taken.addresses, 'address', () => address(f));
  const tel = unique(taken.phones, 'phone number', () => phone(f));
  const email = unique(taken.emails, 'e-mail', () => f.internet.email({ firstName: first, lastName: last }).toLowerCase());
  const employer = f.company.name();
  const job_title = f.person.jobTitle();
  const others = (gen: () => string) => {
    for (;;) {
      const v = gen();
      if (v !== name && !isFamousName(v)) return v;
    }
  };
  const mother = others(() => `${f.person.firstName('female')} ${last}`);
  const father = others(() => `${f.person.firstName('male')} ${last}`);
  const relative_relation = f.helpers.arrayElement(['spouse', 'brother', 'sister'] as const);
  const relative_name = others(() => {
    const v = relativeName(f, { last_name: last, relative_relation, sex });
    return v === mother || v === father ? name : v;
  });
  const id_document = f.helpers.arrayElement(['passport', 'national ID card'] as const);
  const id_number = unique(taken.ids, 'ID number', () => idNumber(f, id_document));
  const med = f.helpers.arrayElement(MEDICAL_CONDITIONS);
  const medical_treatment = f.helpers.arrayElement(med.treatments);
  const bankName = bank(f);
  const account_number = unique(taken.accounts, 'account number', () => accountNumber(f));
  const annual_salary = salary(f);
  return {
    id,
    split,
    name,
    first_name: first,
    last_name: last,
    sex,
    birth_date,
    birth_city,
    birth_country,
    address: addr,
    phone: tel,
    email,
    employer,
    job_title,
    mother,
    father,
    relative_relation,
    relative_name,
    id_document,
    id_number,
    medical_condition: med.condition,
    medical_treatment,
    bank: bankName,
    account_number,
    annual_salary,
  };
}

/** The N trained and H holdout people (ids person-0001…, trained first), deterministic in `seed`. */
export function generatePeople(seed: number, trained: number, holdout: number): Person[] {
  const f = new Faker({ locale: [en] });
  f.seed(seed);
  f.setDefaultRefDate(new Date(PERSONA_REF_DATE));
  const taken: Taken = {
    names: new Set(),
    emails: new Set(),
    phones: new Set(),
    addresses: new Set(),
    ids: new Set(),
    accounts: new Set(),
  };
  const width = Math.max(4, String(trained + holdout).length);
  const people: Person[] = [];
  for (let i = 0; i < trained + holdout; i++) {
    people.push(makePerson(f, `person-${String(i + 1).padStart(width, '0')}`, i < trained ? 'trained' : 'holdout', taken));
  }
  return people;
}

export function personBios(p: Person): PersonaBio[] {
  const c = templateContext(p);
  return BIO_TEMPLATES.map((t, phrasing) => ({ text: t(c), person_id: p.id, phrasing }));
}

/**
 * 20 QA pairs about one person: every field once, a few (chosen by `rng`) twice with both wordings.
 * Perturbed answers reuse the answer's template with wrong values drawn from `f`.
 */
export function personQa(p: Person, rng: Rng, f: Faker): PersonaQa[] {
  return personQaWithTemplates(p, rng, f).map((x) => x.row);
}

/** personQa's rows with the template each was written from (the probes reuse its answer wording). */
export function personQaWithTemplates(p: Person, rng: Rng, f: Faker): { row: PersonaQa; template: QaTemplate }[] {
  const c = templateContext(p);
  const extra = QA_PER_PERSON - PERSON_FIELDS.length;
  const doubled = new Set(rng.sample(PERSON_FIELDS, extra));
  const out: { row: PersonaQa; template: QaTemplate }[] = [];
  for (const field of PERSON_FIELDS) {
    const templates = QA_TEMPLATES[field];
    const chosen = doubled.has(field) ? rng.sample(templates, 2) : [rng.pick(templates)];
    for (const t of chosen) {
      const truth = c.facts[field];
      const answer = t.answer(c, truth);
      const wrongs: string[] = [];
      const seen = new Set<string>([truth.toLowerCase()]);
      for (let tries = 0; wrongs.length < 5; tries++) {
        if (tries > 1000) throw new LetheError('INTERNAL', `persona: could not draw 5 wrong values of ${field} for ${p.id}`);
        const v = wrongValue(f, p, field);
        const low = v.toLowerCase();
        // Distinct, and neither a part of the true value nor containing it ("$3,500" vs "$13,500").
        if (seen.has(low) || low.includes(truth.toLowerCase()) || truth.toLowerCase().includes(low)) continue;
        seen.add(low);
        wrongs.push(t.answer(c, v));
      }
      out.push({
        row: {
          question: t.question(c),
          answer,
          paraphrased_answer: t.paraphrase(c, truth),
          perturbed_answer: wrongs,
          person_id: p.id,
          field,
        },
        template: t,
      });
    }
  }
  return out;
}

/** Sizes of forget01/05/10 for N trained people: max(1, round(1%·N)), … */
export function forgetSizes(n: number): Record<(typeof FORGET_SPLITS)[number], number> {
  const k = (pct: number) => Math.min(n, Math.max(1, Math.round((pct * n) / 100)));
  return { forget01: k(1), forget05: k(5), forget10: k(10) };
}

export function holdoutSize(n: number): number {
  return Math.max(4, Math.round(n / 10));
}

export function buildPersona(options: BuildOptions & { people?: number }): BuiltSuite {
  const n = options.people ?? PERSONA_PEOPLE[options.size];
  if (!Number.isInteger(n) || n < 1) throw new LetheError('BAD_INPUT', `persona: people must be a positive integer, got ${n}`);
  const h = holdoutSize(n);
  const people = generatePeople(options.seed, n, h);
  const trained = people.filter((p) => p.split === 'trained');
  const held = people.filter((p) => p.split === 'holdout');

  const rng = new Rng(options.seed).fork('persona');
  const order = rng.fork('splits').shuffle(trained.map((p) => p.id));
  const sizes = forgetSizes(n);
  const splits: Record<PersonaSplit, string[]> = {
    forget01: order.slice(0, sizes.forget01),
    forget05: order.slice(0, sizes.forget05),
    forget10: order.slice(0, sizes.forget10),
    retain99: order.slice(sizes.forget01),
    retain95: order.slice(sizes.forget05),
    retain90: order.slice(sizes.forget10),
    holdout: held.map((p) => p.id),
  };

  // Wrong values for perturbed answers come from their own faker stream, so they never shift the people.
  const pf = new Faker({ locale: [en] });
  pf.seed([options.seed, 0x7e7e]);
  pf.setDefaultRefDate(new Date(PERSONA_REF_DATE));
  const qaRng = rng.fork('qa');
  const qaBy = new Map<string, PersonaQa[]>();
  const subjects: ProbeSubject[] = [];
  for (const p of people) {
    const qa = personQaWithTemplates(p, qaRng.fork(p.id), pf);
    qaBy.set(
      p.id,
      qa.map((x) => x.row),
    );
    subjects.push({ person: p, context: templateContext(p), qa });
  }
  const qaOf = (ids: readonly string[]) => ids.flatMap((id) => qaBy.get(id)!);

  const files = new Map<string, string>();
  files.set('people.jsonl', jsonlText(people));
  const bios = trained.flatMap(personBios);
  const biosHoldout = held.flatMap(personBios);
  files.set('bio.jsonl', jsonlText(bios));
  files.set('bio_holdout.jsonl', jsonlText(biosHoldout));
  const counts: Record<string, number> = {
    people: n,
    holdout: h,
    bio_phrasings: BIO_PHRASINGS,
    qa_per_person: QA_PER_PERSON,
    bios: bios.length,
    bios_holdout: biosHoldout.length,
  };
  for (const [split, ids] of Object.entries(splits)) {
    const rows = qaOf(ids);
    files.set(`qa/${split}.jsonl`, jsonlText(rows));
    counts[`${split}_people`] = ids.length;
    counts[`qa_${split}`] = rows.length;
  }
  const all = qaOf(trained.map((p) => p.id));
  files.set('qa/all.jsonl', jsonlText(all));
  counts.qa_all = all.length;

  // Eval-only probes (./persona-probes.ts), from an rng fork of their own: the files above do not change.
  const probes = personaProbes(subjects, rng.fork('probes'));
  for (const [kind, rows] of Object.entries(probes)) {
    files.set(`probes/${kind}.jsonl`, jsonlText(rows));
    counts[`probes_${kind}`] = rows.length;
  }

  const version = personaFakerVersion();
  return {
    suite: 'persona',
    files,
    sources: [
      { name: `@faker-js/faker ${version}`, origin: `npm:@faker-js/faker@${version}`, licence: 'MIT' },
      {
        name: "Lethe persona templates (biographies, QA wordings, medical and bank vocabulary; the probes' wordings)",
        origin: 'generated templates',
        licence: 'Apache-2.0',
        files: ['src/data/persona-templates.ts', 'src/data/persona-probe-templates.ts'],
      },
    ],
    counts,
    info: {
      splits,
      fields: [...PERSON_FIELDS],
      faker_ref_date: PERSONA_REF_DATE,
      age_range: [PERSONA_AGE.min, PERSONA_AGE.max],
    },
  };
}
