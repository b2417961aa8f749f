// Do a method's defaults work? `lethe forget --method M` with nothing but the model, the forget and
// the retain data, on a finished demo (`lethe demo`: the tiny target, the forget10 people, retain90,
// and the gold-standard retain model), against issue 20's bars: forget P between 0.5× and 2× the
// retain model's, retain P ≥ 0.95× the target's, GCIDE NLL ≤ 1.03× the target's. It also prints how
// much the model still prefers each forgotten true answer to its perturbed ones (mean log-ratio of the
// per-token answer probabilities; the retain model, which never saw the people, is near 0): knowledge
// below the surface that a low P(true) hides. What `lethe methods` cites as "measured here".
//
// Usage: node dist/bench/defaults/defaults.js DEMO_DIR [METHOD[:lr=X,epochs=N,ARG=V...] ...]   (default: NPO)
// A spec after the colon tries a candidate default: lr and epochs for the training, the rest as the
// method's arguments (as `--set`); without one, the method's defaults as `lethe forget` applies them.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forget } from '../../src/unlearn/forget.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { answerProbabilities, mean } from '../../src/eval/qa.js';
import { loadModel } from '../../src/models/load.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';

interface QaRow {
  question: string;
  answer: string;
  perturbed_answer?: string[];
}

const [demo, ...methodArgs] = process.argv.slice(2);
if (!demo) {
  console.error('usage: node dist/bench/defaults/defaults.js DEMO_DIR [METHOD ...]');
  process.exit(2);
}
const methods = methodArgs.length ? methodArgs : ['NPO'];
const data = join(demo, 'data');
const persona = join(data, 'persona', 'qa');
const rows = (f: string) =>
  readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as QaRow);
const forgetRows = rows(join(persona, 'forget10.jsonl'));

async function score(dir: string) {
  const r = await evaluate({
    modelDir: dir,
    suite: 'persona:forget10',
    dataDir: data,
    metrics: ['forget_Q_A_Prob', 'retain_Q_A_Prob', 'gcide_NLL'],
    cacheDir: null,
    log: () => {},
  });
  const model = loadModel(dir);
  try {
    const tok = loadTokenizer(dir);
    const withPert = forgetRows.filter((r) => r.perturbed_answer?.length);
    const pTrue = await answerProbabilities(model, tok, withPert);
    const pPert = await answerProbabilities(
      model,
      tok,
      withPert.flatMap((r) => r.perturbed_answer!.map((a) => ({ question: r.question, answer: a }))),
    );
    let k = 0;
    const logRatio = withPert.map((r, i) => {
      const alts = r.perturbed_answer!.map(() => Math.log(pPert[k++]!));
      return Math.log(pTrue[i]!) - mean(alts);
    });
    return {
      forgetP: r.summary.forget_Q_A_Prob!,
      retainP: r.summary.retain_Q_A_Prob!,
      gcide: r.summary.gcide_NLL!,
      logRatio: withPert.length ? mean(logRatio) : Number.NaN,
    };
  } finally {
    model.dispose();
  }
}

const target = await score(join(demo, 'run', 'target'));
const retain = await score(join(demo, 'run', 'retain-forget10'));
const f = (x: number, d = 4) => x.toFixed(d);
console.log(`demo ${demo}: forget10 (${forgetRows.length} rows), retain90`);
console.log(`${'model'.padEnd(18)} ${'forget P'.padStart(9)} ${'retain P'.padStart(9)} ${'GCIDE'.padStart(7)} ${'log-ratio'.padStart(9)}`);
for (const [name, s] of [
  ['target', target],
  ['retain model', retain],
] as const)
  console.log(
    `${name.padEnd(18)} ${f(s.forgetP).padStart(9)} ${f(s.retainP).padStart(9)} ${f(s.gcide, 3).padStart(7)} ${f(s.logRatio, 3).padStart(9)}`,
  );
/** "GradDiff:lr=3e-4,epochs=10,alpha=2" → the method, its training overrides and its arguments. */
function parseSpec(spec: string): { method: string; lr?: number; epochs?: number; args: Record<string, string> } {
  const [method, rest] = spec.split(':') as [string, string | undefined];
  const args: Record<string, string> = {};
  let lr: number | undefined;
  let epochs: number | undefined;
  for (const kv of rest ? rest.split(',') : []) {
    const [k, v] = kv.split('=') as [string, string];
    if (k === 'lr') lr = Number(v);
    else if (k === 'epochs') epochs = Number(v);
    else args[k] = v;
  }
  return { method, lr, epochs, args };
}

for (const spec of methods) {
  const { method, lr, epochs, args } = parseSpec(spec);
  const out = mkdtempSync(join(tmpdir(), `lethe-defaults-${method}-`));
  try {
    const res = await forget({
      modelDir: join(demo, 'run', 'target'),
      forgetFile: join(persona, 'forget10.jsonl'),
      retainFile: join(persona, 'retain90.jsonl'),
      method,
      args,
      lr,
      epochs,
      outDir: join(out, 'model'),
      report: () => {},
    });
    const s = await score(res.outDir);
    const forgetRatio = s.forgetP / retain.forgetP;
    const retainRatio = s.retainP / target.retainP;
    const gcideRatio = s.gcide / target.gcide;
    const ok = forgetRatio >= 0.5 && forgetRatio <= 2 && retainRatio >= 0.95 && gcideRatio <= 1.03;
    console.log(
      `${spec.padEnd(18)} ${f(s.forgetP).padStart(9)} ${f(s.retainP).padStart(9)} ${f(s.gcide, 3).padStart(7)} ${f(s.logRatio, 3).padStart(9)}` +
        `   forget ${f(forgetRatio, 2)}× retain model's, retain ${f(retainRatio, 3)}× target's, GCIDE ${f(gcideRatio, 3)}×: ${ok ? 'meets' : 'misses'} the bars` +
        ` (${res.steps} steps, ${res.seconds.toFixed(0)} s)`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
