// Where a command writes: one check shared by every command and library function that writes an
// output folder or file. A user's model, data and output folders are never overwritten without
// being told: a non-empty output is refused unless the caller says --overwrite (its contents are
// then deleted first) or --resume (when it holds a run to continue), and an output that overlaps an
// input is always refused, comparing real paths so a symlink cannot alias one to the other.
import { existsSync, lstatSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LetheError } from './errors.js';

/** The real path of `p`: symlinks resolved; for a path not yet created, its nearest existing ancestor's real path plus the rest. */
export function realPath(p: string): string {
  const abs = resolve(p);
  const rest: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return join(realpathSync(at), ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const up = dirname(at);
      if (up === at) return abs;
      rest.push(basename(at));
      at = up;
    }
  }
}

/** Whether `child` is `parent` or inside it (paths already real). */
function within(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/** Whether two paths are the same or one holds the other, by real paths. */
export function pathsOverlap(a: string, b: string): boolean {
  const ra = realPath(a);
  const rb = realPath(b);
  return within(ra, rb) || within(rb, ra);
}

export interface OutputInput {
  /** How the user named it, e.g. '--model' or 'the SISA folder'. */
  name: string;
  path: string;
}

export interface ClaimOutput {
  /** The command or function, first word of every message ('forget', 'sisa train'). */
  what: string;
  /** The flag that named the output (default '--out'). */
  flag?: string;
  /** What the command reads: the output may not be, hold or sit inside any of them. */
  inputs?: OutputInput[];
  /** Replace a non-empty output: its contents are deleted first. */
  overwrite?: boolean;
  /** Continue the run a non-empty output holds (when `resumable` says it holds one). */
  resume?: boolean;
  /** Whether a folder holds a run that --resume continues; a command without it has no --resume. */
  resumable?: (dir: string) => boolean;
  /** What finished run a folder holds ("a finished run of 400 steps"), or null: --resume on it says so. */
  finished?: (dir: string) => string | null;
  /** The other ranks of a data-parallel run: only the overlap is checked (rank 0 checks and empties the folder). */
  checkOnly?: boolean;
}

/** How the claimed output will be used. */
export type OutputUse = 'new' | 'resume' | 'overwrite';

function refuseOverlap(out: string, o: ClaimOutput): void {
  const flag = o.flag ?? '--out';
  for (const input of o.inputs ?? []) {
    if (!input.path || !pathsOverlap(out, input.path)) continue;
    const real =
      realPath(out) === resolve(out) && realPath(input.path) === resolve(input.path)
        ? ''
        : ` (real paths ${realPath(out)} and ${realPath(input.path)})`;
    throw new LetheError(
      'BAD_INPUT',
      `${o.what}: ${flag} ${out} overlaps ${input.name} ${input.path}${real}; Lethe never writes into what it reads: choose a folder outside it`,
    );
  }
}

/** Folders whose emptying would take more than the output with it. */
function refuseToEmpty(real: string, o: ClaimOutput, out: string): void {
  const cwd = realPath(process.cwd());
  const why =
    real === realPath('/')
      ? 'the filesystem root'
      : real === realPath(homedir())
        ? 'your home folder'
        : within(cwd, real)
          ? 'the current folder or one that holds it'
          : null;
  if (why)
    throw new LetheError(
      'BAD_INPUT',
      `${o.what}: ${o.flag ?? '--out'} ${out} is ${why}; --overwrite would delete everything in it: choose a folder of its own`,
    );
}

/**
 * Checks an output folder before anything is written, and empties it when --overwrite replaces it.
 * Missing or empty: 'new'. Non-empty: 'resume' with `resume` when `resumable` finds a run in it,
 * 'overwrite' with `overwrite`, else a CONFLICT error saying what to do.
 */
export function claimOutputDir(out: string, o: ClaimOutput): OutputUse {
  const flag = o.flag ?? '--out';
  if (!out) throw new LetheError('BAD_INPUT', `${o.what}: ${flag} must name a folder`);
  refuseOverlap(out, o);
  // The other ranks stop here: rank 0 may already be writing into the folder it checked, and when it
  // refuses, its exit fails every rank of the process group.
  if (o.checkOnly) return 'new';
  if (!existsSync(out)) {
    if (lstatExists(out))
      throw new LetheError('BAD_INPUT', `${o.what}: ${flag} ${out} is a symbolic link to nothing; remove it or choose another folder`);
    return 'new';
  }
  if (!statSync(out).isDirectory())
    throw new LetheError('BAD_INPUT', `${o.what}: ${flag} ${out} is a file, not a folder; give a folder path (a new or an empty folder)`);
  const entries = readdirSync(out);
  if (!entries.length) return 'new';
  if (o.resume && o.resumable?.(out)) return 'resume';
  if (o.overwrite) {
    const real = realPath(out);
    refuseToEmpty(real, o, out);
    for (const e of entries) rmSync(join(real, e), { recursive: true, force: true });
    return 'overwrite';
  }
  const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '');
  const done = o.resume ? (o.finished?.(out) ?? null) : null;
  if (done)
    throw new LetheError(
      'CONFLICT',
      `${o.what}: ${flag} ${out} holds ${done}: there is nothing to resume, its output is complete. To run it again, choose another folder or pass --overwrite`,
    );
  if (!o.resume && o.resumable?.(out))
    throw new LetheError(
      'CONFLICT',
      `${o.what}: ${flag} ${out} holds an interrupted run (a checkpoint): add --resume to continue it, or --overwrite to start over (its checkpoint is deleted)`,
    );
  if (o.resume)
    throw new LetheError(
      'CONFLICT',
      `${o.what}: ${flag} ${out} is not empty (${shown}) and holds no run that --resume can continue; choose another folder, or pass --overwrite to replace its contents`,
    );
  const orResume = o.resumable ? ', or --resume to continue the interrupted run it holds' : '';
  throw new LetheError(
    'CONFLICT',
    `${o.what}: ${flag} ${out} is not empty (${shown}); nothing is overwritten without being asked: choose another folder, pass --overwrite to replace its contents${orResume}`,
  );
}

/** What claimOutputDir would do with `out`, without touching it (a dry run): "a new folder", "resumed
 *  from its checkpoint", or with `overwrite` "replaced (N entries deleted first)"; its errors otherwise. */
export function checkOutputDir(out: string, o: ClaimOutput): string {
  try {
    return claimOutputDir(out, { ...o, overwrite: false }) === 'resume' ? 'resumed from its checkpoint' : 'a new folder';
  } catch (err) {
    if (!(o.overwrite && err instanceof LetheError && err.code === 'CONFLICT')) throw err;
    refuseToEmpty(realPath(out), o, out);
    return `replaced (its ${readdirSync(out).length} entries deleted first)`;
  }
}

/** Checks an output file: never a folder, never one of the inputs; an existing file only with `overwrite`. */
export function claimOutputFile(out: string, o: Omit<ClaimOutput, 'resume' | 'resumable'>): void {
  const flag = o.flag ?? '--out';
  if (!out) throw new LetheError('BAD_INPUT', `${o.what}: ${flag} must name a file`);
  refuseOverlap(out, o);
  if (!existsSync(out)) return;
  if (statSync(out).isDirectory()) throw new LetheError('BAD_INPUT', `${o.what}: ${flag} ${out} is a folder; give a file path`);
  if (!o.overwrite)
    throw new LetheError(
      'CONFLICT',
      `${o.what}: ${flag} ${out} already exists; nothing is overwritten without being asked: choose another file, or pass --overwrite to replace it`,
    );
}

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
