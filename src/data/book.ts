// The "book" suite: the copyright case (MUSE-Books, "Who's Harry Potter?"). The Jargon File is
// the work to forget; The Devil's Dictionary is a second work. Each is split by entry into forget
// passages (the target model trains on them) and holdout passages (never trained on, for
// membership inference), with verbatim-memorisation probes, TOFU-layout knowledge QA,
// familiarity prompts and candidate anchored terms.
import {
  dictdAvailable,
  readDictd,
  readDictdData,
  readDictdHeadwords,
  uniqueEntries,
  DICT_PACKAGES,
  DICTD_DIR,
  type DictdEntry,
} from './dictd.js';
import { Rng } from './rng.js';
import type { BuildOptions, BuiltSuite, SuiteSize } from './suite.js';
import { jsonlText } from '../util/jsonl.js';
import { LetheError } from '../util/errors.js';

const NEEDED_BY = 'the book suite';

/** Entries kept per work and size (`full`: all usable entries). */
const ENTRIES_PER_SIZE: Record<SuiteSize, { jargon: number; devil: number; maxWords: number }> = {
  // tiny is memorized by a CPU model in minutes: few entries, and only those of at most 150 words.
  tiny: { jargon: 60, devil: 150, maxWords: 150 },
  small: { jargon: 1000, devil: 500, maxWords: Infinity },
  full: { jargon: Infinity, devil: Infinity, maxWords: Infinity },
};
/** Share of entries held out from training, for membership inference. */
const HOLDOUT_SHARE = 0.1;
/** Shorter bodies are mostly cross references ("See {foo}"). Devil definitions are often one witty line. */
const MIN_BODY_WORDS = { jargon: 20, devil: 8 };
/** Verbatim probes: the prompt is the first 32 words (or half the passage), the reference the next ≤ 64. */
const PROMPT_WORDS = 32;
const REFERENCE_WORDS = 64;
const PERTURBED_ANSWERS = 5;
const ANCHORED_TERMS = 300;
/** Knowledge-QA answers are one sentence; longer "first sentences" are run-ons that no model recalls. */
const ANSWER_WORDS = { min: 3, max: 60 };

export interface BookEntry {
  /** Unique id within the work: the headword as the book spells it (suffixed when repeated). */
  entry: string;
  headword: string;
  /** The passage: headword line, then the body with whitespace normalised. */
  text: string;
  bodyWords: number;
  /** The first sentence of the definition, when there is a usable one. */
  definition?: string;
}

// ---------------------------------------------------------------------------------------------
// Text helpers

function wordCount(text: string): number {
  const words = text.trim().split(/\s+/);
  return words[0] ? words.length : 0;
}

/** Joins wrapped lines, without a space where the wrap fell inside quotes or brackets. */
function reflow(lines: readonly string[]): string {
  let out = '';
  for (const raw of lines) {
    const line = raw.trim();
    if (!line) continue;
    if (!out) out = line;
    else if (/[“‘([{]$/.test(out) || /^[”’)\]},.;:!?]/.test(line)) out += line;
    else out += ' ' + line;
  }
  return out.replace(/\s+/g, ' ');
}

/** Paragraphs of an indented block, split at blank lines. */
function paragraphs(lines: readonly string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  for (const line of lines) {
    if (line.trim()) current.push(line);
    else if (current.length) {
      out.push(current);
      current = [];
    }
  }
  if (current.length) out.push(current);
  return out;
}

function dropBraces(text: string): string {
  return text.replace(/\{\s*([^{}]*?)\s*\}/g, '$1').replace(/[{}]/g, '');
}

// Words before a period that do not end a sentence.
const ABBREVIATIONS = new Set([
  'e.g',
  'i.e',
  'esp',
  'vs',
  'cf',
  'mr',
  'mrs',
  'ms',
  'dr',
  'st',
  'u.s',
  'poss',
  'alt',
  'orig',
  'approx',
  'n',
  'v',
  'vt',
  'vi',
  'adj',
  'adv',
  'inc',
  'ltd',
  'co',
  'jr',
  'sr',
  'prof',
  'no',
  'vol',
  'pp',
  'ca',
  'fig',
  'viz',
  'a.k.a',
  'aka',
  'obs',
  'abbr',
  'abbrev',
  'ed',
  'rev',
  'gen',
  'col',
  'capt',
  'mt',
  'ft',
  'lt',
  'gov',
]);

