// Built-in multiple-choice tasks made from the general suite (`lethe data build all`), so that every
// model gets a standard-style score offline. Choices are ordered by a fixed hash (sha256 of
// "<task>:<row>:<choice>"), so the gold answer's position varies and runs are reproducible.
//  world_facts        general/elements/facts_qa.jsonl: "Question: {question}\nAnswer:" → the true answer
//                     sentence vs its perturbed answers (all of them: 1 + 5 choices).
//  gcide_definitions  general/gcide/heldout.jsonl ("Headword (pos): definition"): "Definition: {first
//                     sense}\nWord:" → the headword vs 3 other held-out headwords (definitions that
//                     contain their own headword are skipped: they give it away).
//  general_cloze      general/gcide/heldout.jsonl: the first sentence of a held-out definition (ordinary
//                     English, no Jargon File text) with its last word as the answer vs 3 last words of
//                     other sentences ("Headword (pos): … of the ethylene" → " series").
import { join } from 'node:path';
import { sha256 } from '../../util/hash.js';
import { readJsonl } from '../../util/jsonl.js';
import type { McDoc } from './formats.js';
import { LetheError } from '../../util/errors.js';

export type BuiltinTask = 'world_facts' | 'gcide_definitions' | 'general_cloze';
export const BUILTIN_TASKS: readonly BuiltinTask[] = ['world_facts', 'gcide_definitions', 'general_cloze'];

export const BUILTIN_FILES: Record<BuiltinTask, string> = {
  world_facts: 'general/elements/facts_qa.jsonl',
  gcide_definitions: 'general/gcide/heldout.jsonl',
  general_cloze: 'general/gcide/heldout.jsonl',
};

/** Distractors per GCIDE item (4 choices in all). */
const GCIDE_DISTRACTORS = 3;

function hashOrder<T>(items: readonly T[], key: (t: T) => string): T[] {
  const keyed = items.map((t) => ({ t, k: sha256(key(t)) }));
  return keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.t);
}

function rows(file: string, task: BuiltinTask): { row: Record<string, unknown>; line: number }[] {
  return readJsonl(file, {
    what: `task ${task}`,
    hint: 'build the suites with `lethe data build all --out DIR` and pass --data DIR',
    validate: (row, line) => {
      if (!row || typeof row !== 'object' || Array.isArray(row))
        throw new LetheError('BAD_INPUT', `task ${task}: ${file} line ${line} must be a JSON object`);
      return { row: row as Record<string, unknown>, line };
    },
  });
}

/** Gold choice placed among distractors in hash order. */
function choiceDoc(task: BuiltinTask, line: number, text: string, gold: string, distractors: string[]): McDoc {
  const choices = hashOrder([gold, ...distractors], (c) => `${task}:${line}:${c}`);
  return { text, choices, gold: choices.indexOf(gold) };
}

function worldFacts(file: string): { docs: McDoc[]; lines: number[] } {
  const docs: McDoc[] = [];
  const lines: number[] = [];
  for (const { row, line } of rows(file, 'world_facts')) {
    const { question, answer, perturbed_answer: pert } = row;
    if (
      typeof question !== 'string' ||
      typeof answer !== 'string' ||
      !Array.isArray(pert) ||
      !pert.length ||
      !pert.every((p) => typeof p === 'string')
    ) {
      throw new LetheError(
        'BAD_INPUT',
        `task world_facts: ${file} line ${line}: expected {"question": str, "answer": str, "perturbed_answer": [str, ...]}`,
      );
    }
    const wrong = [...new Set(pert as string[])].filter((p) => p !== answer);
    if (!wrong.length) continue;
    docs.push(choiceDoc('world_facts', line, `Question: ${question}\nAnswer:`, answer, wrong));
    lines.push(line);
  }
  return { docs, lines };
}

interface GcideRow {
  line: number;
  label: string;
  headword: string;
  sense: string;
}

