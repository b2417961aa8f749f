// Multiple-choice task files and the prompts lm-evaluation-harness builds from them.
//
// A layout turns one JSONL row into a doc: the text before the answer (doc_to_text), the choices
// (doc_to_choice), the gold index (doc_to_target), optionally a description before everything
// (MMLU's header) and, for WinoGrande, one context per choice ("multiple inputs"). buildItems()
// then makes each row's requests exactly as lm-evaluation-harness's ConfigurableTask does:
//   context      = description + few-shot examples + doc_to_text(doc)
//   example      = doc_to_text(ex) + target_delimiter + choice[gold] + fewshot_delimiter  ("\n\n")
//   continuation = target_delimiter (" ") + choice                                    (per choice)
// and for multiple-input tasks (WinoGrande) context_i = prefix + partial_context_i and one shared
// continuation " " + partial_target. What each layout follows in lm-evaluation-harness (lm_eval/tasks/):
//   arc        arc/arc_easy.yaml, arc_challenge.yaml   "Question: {question}\nAnswer:", choices.text, gold = label.index(answerKey)
//   boolq      super_glue/boolq/default.yaml          "{passage}\nQuestion: {question}?\nAnswer:", ["no", "yes"]
//   winogrande winogrande/default.yaml + preprocess_winogrande.py   partial scoring (see above)
//   hellaswag  hellaswag/hellaswag.yaml + utils.py     query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())
//   mmlu       mmlu/default/_default_template_yaml     header "The following are multiple choice questions (with answers) about {subject}.\n\n",
//              "{question.strip()}\nA. …\nB. …\nC. …\nD. …\nAnswer:", choices ["A","B","C","D"], few-shot: the first k of the subject
//   generic    {context, choices, answer}: context as given, continuation " " + choice
// Few-shot examples come from the same file, never the item itself: for MMLU the first k rows of the
// same subject (lm-eval's first_n sampler over the dev split), otherwise k rows chosen by a fixed hash
// order (sha256 of "lethe-mc-fewshot:<item>:<candidate>", ascending), so runs are reproducible.
import { LetheError, typeOf } from '../../util/errors.js';
import { sha256 } from '../../util/hash.js';
import { readJsonl } from '../../util/jsonl.js';

export type McLayout = 'arc' | 'boolq' | 'winogrande' | 'hellaswag' | 'mmlu' | 'generic';
export const MC_LAYOUTS: readonly McLayout[] = ['arc', 'boolq', 'winogrande', 'hellaswag', 'mmlu', 'generic'];

/** One row as lm-evaluation-harness sees it after process_docs. */
export interface McDoc {
  /** doc_to_text (for multiple-input tasks: unused, see contexts). */
  text: string;
  /** doc_to_choice: the continuations without the delimiter (multiple-input tasks: the partial contexts). */
  choices: string[];
  gold: number;
  /** Multiple-input tasks (WinoGrande): one context per choice and one shared target. */
  multipleInput?: { target: string };
  /** Text before the few-shot examples (MMLU's header). */
  description?: string;
  /** Few-shot examples are drawn from rows with the same group, in file order (MMLU: subject). */
  group?: string;
}

/**
 * One scored item: the per-choice (context, continuation) requests. Stored as an item of an `mc`
 * item set (the content hash of these fields keys the result cache).
 */
export interface McItem {
  /** The shared context (every choice), or per-choice contexts for multiple-input tasks. */
  context?: string;
  contexts?: string[];
  /** Per choice, with the target delimiter (" choice", or " partial target" for WinoGrande). */
  continuations: string[];
  /** doc_to_choice, whose character lengths acc_norm divides by (as lm-evaluation-harness: len(choice)). */
  choices: string[];
  gold: number;
  /** 1-based line of the row in its file (or the row's index in a built-in task). */
  line: number;
  /** Rows (0-based indices among the file's rows) used as few-shot examples. */
  fewshot?: number[];
}

export const TARGET_DELIMITER = ' ';
export const FEWSHOT_DELIMITER = '\n\n';

type Row = Record<string, unknown>;

function where(file: string, line: number): string {
  return `${file} line ${line}`;
}

/** A malformed row: the file, the line, the field at fault and what was expected. */
function fail(file: string, line: number, layout: string, field: string, msg: string): never {
  throw new LetheError('BAD_INPUT', `${where(file, line)}: ${msg} (${layout} layout: ${LAYOUT_HELP[layout as McLayout] ?? ''})`, { field });
}

export const LAYOUT_HELP: Record<McLayout, string> = {
  arc: '{"question": str, "choices": {"text": [str], "label": [str]}, "answerKey": str}',
  boolq: '{"passage": str, "question": str, "answer": true|false} (or "label": 0|1)',
  winogrande: '{"sentence": str with "_", "option1": str, "option2": str, "answer": "1"|"2"}',
  hellaswag: '{"activity_label": str, "ctx_a": str, "ctx_b": str (or "ctx": str), "endings": [str], "label": int or "0".."3"}',
  mmlu: '{"question": str, "choices": [4 str], "answer": 0..3 or "A".."D", "subject": str}',
  generic: '{"context": str, "choices": [str], "answer": index or one of the choices}',
};

