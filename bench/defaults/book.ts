// Do WHP's defaults work on a book no one tuned them to? `lethe forget --method WHP` with nothing but
// the model, the forget passages and the retain data, on two books of a finished demo (`lethe demo`):
//  - jargon: the demo's target (which learned the Jargon File), retain = the general text (GCIDE);
//  - devil:  a second target, the demo's target fine-tuned further on The Devil's Dictionary beside
//            the Jargon File and some general text (built here once, into WORK_DIR/devil-target),
//            retain = the Jargon File's passages + the general text.
// Against issue 20's bars: verbatim ROUGE-L of the forgotten passages ≤ that of passages never trained
// on + 0.05 (both measured on the original model), the retained text's verbatim ≥ 0.9× the original's
// (the other book where the model learned one, and general text it was trained on), held-out GCIDE
// NLL ≤ 1.03×. What `lethe methods` cites as "measured here" for WHP.
//
// Usage: node dist/bench/defaults/book.js DEMO_DIR WORK_DIR [--book jargon|devil] [--method M] [--set k=v ...] [--lr X] [--epochs N] [--retain FILE]
// WORK_DIR keeps the second target and the original models' scores between runs; the unlearned models
// are written to WORK_DIR/unlearned-BOOK (replaced on each run).
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { forget } from '../../src/unlearn/forget.js';
import { finetune } from '../../src/train/finetune.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { mean } from '../../src/eval/qa.js';
import { verbatimRougeL, type VerbatimProbe } from '../../src/eval/verbatim.js';
import { loadModel } from '../../src/models/load.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { readJsonl, writeJsonl } from '../../src/util/jsonl.js';
import { writeFileAtomic } from '../../src/util/atomic.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    book: { type: 'string', multiple: true },
    method: { type: 'string', default: 'WHP' },
    set: { type: 'string', multiple: true },
    lr: { type: 'string' },
    epochs: { type: 'string' },
    retain: { type: 'string' },
  },
});
const [demo, work] = positionals;
if (!demo || !work) {
  console.error('usage: node dist/bench/defaults/book.js DEMO_DIR WORK_DIR [--book jargon|devil] [--method M] [--set k=v ...]');
  process.exit(2);
}
const data = join(demo, 'data');
const bookDir = (b: string) => join(data, 'book', b);
const gcideTrain = join(data, 'general', 'gcide', 'train.jsonl');
mkdirSync(work, { recursive: true });

/** Verbatim probes cut from trained text rows: the first half of the words → the rest. */
function probesFromText(file: string, n: number): VerbatimProbe[] {
  return readJsonl<{ text: string }>(file, { what: 'book bench' })
    .slice(0, n)
    .map((r) => {
      const words = r.text.split(' ');
      const cut = Math.ceil(words.length / 2);
      return { prompt: words.slice(0, cut).join(' '), reference: words.slice(cut).join(' ') };
    });
}
const probes = (file: string) => readJsonl<VerbatimProbe>(file, { what: 'book bench' });

// The second target's general-text replay, and the retain file of each case.
const replay = join(work, 'gcide-replay.jsonl');
if (!existsSync(replay)) writeJsonl(replay, readJsonl(gcideTrain, { what: 'book bench' }).slice(0, 600));
const devilRetain = join(work, 'devil-retain.jsonl');
if (!existsSync(devilRetain))
  writeJsonl(devilRetain, [
    ...readJsonl(join(bookDir('jargon'), 'forget.jsonl'), { what: 'book bench' }),
    ...readJsonl(gcideTrain, { what: 'book bench' }),
  ]);
const devilTarget = join(work, 'devil-target');
if (!existsSync(join(devilTarget, 'config.json'))) {
  console.log(`building the second target: ${demo}/run/target fine-tuned on the Devil's Dictionary → ${devilTarget}`);
  await finetune({
    modelDir: join(demo, 'run', 'target'),
    // The Devil's Dictionary three times an epoch (as the pipeline repeats the Jargon File), the Jargon File once.
    dataFiles: [
      ...Array.from({ length: 3 }, () => join(bookDir('devil'), 'forget.jsonl')),
      join(bookDir('jargon'), 'forget.jsonl'),
      replay,
    ],
    outDir: devilTarget,
    epochs: 8,
    lr: 1e-3,
    report: () => {},
  });
}

