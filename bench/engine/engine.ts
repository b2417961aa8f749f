// Engine benchmark, our side: fp32 matmul throughput, the per-call cost of a tiny op, and one
// AdamW training step of a small MLP. Library defaults throughout (no setNumThreads, no allocator
// or GC flags).
//
//   node dist/bench/engine/engine.js            our side alone; prints one JSON object
//   node dist/bench/engine/engine.js --paired   also starts the peer (bench/engine/peer.py --serve
//                                               under /usr/bin/python3) and alternates blocks with
//                                               it, so that load from other processes falls on
//                                               both sides alike; prints {paired, ours, peer}
// Env: BENCH_QUICK=1 (fewer repetitions), BENCH_PEER_PYTHON (default /usr/bin/python3),
// BENCH_PEER (default bench/engine/peer.py, relative to the working directory).
// Progress goes to stderr. bench/engine/run.sh runs this and prints the table (report.mjs).
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { torch } from '../../src/index.js';
import { native } from '../../src/torch/native.js';

type Tensor = torch.Tensor;

const QUICK = process.env.BENCH_QUICK === '1';
// The schedule; peer.py's standalone run uses the same numbers.
const N = 2048;
const MATMUL_RUNS = QUICK ? 3 : 9;
const TINY_CALLS = 100_000;
const TINY_REPS = QUICK ? 2 : 5;
const ADAMW_BLOCKS = QUICK ? 2 : 8;
const ADAMW_BLOCK_STEPS = 5;
const ADAMW_WARMUP = 5;
const DIMS = [512, 1024, 1024, 10];
const BATCH = 64;

type OurTiny = 'addDispose' | 'addTidy1000' | 'nativeAddDispose' | 'nativeDetachDispose' | 'nativeNoop';
type PeerTiny = 'torchAdd' | 'operatorAdd' | 'detach' | 'emptyLoop';
type Variant = 'setToNone' | 'zeroFill';
const _OUR_TINY: OurTiny[] = ['addDispose', 'addTidy1000', 'nativeAddDispose', 'nativeDetachDispose', 'nativeNoop'];
const _PEER_TINY: PeerTiny[] = ['torchAdd', 'operatorAdd', 'detach', 'emptyLoop'];
const VARIANTS: Variant[] = ['setToNone', 'zeroFill'];

function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** CPU seconds of this process (all threads: user + system). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

function summary(xs: number[]): Summary {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs };
}

/** Resident set size in MB, from /proc (the same source peer.py reads). */
function rssMB(): number {
  const pages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
  return (pages * 4096) / 1e6;
}

function log(msg: string): void {
  process.stderr.write(`engine(ours): ${msg}\n`);
}

/** A leaf initialised like nn.Linear: uniform in ±1/sqrt(fanIn). */
function uniformLeaf(shape: number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  // tidy frees the temporaries of rand(shape)·2 − 1; the returned leaf survives.
  return torch.tidy(() => torch.noGrad(() => torch.rand(shape).mul(2).sub(1).mul(bound)).requiresGrad_());
}

interface AdamWRun {
  step: () => Tensor;
  ms: number[];
  info: Record<string, unknown>;
}

/** Our side: each method runs one timed block and records its sample(s), in order. */
class Ours {
  private mm: [Tensor, Tensor] | null = null;
  private ab: [Tensor, Tensor] | null = null;
  private readonly tinyWarm = new Set<OurTiny>();
  private readonly adamwRuns = new Map<Variant, AdamWRun>();
  readonly mmSamples: { gflops: number; seconds: number }[] = [];
  readonly tinySamples = new Map<OurTiny, { wall: number; cpu: number }[]>();

  info() {
    const info = torch.buildInfo();
    return {
      side: 'ours',
      engine: `Lethe (Node ${process.version}, N-API addon on libtorch ${info.torchVersion})`,
      torchVersion: info.torchVersion,
      numThreads: torch.getNumThreads(),
      numThreadsSource: 'torch.getNumThreads() (at::get_num_threads), library default',
      parallelInfo: info.parallelInfo,
      env: Object.fromEntries(['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'].map((k) => [k, process.env[k] ?? null])),
      quick: QUICK,
    };
  }

