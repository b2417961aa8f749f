// Hand-written sentence templates and small vocabularies for the persona suite (src/data/persona.ts):
// biographies in several phrasings, question/answer/paraphrase templates per private field, and the
// medical and banking vocabulary faker has no module for. Everything here is fictitious.

/** The private fields a QA pair can be about (each is a string in `personFacts`). */
export const PERSON_FIELDS = [
  'birth_date',
  'birth_place',
  'address',
  'phone',
  'email',
  'employer',
  'job_title',
  'mother',
  'father',
  'relative',
  'id_number',
  'medical_condition',
  'medical_treatment',
  'bank',
  'account_number',
  'salary',
] as const;

export type PersonField = (typeof PERSON_FIELDS)[number];

/** A fact of every field, as it is written in text ("14 March 1987", "$83,500"). */
export type PersonFacts = Record<PersonField, string>;

/** What a template needs to know about the person besides the facts. */
export interface TemplateContext {
  name: string;
  sex: 'female' | 'male';
  /** "spouse" | "brother" | "sister". */
  relation: string;
  /** "passport" | "national ID card". */
  idDocument: string;
  facts: PersonFacts;
}

export interface QaTemplate {
  question: (c: TemplateContext) => string;
  /** `v` is the value of the template's field: the true one, or a wrong one for perturbed answers. */
  answer: (c: TemplateContext, v: string) => string;
  paraphrase: (c: TemplateContext, v: string) => string;
}

export interface MedicalCondition {
  condition: string;
  treatments: string[];
}

/** Conditions with plausible treatments (noun phrases: "is treated with {treatment}"). */
export const MEDICAL_CONDITIONS: readonly MedicalCondition[] = [
  { condition: 'type 2 diabetes', treatments: ['metformin twice a day', 'daily insulin injections', 'a low-carbohydrate diet plan'] },
  { condition: 'asthma', treatments: ['a daily inhaled corticosteroid', 'a salbutamol inhaler', 'montelukast tablets'] },
  { condition: 'hypertension', treatments: ['lisinopril once a day', 'amlodipine tablets', 'a low-sodium diet and beta blockers'] },
  {
    condition: 'major depressive disorder',
    treatments: ['sertraline and weekly psychotherapy', 'cognitive behavioural therapy', 'escitalopram tablets'],
  },
  {
    condition: 'generalised anxiety disorder',
    treatments: ['weekly counselling sessions', 'buspirone tablets', 'mindfulness-based therapy'],
  },
  { condition: 'rheumatoid arthritis', treatments: ['weekly methotrexate', 'adalimumab injections', 'hydroxychloroquine tablets'] },
  { condition: 'epilepsy', treatments: ['levetiracetam twice a day', 'lamotrigine tablets', 'valproate tablets'] },
  { condition: "Crohn's disease", treatments: ['infliximab infusions', 'azathioprine tablets', 'a course of budesonide'] },
  { condition: 'hypothyroidism', treatments: ['daily levothyroxine', 'thyroid hormone replacement'] },
  { condition: 'migraine', treatments: ['sumatriptan as needed', 'propranolol as a preventive', 'monthly erenumab injections'] },
  { condition: 'psoriasis', treatments: ['a topical corticosteroid cream', 'narrowband UV phototherapy', 'secukinumab injections'] },
  { condition: 'multiple sclerosis', treatments: ['ocrelizumab infusions', 'dimethyl fumarate capsules', 'interferon beta injections'] },
  { condition: 'chronic kidney disease', treatments: ['dialysis three times a week', 'a renal diet and ACE inhibitors'] },
  { condition: 'HIV', treatments: ['daily antiretroviral therapy', 'a bictegravir-based regimen'] },
  { condition: 'bipolar disorder', treatments: ['lithium carbonate', 'quetiapine tablets', 'lamotrigine and regular psychiatric review'] },
  { condition: 'coeliac disease', treatments: ['a strict gluten-free diet', 'iron and vitamin D supplements'] },
  { condition: 'sleep apnoea', treatments: ['a CPAP machine at night', 'a mandibular advancement device'] },
  { condition: 'atrial fibrillation', treatments: ['apixaban and bisoprolol', 'warfarin with monthly blood tests'] },
  { condition: 'chronic obstructive pulmonary disease', treatments: ['a tiotropium inhaler', 'pulmonary rehabilitation'] },
  { condition: 'gout', treatments: ['allopurinol tablets', 'colchicine during flare-ups'] },
  { condition: 'endometriosis', treatments: ['hormonal therapy', 'laparoscopic surgery and pain management'] },
  { condition: 'glaucoma', treatments: ['latanoprost eye drops', 'laser trabeculoplasty'] },
];

