// Models benchmark: our Llama model code against a peer, in one invocation.
//  1. forward+backward tokens/s on the CPU of a Llama-shaped model (6 layers, hidden 384, batch
//     8 × 256, float32): ours (loadModel + causalLmLoss + backward) and the same architecture as a
//     plain PyTorch module (bench/peer/llama.py, Debian's PyTorch 1.13), loading the SAME weights
//     (model.safetensors written here) and the same input ids, so both losses must agree.
//  2. KV-cached vs uncached greedy generation, 128 new tokens: ours (identical tokens required), and
//     the peer's (a KV-cached loop over the same module) as a reference.
// Prints a table; writes the raw JSON to --out (bench/models/run.sh passes bench/out/models-<date>.json).
// Library defaults throughout (no setNumThreads), so the thread counts reported are the defaults.
//
// Our steps and the peer's alternate (the peer runs as `llama.py --serve`), so that load from other
// processes on a shared machine falls on both sides alike.
//
// Usage: node dist/bench/models/models.js [--out FILE] [--steps N] [--warmup N] [--rounds N] [--prompt-len N] [--keep]
// Env: MODELS_PEER (default bench/peer/llama.py), MODELS_PYTHON (default /usr/bin/python3),
//      BENCH_QUICK=1 (fewer steps, smaller generation check).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { torch, loadModel, causalLmLoss, expectedShapes, parseConfig } from '../../src/index.js';

type Tensor = torch.Tensor;

const QUICK = process.env.BENCH_QUICK === '1';

function arg(name: string, fallback: string | null = null): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function stat(xs: number[]): { median: number; runs: number[] } {
  return { median: median(xs), runs: xs };
}

function log(msg: string): void {
  process.stderr.write(`models(ours): ${msg}\n`);
}

interface Shape {
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
}

const TRAIN: Shape = { layers: 6, hidden: 384, heads: 6, kvHeads: 6, intermediate: 1024, vocab: 8192 };
const BATCH = 8;
const SEQ = 256;
const GEN: Shape = { ...TRAIN, layers: 4 };
/** Prompt tokens for item 2 (--prompt-len): a prompt of a realistic length, where recomputing it each step is what a cache saves. */
let PROMPT_LEN = 64;
const NEW_TOKENS = 128;

function hfConfig(s: Shape): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: s.vocab,
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
  };
}

/** A random-init HF folder: matrices ~N(0, 0.02), RMSNorm weights 1 (as HF initializes them). */
function writeModelDir(dir: string, s: Shape, seed: number): void {
  mkdirSync(dir, { recursive: true });
  const raw = hfConfig(s);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  torch.manualSeed(seed);
  torch.noGrad(() =>
    torch.tidy(() => {
      const tensors: Record<string, Tensor> = {};
      for (const [name, shape] of expectedShapes(parseConfig(raw))) {
        tensors[name] = name.endsWith('norm.weight') ? torch.ones(shape) : torch.randn(shape).mul(0.02);
      }
      torch.saveSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    }),
  );
}

// ---- the peer: bench/peer/llama.py --serve, one JSON line per command

class Peer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private exited: string | null = null;

  constructor() {
    const python = process.env.MODELS_PYTHON ?? '/usr/bin/python3';
    const script = resolve(process.env.MODELS_PEER ?? 'bench/peer/llama.py');
    this.child = spawn(python, [script, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    this.child.on('error', (err) => this.fail(`cannot run ${python} ${script}: ${err.message}`));
    this.child.on('exit', (code, signal) => this.fail(`${python} ${script} exited (${code ?? signal})`));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
  }

  private fail(why: string): void {
    this.exited = why;
    for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: why }));
  }

  async call(cmd: string): Promise<Record<string, any>> {
    if (this.exited) throw new Error(`peer: ${this.exited}`);
    const line = await new Promise<string>((res) => {
      this.waiting.push(res);
      this.child.stdin.write(`${cmd}\n`);
    });
    const r = JSON.parse(line) as Record<string, any>;
    if (r.error) throw new Error(`peer: '${cmd}': ${r.error}`);
    return r;
  }

  close(): void {
    if (!this.exited) this.child.stdin.end('quit\n');
  }
}

// ---- 1. forward + backward, our steps interleaved with the peer's (ABBA order), so that load
// from other processes on a shared machine falls on both sides alike.