  // ---- 1. fp32 matmul N×N @ N×N: one timed run (the first call makes the inputs and warms up)

  matmul(): void {
    if (!this.mm) {
      torch.manualSeed(0);
      this.mm = [torch.randn([N, N]), torch.randn([N, N])];
      for (let k = 0; k < 2; k++) torch.matmul(...this.mm).dispose();
    }
    const t0 = now();
    const c = torch.matmul(...this.mm);
    const dt = now() - t0;
    c.dispose();
    this.mmSamples.push({ gflops: (2 * N ** 3) / dt / 1e9, seconds: dt });
  }

  // ---- 2. tiny op: add of two 16-element float32 tensors; µs per call, wall and CPU time

  tiny(kind: OurTiny, calls: number): void {
    if (!this.ab) {
      torch.manualSeed(0);
      this.ab = [torch.randn([16]), torch.randn([16])];
    }
    const [a, b] = this.ab;
    const ah = a.handle;
    const bh = b.handle;
    const bodies: Record<OurTiny, (n: number) => void> = {
      // What a user writes: make the result, free it.
      addDispose: (n) => {
        for (let k = 0; k < n; k++) {
          const c = torch.add(a, b);
          c.dispose();
        }
      },
      // Results freed by tidy, 1000 calls per tidy.
      addTidy1000: (n) => {
        for (let k = 0; k < n; k += 1000) {
          torch.tidy(() => {
            for (let j = 0; j < 1000; j++) torch.add(a, b);
          });
        }
      },
      // Diagnostics. The same two native calls without the Tensor wrapper (no JS object, no scope).
      nativeAddDispose: (n) => {
        for (let k = 0; k < n; k++) native.dispose(native.add(ah, bh, 1, 1)); // last argument: `other` is a tensor handle
      },
      // A near-free op that still makes a new tensor handle: the cost of a handle's life
      // (a slot of the native table) and the dispatcher; the peer times a.detach().
      nativeDetachDispose: (n) => {
        for (let k = 0; k < n; k++) native.dispose(native.detach(ah));
      },
      // One N-API round trip that does no tensor work: the floor of any native call.
      nativeNoop: (n) => {
        for (let k = 0; k < n; k++) native.isGradEnabled();
      },
    };
    const body = bodies[kind];
    if (!this.tinyWarm.has(kind)) {
      body(Math.min(calls, 10_000));
      this.tinyWarm.add(kind);
    }
    const c0 = cpuNow();
    const t0 = now();
    body(calls);
    const t1 = now();
    const c1 = cpuNow();
    const list = this.tinySamples.get(kind) ?? [];
    list.push({ wall: ((t1 - t0) / calls) * 1e6, cpu: ((c1 - c0) / calls) * 1e6 });
    this.tinySamples.set(kind, list);
  }

  // ---- 3. AdamW step of an MLP: 512 → 1024 → 1024 → 10, GELU, cross-entropy, batch 64

