// The situation an erasure request starts from: what the target and the retain model (trained
// without the forget set) answer about forget-set people, and how strongly each has memorized
// forget-set vs holdout people (TOFU's probability and ROUGE-L) and the book (verbatim ROUGE-L).
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadModel } from '../models/load.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { answerProbabilities, greedyAnswers, mean, type QaItem } from './qa.js';
import { verbatimRougeL, type VerbatimProbe } from './verbatim.js';
import { readBuilt } from '../train/run-data.js';

export interface SetScore {
  probability: number;
  rougeL: number;
  n: number;
}

export interface MemorizationReport {
  split: string;
  persona: Record<string, { forget: SetScore; holdout: SetScore }>;
  book: Record<string, { forget: number; holdout: number; n: number; nHoldout: number }>;
  examples: { question: string; answer: string; byModel: Record<string, { answer: string; probability: number }> }[];
}

interface SetResult {
  score: SetScore;
  probs: number[];
  answers: string[];
}

/** Scores several QA sets with one load of the model. */
async function scoreSets(dir: string, sets: QaItem[][]): Promise<SetResult[]> {
  const model = loadModel(dir);
  const tok = loadTokenizer(dir);
  try {
    const out: SetResult[] = [];
    for (const items of sets) {
      const probs = await answerProbabilities(model, tok, items);
      const gens = await greedyAnswers(model, tok, items);
      out.push({
        score: { probability: mean(probs), rougeL: mean(gens.map((g) => g.rougeLRecall)), n: items.length },
        probs,
        answers: gens.map((g) => g.generated),
      });
    }
    return out;
  } finally {
    model.dispose();
  }
}

/** Mean verbatim ROUGE-L of each probe set, with one load of the model. */
async function verbatimSets(dir: string, sets: VerbatimProbe[][]): Promise<number[]> {
  const model = loadModel(dir);
  const tok = loadTokenizer(dir);
  try {
    const out: number[] = [];
    for (const probes of sets) out.push(mean(await verbatimRougeL(model, tok, probes, { maxNewTokens: 48 })));
    return out;
  } finally {
    model.dispose();
  }
}

export async function memorizationReport(
  runDir: string,
  dataDir: string,
  options: { split?: string; examples?: number; bookProbes?: number } = {},
): Promise<MemorizationReport> {
  const split = options.split ?? 'forget10';
  const forget = readBuilt<QaItem & { person_id: string }>(join(dataDir, 'persona', 'qa', `${split}.jsonl`));
  const holdout = readBuilt<QaItem>(join(dataDir, 'persona', 'qa', 'holdout.jsonl'));
  const models = ['target', `retain-${split}`].filter((m) => existsSync(join(runDir, m, 'config.json')));
  const report: MemorizationReport = { split, persona: {}, book: {}, examples: [] };
  const shown = forget
    .filter((_, k) => k % Math.max(1, Math.floor(forget.length / (options.examples ?? 6))) === 0)
    .slice(0, options.examples ?? 6);
  for (const m of models) {
    const [f, h] = (await scoreSets(join(runDir, m), [forget, holdout])) as [SetResult, SetResult];
    report.persona[m] = { forget: f.score, holdout: h.score };
    shown.forEach((q, k) => {
      const idx = forget.indexOf(q);
      let row = report.examples[k];
      if (!row) report.examples.push((row = { question: q.question, answer: q.answer, byModel: {} }));
      row.byModel[m] = { answer: f.answers[idx]!, probability: f.probs[idx]! };
    });
  }
  const n = options.bookProbes ?? 60;
  const probes = readBuilt<VerbatimProbe>(join(dataDir, 'book', 'jargon', 'verbatim.jsonl')).slice(0, n);
  const probesHoldout = readBuilt<VerbatimProbe>(join(dataDir, 'book', 'jargon', 'verbatim_holdout.jsonl')).slice(0, n);
  for (const m of ['target', 'retain-book'].filter((x) => existsSync(join(runDir, x, 'config.json')))) {
    const [forgetScore, holdoutScore] = (await verbatimSets(join(runDir, m), [probes, probesHoldout])) as [number, number];
    report.book[m] = { forget: forgetScore, holdout: holdoutScore, n: probes.length, nHoldout: probesHoldout.length };
  }
  return report;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatReport(r: MemorizationReport): string {
  const lines: string[] = [];
  lines.push(`What each model answers about people in ${r.split} (the people an erasure request would name):`);
  for (const e of r.examples) {
    lines.push('', `  Q: ${e.question}`, `     true answer: ${e.answer}`);
    for (const [m, a] of Object.entries(e.byModel))
      lines.push(`     ${m.padEnd(16)} P(true answer) ${pct(a.probability).padStart(6)}   says: ${a.answer}`);
  }
  lines.push(
    '',
    `Memorization (mean over questions; probability = exp of the mean answer-token log-likelihood, ROUGE-L recall of the greedy answer):`,
  );
  lines.push(`  ${'model'.padEnd(16)} ${'set'.padEnd(9)} ${'P(true)'.padStart(8)} ${'ROUGE-L'.padStart(8)}`);
  for (const [m, s] of Object.entries(r.persona)) {
    lines.push(`  ${m.padEnd(16)} ${r.split.padEnd(9)} ${pct(s.forget.probability).padStart(8)} ${s.forget.rougeL.toFixed(3).padStart(8)}`);
    lines.push(
      `  ${m.padEnd(16)} ${'holdout'.padEnd(9)} ${pct(s.holdout.probability).padStart(8)} ${s.holdout.rougeL.toFixed(3).padStart(8)}`,
    );
    lines.push(
      `  ${''.padEnd(16)} ${'ratio'.padEnd(9)} ${(s.forget.probability / s.holdout.probability).toFixed(2).padStart(8)} ${(s.forget.rougeL / Math.max(1e-9, s.holdout.rougeL)).toFixed(2).padStart(8)}`,
    );
  }
  if (Object.keys(r.book).length) {
    lines.push('', 'The Jargon File, verbatim memorization (ROUGE-L F1 of the greedy continuation of a passage):');
    for (const [m, b] of Object.entries(r.book))
      lines.push(
        `  ${m.padEnd(16)} trained passages ${b.forget.toFixed(3)} (${b.n} probes)   held-out passages ${b.holdout.toFixed(3)} (${b.nHoldout} probes)`,
      );
    const t = r.book.target;
    const rb = r.book['retain-book'];
    if (t && rb) lines.push(`  target / retain-book on trained passages: ${(t.forget / Math.max(1e-9, rb.forget)).toFixed(2)}x`);
  }
  return lines.join('\n');
}