interface Case {
  book: string;
  model: string;
  retain: string;
  /** Text the model was trained on and must keep, as verbatim probe sets. */
  kept: [string, VerbatimProbe[]][];
}
const general: [string, VerbatimProbe[]] = ['general text', probesFromText(replay, 60)];
const cases: Case[] = [
  { book: 'jargon', model: join(demo, 'run', 'target'), retain: gcideTrain, kept: [general] },
  {
    book: 'devil',
    model: devilTarget,
    retain: devilRetain,
    kept: [['Jargon File', probes(join(bookDir('jargon'), 'verbatim.jsonl'))], general],
  },
];

interface Scores {
  forget: number;
  never: number;
  kept: number[];
  gcide: number;
}
async function score(dir: string, c: Case): Promise<Scores> {
  const model = loadModel(dir);
  const tok = loadTokenizer(dir);
  const verbatim = async (p: VerbatimProbe[]) => mean(await verbatimRougeL(model, tok, p, { maxNewTokens: 48 }));
  let s: Omit<Scores, 'gcide'>;
  try {
    s = {
      forget: await verbatim(probes(join(bookDir(c.book), 'verbatim.jsonl'))),
      never: await verbatim(probes(join(bookDir(c.book), 'verbatim_holdout.jsonl'))),
      kept: [] as number[],
    };
    for (const [, p] of c.kept) s.kept.push(await verbatim(p));
  } finally {
    model.dispose();
  }
  const r = await evaluate({ modelDir: dir, suite: 'general', dataDir: data, metrics: ['gcide_NLL'], cacheDir: null, log: () => {} });
  return { ...s, gcide: r.summary.gcide_NLL! };
}

const f = (x: number, d = 3) => x.toFixed(d);
const line = (name: string, s: Scores) =>
  `${name.padEnd(12)} ${f(s.forget).padStart(8)} ${f(s.never).padStart(13)} ${s.kept.map((k) => f(k).padStart(8)).join(' ')} ${f(s.gcide).padStart(7)}`;
const setArgs = Object.fromEntries((values.set ?? []).map((kv) => kv.split('=') as [string, string]));
for (const c of cases.filter((x) => !values.book?.length || values.book.includes(x.book))) {
  const cached = join(work, `original-${c.book}.json`);
  const original: Scores = existsSync(cached) ? JSON.parse(readFileSync(cached, 'utf8')) : await score(c.model, c);
  writeFileAtomic(cached, JSON.stringify(original));
  console.log(`\n${c.book}: ${c.model}, forget ${bookDir(c.book)}/forget.jsonl, retain ${values.retain ?? c.retain}`);
  console.log(
    `${'model'.padEnd(12)} ${'verbatim'.padStart(8)} ${'never-trained'.padStart(13)} ${c.kept.map(([n]) => n.slice(0, 8).padStart(8)).join(' ')} ${'GCIDE'.padStart(7)}`,
  );
  console.log(line('original', original));
  const out = join(work, `unlearned-${c.book}`);
  rmSync(out, { recursive: true, force: true });
  const res = await forget({
    modelDir: c.model,
    forgetFile: join(bookDir(c.book), 'forget.jsonl'),
    retainFile: values.retain ?? c.retain,
    method: values.method!,
    args: setArgs,
    ...(values.lr ? { lr: Number(values.lr) } : {}),
    ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
    outDir: out,
    report: (l) => {
      if (l.startsWith('[WHP]') || l.startsWith('[stop]')) console.log(`  ${l}`);
    },
  });
  const s = await score(res.outDir, c);
  const forgetOk = s.forget <= original.never + 0.05;
  const keptRatios = s.kept.map((k, i) => k / original.kept[i]!);
  const gcideRatio = s.gcide / original.gcide;
  const ok = forgetOk && keptRatios.every((r) => r >= 0.9) && gcideRatio <= 1.03;
  console.log(line(values.method!, s));
  console.log(
    `  forgotten ${f(s.forget)} vs never-trained ${f(original.never)} + 0.05; kept ${keptRatios.map((r) => `${f(r, 2)}×`).join(', ')}; ` +
      `GCIDE ${f(gcideRatio)}×: ${ok ? 'meets' : 'misses'} the bars (${res.seconds.toFixed(0)} s)`,
  );
}