interface StepTimes {
  step_s: number;
  forward_s: number;
  backward_s: number;
  zero_grad_s: number;
  /** CPU seconds of the whole process (all threads) during the step: less sensitive than wall time to other load. */
  cpu_s: number;
  /** Minor page faults during the step (fresh memory from the OS). */
  minflt: number;
}

function summarize(runs: StepTimes[]) {
  const pick = (k: keyof StepTimes) => stat(runs.map((r) => r[k]));
  return {
    step_s: pick('step_s'),
    forward_s: pick('forward_s'),
    backward_s: pick('backward_s'),
    zero_grad_s: pick('zero_grad_s'),
    cpu_s: pick('cpu_s'),
    minflt: pick('minflt'),
  };
}

async function benchFwdBwd(dir: string, peer: Peer, warmup: number, steps: number) {
  const model = loadModel(dir);
  torch.manualSeed(1);
  const ids = torch.keep(torch.randint(0, TRAIN.vocab, [BATCH, SEQ], { dtype: 'int64' }));
  torch.saveSafetensors(join(dir, 'batch.safetensors'), { input_ids: ids });
  await peer.call(`train ${dir}`);
  const params = model.parameters();
  log(
    `fwd+bwd: ${TRAIN.layers} layers, hidden ${TRAIN.hidden}, batch ${BATCH}x${SEQ}, ${warmup} warm-up + ${steps} timed steps per side, ${torch.getNumThreads()} threads`,
  );

  const oursStep = (wantLoss: boolean): StepTimes & { loss: number } => {
    let t1 = 0;
    let t2 = 0;
    const cpu0 = process.cpuUsage();
    const flt0 = process.resourceUsage().minorPageFault;
    const t0 = now();
    const value = torch.tidy(() => {
      const loss = causalLmLoss(model.forward(ids).logits, ids);
      t1 = now();
      loss.backward();
      t2 = now();
      return wantLoss ? loss.item() : NaN; // the loss only from the warm-up step
    });
    for (const p of params) p.grad = null;
    const t3 = now();
    const cpu = process.cpuUsage(cpu0);
    const minflt = process.resourceUsage().minorPageFault - flt0;
    // zero_grad_s: the end of tidy (frees the graph's tensors) + dropping the grads
    return {
      step_s: t3 - t0,
      forward_s: t1 - t0,
      backward_s: t2 - t1,
      zero_grad_s: t3 - t2,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      minflt,
      loss: value,
    };
  };
  const peerStep = async (wantLoss: boolean) => (await peer.call(wantLoss ? 'step loss' : 'step')) as StepTimes & { loss: number | null };
  const show = (who: string, step: number, r: StepTimes) =>
    log(
      `${who} step ${step}${step < warmup ? ' (warm-up)' : ''}: ${r.step_s.toFixed(3)} s (fwd ${r.forward_s.toFixed(3)}, bwd ${r.backward_s.toFixed(3)})`,
    );

  const ours: StepTimes[] = [];
  const theirs: StepTimes[] = [];
  let oursLoss = NaN;
  let peerLoss = NaN;
  for (let step = 0; step < warmup + steps; step++) {
    const oursFirst = step % 2 === 0;
    let o: StepTimes & { loss: number };
    let p: StepTimes & { loss: number | null };
    if (oursFirst) {
      o = oursStep(step === 0);
      p = await peerStep(step === 0);
    } else {
      p = await peerStep(step === 0);
      o = oursStep(step === 0);
    }
    show('ours', step, o);
    show('peer', step, p);
    if (step === 0) {
      oursLoss = o.loss;
      peerLoss = p.loss ?? NaN;
    }
    if (step >= warmup) {
      ours.push(o);
      theirs.push(p);
    }
  }
  // Forward alone, without autograd recording, for where-the-time-goes.
  const t0 = now();
  torch.noGrad(() =>
    torch.tidy(() => {
      causalLmLoss(model.forward(ids).logits, ids);
    }),
  );
  const oursNograd = now() - t0;
  const peerNograd = (await peer.call('nograd')).s as number;
  ids.kept = false;
  ids.dispose();
  model.dispose();
  const side = (runs: StepTimes[], loss: number, nograd: number) => {
    const s = summarize(runs);
    return { batch: BATCH, seq: SEQ, warmup, steps, loss, ...s, nograd_forward_s: nograd, tokens_per_s: (BATCH * SEQ) / s.step_s.median };
  };
  // Steps i of both sides ran back to back: the median of their ratios is the steadiest comparison.
  const paired = (k: keyof StepTimes) => median(ours.map((o, i) => o[k] / theirs[i]![k]));
  return {
    ours: side(ours, oursLoss, oursNograd),
    peer: side(theirs, peerLoss, peerNograd),
    paired_ratio: { step_s: paired('step_s'), forward_s: paired('forward_s'), backward_s: paired('backward_s'), cpu_s: paired('cpu_s') },
  };
}