/** "Headword (pos): 1. First sense. 2. Second…" → headword, label and the first sense. */
export function parseGcideLine(text: string, line: number): GcideRow | null {
  const colon = text.indexOf(': ');
  if (colon <= 0) return null;
  const label = text.slice(0, colon);
  const headword = label.replace(/\s*\([^)]*\)\s*$/, '').trim();
  let body = text.slice(colon + 2).trim();
  if (/^1\.\s/.test(body))
    body = body
      .replace(/^1\.\s+/, '')
      .split(/\s2\.\s/)[0]!
      .trim();
  if (!headword || !body) return null;
  return { line, label, headword, sense: body };
}

function gcideRows(file: string, task: BuiltinTask): GcideRow[] {
  return rows(file, task).flatMap(({ row, line }) => {
    if (typeof row.text !== 'string')
      throw new LetheError('BAD_INPUT', `task ${task}: ${file} line ${line}: expected {"text": "Headword (pos): definition"}`, {
        field: 'text',
      });
    const r = parseGcideLine(row.text, line);
    return r ? [r] : [];
  });
}

function gcideDefinitions(file: string): { docs: McDoc[]; lines: number[] } {
  const seen = new Set<string>();
  const usable = gcideRows(file, 'gcide_definitions').filter((r) => {
    const key = r.headword.toLowerCase();
    if (seen.has(key) || r.sense.toLowerCase().includes(key)) return false;
    seen.add(key);
    return true;
  });
  const docs: McDoc[] = [];
  const lines: number[] = [];
  for (const r of usable) {
    const others = usable.filter((o) => o.headword.toLowerCase() !== r.headword.toLowerCase()).map((o) => o.headword);
    const distractors = hashOrder(others, (h) => `gcide_definitions:${r.line}:${h}`).slice(0, GCIDE_DISTRACTORS);
    if (distractors.length < GCIDE_DISTRACTORS) break;
    docs.push(choiceDoc('gcide_definitions', r.line, `Definition: ${r.sense}\nWord:`, r.headword, distractors));
    lines.push(r.line);
  }
  return { docs, lines };
}

/** The cloze of a definition's first sentence: its text before the last word, and the word (lower-case letters, ≥ 3). */
export function clozeOf(r: GcideRow): { context: string; word: string } | null {
  const end = r.sense.search(/[.;!?](\s|$)/);
  const sentence = end >= 0 ? r.sense.slice(0, end) : r.sense;
  const words = sentence.trim().split(/\s+/);
  if (words.length < 5) return null;
  const word = words[words.length - 1]!;
  if (!/^[a-z]{3,}$/.test(word) || word === r.headword.toLowerCase()) return null;
  return { context: `${r.label}: ${words.slice(0, -1).join(' ')}`, word };
}

function generalCloze(file: string): { docs: McDoc[]; lines: number[] } {
  const items = gcideRows(file, 'general_cloze').flatMap((r) => {
    const c = clozeOf(r);
    return c ? [{ ...c, line: r.line }] : [];
  });
  const pool = [...new Set(items.map((c) => c.word))];
  const docs: McDoc[] = [];
  const lines: number[] = [];
  for (const c of items) {
    const distractors = hashOrder(
      pool.filter((w) => w !== c.word),
      (w) => `general_cloze:${c.line}:${w}`,
    ).slice(0, GCIDE_DISTRACTORS);
    if (distractors.length < GCIDE_DISTRACTORS) break;
    docs.push(choiceDoc('general_cloze', c.line, c.context, c.word, distractors));
    lines.push(c.line);
  }
  return { docs, lines };
}

/** A built-in task's docs from a data folder (or the file given instead). */
export function builtinDocs(
  task: BuiltinTask,
  source: { dataDir?: string; file?: string },
): { docs: McDoc[]; lines: number[]; file: string } {
  const file = source.file ?? (source.dataDir ? join(source.dataDir, BUILTIN_FILES[task]) : null);
  if (!file)
    throw new LetheError(
      'BAD_INPUT',
      `task ${task} reads ${BUILTIN_FILES[task]} from a built data folder: pass --data DIR (from \`lethe data build all\`) or ${task}:FILE`,
    );
  const made = task === 'world_facts' ? worldFacts(file) : task === 'gcide_definitions' ? gcideDefinitions(file) : generalCloze(file);
  if (!made.docs.length) throw new LetheError('BAD_INPUT', `task ${task}: ${file} gave no usable items`);
  return { ...made, file };
}