function str(row: Row, key: string, file: string, line: number, layout: McLayout): string {
  const v = row[key];
  if (typeof v !== 'string') fail(file, line, layout, key, `"${key}" must be a string, got ${typeOf(v)}`);
  return v;
}

function strList(row: Row, key: string, file: string, line: number, layout: McLayout, min = 2, display = key): string[] {
  const v = row[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    fail(file, line, layout, display, `"${display}" must be a list of strings, got ${typeOf(v)}`);
  if (v.length < min) fail(file, line, layout, display, `"${display}" needs at least ${min} entries, got ${v.length}`);
  return v as string[];
}

function index(v: unknown, n: number, key: string, file: string, line: number, layout: McLayout): number {
  const k = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(k) || k < 0 || k >= n)
    fail(file, line, layout, key, `"${key}" must be an index 0..${n - 1}, got ${typeof v === 'number' ? 'another number' : typeOf(v)}`);
  return k;
}

/** lm-eval's hellaswag utils.preprocess. */
export function hellaswagPreprocess(text: string): string {
  let t = text.trim();
  t = t.replaceAll(' [title]', '. ');
  t = t.replace(/\[.*?\]/g, '');
  t = t.replaceAll('  ', ' ');
  return t;
}

/** Python's str.capitalize(): first character upper case, the rest lower case. */
function pyCapitalize(s: string): string {
  const chars = [...s];
  return chars.length ? chars[0]!.toUpperCase() + chars.slice(1).join('').toLowerCase() : '';
}

export function parseRow(layout: McLayout, row: Row, file: string, line: number): McDoc {
  switch (layout) {
    case 'arc': {
      const question = str(row, 'question', file, line, layout);
      const c = row.choices as Row | undefined;
      if (!c || typeof c !== 'object' || Array.isArray(c))
        fail(file, line, layout, 'choices', `"choices" must be an object {"text": [...], "label": [...]}, got ${typeOf(c)}`);
      const text = strList(c, 'text', file, line, layout, 2, 'choices.text');
      const label = strList(c, 'label', file, line, layout, 1, 'choices.label');
      if (label.length !== text.length)
        fail(file, line, layout, 'choices.label', `"choices.label" has ${label.length} entries but "choices.text" has ${text.length}`);
      const key = str(row, 'answerKey', file, line, layout);
      const gold = label.indexOf(key);
      if (gold < 0) fail(file, line, layout, 'answerKey', `"answerKey" is not one of the ${label.length} labels`);
      return { text: `Question: ${question}\nAnswer:`, choices: text, gold };
    }
    case 'boolq': {
      const passage = str(row, 'passage', file, line, layout);
      const question = str(row, 'question', file, line, layout);
      let gold: number;
      if (typeof row.answer === 'boolean') gold = row.answer ? 1 : 0;
      else if (row.answer === undefined && (row.label === 0 || row.label === 1)) gold = row.label;
      else fail(file, line, layout, 'answer', `"answer" must be true or false, got ${typeOf(row.answer)}`);
      return { text: `${passage}\nQuestion: ${question}?\nAnswer:`, choices: ['no', 'yes'], gold };
    }
    case 'winogrande': {
      const sentence = str(row, 'sentence', file, line, layout);
      const blank = sentence.indexOf('_');
      if (blank < 0) fail(file, line, layout, 'sentence', '"sentence" has no "_" blank');
      const options = [str(row, 'option1', file, line, layout), str(row, 'option2', file, line, layout)];
      const answer = row.answer;
      if (answer !== '1' && answer !== '2')
        fail(
          file,
          line,
          layout,
          'answer',
          `"answer" must be "1" or "2", got ${typeof answer === 'string' ? 'another string' : typeOf(answer)}`,
        );
      // preprocess_winogrande: partial_context = sentence[:blank] + option; partial_target = sentence[blank+1:].strip()
      const target = sentence.slice(blank + 1).trim();
      if (!target) fail(file, line, layout, 'sentence', '"sentence" has nothing after the "_" blank to score');
      return {
        text: '',
        choices: options.map((o) => sentence.slice(0, blank) + o),
        gold: answer === '1' ? 0 : 1,
        multipleInput: { target },
      };
    }
    case 'hellaswag': {
      const label = str(row, 'activity_label', file, line, layout);
      let ctx: string;
      if (typeof row.ctx_a === 'string' && typeof row.ctx_b === 'string') ctx = `${row.ctx_a} ${pyCapitalize(row.ctx_b)}`;
      else if (row.ctx_a === undefined && row.ctx_b === undefined && typeof row.ctx === 'string') ctx = row.ctx;
      else
        fail(
          file,
          line,
          layout,
          'ctx_a',
          `needs string "ctx_a" and "ctx_b" (or "ctx"), got ${['ctx_a', 'ctx_b', 'ctx'].map((k) => `${k}: ${typeOf(row[k])}`).join(', ')}`,
        );
      const endings = strList(row, 'endings', file, line, layout);
      const gold = index(row.label, endings.length, 'label', file, line, layout);
      return { text: hellaswagPreprocess(`${label}: ${ctx}`), choices: endings.map(hellaswagPreprocess), gold };
    }
    case 'mmlu': {
      const question = str(row, 'question', file, line, layout);
      const choices = strList(row, 'choices', file, line, layout, 4);
      if (choices.length !== 4) fail(file, line, layout, 'choices', `"choices" must hold exactly 4 options, got ${choices.length}`);
      const subject = str(row, 'subject', file, line, layout);
      const a = row.answer;
      const gold = typeof a === 'string' && /^[A-D]$/.test(a) ? a.charCodeAt(0) - 65 : index(a, 4, 'answer', file, line, layout);
      return {
        text: `${question.trim()}\nA. ${choices[0]}\nB. ${choices[1]}\nC. ${choices[2]}\nD. ${choices[3]}\nAnswer:`,
        choices: ['A', 'B', 'C', 'D'],
        gold,
        description: `The following are multiple choice questions (with answers) about ${subject.replaceAll('_', ' ')}.\n\n`,
        group: subject,
      };
    }
    case 'generic': {
      const context = str(row, 'context', file, line, layout);
      const choices = strList(row, 'choices', file, line, layout);
      const a = row.answer;
      const gold = typeof a === 'string' && !/^\d+$/.test(a) ? choices.indexOf(a) : index(a, choices.length, 'answer', file, line, layout);
      if (gold < 0) fail(file, line, layout, 'answer', `"answer" is not one of the choices`);
      return { text: context, choices, gold };
    }
  }
}