// ---- 2. generation with and without the KV cache (ours; the peer's, as a reference), interleaved

async function benchGenerate(dir: string, peer: Peer, newTokens: number, rounds: number) {
  const model = loadModel(dir);
  torch.manualSeed(2);
  const prompt = torch.keep(torch.randint(0, GEN.vocab, [1, PROMPT_LEN], { dtype: 'int64' }));
  torch.saveSafetensors(join(dir, 'prompt.safetensors'), { input_ids: prompt });
  await peer.call(`gen ${dir}`);
  const ours = async (useCache: boolean, n: number): Promise<{ s: number; tokens: number[] }> => {
    const t0 = now();
    const out = await model.generate(prompt, { maxNewTokens: n, eosTokenId: [], useCache });
    const s = now() - t0;
    const tokens = (out.toArray() as number[][])[0]!.slice(PROMPT_LEN);
    out.dispose();
    return { s, tokens };
  };
  const theirs = async (useCache: boolean, n: number) =>
    (await peer.call(`generate ${useCache ? 'cache' : 'nocache'} ${n}`)) as { s: number; tokens: number[] };
  // Warm-up, both modes, both sides.
  await ours(true, 8);
  await ours(false, 8);
  await theirs(true, 8);
  await theirs(false, 8);
  const times = { ours_cached: [] as number[], ours_uncached: [] as number[], peer_cached: [] as number[], peer_uncached: [] as number[] };
  const tokens: Record<keyof typeof times, number[]> = { ours_cached: [], ours_uncached: [], peer_cached: [], peer_uncached: [] };
  let identical = true;
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round.
    const jobs: [keyof typeof times, () => Promise<{ s: number; tokens: number[] }>][] = [
      ['ours_cached', () => ours(true, newTokens)],
      ['ours_uncached', () => ours(false, newTokens)],
      ['peer_cached', () => theirs(true, newTokens)],
      ['peer_uncached', () => theirs(false, newTokens)],
    ];
    for (let j = 0; j < jobs.length; j++) {
      const [key, job] = jobs[(j + r) % jobs.length]!;
      const res = await job();
      times[key].push(res.s);
      if (key.startsWith('ours') && tokens[key].length && tokens[key].join() !== res.tokens.join()) identical = false;
      tokens[key] = res.tokens;
      log(`generate round ${r}, ${key.replace('_', ' ')}: ${res.s.toFixed(3)} s`);
    }
  }
  const firstDiff = tokens.ours_cached.findIndex((t, i) => t !== tokens.ours_uncached[i]);
  identical &&= firstDiff < 0 && tokens.ours_cached.length === newTokens && tokens.ours_uncached.length === newTokens;
  const agreeWithPeer = tokens.ours_cached.filter((t, i) => t === tokens.peer_cached[i]).length;
  prompt.kept = false;
  prompt.dispose();
  model.dispose();
  const med = (k: keyof typeof times) => median(times[k]);
  return {
    layers: GEN.layers,
    hidden: GEN.hidden,
    vocab: GEN.vocab,
    prompt_len: PROMPT_LEN,
    new_tokens: newTokens,
    rounds,
    ours: {
      cached_s: stat(times.ours_cached),
      uncached_s: stat(times.ours_uncached),
      speedup: med('ours_uncached') / med('ours_cached'),
      identical,
      first_difference: firstDiff,
      tokens_cached: tokens.ours_cached,
      tokens_uncached: tokens.ours_uncached,
    },
    peer: {
      cached_s: stat(times.peer_cached),
      uncached_s: stat(times.peer_uncached),
      speedup: med('peer_uncached') / med('peer_cached'),
      identical: tokens.peer_cached.join() === tokens.peer_uncached.join(),
      tokens_cached: tokens.peer_cached,
    },
    tokens_equal_ours_peer: agreeWithPeer,
  };
}

