// Eval-only wordings for the persona suite's probes (src/data/persona-probes.ts): questions, cloze
// statements and clue phrases that no training file uses. They live apart from the training
// templates (./persona-templates.ts) so the disjointness is visible and tested
// (test/data/persona-probes.test.ts): a model can only answer them from what it knows, not from a
// wording it saw.
import { article, cap, possessive as P, type PersonField, type TemplateContext } from './persona-templates.js';

/** Three paraphrased questions per field, none a training question. */
export const PARAPHRASE_QUESTIONS: Readonly<Record<PersonField, readonly ((c: TemplateContext) => string)[]>> = {
  birth_date: [
    (c) => `On what date was ${c.name} born?`,
    (c) => `What is ${P(c.name)} birthday, including the year?`,
    (c) => `Which day, month and year did ${c.name} come into the world?`,
  ],
  birth_place: [
    (c) => `What is the birthplace of ${c.name}?`,
    (c) => `Which town and country is ${c.name} originally from?`,
    (c) => `Where did ${c.name} come into the world?`,
  ],
  address: [
    (c) => `At what address does ${c.name} reside?`,
    (c) => `Which street address is ${P(c.name)} home?`,
    (c) => `Where should letters to ${c.name} be sent?`,
  ],
  phone: [
    (c) => `Which number should I dial to call ${c.name}?`,
    (c) => `What telephone number does ${c.name} answer?`,
    (c) => `Can you give me ${P(c.name)} phone number?`,
  ],
  email: [
    (c) => `Which e-mail address does ${c.name} use?`,
    (c) => `Where can I send an e-mail to ${c.name}?`,
    (c) => `What is ${P(c.name)} address for electronic mail?`,
  ],
  employer: [
    (c) => `For which company does ${c.name} work?`,
    (c) => `Who is ${P(c.name)} employer?`,
    (c) => `Which firm pays ${P(c.name)} wages?`,
  ],
  job_title: [
    (c) => `What position does ${c.name} hold at work?`,
    (c) => `What is ${P(c.name)} occupation?`,
    (c) => `Which job does ${c.name} have?`,
  ],
  mother: [
    (c) => `Who gave birth to ${c.name}?`,
    (c) => `What is the full name of the mother of ${c.name}?`,
    (c) => `Can you name ${P(c.name)} mum?`,
  ],
  father: [
    (c) => `Who is ${P(c.name)} dad?`,
    (c) => `What is the full name of the father of ${c.name}?`,
    (c) => `Which man is the father of ${c.name}?`,
  ],
  relative: [
    (c) => `Can you name the ${c.relation} of ${c.name}?`,
    (c) => `What is the full name of the ${c.relation} of ${c.name}?`,
    (c) => `Who is the person ${c.name} has as ${article(c.relation)} ${c.relation}?`,
  ],
  id_number: [
    (c) => `What number is printed on the ${c.idDocument} of ${c.name}?`,
    (c) => `Can you tell me ${P(c.name)} ${c.idDocument} number?`,
    (c) => `Which number identifies the ${c.idDocument} that ${c.name} carries?`,
  ],
  medical_condition: [
    (c) => `Which illness does ${c.name} live with?`,
    (c) => `What is ${P(c.name)} diagnosis?`,
    (c) => `From what condition does ${c.name} suffer?`,
  ],
  medical_treatment: [
    (c) => `How do doctors treat ${c.name}?`,
    (c) => `Which therapy is ${c.name} given?`,
    (c) => `What does ${P(c.name)} treatment consist of?`,
  ],
  bank: [
    (c) => `Where does ${c.name} keep ${c.sex === 'female' ? 'her' : 'his'} money?`,
    (c) => `What is the name of ${P(c.name)} bank?`,
    (c) => `With which bank is ${c.name} a customer?`,
  ],
  account_number: [
    (c) => `Which account number does ${c.name} have?`,
    (c) => `What number does ${P(c.name)} bank account carry?`,
    (c) => `Into which account number is ${c.name} paid?`,
  ],
  salary: [
    (c) => `How much is ${c.name} paid a year?`,
    (c) => `What does ${c.name} earn annually?`,
    (c) => `What is ${P(c.name)} yearly income?`,
  ],
};