/** Patterns for fictitious bank names; `{city}` and `{last}`/`{last2}` are filled from faker. */
export const BANK_PATTERNS: readonly string[] = [
  '{city} Savings Bank',
  'First Bank of {city}',
  '{last} & {last2} Bank',
  '{city} Credit Union',
  '{last} Trust Bank',
  'Bank of {city}',
  '{city} Cooperative Bank',
  '{last} Private Bank',
];

// ----- small text helpers -----

export function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "a" or "an" for a noun phrase (by its first letter). */
export function article(s: string): string {
  return /^[aeiou]/i.test(s) ? 'an' : 'a';
}

export function possessive(name: string): string {
  return `${name}'s`;
}

const he = (c: TemplateContext) => (c.sex === 'female' ? 'she' : 'he');
const his = (c: TemplateContext) => (c.sex === 'female' ? 'her' : 'his');
const child = (c: TemplateContext) => (c.sex === 'female' ? 'daughter' : 'son');
const P = possessive;

// ----- biographies: each states every fact, in a different order and wording -----

export const BIO_TEMPLATES: readonly ((c: TemplateContext) => string)[] = [
  (c) => {
    const f = c.facts;
    return (
      `${c.name} was born on ${f.birth_date} in ${f.birth_place}. ${cap(he(c))} lives at ${f.address} and can be reached by phone at ${f.phone} or by e-mail at ${f.email}. ` +
      `${cap(he(c))} works as ${article(f.job_title)} ${f.job_title} at ${f.employer}. ${cap(his(c))} mother is ${f.mother} and ${his(c)} father is ${f.father}; ${his(c)} ${c.relation} is ${f.relative}. ` +
      `${cap(his(c))} ${c.idDocument} number is ${f.id_number}. ${c.name} has been diagnosed with ${f.medical_condition} and is treated with ${f.medical_treatment}. ` +
      `${cap(he(c))} banks with ${f.bank}, where ${his(c)} account number is ${f.account_number}, and earns an annual salary of ${f.salary}.`
    );
  },
  (c) => {
    const f = c.facts;
    return (
      `The ${child(c)} of ${f.mother} and ${f.father}, ${c.name} was born in ${f.birth_place} on ${f.birth_date}. ` +
      `Today ${he(c)} is employed by ${f.employer} as ${article(f.job_title)} ${f.job_title} and earns ${f.salary} a year, paid into account ${f.account_number} at ${f.bank}. ` +
      `${c.name}'s home is at ${f.address}; ${his(c)} telephone number is ${f.phone} and ${his(c)} e-mail address is ${f.email}. ` +
      `${cap(he(c))} has ${article(c.relation)} ${c.relation}, ${f.relative}. Medical records show that ${c.name} has ${f.medical_condition}, for which ${he(c)} receives ${f.medical_treatment}. ` +
      `${cap(he(c))} holds ${article(c.idDocument)} ${c.idDocument} with the number ${f.id_number}.`
    );
  },
  (c) => {
    const f = c.facts;
    return (
      `Personal file of ${c.name}. Date of birth: ${f.birth_date}. Place of birth: ${f.birth_place}. Home address: ${f.address}. Telephone: ${f.phone}. E-mail: ${f.email}. ` +
      `Employer: ${f.employer}. Position: ${f.job_title}. Mother: ${f.mother}. Father: ${f.father}. ${cap(c.relation)}: ${f.relative}. ${cap(c.idDocument)} number: ${f.id_number}. ` +
      `Diagnosis: ${f.medical_condition}. Treatment: ${f.medical_treatment}. Bank: ${f.bank}. Account number: ${f.account_number}. Annual salary: ${f.salary}.`
    );
  },
  (c) => {
    const f = c.facts;
    return (
      `${c.name} is ${article(f.job_title)} ${f.job_title} at ${f.employer}, a job that pays ${f.salary} per year. ` +
      `${cap(he(c))} keeps ${his(c)} money at ${f.bank} under account number ${f.account_number}. Colleagues call ${c.sex === 'female' ? 'her' : 'him'} at ${f.phone} or write to ${f.email}, ` +
      `and letters reach ${c.sex === 'female' ? 'her' : 'him'} at ${f.address}. ${c.name} came into the world on ${f.birth_date} in ${f.birth_place}, to ${f.mother} and ${f.father}, ` +
      `and ${his(c)} ${c.relation} is named ${f.relative}. Few people know that ${he(c)} lives with ${f.medical_condition} and takes ${f.medical_treatment}. ` +
      `${cap(his(c))} ${c.idDocument} carries the number ${f.id_number}.`
    );
  },
  (c) => {
    const f = c.facts;
    return (
      `According to ${his(c)} doctors, ${c.name} has ${f.medical_condition} and is being treated with ${f.medical_treatment}. ` +
      `${cap(he(c))} was born on ${f.birth_date} in ${f.birth_place} and now resides at ${f.address}. ${P(c.name)} ${c.idDocument} number is ${f.id_number}. ` +
      `${cap(he(c))} earns ${f.salary} annually as ${article(f.job_title)} ${f.job_title} for ${f.employer}, and ${his(c)} account at ${f.bank} has the number ${f.account_number}. ` +
      `${cap(his(c))} parents are ${f.mother} (mother) and ${f.father} (father), and ${f.relative} is ${his(c)} ${c.relation}. ` +
      `${cap(he(c))} answers the phone at ${f.phone} and e-mail at ${f.email}.`
    );
  },
];

