// The data files of a run (`lethe data build`) as the pipeline and the behaviours read them: JSONL
// rows, and QA rows as examples with the loss on the answer.
import { readJsonl } from '../util/jsonl.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { IGNORE_INDEX } from '../models/loss.js';
import { encodeQa } from './prompt.js';
import type { Example } from './batches.js';

export interface QaRow {
  question: string;
  answer: string;
  person_id?: string;
}

/** The rows of a file of the built data folder (`lethe data build`), as written there. */
export function readBuilt<T>(path: string): T[] {
  return readJsonl<T>(path, { what: 'data file', hint: "build it with 'lethe data build'" });
}

/** QA as "Question: …\nAnswer: …<eos>", loss on the answer only (as TOFU fine-tunes). */
export async function qaExamples(tok: Tokenizer, rows: QaRow[], length: number, eos: number): Promise<Example[]> {
  const out: Example[] = [];
  for (const r of rows) {
    const qa = await encodeQa(tok, r.question, r.answer);
    const ids = [...qa.ids, eos].slice(0, length);
    out.push({ ids, labels: ids.map((t, k) => (k < qa.promptLength ? IGNORE_INDEX : t)) });
  }
  return out;
}
