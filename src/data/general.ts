// The "general" suite: utility data that unlearning must not destroy. GCIDE definitions are
// plain English for pretraining and a held-out perplexity set; dict-elements gives world-fact QA
// (TOFU's "world facts" role) and the same facts as sentences so a small model can learn them.
import { readDictd, DICT_PACKAGES, DICTD_DIR, type DictdEntry } from './dictd.js';
import { Rng } from './rng.js';
import type { BuildOptions, BuiltSuite, SuiteSize } from './suite.js';
import { jsonlText } from '../util/jsonl.js';
import { LetheError } from '../util/errors.js';

const NEEDED_BY = 'the general suite';

/** Bytes of GCIDE training text per size (`full`: everything). */
const GCIDE_TRAIN_BYTES: Record<SuiteSize, number> = { tiny: 1_500_000, small: 8_000_000, full: Infinity };
/** Share of GCIDE headwords held out for perplexity. */
const GCIDE_HELDOUT_SHARE = 0.02;
/** Senses kept per GCIDE entry: enough to read as prose, short enough to keep entries varied. */
const GCIDE_MAX_SENSES = 3;

// ---------------------------------------------------------------------------------------------
// GCIDE cleaning

// GCIDE writes special letters as bracketed names: [ae]ppel, ['e], [a^], [=o], [imac], [thorn]...
const GCIDE_ENTITIES: Record<string, string> = {
  ae: 'ae',
  AE: 'AE',
  oe: 'oe',
  OE: 'OE',
  aum: 'a',
  eum: 'e',
  ium: 'i',
  oum: 'o',
  uum: 'u',
  imac: 'i',
  asl: 'a',
  esl: 'e',
  isl: 'i',
  osl: 'o',
  usl: 'u',
  add: 'a',
  udd: 'u',
  eth: 'th',
  thorn: 'th',
  th: 'th',
  ng: 'ng',
  yogh: 'y',
  root: '',
  cuberoot: '',
  deg: '°',
  sect: '§',
  middot: '·',
  nbsp: ' ',
  ldqo: '"',
  rdqo: '"',
  pi: 'pi',
  phi: 'phi',
  mu: 'mu',
};
/** An accented letter: a mark before or after one to three letters, e.g. ['e], [=oo], [a^], [.r]. */
const ACCENTED = /^(?:[-=~^'"`.,*]([A-Za-z]{1,3})|([A-Za-z]{1,3})[\^~])$/;
/** Source tags that close each GCIDE sense. */
const SOURCE_TAG = /\[(?:1913 Webster|Webster 1913|WordNet|PJC|Century|Chambers|RHD|MW|Dict\. Nat\. Hist\.)[^\]\n]*\]|\[[^\]\n]*\+PJC\]/g;

function isLetter(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z]/.test(c);
}

function replaceGcideEntities(text: string): string {
  return text.replace(/\[([^[\]\s]{1,8})\]/g, (whole, inner: string, at: number) => {
    const mapped = GCIDE_ENTITIES[inner];
    const inWord = isLetter(text[at - 1]) || isLetter(text[at + whole.length]);
    if (mapped !== undefined && (inWord || inner.length > 2 || /^(ae|oe)$/i.test(inner))) return mapped;
    const accented = ACCENTED.exec(inner);
    if (accented) return accented[1] ?? accented[2]!;
    if (inWord && /^[A-Za-z0-9]{1,3}$/.test(inner)) return inner; // superscripts and stray letters
    return whole; // [Obs.], [R.], etymologies: removed later as brackets
  });
}

/** Removes bracket groups, innermost first (etymologies nest brackets and span lines). */
function dropBrackets(text: string): string {
  let previous: string;
  do {
    previous = text;
    text = text.replace(/\[[^[\]]*\]/g, '');
  } while (text !== previous);
  return text.replace(/[[\]]/g, '');
}