  private adamwSetup(variant: Variant): AdamWRun {
    const rss0 = rssMB();
    torch.manualSeed(0);
    const layers: { w: Tensor; b: Tensor }[] = [];
    for (let k = 0; k + 1 < DIMS.length; k++) {
      layers.push({ w: uniformLeaf([DIMS[k + 1]!, DIMS[k]!], DIMS[k]!), b: uniformLeaf([DIMS[k + 1]!], DIMS[k]!) });
    }
    const params = layers.flatMap((l) => [l.w, l.b]);
    const x = torch.randn([BATCH, DIMS[0]!]);
    const y = torch.randint(0, DIMS[DIMS.length - 1]!, [BATCH]);
    const opt = new torch.optim.AdamW(params, { lr: 1e-3 });
    const step = (): Tensor =>
      torch.tidy(() => {
        let h = x;
        layers.forEach((l, k) => {
          h = torch.linear(h, l.w, l.b);
          if (k + 1 < layers.length) h = torch.gelu(h);
        });
        const loss = torch.crossEntropy(h, y);
        loss.backward();
        opt.step();
        if (variant === 'setToNone')
          opt.zeroGrad(); // Lethe's default: set to none
        else opt.zeroGrad(false);
        return loss; // survives tidy; freed by the caller, as Python keeps `loss` until the next step
      });
    const lossesWarmup: number[] = [];
    for (let k = 0; k < ADAMW_WARMUP; k++) {
      const l = step();
      lossesWarmup.push(l.item());
      l.dispose();
    }
    const run: AdamWRun = {
      step,
      ms: [],
      info: {
        batch: BATCH,
        dims: DIMS,
        warmup: ADAMW_WARMUP,
        params: params.length,
        paramElements: params.reduce((s, p) => s + p.numel(), 0),
        lr: 1e-3,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: 1e-2,
        zeroGrad: variant === 'setToNone' ? 'zeroGrad() (default: set to none)' : 'zeroGrad(false)',
        lossesWarmup,
        rssBeforeMB: rss0,
      },
    };
    this.adamwRuns.set(variant, run);
    return run;
  }

  adamw(variant: Variant, steps: number): void {
    const run = this.adamwRuns.get(variant) ?? this.adamwSetup(variant);
    for (let k = 0; k < steps; k++) {
      const t0 = now();
      const l = run.step();
      run.ms.push((now() - t0) * 1e3);
      l.dispose();
    }
  }

  /** Everything measured so far, with the samples in the order taken in `runs`. */
  result() {
    const per = <T>(xs: T[], f: (x: T) => number) => summary(xs.map(f));
    const both = (k: OurTiny) => ({ wall: per(this.tinySamples.get(k)!, (s) => s.wall), cpu: per(this.tinySamples.get(k)!, (s) => s.cpu) });
    const has = (k: OurTiny) => this.tinySamples.has(k);
    const adamw: Record<string, unknown> = { defaultVariant: 'setToNone' };
    for (const [v, run] of this.adamwRuns) {
      adamw[v] = {
        ...run.info,
        steps: run.ms.length,
        msPerStep: summary(run.ms),
        rssAfterMB: rssMB(),
        // Tensors alive now, and how many this benchmark holds (inputs, parameters, x, y, AdamW state).
        liveTensorsAfter: torch.liveTensors(),
        liveTensorsHeld: (this.mm ? 2 : 0) + (this.ab ? 2 : 0) + 20 * this.adamwRuns.size,
      };
    }
    return {
      ...this.info(),
      matmul: { n: N, warmup: 2, gflops: per(this.mmSamples, (s) => s.gflops), seconds: per(this.mmSamples, (s) => s.seconds) },
      tinyAdd: {
        numel: 16,
        calls: TINY_CALLS,
        reps: this.tinySamples.get('addDispose')?.length ?? 0,
        usPerCall: Object.fromEntries((['addDispose', 'addTidy1000'] as OurTiny[]).filter(has).map((k) => [k, both(k)])),
        diagnostics: Object.fromEntries(
          (['nativeAddDispose', 'nativeDetachDispose', 'nativeNoop'] as OurTiny[]).filter(has).map((k) => [k, both(k)]),
        ),
      },
      adamw,
    };
  }
}

/** The peer as a child process: one JSON request per line, one JSON reply per line. */
class PeerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];
  private exited: string | null = null;

  constructor() {
    const python = process.env.BENCH_PEER_PYTHON ?? '/usr/bin/python3';
    const script = process.env.BENCH_PEER ?? 'bench/engine/peer.py';
    // Debian's PyTorch, untouched by a PYTHONPATH or user site meant for another python.
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONNOUSERSITE: '1' };
    delete env.PYTHONPATH;
    delete env.PYTHONHOME;
    this.child = spawn(python, [script, '--serve'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
    this.child.on('exit', (code, signal) => {
      this.exited = `the peer (${python} ${script} --serve) exited with ${signal ?? code}`;
      for (const p of this.pending.splice(0)) p('');
    });
  }

  request(req: Record<string, unknown>): Promise<any> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      this.pending.push((line) => {
        if (!line) return reject(new Error(this.exited ?? 'the peer closed its output'));
        const rep = JSON.parse(line);
        if (rep.error) reject(new Error(`peer: ${rep.error}`));
        else resolve(rep);
      });
      this.child.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.write(JSON.stringify({ op: 'quit' }) + '\n');
    this.child.stdin.end();
    await done;
  }
}