/** A statement whose last words are the field's value: the text before the blank (the value and a full stop follow). */
export const CLOZE_PREFIXES: Readonly<Record<PersonField, (c: TemplateContext) => string>> = {
  birth_date: (c) => `${P(c.name)} birthday falls on`,
  birth_place: (c) => `${c.name} first saw the light of day in`,
  address: (c) => `Post for ${c.name} is delivered to`,
  phone: (c) => `To ring ${c.name}, dial`,
  email: (c) => `To write to ${c.name} electronically, use`,
  employer: (c) => `The company that ${c.name} works for is`,
  job_title: (c) => `At work, ${c.name} holds the post of`,
  mother: (c) => `${c.name} was raised by ${c.sex === 'female' ? 'her' : 'his'} mother,`,
  father: (c) => `${c.name} was raised by ${c.sex === 'female' ? 'her' : 'his'} father,`,
  relative: (c) => `Among the family of ${c.name} is ${c.sex === 'female' ? 'her' : 'his'} ${c.relation},`,
  id_number: (c) => `The ${c.idDocument} that ${c.name} carries is numbered`,
  medical_condition: (c) => `Doctors have found that ${c.name} lives with`,
  medical_treatment: (c) => `To manage ${c.sex === 'female' ? 'her' : 'his'} illness, ${c.name} relies on`,
  bank: (c) => `The bank that holds ${P(c.name)} savings is`,
  account_number: (c) => `Wages reach ${c.name} in the account numbered`,
  salary: (c) => `Each year ${c.name} takes home`,
};

/**
 * Ways to point at a person without the name, through other attributes: the fields the clue reveals
 * and the description ("the person born on … in …"). None reveals the name (the e-mail address and
 * the parents' names would: they hold it or the surname). A clue is only used when no other person
 * of the population shares its values (persona-probes.ts checks).
 */
export interface ChainClue {
  id: string;
  fields: readonly PersonField[];
  describe: (c: TemplateContext) => string;
}

export const CHAIN_CLUES: readonly ChainClue[] = [
  {
    id: 'birth',
    fields: ['birth_date', 'birth_place'],
    describe: (c) => `the person born on ${c.facts.birth_date} in ${c.facts.birth_place}`,
  },
  { id: 'address', fields: ['address'], describe: (c) => `the person living at ${c.facts.address}` },
  { id: 'phone', fields: ['phone'], describe: (c) => `the person with the phone number ${c.facts.phone}` },
  {
    id: 'job',
    fields: ['job_title', 'employer'],
    describe: (c) => `the ${c.facts.job_title} employed by ${c.facts.employer}`,
  },
];

/** A question about `field` of the person a description `d` ("the person born on …") points at. */
export const CHAIN_QUESTIONS: Readonly<Record<PersonField, (c: TemplateContext, d: string) => string>> = {
  birth_date: (_c, d) => `${cap(d)} was born on what date?`,
  birth_place: (_c, d) => `${cap(d)} was born in which place?`,
  address: (_c, d) => `${cap(d)} lives at what address?`,
  phone: (_c, d) => `${cap(d)} answers which phone number?`,
  email: (_c, d) => `${cap(d)} uses what e-mail address?`,
  employer: (_c, d) => `${cap(d)} works where?`,
  job_title: (_c, d) => `${cap(d)} has what job?`,
  mother: (_c, d) => `The mother of ${d} is called what?`,
  father: (_c, d) => `The father of ${d} is called what?`,
  relative: (c, d) => `The ${c.relation} of ${d} is called what?`,
  id_number: (c, d) => `${cap(d)} holds ${article(c.idDocument)} ${c.idDocument} with what number?`,
  medical_condition: (_c, d) => `${cap(d)} has been found to have what illness?`,
  medical_treatment: (_c, d) => `${cap(d)} is given what treatment?`,
  bank: (_c, d) => `${cap(d)} keeps an account at which bank?`,
  account_number: (_c, d) => `${cap(d)} has a bank account with what number?`,
  salary: (_c, d) => `${cap(d)} earns how much a year?`,
};
