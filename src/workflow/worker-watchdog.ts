// A job worker's watchdog: the worker must stop the moment its server dies (even by kill -9), so no
// orphan keeps writing to the store or the job folder. The main thread cannot be trusted to notice:
// it is blocked for seconds at a time loading libtorch or in a native training step. So a small
// thread polls the parent pid and kills the whole process when it changes; the IPC 'disconnect'
// event covers the common case on the main thread at once.
import { Worker } from 'node:worker_threads';

/** The server's pid, set by the job runner (a worker started after its server died sees init). */
export const PARENT_PID_ENV = 'LETHE_JOB_PARENT';
/** The runner's lease on the job (holder id and timing, JSON), for the worker's own check between steps. */
export const LEASE_ENV = 'LETHE_JOB_LEASE';

const POLL_MS = 50;

const THREAD = `
const { workerData } = require('node:worker_threads');
setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, ${POLL_MS});
`;

/** Starts watching; returns whether the process is orphaned now (for checks between steps). */
export function watchParent(exitCode: number): () => boolean {
  const expected = Number(process.env[PARENT_PID_ENV]) || process.ppid;
  const orphaned = () => !process.connected || process.ppid !== expected;
  if (orphaned()) process.exit(exitCode);
  process.on('disconnect', () => process.exit(exitCode));
  new Worker(THREAD, { eval: true, workerData: expected }).unref();
  return orphaned;
}