async function main(): Promise<void> {
  const paired = process.argv.includes('--paired');
  const t0 = now();
  const ours = new Ours();
  const peer = paired ? new PeerProcess() : null;
  const info = ours.info();
  log(`libtorch ${info.torchVersion}, getNumThreads() = ${info.numThreads}${paired ? '; paired with the peer, blocks alternate' : ''}`);
  if (peer) await peer.request({ op: 'info' }); // wait until it has imported torch

  // Block i runs ours then the peer when i is even, the peer then ours when odd, so neither side
  // always runs first (after the other's caches, allocator, OpenBLAS threads).
  let block = 0;
  const pair = async (oursFn: () => void, peerFn: () => Promise<unknown>) => {
    if (!peer) return oursFn();
    if (block++ % 2 === 0) {
      oursFn();
      await peerFn();
    } else {
      await peerFn();
      oursFn();
    }
  };

  log('matmul 2048');
  for (let k = 0; k < MATMUL_RUNS; k++)
    await pair(
      () => ours.matmul(),
      async () => peer!.request({ op: 'matmul' }),
    );
  log('tiny add');
  for (let r = 0; r < TINY_REPS; r++) {
    await pair(
      () => ours.tiny('addDispose', TINY_CALLS),
      async () => peer!.request({ op: 'tiny', kind: 'torchAdd', calls: TINY_CALLS }),
    );
    await pair(
      () => ours.tiny('addTidy1000', TINY_CALLS),
      async () => peer!.request({ op: 'tiny', kind: 'operatorAdd', calls: TINY_CALLS }),
    );
    await pair(
      () => ours.tiny('nativeAddDispose', TINY_CALLS),
      async () => peer!.request({ op: 'tiny', kind: 'detach', calls: TINY_CALLS }),
    );
    await pair(
      () => ours.tiny('nativeDetachDispose', TINY_CALLS),
      async () => peer!.request({ op: 'tiny', kind: 'emptyLoop', calls: TINY_CALLS }),
    );
    ours.tiny('nativeNoop', TINY_CALLS);
  }
  log('AdamW MLP step');
  for (let r = 0; r < ADAMW_BLOCKS; r++) {
    for (const v of VARIANTS) {
      await pair(
        () => ours.adamw(v, ADAMW_BLOCK_STEPS),
        async () => peer!.request({ op: 'adamw', variant: v, steps: ADAMW_BLOCK_STEPS }),
      );
    }
  }

  const oursResult = { ...ours.result(), totalSeconds: now() - t0 };
  const o = oursResult;
  log(
    `  ours: ${o.matmul.gflops.median.toFixed(1)} GFLOP/s; add ${o.tinyAdd.usPerCall.addDispose!.wall.median.toFixed(3)} µs/call; ` +
      `AdamW ${VARIANTS.map((v) => `${v} ${(o.adamw[v] as { msPerStep: Summary }).msPerStep.median.toFixed(2)}`).join(', ')} ms/step`,
  );
  if (!peer) {
    process.stdout.write(JSON.stringify(oursResult) + '\n');
    return;
  }
  const peerResult = await peer.request({ op: 'result' });
  await peer.close();
  const p = peerResult;
  log(
    `  peer: ${p.matmul.gflops.median.toFixed(1)} GFLOP/s; add ${p.tinyAdd.usPerCall.torchAdd.wall.median.toFixed(3)} µs/call; ` +
      `AdamW ${VARIANTS.map((v) => `${v} ${p.adamw[v].msPerStep.median.toFixed(2)}`).join(', ')} ms/step`,
  );
  process.stdout.write(JSON.stringify({ paired: true, ours: oursResult, peer: peerResult, totalSeconds: now() - t0 }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`engine(ours): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
