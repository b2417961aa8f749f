// A stand-in server for the worker watchdog test: forks the real job worker (with a job id and a data
// folder it will never get to use), prints the worker's pid and then waits to be killed.
import { fork } from 'node:child_process';

const [workerPath, dataDir] = process.argv.slice(2) as [string, string];
const child = fork(workerPath, ['job_000000000000', '--data', dataDir], {
  env: { ...process.env, LETHE_JOB_DB: '', LETHE_JOB_PARENT: String(process.pid) },
  stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
});
console.log(child.pid);
setInterval(() => {}, 60_000);