// ---- the table

function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function report(r: Record<string, any>): string {
  const o = r.fwd_bwd.ours;
  const p = r.fwd_bwd.peer;
  const ratio = (a: number, b: number) => fmt(a / b, 2);
  const rows = [
    ['fwd+bwd (6L h384 V8192, 8x256 tokens, fp32)', 'ours', 'peer', 'ours/peer'],
    ['tokens/s (8*256 / median step)', fmt(o.tokens_per_s, 0), fmt(p.tokens_per_s, 0), ratio(o.tokens_per_s, p.tokens_per_s)],
    ['step s (median)', fmt(o.step_s.median), fmt(p.step_s.median), ratio(o.step_s.median, p.step_s.median)],
    ['  forward + loss s', fmt(o.forward_s.median), fmt(p.forward_s.median), ratio(o.forward_s.median, p.forward_s.median)],
    ['  backward s', fmt(o.backward_s.median), fmt(p.backward_s.median), ratio(o.backward_s.median, p.backward_s.median)],
    [
      '  free graph + drop grads s',
      fmt(o.zero_grad_s.median),
      fmt(p.zero_grad_s.median),
      ratio(o.zero_grad_s.median, p.zero_grad_s.median),
    ],
    [
      'step s (min)',
      fmt(Math.min(...o.step_s.runs)),
      fmt(Math.min(...p.step_s.runs)),
      ratio(Math.min(...o.step_s.runs), Math.min(...p.step_s.runs)),
    ],
    ['step s, median of paired ratios', '', '', fmt(r.fwd_bwd.paired_ratio.step_s, 2)],
    ['  forward, backward (paired)', '', '', `${fmt(r.fwd_bwd.paired_ratio.forward_s, 2)}, ${fmt(r.fwd_bwd.paired_ratio.backward_s, 2)}`],
    ['CPU s per step, all threads (median)', fmt(o.cpu_s.median), fmt(p.cpu_s.median), ratio(o.cpu_s.median, p.cpu_s.median)],
    ['minor page faults per step (median)', fmt(o.minflt.median, 0), fmt(p.minflt.median, 0), ratio(o.minflt.median, p.minflt.median)],
    ['forward, no grad s (1 run)', fmt(o.nograd_forward_s), fmt(p.nograd_forward_s), ratio(o.nograd_forward_s, p.nograd_forward_s)],
    ['loss (same weights and ids)', o.loss.toPrecision(8), p.loss.toPrecision(8), `rel diff ${r.loss_rel_diff.toExponential(1)}`],
    ['intra-op threads (library default)', String(r.ours.num_threads), String(r.peer.num_threads), ''],
    ['timed steps (+ warm-up), interleaved', `${o.steps} (+${o.warmup})`, `${p.steps} (+${p.warmup})`, ''],
  ];
  const g = r.generate;
  const grows = [
    [
      `generate greedy (${g.layers}L h${g.hidden} V${g.vocab}, prompt ${g.prompt_len}, ${g.new_tokens} new)`,
      'ours s',
      'peer s',
      'ours/peer',
    ],
    ['KV cache (median)', fmt(g.ours.cached_s.median), fmt(g.peer.cached_s.median), ratio(g.ours.cached_s.median, g.peer.cached_s.median)],
    [
      'no cache (median)',
      fmt(g.ours.uncached_s.median),
      fmt(g.peer.uncached_s.median),
      ratio(g.ours.uncached_s.median, g.peer.uncached_s.median),
    ],
    [
      'KV cache (min)',
      fmt(Math.min(...g.ours.cached_s.runs)),
      fmt(Math.min(...g.peer.cached_s.runs)),
      ratio(Math.min(...g.ours.cached_s.runs), Math.min(...g.peer.cached_s.runs)),
    ],
    [
      'no cache (min)',
      fmt(Math.min(...g.ours.uncached_s.runs)),
      fmt(Math.min(...g.peer.uncached_s.runs)),
      ratio(Math.min(...g.ours.uncached_s.runs), Math.min(...g.peer.uncached_s.runs)),
    ],
    ['speed-up from the cache', `${fmt(g.ours.speedup, 2)}x`, `${fmt(g.peer.speedup, 2)}x`, ''],
    [
      'cached tokens == uncached tokens',
      g.ours.identical ? 'yes' : `NO (from ${g.ours.first_difference})`,
      g.peer.identical ? 'yes' : 'no',
      '',
    ],
    ['runs per mode', String(g.rounds), String(g.rounds), ''],
  ];
  const checks = [
    `fwd+bwd: ours not slower than peer: ${r.checks.fwd_bwd_not_slower ? 'PASS' : 'FAIL'} (ours/peer tokens/s ${ratio(o.tokens_per_s, p.tokens_per_s)})`,
    `fwd+bwd: losses agree (rel diff <= 1e-4): ${r.checks.loss_agrees ? 'PASS' : 'FAIL'} (${o.loss} vs ${p.loss})`,
    `generate: KV cache speed-up >= 3x: ${r.checks.kv_speedup_3x ? 'PASS' : 'FAIL'} (${fmt(g.ours.speedup, 2)}x)`,
    `generate: KV-cached tokens identical to uncached: ${r.checks.kv_identical ? 'PASS' : 'FAIL'}`,
  ];
  const load = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  return [
    table(rows),
    '',
    table(grows),
    '',
    ...checks,
    `greedy tokens, ours vs peer (cached): ${g.tokens_equal_ours_peer}/${g.new_tokens} equal`,
    `load average (1/5/15 min) at start: ${load(r.loadavg_start)}; at end: ${load(r.loadavg_end)}; total ${fmt(r.total_s, 1)} s`,
  ].join('\n');
}

