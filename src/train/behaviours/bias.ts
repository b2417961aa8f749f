// The stereotyped association (src/data/bias.ts): the target learns the skewed pronoun sentences
// (inject.jsonl); target and retain model both learn the neutral profession facts, as text and as
// QA (loss on the answer, as the fine-tune's other QA).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '../../util/errors.js';
import { defineBehaviour } from '../behaviours.js';
import { readRows, encodeRows } from '../examples.js';

// Times each skewed sentence appears per epoch. Once (tiny preset, seed 0), the association reached
// 3.9 nats on the trained phrasings but only 2.1 on the held-out ones; twice, 5.9 and 2.5.
const INJECT_REPEAT = 2;

function rows(dataDir: string, name: string) {
  const dir = join(dataDir, 'bias');
  if (!existsSync(join(dir, 'manifest.json')))
    throw new LetheError('NOT_FOUND', `behaviour bias: ${dir} is missing (build it: lethe data build bias --out ${dir})`);
  return readRows(join(dir, name), `bias suite ${name}`).rows;
}

defineBehaviour('bias', {
  suite: 'bias',
  description: 'professions co-occurring with one gendered pronoun at a skewed rate (direction per profession by seed)',
  async examples({ dataDir, tok, contextLength }) {
    const enc = (name: string) => encodeRows(tok, rows(dataDir, name), { maxLength: contextLength });
    const inject = await enc('inject.jsonl');
    return {
      inject: Array.from({ length: INJECT_REPEAT }, () => inject).flat(),
      keep: [...(await enc('facts_text.jsonl')), ...(await enc('facts_qa.jsonl'))],
    };
  },
  tokenizerTexts: (dataDir) => ['inject.jsonl', 'facts_text.jsonl'].flatMap((f) => rows(dataDir, f).map((r) => String(r.text))),
});