/** Reads a JSONL task file: every non-blank line one JSON object of the layout. */
export function readTaskFile(layout: McLayout, file: string): { docs: McDoc[]; lines: number[] } {
  if (!MC_LAYOUTS.includes(layout))
    throw new LetheError('NOT_FOUND', `unknown multiple-choice layout '${layout}' (known: ${MC_LAYOUTS.join(', ')})`);
  const lines: number[] = [];
  const docs = readJsonl(file, {
    what: `${layout} task file`,
    expected: `one ${layout} row per line: ${LAYOUT_HELP[layout]}`,
    validate: (row, line) => {
      if (!row || typeof row !== 'object' || Array.isArray(row))
        throw new LetheError('BAD_INPUT', `${where(file, line)}: expected a JSON object ${LAYOUT_HELP[layout]}, got ${typeOf(row)}`);
      lines.push(line);
      return parseRow(layout, row as Row, file, line);
    },
  });
  return { docs, lines };
}

/** The few-shot rows for item i: MMLU-style groups take the first k of the group; others a fixed hash order. */
export function fewshotIndices(docs: readonly McDoc[], i: number, k: number): number[] {
  if (k <= 0) return [];
  const doc = docs[i]!;
  const candidates = docs.map((_, j) => j).filter((j) => j !== i && (doc.group === undefined || docs[j]!.group === doc.group));
  if (doc.group !== undefined) return candidates.slice(0, k);
  return candidates
    .map((j) => ({ j, key: sha256(`lethe-mc-fewshot:${i}:${j}`) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, k)
    .map((x) => x.j);
}

/** A few-shot example as lm-eval renders it: question, delimiter, the gold choice, "\n\n". */
function example(doc: McDoc): string {
  const q = doc.multipleInput ? doc.choices[doc.gold]! : doc.text;
  const a = doc.multipleInput ? doc.multipleInput.target : doc.choices[doc.gold]!;
  return q + TARGET_DELIMITER + a + FEWSHOT_DELIMITER;
}

/** The scored requests of every doc, with k few-shot examples from the other docs. */
export function buildItems(docs: readonly McDoc[], lines: readonly number[], numFewshot = 0): McItem[] {
  if (!(Number.isInteger(numFewshot) && numFewshot >= 0))
    throw new LetheError('BAD_INPUT', `num_fewshot must be a non-negative integer, got ${numFewshot}`);
  return docs.map((doc, i) => {
    const shots = fewshotIndices(docs, i, numFewshot);
    const prefix = (doc.description ?? '') + shots.map((j) => example(docs[j]!)).join('');
    const item: McItem = doc.multipleInput
      ? {
          contexts: doc.choices.map((c) => prefix + c),
          continuations: doc.choices.map(() => TARGET_DELIMITER + doc.multipleInput!.target),
          choices: doc.choices,
          gold: doc.gold,
          line: lines[i]!,
        }
      : {
          context: prefix + doc.text,
          continuations: doc.choices.map((c) => TARGET_DELIMITER + c),
          choices: doc.choices,
          gold: doc.gold,
          line: lines[i]!,
        };
    if (numFewshot > 0) item.fewshot = shots;
    return item;
  });
}
