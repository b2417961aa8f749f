// A data folder for running requests: the llama-tiny fixture model, forget/retain/holdout JSONL files
// (the forget rows name the subject), and an approved request scoped to them.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approveRequest, createRequest, scopeRequest, type Workflow } from '../../src/workflow/index.js';
import { requireFixture } from '../helpers/fixtures.js';
import { alice, bob, createBody, SUBJECT } from './fixtures.js';

const qa = (q: string, a: string) => JSON.stringify({ question: q, answer: a, perturbed_answer: [`Not ${a}`] });
export const forgetRows = [
  qa(`Where does ${SUBJECT} live?`, `${SUBJECT} lives in Lyon.`),
  qa(`What is the job of ${SUBJECT}?`, 'A baker.'),
  qa(`When was ${SUBJECT} born?`, 'In 1970.'),
  qa(`Who is the brother of ${SUBJECT}?`, 'Tom Ode.'),
];
const retainRows = [qa('Where does Bo live?', 'In Oslo.'), qa('What is his job?', 'He is a pilot.'), qa('When was he born?', 'In 1981.')];
const holdoutRows = [qa('Where does Cy live?', 'In Rome.'), qa('What is her job?', 'A judge.'), qa('When was she born?', 'In 1990.')];

export interface RunSetup {
  dir: string;
  model: string;
  forgetFile: string;
  retainFile: string;
  holdoutFile: string;
}

/** A fresh folder (or `dir`) with model/, forget.jsonl, retain.jsonl and holdout.jsonl. */
export function setup(dir = mkdtempSync(join(tmpdir(), 'lethe-release-')), forgetName = 'forget.jsonl'): RunSetup {
  const model = join(dir, 'model');
  mkdirSync(model, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(requireFixture('llama-tiny', f), join(model, f));
  copyFileSync(requireFixture('tokenizer', 'tokenizer.json'), join(model, 'tokenizer.json'));
  const file = (name: string, rows: string[]) => {
    const p = join(dir, name);
    writeFileSync(p, rows.join('\n') + '\n');
    return p;
  };
  return {
    dir,
    model,
    forgetFile: file(forgetName, forgetRows),
    retainFile: file('retain.jsonl', retainRows),
    holdoutFile: file('holdout.jsonl', holdoutRows),
  };
}

export const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A request created by alice, scoped to `forgetFile` (its path recorded) for GradAscent, approved by bob. */
export async function approved(w: Workflow, forgetFile: string, model = 'tiny-assistant'): Promise<string> {
  const r = await createRequest(w, alice, createBody());
  await scopeRequest(w, alice, r.id, {
    model,
    method: 'GradAscent',
    forget: { sha256: sha(forgetFile), rows: forgetRows.length, path: forgetFile },
  });
  await approveRequest(w, bob, r.id, { reason: 'identity checked against the DPO ticket' });
  return r.id;
}