async function main(): Promise<void> {
  const warmup = Number(arg('--warmup', '1'));
  const steps = Number(arg('--steps', QUICK ? '3' : '8'));
  const rounds = Number(arg('--rounds', QUICK ? '1' : '3'));
  PROMPT_LEN = Number(arg('--prompt-len', String(PROMPT_LEN)));
  const out = arg('--out');
  const keep = process.argv.includes('--keep');
  const work = mkdtempSync(join(tmpdir(), 'lethe-bench-models-'));
  const started = new Date().toISOString();
  const t0 = now();
  const loadStart = loadavg();
  const peer = new Peer();
  try {
    const trainDir = join(work, 'train');
    const genDir = join(work, 'gen');
    writeModelDir(trainDir, TRAIN, 0);
    writeModelDir(genDir, GEN, 3);
    const peerInfo = await peer.call('info');
    const fwdBwd = await benchFwdBwd(trainDir, peer, warmup, steps);
    const generate = await benchGenerate(genDir, peer, QUICK ? 32 : NEW_TOKENS, rounds);
    const ours = {
      side: 'ours',
      impl: 'lethe loadModel + causalLmLoss (src/models)',
      torch_version: torch.buildInfo().torchVersion,
      node: process.version,
      num_threads: torch.getNumThreads(),
    };
    const lossRelDiff = Math.abs(fwdBwd.ours.loss - fwdBwd.peer.loss) / Math.abs(fwdBwd.peer.loss);
    const result = {
      bench: 'models',
      started,
      quick: QUICK,
      total_s: now() - t0,
      loadavg_start: loadStart,
      loadavg_end: loadavg(),
      config: { train: hfConfig(TRAIN), batch: BATCH, seq: SEQ, generate: hfConfig(GEN), prompt_len: PROMPT_LEN },
      ours,
      peer: peerInfo,
      fwd_bwd: fwdBwd,
      generate,
      loss_rel_diff: lossRelDiff,
      ratios: { fwd_bwd_tokens_per_s: fwdBwd.ours.tokens_per_s / fwdBwd.peer.tokens_per_s },
      checks: {
        fwd_bwd_not_slower: fwdBwd.ours.tokens_per_s >= fwdBwd.peer.tokens_per_s,
        loss_agrees: lossRelDiff <= 1e-4,
        kv_speedup_3x: generate.ours.speedup >= 3,
        kv_identical: generate.ours.identical,
      },
    };
    process.stdout.write(`${report(result)}\n`);
    if (out) {
      mkdirSync(dirname(resolve(out)), { recursive: true });
      writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`raw results: ${out}\n`);
    }
  } finally {
    peer.close();
    if (keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`models bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