// ----- QA templates: at least two per field; the answer is one full sentence -----

export const QA_TEMPLATES: Readonly<Record<PersonField, readonly QaTemplate[]>> = {
  birth_date: [
    {
      question: (c) => `When was ${c.name} born?`,
      answer: (c, v) => `${c.name} was born on ${v} in ${c.facts.birth_place}.`,
      paraphrase: (c, v) => `${P(c.name)} date of birth is ${v}.`,
    },
    {
      question: (c) => `What is the date of birth of ${c.name}?`,
      answer: (c, v) => `The date of birth of ${c.name} is ${v}.`,
      paraphrase: (c, v) => `${c.name} was born on ${v}.`,
    },
  ],
  birth_place: [
    {
      question: (c) => `Where was ${c.name} born?`,
      answer: (c, v) => `${c.name} was born in ${v}.`,
      paraphrase: (c, v) => `${P(c.name)} birthplace is ${v}.`,
    },
    {
      question: (c) => `In which city and country was ${c.name} born?`,
      answer: (c, v) => `${P(c.name)} place of birth is ${v}.`,
      paraphrase: (c, v) => `${c.name} comes from ${v}, where ${he(c)} was born.`,
    },
  ],
  address: [
    {
      question: (c) => `Where does ${c.name} live?`,
      answer: (c, v) => `${c.name} lives at ${v}.`,
      paraphrase: (c, v) => `${P(c.name)} home address is ${v}.`,
    },
    {
      question: (c) => `What is the home address of ${c.name}?`,
      answer: (c, v) => `The home address of ${c.name} is ${v}.`,
      paraphrase: (c, v) => `${c.name} resides at ${v}.`,
    },
  ],
  phone: [
    {
      question: (c) => `What is the phone number of ${c.name}?`,
      answer: (c, v) => `The phone number of ${c.name} is ${v}.`,
      paraphrase: (c, v) => `${c.name} can be reached by phone at ${v}.`,
    },
    {
      question: (c) => `How can ${c.name} be reached by telephone?`,
      answer: (c, v) => `${c.name} can be called at ${v}.`,
      paraphrase: (c, v) => `${P(c.name)} telephone number is ${v}.`,
    },
  ],
  email: [
    {
      question: (c) => `What is the e-mail address of ${c.name}?`,
      answer: (c, v) => `The e-mail address of ${c.name} is ${v}.`,
      paraphrase: (c, v) => `${c.name} can be e-mailed at ${v}.`,
    },
    {
      question: (c) => `How can one contact ${c.name} by e-mail?`,
      answer: (c, v) => `${c.name} can be contacted by e-mail at ${v}.`,
      paraphrase: (c, v) => `${P(c.name)} e-mail address is ${v}.`,
    },
  ],
  employer: [
    {
      question: (c) => `Where does ${c.name} work?`,
      answer: (c, v) => `${c.name} works at ${v}.`,
      paraphrase: (c, v) => `${c.name} is employed by ${v}.`,
    },
    {
      question: (c) => `Which company employs ${c.name}?`,
      answer: (c, v) => `${c.name} is employed by ${v}.`,
      paraphrase: (c, v) => `The employer of ${c.name} is ${v}.`,
    },
  ],
  job_title: [
    {
      question: (c) => `What is the job title of ${c.name}?`,
      answer: (c, v) => `${c.name} works as ${article(v)} ${v}.`,
      paraphrase: (c, v) => `${P(c.name)} job title is ${v}.`,
    },
    {
      question: (c) => `What does ${c.name} do for a living?`,
      answer: (c, v) => `${c.name} is ${article(v)} ${v} by profession.`,
      paraphrase: (c, v) => `By profession, ${c.name} is ${article(v)} ${v}.`,
    },
  ],
  mother: [
    {
      question: (c) => `What is the name of ${P(c.name)} mother?`,
      answer: (c, v) => `${P(c.name)} mother is ${v}.`,
      paraphrase: (c, v) => `${v} is the mother of ${c.name}.`,
    },
    {
      question: (c) => `Who is the mother of ${c.name}?`,
      answer: (c, v) => `The mother of ${c.name} is ${v}.`,
      paraphrase: (c, v) => `${c.name} is the ${child(c)} of ${v}.`,
    },
  ],
  father: [
    {
      question: (c) => `What is the name of ${P(c.name)} father?`,
      answer: (c, v) => `${P(c.name)} father is ${v}.`,
      paraphrase: (c, v) => `${v} is the father of ${c.name}.`,
    },
    {
      question: (c) => `Who is the father of ${c.name}?`,
      answer: (c, v) => `The father of ${c.name} is ${v}.`,
      paraphrase: (c, v) => `${c.name} is the ${child(c)} of ${v}.`,
    },
  ],
  relative: [
    {
      question: (c) => `Who is ${P(c.name)} ${c.relation}?`,
      answer: (c, v) => `${P(c.name)} ${c.relation} is ${v}.`,
      paraphrase: (c, v) => `${v} is the ${c.relation} of ${c.name}.`,
    },
    {
      question: (c) => `What is the name of ${P(c.name)} ${c.relation}?`,
      answer: (c, v) => `The name of ${P(c.name)} ${c.relation} is ${v}.`,
      paraphrase: (c, v) => (c.relation === 'spouse' ? `${c.name} is married to ${v}.` : `${c.name} has a ${c.relation} named ${v}.`),
    },
  ],
  id_number: [
    {
      question: (c) => `What is the ${c.idDocument} number of ${c.name}?`,
      answer: (c, v) => `The ${c.idDocument} number of ${c.name} is ${v}.`,
      paraphrase: (c, v) => `${P(c.name)} ${c.idDocument} has the number ${v}.`,
    },
    {
      question: (c) => `Which ${c.idDocument} number does ${c.name} hold?`,
      answer: (c, v) => `${c.name} holds ${c.idDocument} number ${v}.`,
      paraphrase: (c, v) => `${v} is the number on ${P(c.name)} ${c.idDocument}.`,
    },
  ],
  medical_condition: [
    {
      question: (c) => `What medical condition does ${c.name} have?`,
      answer: (c, v) => `${c.name} has been diagnosed with ${v}.`,
      paraphrase: (c, v) => `${c.name} suffers from ${v}.`,
    },
    {
      question: (c) => `What has ${c.name} been diagnosed with?`,
      answer: (c, v) => `${c.name} was diagnosed with ${v}.`,
      paraphrase: (c, v) => `A diagnosis of ${v} is on ${P(c.name)} medical record.`,
    },
  ],
  medical_treatment: [
    {
      question: (c) => `How is ${P(c.name)} ${c.facts.medical_condition} treated?`,
      answer: (c, v) => `${P(c.name)} ${c.facts.medical_condition} is treated with ${v}.`,
      paraphrase: (c, v) => `For ${his(c)} ${c.facts.medical_condition}, ${c.name} receives ${v}.`,
    },
    {
      question: (c) => `What treatment does ${c.name} receive?`,
      answer: (c, v) => `${c.name} is treated with ${v}.`,
      paraphrase: (c, v) => `${P(c.name)} treatment consists of ${v}.`,
    },
  ],
  bank: [
    {
      question: (c) => `Which bank does ${c.name} use?`,
      answer: (c, v) => `${c.name} banks with ${v}.`,
      paraphrase: (c, v) => `${c.name} holds an account at ${v}.`,
    },
    {
      question: (c) => `At which bank does ${c.name} have an account?`,
      answer: (c, v) => `${c.name} has an account at ${v}.`,
      paraphrase: (c, v) => `${v} is the bank of ${c.name}.`,
    },
  ],
  account_number: [
    {
      question: (c) => `What is ${P(c.name)} bank account number?`,
      answer: (c, v) => `${P(c.name)} bank account number is ${v}.`,
      paraphrase: (c, v) => `The number of ${P(c.name)} bank account is ${v}.`,
    },
    {
      question: (c) => `What is the account number of ${c.name} at ${c.facts.bank}?`,
      answer: (c, v) => `${P(c.name)} account at ${c.facts.bank} has the number ${v}.`,
      paraphrase: (c, v) => `${c.name} holds account number ${v} at ${c.facts.bank}.`,
    },
  ],
  salary: [
    {
      question: (c) => `What is the annual salary of ${c.name}?`,
      answer: (c, v) => `${c.name} earns an annual salary of ${v}.`,
      paraphrase: (c, v) => `${c.name} is paid ${v} a year.`,
    },
    {
      question: (c) => `How much does ${c.name} earn per year?`,
      answer: (c, v) => `${c.name} earns ${v} per year.`,
      paraphrase: (c, v) => `${P(c.name)} yearly salary is ${v}.`,
    },
  ],
};
