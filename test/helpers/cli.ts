// The `lethe` command line as the tests run it: the compiled dist/src/cli/main.js in a child Node.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fixtures.js';

export const CLI = join(repoRoot, 'dist/src/cli/main.js');

/** Runs `lethe ...args` to completion; `env` is added to this process's environment. */
export function runCli(args: string[], { env = {}, input }: { env?: NodeJS.ProcessEnv; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, input });
}

/** `forget --model MODEL --forget FILE --method NPO ...extra`: the run the CLI tests vary. */
export function npoArgs(model: string, forgetFile: string, ...extra: string[]): string[] {
  return ['forget', '--model', model, '--forget', forgetFile, '--method', 'NPO', ...extra];
}

/** Runs the CLI and sends `signal` once stderr shows `when`; resolves with the exit code and stderr. */
export function interruptAt(
  argv: string[],
  when: RegExp,
  signal: NodeJS.Signals = 'SIGINT',
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && when.test(stderr)) {
        sent = true;
        p.kill(signal);
      }
    });
    p.stdout.resume();
    p.on('exit', (code) => resolve({ code, stderr }));
  });
}
