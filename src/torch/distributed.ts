// torch.distributed over libtorch's c10d (native/src/distributed.cc): a TCPStore rendezvous and
// ProcessGroupGloo on CPU (NCCL when the addon was built against a CUDA libtorch). Initialised
// from torchrun's variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK). Every
// collective is bounded by the group's timeout: a dead peer is a JS Error, never a hang.
import { native } from './native.js';
import { Tensor } from './tensor.js';
import { scalarTensor } from './creation.js';
import type { Device } from './types.js';
import { LetheError } from '../util/errors.js';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'max' | 'min' | 'product';

export interface InitOptions {
  backend?: Backend;
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  /** Rendezvous and per-collective limit (default 30 s, or LETHE_DIST_TIMEOUT seconds). */
  timeoutMs?: number;
}

export interface GroupInfo {
  rank: number;
  worldSize: number;
  backend: Backend;
  timeoutMs: number;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new LetheError('BAD_INPUT', `distributed: ${name} must be a non-negative integer, got '${v}'`);
  return n;
}

/** torchrun's variables as InitOptions; null when WORLD_SIZE is unset (a single process). */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): InitOptions | null {
  const worldSize = envInt(env, 'WORLD_SIZE');
  if (worldSize === undefined) return null;
  const rank = envInt(env, 'RANK');
  if (rank === undefined) throw new LetheError('BAD_INPUT', 'distributed: WORLD_SIZE is set but RANK is not (set both, as torchrun does)');
  const masterPort = envInt(env, 'MASTER_PORT') ?? 29500;
  const timeout = env.LETHE_DIST_TIMEOUT ? Number(env.LETHE_DIST_TIMEOUT) : 30;
  if (!(timeout > 0))
    throw new LetheError(
      'BAD_INPUT',
      `distributed: LETHE_DIST_TIMEOUT must be a positive number of seconds, got '${env.LETHE_DIST_TIMEOUT}'`,
    );
  const backend = (env.LETHE_DIST_BACKEND ?? 'gloo') as Backend;
  return { backend, masterAddr: env.MASTER_ADDR ?? '127.0.0.1', masterPort, rank, worldSize, timeoutMs: Math.round(timeout * 1000) };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Joins the process group (blocks until every rank has arrived, or the timeout). */
export function init(o: InitOptions): GroupInfo {
  const backend = o.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl')
    throw new LetheError('BAD_INPUT', `distributed: backend must be 'gloo' or 'nccl', got '${String(backend)}'`);
  for (const [k, v] of [
    ['rank', o.rank],
    ['worldSize', o.worldSize],
    ['masterPort', o.masterPort],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new LetheError('BAD_INPUT', `distributed: ${k} must be a non-negative integer, got ${v}`);
  }
  if (o.rank >= o.worldSize) throw new LetheError('BAD_INPUT', `distributed: rank ${o.rank} is outside a world of size ${o.worldSize}`);
  // Gloo binds to GLOO_SOCKET_IFNAME when set; with a loopback master every rank is local.
  const iface = process.env.GLOO_SOCKET_IFNAME ?? '';
  const host = iface ? '' : LOOPBACK.has(o.masterAddr) ? '127.0.0.1' : '';
  native.distInit(backend, o.masterAddr, o.masterPort, o.rank, o.worldSize, o.timeoutMs ?? 30000, iface, host);
  return info()!;
}

/** The backends this addon was built with ('gloo' needs Gloo's headers at build time, 'nccl' a CUDA libtorch). */
export function availableBackends(): Backend[] {
  return native.distBackends();
}

/** The group this process joined, or null. */
export function info(): GroupInfo | null {
  return native.distInfo();
}

export function isInitialized(): boolean {
  return info() !== null;
}

/** Where tensors for collectives must live: this rank's GPU under NCCL, else the CPU. */
export function commDevice(): Device {
  const g = info();
  return g?.backend === 'nccl' ? (`cuda:${process.env.LOCAL_RANK ?? '0'}` as Device) : 'cpu';
}

export function rank(): number {
  return info()?.rank ?? 0;
}

export function worldSize(): number {
  return info()?.worldSize ?? 1;
}

/** Reduces `t` across ranks, in place (every rank ends with the result). */
export function allReduce(t: Tensor, op: ReduceOp = 'sum'): Tensor {
  native.distAllReduce(t.handle, op);
  return t;
}

/** Reduces every tensor in place, flattened into buckets of about bucketBytes (one collective each). */
export function allReduceBuckets(ts: Tensor[], op: ReduceOp = 'sum', bucketBytes = 25 * 1024 * 1024): void {
  if (ts.length)
    native.distAllReduceBuckets(
      ts.map((t) => t.handle),
      bucketBytes,
      op,
    );
}

/** Copies root's `t` into every rank's `t`, in place. */
export function broadcast(t: Tensor, root = 0): Tensor {
  native.distBroadcast(t.handle, root);
  return t;
}

/** Every rank's `t` (same shape everywhere), in rank order. */
export function allGather(t: Tensor): Tensor[] {
  return (native.distAllGather(t.handle) as number[]).map((h) => new Tensor(h));
}

export function barrier(): void {
  native.distBarrier();
}

// The sharded-loss scope: while the training loop computes one rank's loss on its share of the
// global batch, means over rows or tokens divide by the GLOBAL count, so that the sum of the
// ranks' gradients equals the one-process gradient of the whole batch. Outside it (evaluation,
// reference passes, one process) counts are local and nothing communicates.
let sharded = 0;

export function shardedLoss<T>(fn: () => T): T {
  sharded++;
  try {
    return fn();
  } finally {
    sharded--;
  }
}

/** Whether a loss is being computed on this rank's share of a batch split across ranks. */
export function isSharded(): boolean {
  return sharded > 0 && worldSize() > 1;
}

/** The denominator of a batch mean: `count` summed over ranks inside shardedLoss (a detached
 *  copy, all-reduced), else `count` itself. */
export function globalCount(count: Tensor): Tensor {
  if (!isSharded()) return count;
  return allReduce(count.detach().contiguous().clone(), 'sum');
}

/** sum / globalCount(count): the batch mean even when the batch is split across ranks. */
export function shardMean(sum: Tensor, count: Tensor | number): Tensor {
  const c = typeof count === 'number' ? scalarTensor(count, { dtype: 'float32', device: sum.device as Device }) : count;
  return sum.div(globalCount(c));
}

/** x.mean() of a per-row vector [B], over every rank's rows inside shardedLoss. */
export function rowMean(x: Tensor): Tensor {
  return isSharded() ? shardMean(x.sum(), x.size(0)) : x.mean();
}
