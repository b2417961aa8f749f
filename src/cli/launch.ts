// `--nproc N`: runs the same command as N local data-parallel processes (torchrun's job): each
// child gets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT, and
// cores/N threads. The parent waits; when a rank fails, the others get a moment to report their
// own error, then are stopped, and the first failure's exit code is the parent's. A process
// started with WORLD_SIZE (by this launcher, torchrun or by hand on several hosts) joins the group.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { LetheError } from '../util/errors.js';
import { freePort } from '../util/net.js';
import { int } from './options.js';
import { chooseNproc, nprocFacts } from './auto-nproc.js';
import { INTERRUPTED_EXIT } from '../train/interrupt.js';

const PARALLEL_COMMANDS = new Set(['train', 'finetune', 'forget', 'sisa']);
/** Commands whose default is `--nproc auto` (LETHE_NPROC sets another default, e.g. 1). */
const AUTO_COMMANDS = new Set(['finetune', 'forget']);
/** How long the other ranks may take to fail by themselves after one died. */
const GRACE_MS = 5000;

/** argv without `--nproc N|auto` / `--nproc=N|auto`, and N or 'auto' (null when absent). */
export function takeNproc(argv: string[]): { argv: string[]; nproc: number | 'auto' | null } {
  const out: string[] = [];
  const given: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--nproc') given.push(argv[++i] ?? '');
    else if (a.startsWith('--nproc=')) given.push(a.slice('--nproc='.length));
    else out.push(a);
  }
  // Checked once the command is known, to name it (argv[2] of `node lethe COMMAND …`).
  const parse = int(out[2] ?? 'lethe', '--nproc');
  const values = given.map((v) => (v === 'auto' ? ('auto' as const) : parse(v, 0)));
  return { argv: out, nproc: values.at(-1) ?? null };
}

/** Why a command line runs in one process whatever the machine (null when it may run data-parallel). */
async function singleProcessReason(command: string, argv: string[]): Promise<string | null> {
  if (argv.some((a) => a === '--dry-run' || a === '--help' || a === '-h')) return 'a dry run or help';
  if (command !== 'forget') return null;
  // A recipe search trains its candidates one after another in this process.
  if (argv.some((a) => a === '--search' || a.startsWith('--search='))) return 'a recipe search (--search)';
  const i = argv.lastIndexOf('--method');
  const name = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--method='))?.slice('--method='.length);
  if (!name) return null;
  await import('../unlearn/methods/index.js');
  const { getMethod } = await import('../unlearn/registry.js');
  let m: Awaited<ReturnType<typeof getMethod>>;
  try {
    m = getMethod(name);
  } catch {
    return 'an unknown method (the command names it)';
  }
  if (m.procedure) return `${m.name} is a procedure of several trainings`;
  if (m.dataParallel === false) return `${m.name}'s loss is not a sum over rows`;
  return null;
}

/** The process count of a command line: the given N, or auto's choice (printed on stderr). */
async function resolveNproc(command: string, argv: string[], given: number | 'auto' | null): Promise<number | null> {
  const wanted = given ?? (AUTO_COMMANDS.has(command) ? (process.env.LETHE_NPROC ?? 'auto') : null);
  if (wanted === null || typeof wanted === 'number') return wanted;
  if (wanted !== 'auto') return int(command, 'LETHE_NPROC')(wanted, 0);
  const choice = chooseNproc(nprocFacts(argv, await singleProcessReason(command, argv)));
  if (choice.n > 1 || given === 'auto')
    process.stderr.write(`lethe: ${choice.n} process${choice.n > 1 ? 'es' : ''} (${choice.why}; --nproc N to choose)\n`);
  return choice.n;
}

/** Starts N ranks of `node script args` and resolves with the exit code the parent should have. */
export async function launch(script: string, args: string[], nproc: number, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const port = env.MASTER_PORT ? Number(env.MASTER_PORT) : await freePort();
  const threads = env.LETHE_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / nproc)));
  const children: ChildProcess[] = [];
  let firstFailure: { rank: number; code: number } | null = null;
  let interrupted = false;
  let stopTimer: NodeJS.Timeout | null = null;
  const stopAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const forward = (sig: NodeJS.Signals) => () => {
    for (const c of children) c.kill(sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const exits = Array.from(
      { length: nproc },
      (_, rank) =>
        new Promise<void>((resolve) => {
          const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
            stdio: 'inherit',
            env: {
              ...env,
              RANK: String(rank),
              LOCAL_RANK: String(rank),
              WORLD_SIZE: String(nproc),
              LOCAL_WORLD_SIZE: String(nproc),
              MASTER_ADDR: '127.0.0.1',
              MASTER_PORT: String(port),
              LETHE_THREADS: threads,
              OMP_NUM_THREADS: threads,
              OPENBLAS_NUM_THREADS: threads,
            },
          });
          children.push(child);
          child.on('exit', (code, signal) => {
            // Ctrl-C: every rank stops after the same step with a checkpoint and exits INTERRUPTED_EXIT by itself.
            if (code === INTERRUPTED_EXIT) {
              interrupted = true;
              return resolve();
            }
            const failed = code !== 0;
            if (failed && !firstFailure) {
              firstFailure = { rank, code: code ?? 1 };
              process.stderr.write(
                `lethe: rank ${rank} of ${nproc} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; stopping the others\n`,
              );
              stopTimer = setTimeout(stopAll, GRACE_MS);
            }
            resolve();
          });
        }),
    );
    await Promise.all(exits);
  } finally {
    if (stopTimer) clearTimeout(stopTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  return firstFailure ? (firstFailure as { code: number }).code || 1 : interrupted ? INTERRUPTED_EXIT : 0;
}

/**
 * Called first by the CLI. With `--nproc N` (N > 1) it launches the ranks and returns their exit
 * code; in a rank (WORLD_SIZE set) it joins the process group and returns null, as without either.
 */
export async function launchOrJoin(argv: string[]): Promise<{ exitCode: number } | { argv: string[] }> {
  const { argv: rest, nproc } = takeNproc(argv);
  const command = rest[2];
  if (nproc !== null && !PARALLEL_COMMANDS.has(command ?? '')) {
    throw new LetheError(
      'BAD_INPUT',
      `'--nproc' runs ${[...PARALLEL_COMMANDS].join(', ')} data-parallel; '${command ?? ''}' does not take it`,
    );
  }
  if (!process.env.WORLD_SIZE && command) {
    const n = await resolveNproc(command, rest, nproc);
    if (n !== null && n > 1) return { exitCode: await launch(rest[1]!, rest.slice(2), n) };
  }
  if (process.env.WORLD_SIZE && Number(process.env.WORLD_SIZE) > 1) {
    const torch = await import('../torch/index.js');
    const o = torch.distributed.optionsFromEnv()!;
    if (process.env.LETHE_THREADS) torch.setNumThreads(Number(process.env.LETHE_THREADS));
    torch.distributed.init(o);
    // NCCL: one GPU per rank, so a plain `--device cuda` means this rank's own.
    if (o.backend === 'nccl')
      for (let i = 0; i < rest.length; i++)
        if (rest[i] === 'cuda' && rest[i - 1] === '--device') rest[i] = `cuda:${process.env.LOCAL_RANK ?? '0'}`;
    // Only rank 0 prints results (progress lines are the loop's, also rank 0 only); errors stay.
    if (o.rank !== 0) console.log = () => {};
  }
  return { argv: rest };
}