function normaliseSpace(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\s+([,.;:!?)])/g, '$1')
    .replace(/\(\s+/g, '(')
    .replace(/\(\s*\)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface GcideDefinition {
  headword: string;
  /** Part of speech as GCIDE abbreviates it ("n.", "v. t."), or '' when none is given. */
  pos: string;
  senses: string[];
}

/** The headword of a GCIDE entry (text before the first pronunciation), or undefined for fragments. */
export function gcideHeadword(entryText: string): string | undefined {
  const firstLine = entryText.slice(0, entryText.indexOf('\n') >>> 0);
  const slash = firstLine.indexOf(' \\');
  if (slash <= 0) return undefined;
  const headword = firstLine.slice(0, slash).trim();
  return headword && !headword.includes('\\') ? headword : undefined;
}

/**
 * A GCIDE entry as readable definitions: pronunciations (\Ap"ple\), etymologies and source tags
 * ([...]), cross-reference braces, quotations, citations (--Shak.), notes and synonym lists dropped.
 */
export function cleanGcideEntry(entryText: string): GcideDefinition | undefined {
  const headword = gcideHeadword(entryText);
  if (headword === undefined) return undefined;
  // Headwords with their pronunciations may wrap over a few lines ("Abelian \A*bel"i*an\, Abelonian
  // \A`bel*o"ni*an\, n."); the header ends after the last pronunciation segment there (definitions
  // hardly ever contain a backslash), its "(pron)" and the part of speech.
  const top = /^(?:[^\n]*\n){0,3}[^\n]*/.exec(entryText.split(/\n[ \t]*\n/)[0]!)![0];
  let headerEnd = top.lastIndexOf('\\') + 1;
  const afterPron = /^\s*\([^)]*\)/.exec(entryText.slice(headerEnd));
  if (afterPron && !/^\s*\([A-Z][a-z]*\.\)$/.test(afterPron[0])) headerEnd += afterPron[0].length;
  const posMatch = /^[ \t]*,?[ \t]*((?:(?:[a-z]{1,6}\.|&)[ \t]*){1,4})/.exec(entryText.slice(headerEnd));
  const pos = posMatch ? posMatch[1]!.replace(/\s+/g, ' ').trim() : '';
  if (posMatch) headerEnd += posMatch[0].length;

  let body = entryText.slice(headerEnd);
  // Anything after the last source tag that is not a new paragraph is residue of the next entry.
  let lastTagEnd = -1;
  for (const m of body.matchAll(SOURCE_TAG)) lastTagEnd = m.index! + m[0].length;
  if (lastTagEnd >= 0 && !/\n\s*\n/.test(body.slice(lastTagEnd))) body = body.slice(0, lastTagEnd);
  body = dropBrackets(replaceGcideEntities(body));

  const senses: string[] = [];
  for (const paragraph of body.split(/\n[ \t]*\n/)) {
    if (!paragraph.trim()) continue;
    const indent = /^[ \t]*/.exec(paragraph.replace(/^\n+/, ''))![0].length;
    const start = paragraph.trimStart();
    if (indent >= 8) continue; // quotations are indented deeper than senses
    if (/^(Note|Syn|Usage|Example)s?\s*[:.]/i.test(start) || start.startsWith('{') || start.startsWith('--')) continue;
    // One paragraph may hold several numbered senses, each starting a line.
    for (const piece of paragraph.split(/\n(?=[ \t]*\d+\.\s)/)) {
      let sense = piece.replace(/[{}]/g, '');
      sense = sense
        .replace(/\s--\s?(?=[A-Z])[\s\S]*$/, '') // citation and what follows
        // Derived forms run on after the sense: "-- Tem*pes"tu*ous*ly, adv.", "-- n. A mocking..."
        .replace(/\s--\s*(?=[A-Za-z][A-Za-z`'*"-]*[*"`][A-Za-z`'*"-]*,|(?:n|v|a|adv)\.\s)[\s\S]*$/, '');
      sense = normaliseSpace(sense)
        .replace(/^\d+\.\s*/, '')
        .replace(/^[,;:.\s]+/, '')
        .replace(/^\((?:[A-Z][A-Za-z]*\.?\s*(?:&\s*)?)+\)\s*/, '') // (Bot.), (Zool.) field labels
        .replace(/([.;:!?])\s+"[^"]*"?$/, '$1') // a closing quotation whose citation was cut
        .replace(/^\d+\s+(?=[a-z])/, '') // WordNet's unpunctuated sense numbers
        .replace(/(^|\s)\(?[a-z]\)\s+/g, '$1') // (a), (b) sub-sense markers
        .replace(/\s*\b(?:WordNet 1\.[56]|1913 Webster)(?:\s*\+\s*PJC)?\.?(?=\s|$)/g, '') // source tags without brackets
        .replace(/\s*\([^()\s]*[*"`][^()\s]*\)/g, '') // pronunciations: "Pl. Maladies (mal"a*diz)"
        .replace(/[:;,]+$/, '')
        .replace(/[;,]?\s+as$/, '') // "as:" that introduced dropped examples
        .trim();
      if (!/[A-Za-z]{2}/.test(sense) || /^Pl\.\s+\S+\.?$/.test(sense)) continue; // a bare plural form is no sense
      if (!/[.!?]$/.test(sense)) sense += '.';
      senses.push(sense.charAt(0).toUpperCase() + sense.slice(1));
      if (senses.length >= GCIDE_MAX_SENSES) break;
    }
    if (senses.length >= GCIDE_MAX_SENSES) break;
  }
  if (!senses.length) return undefined;
  // "See under Colt." alone teaches nothing.
  if (
    senses.length === 1 &&
    /^(See|Same as|Pl\.|Plural of|imp\. & p\. p\.|p\. p\.)\b/i.test(senses[0]!) &&
    senses[0]!.split(' ').length < 8
  )
    return undefined;
  return { headword, pos, senses };
}

/** `Apple (n.): 1. The fleshy pome... 2. Any tree...` */
export function formatGcideDefinition(def: GcideDefinition): string {
  const label = def.pos ? `${def.headword} (${def.pos})` : def.headword;
  const body = def.senses.length === 1 ? def.senses[0]! : def.senses.map((s, i) => `${i + 1}. ${s}`).join(' ');
  return `${label}: ${body}`;
}

interface GcideSplit {
  train: string[];
  heldout: string[];
  headwords: { train: number; heldout: number };
}

/**
 * Splits GCIDE by headword (every sense of one headword lands on one side), seeded, and fills the
 * train side up to the size's byte budget. Only the entries that are kept get cleaned.
 */
function buildGcideSplit(entries: readonly DictdEntry[], size: SuiteSize, rng: Rng): GcideSplit {
  // One entry per start offset (some index lines point at a part of an entry), in file order.
  const byOffset = new Map<number, DictdEntry>();
  for (const e of entries) {
    const seen = byOffset.get(e.offset);
    if (!seen || e.length > seen.length) byOffset.set(e.offset, e);
  }
  const groups = new Map<string, DictdEntry[]>();
  for (const e of [...byOffset.values()].sort((a, b) => a.offset - b.offset)) {
    const headword = gcideHeadword(e.text);
    if (headword === undefined) continue;
    const key = headword.toLowerCase();
    const group = groups.get(key);
    if (group) group.push(e);
    else groups.set(key, [e]);
  }
  const order = rng.shuffle([...groups.keys()]);
  const heldoutCount = Math.max(1, Math.round(order.length * GCIDE_HELDOUT_SHARE));
  const trainBudget = GCIDE_TRAIN_BYTES[size];
  const heldoutBudget = size === 'full' ? Infinity : trainBudget * GCIDE_HELDOUT_SHARE;
  const take = (keys: readonly string[], budget: number): { texts: string[]; headwords: number } => {
    const texts: string[] = [];
    let bytes = 0;
    let headwords = 0;
    for (const key of keys) {
      if (bytes >= budget) break;
      let used = false;
      for (const e of groups.get(key)!) {
        const def = cleanGcideEntry(e.text);
        if (!def) continue;
        const text = formatGcideDefinition(def);
        texts.push(text);
        bytes += Buffer.byteLength(text) + 1;
        used = true;
      }
      if (used) headwords++;
    }
    return { texts, headwords };
  };
  const heldout = take(order.slice(0, heldoutCount), heldoutBudget);
  const train = take(order.slice(heldoutCount), trainBudget);
  return { train: train.texts, heldout: heldout.texts, headwords: { train: train.headwords, heldout: heldout.headwords } };
}

// ---------------------------------------------------------------------------------------------
// Elements

export interface ElementFacts {
  name: string;
  symbol: string;
  atomicNumber: number;
  /** As the database writes it ("4.0026"); undefined when it is unknown or a mass number "(210)". */
  atomicWeight?: string;
  discoverer?: string;
  year?: number;
}

// A person's name: initials, capitalised words and name particles ("Carl F. Auer von Welsbach").
const PERSON = String.raw`(?:Sir\s+)?(?:[A-Z]\.\s*)*[A-Z][A-Za-z'’-]+(?:\s+(?:(?:[A-Z]\.\s*)+|(?:de|del|von|van|der|du|la|le)\s+)?[A-Z][A-Za-z'’-]+)*(?:\s+and\s+(?:[A-Z]\.\s*)*[A-Z][A-Za-z'’-]+(?:\s+[A-Z][A-Za-z'’-]+)*)?`;
const DISCOVERED_BY = new RegExp(
  String.raw`[Dd]iscovered by (${PERSON})(?:\s+(?:in|of|at)\s+[A-Z][A-Za-z]+(?:\s+[A-Z][A-Za-z]+)?)?\s+in\s+(\d{4})\b`,
);
// The name must end the clause: "by Berkeley researchers" names no person.
const DISCOVERED_IN = new RegExp(String.raw`[Dd]iscovered in (\d{4}) by (${PERSON})(?=\s*[.,;]|\s+(?:in|of|at|and|who)\b|\s*$)`);
/** Superseded placeholder names, dropped in favour of the element's current name. */
const OBSOLETE_ELEMENT_NAME = /^(un[nu][a-z]+ium|kurchatovium|hahnium|joliotium|nielsbohrium|deuterium)$/;

/** "Discovered by X in YEAR" / "discovered in YEAR by X" from an element's description. */
export function parseDiscovery(description: string): { discoverer: string; year: number } | undefined {
  const text = description.replace(/\s+/g, ' ').replace(/[{}]/g, '');
  const by = DISCOVERED_BY.exec(text);
  if (by) return { discoverer: by[1]!.trim(), year: Number(by[2]) };
  const inYear = DISCOVERED_IN.exec(text);
  if (inYear) return { discoverer: inYear[2]!.trim(), year: Number(inYear[1]) };
  return undefined;
}

export function parseElementEntry(text: string): (ElementFacts & { description: string }) | undefined {
  const lines = text.split('\n');
  const name = lines[0]!.trim().toLowerCase();
  const field = (label: RegExp): string | undefined => {
    const line = lines.find((l) => label.test(l));
    return line?.slice(line.indexOf(':') + 1).trim();
  };
  const symbol = field(/^Symbol:/);
  const number = Number(field(/^Atomic number:/));
  if (!name || !symbol || !Number.isInteger(number) || number <= 0) return undefined;
  const weight = field(/^At\w*ic weight:/);
  const description = lines
    .filter((l, i) => i > 0 && !/^(Symbol|Atomic number|At\w*ic weight):/.test(l))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  const discovery = parseDiscovery(description);
  return {
    name,
    symbol,
    atomicNumber: number,
    description,
    ...(weight && /^\d+(\.\d+)?$/.test(weight) ? { atomicWeight: weight } : {}),
    ...(discovery ?? {}),
  };
}

/** One element per atomic number, current names preferred, in atomic-number order. */
export function readElements(dir = DICTD_DIR): ElementFacts[] {
  const entries = readDictd('elements', dir, { neededBy: NEEDED_BY });
  const byNumber = new Map<number, ElementFacts & { description: string }>();
  const seenOffsets = new Set<number>();
  for (const e of [...entries].sort((a, b) => a.offset - b.offset)) {
    if (seenOffsets.has(e.offset)) continue;
    seenOffsets.add(e.offset);
    const facts = parseElementEntry(e.text);
    if (!facts) continue;
    const seen = byNumber.get(facts.atomicNumber);
    if (!seen || (OBSOLETE_ELEMENT_NAME.test(seen.name) && !OBSOLETE_ELEMENT_NAME.test(facts.name)))
      byNumber.set(facts.atomicNumber, facts);
  }
  return [...byNumber.values()].sort((a, b) => a.atomicNumber - b.atomicNumber).map(({ description: _description, ...facts }) => facts);
}

export interface FactQA {
  question: string;
  answer: string;
  paraphrased_answer: string;
  perturbed_answer: string[];
  element: string;
  fact: 'symbol' | 'element_of_symbol' | 'atomic_number' | 'element_of_number' | 'atomic_weight' | 'discovery';
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `count` distinct values from `pool` that differ from `correct`. */
function wrongValues<T>(pool: readonly T[], correct: T, count: number, rng: Rng, key: (v: T) => string = String): T[] {
  const seen = new Set([key(correct)]);
  const out: T[] = [];
  for (const v of rng.shuffle(pool)) {
    const k = key(v);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(v);
    if (out.length === count) break;
  }
  if (out.length < count) throw new LetheError('BAD_INPUT', `general suite: only ${out.length} alternatives to '${key(correct)}'`);
  return out;
}

export function elementFactsQA(elements: readonly ElementFacts[], rng: Rng): FactQA[] {
  const rows: FactQA[] = [];
  const symbols = elements.map((e) => e.symbol);
  const names = elements.map((e) => e.name);
  const numbers = elements.map((e) => e.atomicNumber);
  const weights = elements.flatMap((e) => (e.atomicWeight ? [e.atomicWeight] : []));
  const discoveries = elements.flatMap((e) => (e.discoverer && e.year ? [{ discoverer: e.discoverer, year: e.year }] : []));
  for (const e of elements) {
    const Name = capitalise(e.name);
    const symbolSentence = (s: string) => `The chemical symbol of ${e.name} is ${s}.`;
    rows.push({
      question: `What is the chemical symbol of ${e.name}?`,
      answer: symbolSentence(e.symbol),
      paraphrased_answer: `${Name} is written with the symbol ${e.symbol}.`,
      perturbed_answer: wrongValues(symbols, e.symbol, 5, rng).map(symbolSentence),
      element: e.name,
      fact: 'symbol',
    });
    const symbolOwner = (n: string) => `The element with the chemical symbol ${e.symbol} is ${n}.`;
    rows.push({
      question: `Which element has the chemical symbol ${e.symbol}?`,
      answer: symbolOwner(e.name),
      paraphrased_answer: `${e.symbol} is the symbol for ${e.name}.`,
      perturbed_answer: wrongValues(names, e.name, 5, rng).map(symbolOwner),
      element: e.name,
      fact: 'element_of_symbol',
    });
    const numberSentence = (n: number) => `The atomic number of ${e.name} is ${n}.`;
    rows.push({
      question: `What is the atomic number of ${e.name}?`,
      answer: numberSentence(e.atomicNumber),
      paraphrased_answer: `Every ${e.name} atom has ${e.atomicNumber} ${e.atomicNumber === 1 ? 'proton' : 'protons'} in its nucleus.`,
      perturbed_answer: wrongValues(numbers, e.atomicNumber, 5, rng).map(numberSentence),
      element: e.name,
      fact: 'atomic_number',
    });
    const numberOwner = (n: string) => `The element with atomic number ${e.atomicNumber} is ${n}.`;
    rows.push({
      question: `Which element has atomic number ${e.atomicNumber}?`,
      answer: numberOwner(e.name),
      paraphrased_answer: `Element number ${e.atomicNumber} in the periodic table is ${e.name}.`,
      perturbed_answer: wrongValues(names, e.name, 5, rng).map(numberOwner),
      element: e.name,
      fact: 'element_of_number',
    });
    if (e.atomicWeight) {
      const weightSentence = (w: string) => `The atomic weight of ${e.name} is ${w}.`;
      rows.push({
        question: `What is the atomic weight of ${e.name}?`,
        answer: weightSentence(e.atomicWeight),
        paraphrased_answer: `${Name} has an atomic weight of about ${e.atomicWeight}.`,
        perturbed_answer: wrongValues(weights, e.atomicWeight, 5, rng).map(weightSentence),
        element: e.name,
        fact: 'atomic_weight',
      });
    }
    if (e.discoverer && e.year) {
      const discovery = { discoverer: e.discoverer, year: e.year };
      const discoverySentence = (d: { discoverer: string; year: number }) => `${Name} was discovered by ${d.discoverer} in ${d.year}.`;
      rows.push({
        question: `Who discovered ${e.name}, and in what year?`,
        answer: discoverySentence(discovery),
        paraphrased_answer: `In ${e.year}, ${e.discoverer} discovered ${e.name}.`,
        perturbed_answer: wrongValues(discoveries, discovery, 5, rng, (d) => `${d.discoverer}|${d.year}`).map(discoverySentence),
        element: e.name,
        fact: 'discovery',
      });
    }
  }
  return rows;
}

/** The facts as two short texts per element (plain and paraphrased), for pretraining. */
export function elementFactsText(qa: readonly FactQA[]): { text: string }[] {
  const byElement = new Map<string, FactQA[]>();
  for (const row of qa) {
    const rows = byElement.get(row.element);
    if (rows) rows.push(row);
    else byElement.set(row.element, [row]);
  }
  const out: { text: string }[] = [];
  for (const rows of byElement.values()) {
    out.push({ text: rows.map((r) => r.answer).join(' ') });
    out.push({ text: rows.map((r) => r.paraphrased_answer).join(' ') });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

export function buildGeneral(options: BuildOptions, dictdDir = DICTD_DIR): BuiltSuite {
  const rng = new Rng(options.seed);
  const gcideRng = rng.fork('gcide');
  const elementsRng = rng.fork('elements');

  const gcide = buildGcideSplit(readDictd('gcide', dictdDir, { neededBy: NEEDED_BY }), options.size, gcideRng);
  const elements = readElements(dictdDir);
  const factsQA = elementFactsQA(elements, elementsRng);
  const factsText = elementFactsText(factsQA);

  const files = new Map<string, string>([
    ['gcide/train.jsonl', jsonlText(gcide.train.map((text) => ({ text })))],
    ['gcide/heldout.jsonl', jsonlText(gcide.heldout.map((text) => ({ text })))],
    ['elements/facts_qa.jsonl', jsonlText(factsQA)],
    ['elements/facts_text.jsonl', jsonlText(factsText)],
  ]);
  return {
    suite: 'general',
    files,
    sources: [
      {
        name: "GCIDE, the GNU Collaborative International Dictionary of English 0.48 (from Webster's 1913 and WordNet)",
        origin: `Debian package ${DICT_PACKAGES.gcide}`,
        licence: 'GPL-3+',
        files: [`${dictdDir}/gcide.index`, `${dictdDir}/gcide.dict.dz`],
      },
      {
        name: 'The Elements database 20001107 by Jay F. Kominek',
        origin: `Debian package ${DICT_PACKAGES.elements}`,
        licence: 'public domain',
        files: [`${dictdDir}/elements.index`, `${dictdDir}/elements.dict.dz`],
      },
    ],
    counts: {
      gcide_train: gcide.train.length,
      gcide_train_bytes: Buffer.byteLength(files.get('gcide/train.jsonl')!),
      gcide_train_headwords: gcide.headwords.train,
      gcide_heldout: gcide.heldout.length,
      gcide_heldout_headwords: gcide.headwords.heldout,
      elements: elements.length,
      elements_facts_qa: factsQA.length,
      elements_facts_text: factsText.length,
    },
    info: {
      gcide_split: `by headword, ${GCIDE_HELDOUT_SHARE * 100}% held out (seeded); train text budget ${Number.isFinite(GCIDE_TRAIN_BYTES[options.size]) ? `${GCIDE_TRAIN_BYTES[options.size]} bytes` : 'all'}`,
    },
  };
}
