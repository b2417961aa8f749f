// A job's worker trains in the background, below the server: on a machine with few cores the API
// must answer at once while a job trains, and the training takes whatever the server leaves. Linux
// keeps a nice value per thread: every thread the process has now is lowered, and threads started
// later (libtorch's) inherit the main thread's. LETHE_WORKER_NICE sets the value (0 keeps the
// server's priority).
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { invalidArgument } from '../util/errors.js';

export const WORKER_NICE = 10;

/** The nice value for job workers: $LETHE_WORKER_NICE (0-19) or WORKER_NICE. */
export function workerNice(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.LETHE_WORKER_NICE;
  if (v === undefined || v === '') return WORKER_NICE;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 19) throw invalidArgument('job worker', 'LETHE_WORKER_NICE', 'an integer from 0 to 19', v);
  return n;
}

/** Lowers every thread of this process to `nice` (never raises one: that needs privileges). */
export function lowerPriority(nice: number): void {
  let threads: number[];
  try {
    threads = readdirSync('/proc/self/task').map(Number);
  } catch {
    threads = [0]; // not Linux: the process as a whole
  }
  for (const tid of threads) {
    try {
      if (getPriority(tid) < nice) setPriority(tid, nice);
    } catch {
      /* the thread ended meanwhile */
    }
  }
}
