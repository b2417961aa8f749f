// The job runner's flags, shared by `lethe serve` (its own workers) and `lethe worker` (a process
// that only runs jobs: any number of them, on any host that reaches the database and the shared
// folders, claim jobs from the store's queue with leases).
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LetheError } from '../util/errors.js';
import type { JobRunnerOptions, LeaseTiming, Workflow } from '../workflow/index.js';
import { int, number } from './options.js';
import { open, storeOptions, withDataRoots, type StoreFlags } from './store-flags.js';

export interface RunnerFlags {
  dataRoot: string[];
  policies?: string;
  concurrency: number;
  lease: number;
  heartbeat: number;
  poll: number;
}

export function runnerFlags(cmd: Command, where: string): Command {
  return cmd
    .option('--policies <dir>', 'where named release policies lie (default DATA/policies)')
    .option('--concurrency <n>', 'jobs this process runs at once across models (one at a time per model)', int(where, '--concurrency'), 1)
    .option('--lease <seconds>', "how long a claimed job stays this process's without a heartbeat", number(where, '--lease'), 30)
    .option(
      '--heartbeat <seconds>',
      'how often the leases of running jobs are renewed (at most a quarter of --lease)',
      number(where, '--heartbeat'),
      5,
    )
    .option('--poll <seconds>', 'how often to look for jobs submitted elsewhere', number(where, '--poll'), 2);
}

/** The lease and heartbeat, checked before anything is opened (a lease of fewer than four heartbeats is refused). */
export async function leaseTiming(o: RunnerFlags): Promise<LeaseTiming> {
  const { checkLeaseTiming } = await import('../workflow/index.js');
  return checkLeaseTiming({ leaseMs: o.lease * 1000, heartbeatMs: o.heartbeat * 1000 });
}

export function runnerOptions(w: Workflow, o: RunnerFlags, lease: LeaseTiming, log: (line: string) => void): JobRunnerOptions {
  return {
    dataDir: resolve(w.dataDir),
    roots: o.dataRoot,
    policiesDir: o.policies ? resolve(o.policies) : undefined,
    concurrency: o.concurrency,
    lease,
    pollMs: o.poll * 1000,
    log,
  };
}

export function registerWorkerCommand(program: Command): void {
  withDataRoots(
    runnerFlags(
      storeOptions(
        program
          .command('worker')
          .description(
            "runs jobs from the store's queue until stopped (SIGTERM hands its running jobs back): start any number, on any host that reaches the database and the shared folders (README: 'Workers on many hosts')",
          ),
      ),
      'worker',
    ),
  ).action(async (o: StoreFlags & RunnerFlags) => {
    const lease = await leaseTiming(o);
    const w = await open(o);
    if (w.inProcessOnly) {
      await w.close();
      throw new LetheError(
        'BAD_INPUT',
        "worker: '--db' must be a database other processes can open (postgres://…, or SQLite in the data folder)",
      );
    }
    const { JobRunner } = await import('../workflow/index.js');
    const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
    const runner = new JobRunner(w, runnerOptions(w, o, lease, log));
    log(`worker ${runner.holder}: claiming jobs from ${w.store.location}`);
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await runner.stop();
      await w.close();
      log(`worker ${runner.holder}: stopped`);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
    await runner.start();
  });
}