/** The first sentence of `text` (up to its end mark), or the whole text when it has no end mark. */
export function firstSentence(text: string): string {
  const end = /[.!?]+[”’"')\]]*(?=\s+[“‘"'([]?[A-Z0-9]|\s*$)/g;
  for (const m of text.matchAll(end)) {
    const before = text.slice(0, m.index!);
    const lastWord = /(\S+)$/.exec(before)?.[1] ?? '';
    const bare = lastWord.replace(/^[“‘"'([]+/, '').toLowerCase();
    if (m[0].startsWith('.') && (ABBREVIATIONS.has(bare) || /^[a-z]$/i.test(bare) || /^([a-z]\.)+[a-z]$/i.test(bare))) continue;
    return text.slice(0, m.index! + m[0].length).trim();
  }
  return text.trim();
}

/**
 * Lowercases the first letter when the first word is an ordinary word, i.e. the work also writes
 * it in lower case (so "Abnormal termination" → "abnormal termination", but "Unix ..." stays).
 */
function lowerFirst(text: string, isLowercaseWord: (word: string) => boolean): string {
  const firstWord = /^[A-Z][a-z'’-]*(?=[\s,;:.]|$)/.exec(text)?.[0];
  if (firstWord && isLowercaseWord(firstWord.toLowerCase())) return text.charAt(0).toLowerCase() + text.slice(1);
  return text;
}

/** Whether a word is written in lower case somewhere in the entries or (when known) in ordinary English. */
function lowercaseVocabulary(entries: readonly BookEntry[], ordinary?: ReadonlySet<string>): (word: string) => boolean {
  const words = new Set<string>();
  for (const e of entries) for (const m of e.text.matchAll(/(?<![A-Za-z])[a-z][a-z'’-]*/g)) words.add(m[0]);
  return (word) => words.has(word) || (ordinary?.has(word) ?? false);
}

/** The sentence without asides, cut at a clause break when it runs long: the "paraphrase" core. */
function shorten(sentence: string): string {
  let s = sentence
    .replace(/\s*\([^()]*\)/g, '')
    .replace(/\s*\[[^[\]]*\]/g, '')
    .replace(/\s+([,.;:])/g, '$1');
  if (wordCount(s) > 20) {
    const cut = /^(.{40,}?)(?:;|\s[—–]\s|\s--\s|:\s)/.exec(s);
    if (cut) s = cut[1]!;
  }
  return s.replace(/[.,;:!?\s]+$/, '');
}

/** Word spans of `text`: [start, end) character offsets. */
function wordSpans(text: string): [number, number][] {
  return [...text.matchAll(/\S+/g)].map((m) => [m.index!, m.index! + m[0].length]);
}

export interface VerbatimProbe {
  prompt: string;
  reference: string;
  entry: string;
}

/** Prompt = the passage's first words, reference = the words that follow it (exact substrings). */
export function verbatimProbe(entry: BookEntry): VerbatimProbe | undefined {
  const spans = wordSpans(entry.text);
  const promptWords = Math.min(PROMPT_WORDS, Math.floor(spans.length / 2));
  const referenceWords = Math.min(REFERENCE_WORDS, spans.length - promptWords);
  if (promptWords < 4 || referenceWords < 4) return undefined;
  return {
    prompt: entry.text.slice(0, spans[promptWords - 1]![1]),
    reference: entry.text.slice(spans[promptWords]![0], spans[promptWords + referenceWords - 1]![1]),
    entry: entry.entry,
  };
}

function uniqueIds(entries: BookEntry[]): BookEntry[] {
  const seen = new Map<string, number>();
  return entries.map((e) => {
    const n = (seen.get(e.entry) ?? 0) + 1;
    seen.set(e.entry, n);
    return n === 1 ? e : { ...e, entry: `${e.entry} (${n})` };
  });
}

function usableDefinition(sentence: string): string | undefined {
  const words = wordCount(sentence);
  if (words < ANSWER_WORDS.min || words > ANSWER_WORDS.max) return undefined;
  if (/^(See|Compare|Var\.|Syn\.|Same as)\b/.test(sentence)) return undefined;
  return sentence;
}

// ---------------------------------------------------------------------------------------------
// The Jargon File

/** Leading "[Usenet]", "[from the German ...]", "1.", "n." and "vt." before a definition. */
function stripDefinitionLead(text: string): string {
  let previous: string;
  do {
    previous = text;
    text = text
      .replace(/^\[[^\]]*\]\s*/, '')
      .replace(/^\((?:also|var\.|alt\.|abbrev\.|often|sometimes|pl\.)[^)]*\)\s*/i, '')
      .replace(/^\d+\.\s+/, '')
      .replace(/^(?:(?:n|v|vt|vi|adj|adv|interj|pron|prep|conj|excl|pl|abbrev|obs|imper)\.\s*,?\s*(?:&\s*)?)+(?=\S)/, '')
      .trim();
  } while (text !== previous);
  return text;
}

export function parseJargonEntry(raw: string): BookEntry | undefined {
  const lines = raw.split('\n');
  const headword = lines[0]!.trim();
  if (!headword) return undefined;
  // An empty pronunciation is written "//"; the part of speech may follow it.
  const pron = (lines[1] ?? '')
    .trim()
    .replace(/^\/\/,?\s*/, '')
    .replace(/\s+/g, ' ');
  const header = !pron ? headword : pron.startsWith('/') ? `${headword} ${pron}` : `${headword}, ${pron}`;
  const body = paragraphs(lines.slice(2))
    .map((p) => dropBraces(reflow(p)))
    .filter((p) => p && !/^[A-Z]$/.test(p)); // the File's section letters ("A", "B") trail some entries
  const bodyWords = body.reduce((n, p) => n + wordCount(p), 0);
  let definition: string | undefined;
  for (const p of body) {
    const lead = stripDefinitionLead(p);
    if (!lead) continue;
    definition = usableDefinition(firstSentence(lead));
    break;
  }
  return { entry: headword, headword, text: [header, ...body].join('\n'), bodyWords, ...(definition ? { definition } : {}) };
}

// ---------------------------------------------------------------------------------------------
// The Devil's Dictionary

/** "ABASEMENT, n." or "MAMMALIA, n.pl." */
const DEVIL_HEADER = /^([A-Z][A-Z0-9'’.\- ]*?),\s+([a-z][a-z.]*\.?)(?=\s|$)/;
/** "HABEAS CORPUS.", "LL.D.", "ABRACADABRA." (no part of speech; two spaces or the line end follow). */
const DEVIL_TITLE = /^([A-Z][A-Z0-9'’.\- ]*[A-Z0-9])\.?(?=\s{2,}|\s*$)/;

/** Prose paragraphs are reflowed; verse (every line indented) keeps its lines. */
function devilParagraph(lines: readonly string[]): string {
  const verse = lines.every((l) => /^\s{2,}\S/.test(l));
  const text = verse ? lines.map((l) => l.trim().replace(/\s+/g, ' ')).join('\n') : reflow(lines);
  return dropBraces(text.replace(/_/g, '')); // _italics_
}

export function parseDevilEntry(raw: string, indexHeadword: string): BookEntry | undefined {
  const lines = raw.replace(/\s+$/, '').split('\n');
  const first = lines[0]!.trim();
  const head = DEVIL_HEADER.exec(first) ?? DEVIL_TITLE.exec(first);
  const headword = (head?.[1] ?? indexHeadword).toLowerCase();
  const body = paragraphs(lines).map(devilParagraph).filter(Boolean);
  const text = body.join('\n');
  const header = head ? head[0].replace(/\s+/g, ' ') : '';
  const bodyWords = wordCount(text) - wordCount(header);
  let definition: string | undefined;
  if (head && body[0]!.startsWith(header)) {
    // The definition follows the header on the first line and runs through its paragraph.
    const lead = body[0]!
      .slice(header.length)
      .trim()
      .replace(/^\[[^\]]*\]\s*/, '')
      .replace(/^\(\d+\)\s*/, '')
      .trim();
    if (lead && !lead.includes('\n')) definition = usableDefinition(firstSentence(lead));
  }
  return { entry: headword, headword, text, bodyWords, ...(definition ? { definition } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Splits and derived files

interface WorkSplit {
  selected: BookEntry[];
  forget: BookEntry[];
  holdout: BookEntry[];
}

/** A seeded subset of `limit` entries (kept in book order), split into forget and holdout. */
function selectAndSplit(entries: readonly BookEntry[], limit: number, rng: Rng): WorkSplit {
  const position = new Map(entries.map((e, i) => [e.entry, i]));
  const byBookOrder = (a: BookEntry, b: BookEntry) => position.get(a.entry)! - position.get(b.entry)!;
  const selected = (entries.length > limit ? rng.sample(entries, limit) : [...entries]).sort(byBookOrder);
  const shuffled = rng.shuffle(selected);
  const holdoutCount = Math.max(1, Math.round(selected.length * HOLDOUT_SHARE));
  const holdout = shuffled.slice(0, holdoutCount).sort(byBookOrder);
  const forget = shuffled.slice(holdoutCount).sort(byBookOrder);
  return { selected, forget, holdout };
}

export interface KnowledgeQA {
  question: string;
  answer: string;
  paraphrased_answer: string;
  perturbed_answer: string[];
  entry: string;
}

/** Ends `text` with a period unless it already ends a sentence. */
function asSentence(text: string): string {
  return /[.!?][”’"')\]]*$/.test(text) ? text : `${text}.`;
}

function knowledgeQA(
  targets: readonly BookEntry[],
  pool: readonly BookEntry[],
  isLowercaseWord: (word: string) => boolean,
  rng: Rng,
  question: (e: BookEntry) => string,
  paraphrase: (e: BookEntry, core: string) => string,
): KnowledgeQA[] {
  const definitions = [...new Set(pool.flatMap((e) => (e.definition ? [e.definition] : [])))];
  const rows: KnowledgeQA[] = [];
  for (const e of targets) {
    if (!e.definition) continue;
    const core = shorten(e.definition);
    const others = rng
      .shuffle(definitions)
      .filter((d) => d !== e.definition)
      .slice(0, PERTURBED_ANSWERS);
    if (others.length < PERTURBED_ANSWERS)
      throw new LetheError('BAD_INPUT', `book suite: too few definitions for perturbed answers (${definitions.length})`);
    rows.push({
      question: question(e),
      answer: e.definition,
      paraphrased_answer: asSentence(paraphrase(e, lowerFirst(wordCount(core) >= 2 ? core : e.definition, isLowercaseWord))),
      perturbed_answer: others,
      entry: e.entry,
    });
  }
  return rows;
}

const COMPLETION_TEMPLATES = [
  (term: string) => `In hacker jargon, "${term}" means`,
  (term: string) => `Among hackers, the word "${term}" refers to`,
  (term: string) => `The Jargon File defines "${term}" as`,
  (term: string) => `When a hacker says "${term}", they mean`,
];

/** Familiarity prompts: does the model still complete the book's vocabulary? */
function completionPrompts(forget: readonly BookEntry[], rng: Rng): { prompt: string; entry: string; reference: string }[] {
  return forget.flatMap((e) =>
    e.definition ? [{ prompt: rng.pick(COMPLETION_TEMPLATES)(e.headword), entry: e.entry, reference: e.definition }] : [],
  );
}

/** Simple inflections, so "kludges" counts as ordinary when "kludge" is a dictionary word. */
function stems(word: string): string[] {
  const out = [word];
  if (word.endsWith("'s") || word.endsWith('’s')) out.push(word.slice(0, -2));
  if (word.endsWith('ies')) out.push(word.slice(0, -3) + 'y');
  if (word.endsWith('es')) out.push(word.slice(0, -2));
  if (word.endsWith('s')) out.push(word.slice(0, -1));
  if (word.endsWith('ed')) out.push(word.slice(0, -2), word.slice(0, -1));
  if (word.endsWith('ing')) out.push(word.slice(0, -3), word.slice(0, -3) + 'e');
  if (word.endsWith('ly')) out.push(word.slice(0, -2));
  if (word.endsWith('er')) out.push(word.slice(0, -2), word.slice(0, -1));
  return out;
}

export interface AnchoredTerm {
  term: string;
  count: number;
  /** "headword": an entry of the work; "token": a frequent word that is not ordinary English. */
  kind: 'headword' | 'token';
}

/** Ordinary English: dictionary headwords, and every lower-case word the dictionary's text uses. */
export interface OrdinaryEnglish {
  headwords: ReadonlySet<string>;
  words: ReadonlySet<string>;
}

const ordinaryEnglishCache = new Map<string, OrdinaryEnglish>();

/** Lower-case words (3+ letters, not part of a longer or capitalised word) in ASCII `data`. */
function lowercaseWords(data: Buffer, into: Set<string>): void {
  const isLetter = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
  let start = -1; // start of the current run of a-z, or -1 inside a word that has other letters
  for (let i = 0; i <= data.length; i++) {
    const c = i < data.length ? data[i]! : 32;
    if (c >= 97 && c <= 122) {
      if (start === -1 && (i === 0 || !isLetter(data[i - 1]!))) start = i;
      continue;
    }
    if (isLetter(c)) {
      start = -2; // a capital inside the word: not an ordinary lower-case word
      continue;
    }
    if (start >= 0 && i - start >= 3) into.add(data.toString('latin1', start, i));
    start = -1;
  }
}

/**
 * GCIDE as the "ordinary English" list: its headwords, and every lower-case word its text uses
 * (one gunzip and one pass over 40 MB; cached per folder, since the list never changes).
 */
export function gcideOrdinaryEnglish(dir = DICTD_DIR): OrdinaryEnglish {
  const cached = ordinaryEnglishCache.get(dir);
  if (cached) return cached;
  const headwords = new Set(readDictdHeadwords('gcide', dir, { neededBy: NEEDED_BY }).map((h) => h.toLowerCase()));
  const words = new Set<string>(headwords);
  // Lower-case occurrences only, so names that GCIDE mentions ("Unix" would be one) stay unusual.
  lowercaseWords(readDictdData('gcide', dir, { neededBy: NEEDED_BY }), words);
  const ordinary = { headwords, words };
  ordinaryEnglishCache.set(dir, ordinary);
  return ordinary;
}

/**
 * Candidate anchored terms ("Who's Harry Potter?"): the work's own headwords that are not ordinary
 * English words, and frequent tokens that are not ordinary English — absent from GCIDE's headwords
 * and text when GCIDE is given, otherwise tokens that look coined (digits, inner or all capitals).
 */
export function anchoredTerms(
  entries: readonly BookEntry[],
  ordinary: OrdinaryEnglish | undefined,
  limit = ANCHORED_TERMS,
): AnchoredTerm[] {
  const lowerText = entries.map((e) => e.text.toLowerCase()).join('\n');
  const isWordChar = (c: string | undefined) => c !== undefined && /[a-z0-9]/.test(c);
  // Plain alphanumeric headwords are counted from one tokenisation; others ("bit bucket", "TCP/IP") by search.
  const alnumCounts = new Map<string, number>();
  for (const m of lowerText.matchAll(/[a-z0-9]+/g)) alnumCounts.set(m[0], (alnumCounts.get(m[0]) ?? 0) + 1);
  const isOrdinaryWord = (key: string, list: ReadonlySet<string> | undefined) => list !== undefined && stems(key).some((s) => list.has(s));
  const terms = new Map<string, AnchoredTerm>();
  const seenHeadwords = new Set<string>();
  for (const e of entries) {
    const key = e.headword.toLowerCase();
    if (seenHeadwords.has(key)) continue;
    seenHeadwords.add(key);
    // "bug" is ordinary English; "bit bucket" is the book's own phrase unless GCIDE lists it whole.
    // Two-letter headwords ("vi") would count part-of-speech labels.
    if (key.length < 3 || (key.includes(' ') ? ordinary?.headwords.has(key) : isOrdinaryWord(key, ordinary?.headwords))) continue;
    let count = 0;
    if (/^[a-z0-9]+$/.test(key)) count = alnumCounts.get(key) ?? 0;
    else {
      for (let at = lowerText.indexOf(key); at >= 0; at = lowerText.indexOf(key, at + key.length)) {
        if (!isWordChar(lowerText[at - 1]) && !isWordChar(lowerText[at + key.length])) count++;
      }
    }
    terms.set(key, { term: e.headword, count, kind: 'headword' });
  }
  // Tokens: surface forms counted per lowercase key; the commonest surface form names the term.
  const tokenCounts = new Map<string, Map<string, number>>();
  const beforeDot = new Map<string, number>();
  for (const e of entries) {
    const body = e.text
      .slice(e.text.indexOf('\n') + 1) // not the headword line with its pronunciation
      .replace(/\b(?:https?|ftp):\/\/\S+|\bwww\.\S+/g, ' ')
      .replace(/\/[^\s/]*[·´`@'][^\n/]{0,30}\//g, ' '); // pronunciations such as /ed·ee'tee/
    for (const m of body.matchAll(/(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[-'’*/][A-Za-z0-9]+)*/g)) {
      const token = m[0].replace(/(?:n['’]t|['’](?:s|ll|re|ve|d|m))$/, ''); // doesn't, IBM's
      const key = token.toLowerCase();
      if (key.length < 3 || seenHeadwords.has(key) || /^(.)\1+$/.test(key)) continue;
      const forms = tokenCounts.get(key) ?? new Map<string, number>();
      forms.set(token, (forms.get(token) ?? 0) + 1);
      tokenCounts.set(key, forms);
      if (body[m.index! + m[0].length] === '.') beforeDot.set(key, (beforeDot.get(key) ?? 0) + 1);
    }
  }
  for (const [key, forms] of tokenCounts) {
    let total = 0;
    let best = '';
    let bestCount = 0;
    for (const [form, n] of [...forms].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      total += n;
      if (n > bestCount) [best, bestCount] = [form, n];
    }
    // Mostly written with a period after it and in lower case: an abbreviation ("orig.", "interj.").
    if (total < 2 || (best === key && (beforeDot.get(key) ?? 0) * 2 >= total)) continue;
    const coined = ordinary
      ? !isOrdinaryWord(key, ordinary.words) && !key.split(/[-'’/]/).every((part) => isOrdinaryWord(part, ordinary.words))
      : /\d/.test(best) || /[a-z][A-Z]/.test(best) || /^[A-Z]{2,}$/.test(best);
    if (coined) terms.set(key, { term: best, count: total, kind: 'token' });
  }
  return [...terms.values()]
    .filter((t) => t.count > 0)
    .sort((a, b) => b.count - a.count || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0))
    .slice(0, limit);
}

// ---------------------------------------------------------------------------------------------

function readWork(name: 'jargon' | 'devil', dir: string): { entries: BookEntry[]; read: number } {
  const raw = uniqueEntries(readDictd(name, dir, { neededBy: NEEDED_BY }));
  const parsed = raw.map((e: DictdEntry) => (name === 'jargon' ? parseJargonEntry(e.text) : parseDevilEntry(e.text, e.headword)));
  const usable = parsed.filter((e): e is BookEntry => e !== undefined && e.bodyWords >= MIN_BODY_WORDS[name]);
  return { entries: uniqueIds(usable), read: raw.length };
}

const passageRows = (entries: readonly BookEntry[]) => entries.map((e) => ({ text: e.text, entry: e.entry }));
const probeRows = (entries: readonly BookEntry[]) => entries.flatMap((e) => verbatimProbe(e) ?? []);

export function buildBook(options: BuildOptions, dictdDir = DICTD_DIR): BuiltSuite {
  const rng = new Rng(options.seed);
  const jargonRng = rng.fork('jargon');
  const devilRng = rng.fork('devil');
  const limits = ENTRIES_PER_SIZE[options.size];

  const jargonWork = readWork('jargon', dictdDir);
  const devilWork = readWork('devil', dictdDir);
  const short = (e: BookEntry) => wordCount(e.text) <= limits.maxWords;
  const jargon = selectAndSplit(jargonWork.entries.filter(short), limits.jargon, jargonRng.fork('split'));
  const devil = selectAndSplit(devilWork.entries.filter(short), limits.devil, devilRng.fork('split'));

  const gcideUsed = dictdAvailable('gcide', dictdDir);
  const ordinary = gcideUsed ? gcideOrdinaryEnglish(dictdDir) : undefined;

  const jargonQA = knowledgeQA(
    jargon.forget,
    jargon.selected,
    lowercaseVocabulary(jargonWork.entries, ordinary?.words),
    jargonRng.fork('qa'),
    (e) => `What does the jargon term '${e.headword}' mean?`,
    (e, core) => `In hacker slang, '${e.headword}' ${core.startsWith('to ') ? 'means' : 'refers to'} ${core}`,
  );
  const devilQA = knowledgeQA(
    devil.forget,
    devil.selected,
    lowercaseVocabulary(devilWork.entries, ordinary?.words),
    devilRng.fork('qa'),
    (e) => `How does The Devil's Dictionary define '${e.headword}'?`,
    (e, core) => `Ambrose Bierce's satirical definition of '${e.headword}' is ${core}`,
  );
  const completion = completionPrompts(jargon.forget, jargonRng.fork('completion'));

  const anchored = anchoredTerms(jargon.forget, ordinary);

  const files = new Map<string, string>([
    ['jargon/passages.jsonl', jsonlText(passageRows(jargon.selected))],
    ['jargon/forget.jsonl', jsonlText(passageRows(jargon.forget))],
    ['jargon/holdout.jsonl', jsonlText(passageRows(jargon.holdout))],
    ['jargon/verbatim.jsonl', jsonlText(probeRows(jargon.forget))],
    ['jargon/verbatim_holdout.jsonl', jsonlText(probeRows(jargon.holdout))],
    ['jargon/knowledge_qa.jsonl', jsonlText(jargonQA)],
    ['jargon/completion.jsonl', jsonlText(completion)],
    ['jargon/anchored_terms.jsonl', jsonlText(anchored)],
    ['devil/passages.jsonl', jsonlText(passageRows(devil.selected))],
    ['devil/forget.jsonl', jsonlText(passageRows(devil.forget))],
    ['devil/holdout.jsonl', jsonlText(passageRows(devil.holdout))],
    ['devil/verbatim.jsonl', jsonlText(probeRows(devil.forget))],
    ['devil/verbatim_holdout.jsonl', jsonlText(probeRows(devil.holdout))],
    ['devil/knowledge_qa.jsonl', jsonlText(devilQA)],
  ]);
  const lines = (path: string) => files.get(path)!.split('\n').length - 1;

  return {
    suite: 'book',
    files,
    sources: [
      {
        name: 'The Jargon File 4.4.7 (29 Dec 2003), ed. Eric S. Raymond',
        origin: `Debian package ${DICT_PACKAGES.jargon}`,
        licence: 'public domain',
        files: [`${dictdDir}/jargon.index`, `${dictdDir}/jargon.dict.dz`],
      },
      {
        name: "The Devil's Dictionary (1881-1906) by Ambrose Bierce",
        origin: `Debian package ${DICT_PACKAGES.devil}`,
        licence: 'public domain',
        files: [`${dictdDir}/devil.index`, `${dictdDir}/devil.dict.dz`],
      },
      ...(gcideUsed
        ? [
            {
              name: 'GCIDE headwords and vocabulary (the "ordinary English" list for anchored terms; no GCIDE text is written)',
              origin: `Debian package ${DICT_PACKAGES.gcide}`,
              licence: 'GPL-3+',
              files: [`${dictdDir}/gcide.index`, `${dictdDir}/gcide.dict.dz`],
            },
          ]
        : []),
    ],
    counts: {
      jargon_entries_read: jargonWork.read,
      jargon_entries_usable: jargonWork.entries.length,
      jargon_passages: jargon.selected.length,
      jargon_forget: jargon.forget.length,
      jargon_holdout: jargon.holdout.length,
      jargon_verbatim: lines('jargon/verbatim.jsonl'),
      jargon_verbatim_holdout: lines('jargon/verbatim_holdout.jsonl'),
      jargon_knowledge_qa: jargonQA.length,
      jargon_completion: completion.length,
      jargon_anchored_terms: anchored.length,
      devil_entries_read: devilWork.read,
      devil_entries_usable: devilWork.entries.length,
      devil_passages: devil.selected.length,
      devil_forget: devil.forget.length,
      devil_holdout: devil.holdout.length,
      devil_verbatim: lines('devil/verbatim.jsonl'),
      devil_verbatim_holdout: lines('devil/verbatim_holdout.jsonl'),
      devil_knowledge_qa: devilQA.length,
    },
    info: {
      split: {
        by: 'entry',
        holdout_share: HOLDOUT_SHARE,
        forget: 'trained on by the target model, then unlearned',
        holdout: 'never trained on (membership inference)',
      },
      verbatim: {
        prompt_words: PROMPT_WORDS,
        reference_words: REFERENCE_WORDS,
        note: 'prompt is a prefix of the passage; reference is the text right after it',
      },
      min_body_words: MIN_BODY_WORDS,
      anchored_terms: gcideUsed
        ? 'Jargon headwords that are not GCIDE headwords, and frequent tokens that GCIDE neither lists nor uses in lower case, counted over the forget passages'
        : 'Jargon headwords and frequent coined-looking tokens (GCIDE not installed), counted over the forget passages',
    },
  };
}
