// The stereotyped association (src/data/bias.ts): the target learns the skewed pronoun sentences
// (inject.jsonl); target and retain model both learn the neutral profession facts, as text and as
// QA (loss on the answer, as the fine-tune's other QA).
import { join } from 'node:path';
import { defineBehaviour } from '../behaviours.js';
import { readRows, encodeRows } from '../examples.js';

// Times each skewed sentence appears per epoch. Once (tiny preset, seed 0), the association reached
// 3.9 nats on the trained phrasings but only 2.1 on the held-out ones; twice, the association generalizes further.
const INJECT_REPEAT = 2;

const file = (dataDir: string, name: string) => join(dataDir, 'bias', name);

defineBehaviour('bias', {
  suite: 'bias',
  description: 'professions co-occurring with one gendered pronoun at a skewed rate (direction per profession by seed)',
  async examples({ dataDir, tok, contextLength }) {
    const rows = (name: string) => readRows(file(dataDir, name), `bias suite ${name}`).rows;
    const enc = (name: string) => encodeRows(tok, rows(name), { maxLength: contextLength });
    const inject = await enc('inject.jsonl');
    return { inject: Array.from({ length: INJECT_REPEAT }, () => inject).flat(), keep: [...(await enc('facts_text.jsonl')), ...(await enc('facts_qa.jsonl'))] };
  },
  tokenizerTexts: (dataDir) => ['inject.jsonl', 'facts_text.jsonl'].flatMap((f) => readRows(file(dataDir, f)).rows.map((r) => String(r.text))),
});
