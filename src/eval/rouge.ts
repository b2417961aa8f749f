// ROUGE-L from the longest common subsequence of word tokens, as rouge_score computes it with
// its default tokenizer (lower-case, runs of [a-z0-9]) and no stemming. TOFU reports the recall.
export function rougeTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (!a.length || !b.length) return 0;
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

export interface RougeL {
  precision: number;
  recall: number;
  f1: number;
}

/** ROUGE-L of a prediction against a reference. */
export function rougeL(prediction: string, reference: string): RougeL {
  const p = rougeTokens(prediction);
  const r = rougeTokens(reference);
  const lcs = lcsLength(p, r);
  const precision = p.length ? lcs / p.length : 0;
  const recall = r.length ? lcs / r.length : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}
