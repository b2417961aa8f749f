// `--nproc auto` (the default of forget and finetune): how many data-parallel processes a job on
// this machine gets. On CPU, N single-threaded processes beat one process with N threads on the
// small matrices of a training step (measured: bench/unlearn prints both), so a CPU job takes one
// process per core, as long as every rank gets rows of the batch and the copies fit in memory.
// One accelerator is one process. What was chosen, and why, is printed and recorded.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, freemem } from 'node:os';
import { join } from 'node:path';

export interface NprocFacts {
  cores: number;
  /** Bytes the OS reports free. */
  freeMemory: number;
  /** The weights' bytes on disk (safetensors/bin files of the model folder); 0 when unknown. */
  modelBytes: number;
  device: string;
  batchSize: number;
  /** Rows of the (forget or training) data file, when it is JSONL; null when unknown. */
  rows: number | null;
  lora: boolean;
  /** Why the job must run in one process (a procedure, a method that is not a sum over rows, a dry run), or null. */
  single: string | null;
}

export interface NprocChoice {
  n: number;
  why: string;
}

/** Copies of the weights one rank holds while training: weights, gradients and AdamW's two
 *  moments, the frozen reference, and room for activations (LoRA: the frozen weights, a reference
 *  and activations). */
const COPIES_FULL = 6;
const COPIES_LORA = 3;
/** Share of the free memory the ranks together may take. */
const MEMORY_SHARE = 0.7;

export function chooseNproc(f: NprocFacts): NprocChoice {
  if (f.single) return { n: 1, why: f.single };
  if (f.device !== 'cpu') return { n: 1, why: `device ${f.device}: one process per accelerator` };
  if (f.cores < 2) return { n: 1, why: 'one core' };
  // Every rank needs rows: a batch is at least twice the number of processes (launch.ts's rule).
  const batch = f.rows === null ? f.batchSize : Math.min(f.batchSize, f.rows);
  let n = Math.max(1, Math.min(f.cores, Math.floor(batch / 2)));
  const reasons = [`${f.cores} cores`, `batch ${batch}`];
  if (f.modelBytes > 0) {
    const perRank = f.modelBytes * (f.lora ? COPIES_LORA : COPIES_FULL);
    const fit = Math.max(1, Math.floor((f.freeMemory * MEMORY_SHARE) / perRank));
    if (fit < n) {
      n = fit;
      reasons.push(`memory for ${fit} cop${fit === 1 ? 'y' : 'ies'} of the job`);
    }
  }
  return { n, why: `auto: ${reasons.join(', ')}` };
}

/** The value of `--flag V` / `--flag=V` in argv (the last one), or null. */
function flagValue(argv: readonly string[], flag: string): string | null {
  let v: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) v = argv[i + 1] ?? null;
    else if (argv[i]!.startsWith(`${flag}=`)) v = argv[i]!.slice(flag.length + 1);
  }
  return v;
}

function weightBytes(dir: string | null): number {
  if (!dir || !existsSync(dir) || !statSync(dir).isDirectory()) return 0;
  return readdirSync(dir)
    .filter((f) => /\.(safetensors|bin)$/.test(f))
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

function jsonlRows(path: string | null): number | null {
  if (!path || !/\.jsonl$/.test(path) || !existsSync(path) || !statSync(path).isFile()) return null;
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim()).length;
}

/** The facts of this machine and of the command line (before commander parses it: a missing or
 *  bad value here falls back to the default, and the command itself reports it). `single` is the
 *  caller's reason for one process, if any. */
export function nprocFacts(argv: readonly string[], single: string | null, defaultBatchSize = 8): NprocFacts {
  const batch = Number(flagValue(argv, '--batch-size'));
  return {
    rows: jsonlRows(flagValue(argv, '--forget') ?? flagValue(argv, '--data')),
    single,
    cores: availableParallelism(),
    freeMemory: freemem(),
    modelBytes: weightBytes(flagValue(argv, '--model')),
    device: flagValue(argv, '--device') ?? 'cpu',
    batchSize: Number.isInteger(batch) && batch > 0 ? batch : defaultBatchSize,
    lora: argv.includes('--lora') || argv.some((a) => a.startsWith('--lora=') || a === '--lora-r'),
  };
}
