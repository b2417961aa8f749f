// Formats the engine benchmark. Input files: what `engine.js --paired` printed ({paired, ours,
// peer}: both sides, blocks alternated in one run), or what engine.js / peer.py printed alone
// (side "ours" / "peer"). Writes them together to --out and prints a table of both sides and
// their ratios. Samples of all rounds are pooled; with paired input the ratio is the median of
// the ratios of samples taken next to each other, which cancels most load from other processes.
//   node bench/engine/report.mjs --out bench/out/engine-DATE.json round-1.json round-2.json ...
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import os from 'node:os';

const args = process.argv.slice(2);
let outPath = null;
const files = [];
for (let k = 0; k < args.length; k++) {
  if (args[k] === '--out') outPath = args[++k];
  else files.push(args[k]);
}
const inputs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
const pairedRounds = inputs.filter((r) => r.paired);
const ours = [...pairedRounds.map((r) => r.ours), ...inputs.filter((r) => r.side === 'ours')];
const peer = [...pairedRounds.map((r) => r.peer), ...inputs.filter((r) => r.side === 'peer')];
const allPaired = pairedRounds.length === inputs.length;
if (!ours.length || !peer.length) {
  console.error(`report: need results of both sides, got ${ours.length} ours and ${peer.length} peer`);
  process.exit(1);
}

const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** All samples of `path` (a summary object with .runs) over the rounds of one side. */
function pooled(side, path) {
  const runs = side.flatMap((r) => get(r, path)?.runs ?? []);
  if (!runs.length) throw new Error(`report: no samples at ${path}`);
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs), n: runs.length };
}

const combined = {
  createdAt: new Date().toISOString(),
  host: { hostname: os.hostname(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, loadavgAtEnd: os.loadavg() },
  rounds: Math.max(ours.length, peer.length),
  paired: allPaired,
  ours,
  peer,
};
if (outPath) {
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify(combined, null, 1) + '\n');
}

// ---- the table

const fmt = (x, digits) =>
  x >= 100 ? x.toFixed(Math.max(0, digits - 2)) : x >= 10 ? x.toFixed(Math.max(0, digits - 1)) : x.toFixed(digits);
const cell = (s, d) => `${fmt(s.median, d)} [${fmt(s.min, d)}–${fmt(s.max, d)}]`;

// The faster of the two Python spellings is the baseline for the tiny op.
const peerAddName =
  pooled(peer, 'tinyAdd.usPerCall.torchAdd.wall').median <= pooled(peer, 'tinyAdd.usPerCall.operatorAdd.wall').median
    ? 'torchAdd'
    : 'operatorAdd';
const peerAddLabel = peerAddName === 'torchAdd' ? 'torch.add(a, b)' : 'a + b';

const rows = [
  {
    metric: 'matmul fp32 2048x2048 @ 2048x2048',
    unit: 'GFLOP/s',
    higher: true,
    target: 0.95,
    d: 1,
    oursPath: 'matmul.gflops',
    peerPath: 'matmul.gflops',
    note: 'torch.matmul vs torch.matmul',
  },
  {
    metric: 'add, 16 float32, add + dispose',
    unit: 'µs/call',
    higher: false,
    target: 1,
    d: 3,
    oursPath: 'tinyAdd.usPerCall.addDispose.wall',
    peerPath: `tinyAdd.usPerCall.${peerAddName}.wall`,
    note: `c = torch.add(a, b); c.dispose() vs c = ${peerAddLabel}`,
  },
  {
    metric: 'add, 16 float32, tidy per 1000',
    unit: 'µs/call',
    higher: false,
    target: 1,
    d: 3,
    oursPath: 'tinyAdd.usPerCall.addTidy1000.wall',
    peerPath: `tinyAdd.usPerCall.${peerAddName}.wall`,
    note: `torch.tidy(() => 1000 × torch.add(a, b)) vs c = ${peerAddLabel}`,
  },
  {
    metric: 'AdamW MLP step, library defaults',
    unit: 'ms/step',
    higher: false,
    target: 1,
    d: 2,
    oursPath: 'adamw.setToNone.msPerStep',
    peerPath: 'adamw.zeroFill.msPerStep',
    note: 'ours zeroGrad() (grads set to none) vs 1.13 zero_grad() (grads filled with 0)',
  },
  {
    metric: 'AdamW MLP step, both fill grads with 0',
    unit: 'ms/step',
    higher: false,
    target: 1,
    d: 2,
    oursPath: 'adamw.zeroFill.msPerStep',
    peerPath: 'adamw.zeroFill.msPerStep',
    note: 'ours zeroGrad(false) vs zero_grad()',
  },
  {
    metric: 'AdamW MLP step, both set grads to none',
    unit: 'ms/step',
    higher: false,
    target: 1,
    d: 2,
    oursPath: 'adamw.setToNone.msPerStep',
    peerPath: 'adamw.setToNone.msPerStep',
    note: 'ours zeroGrad() vs zero_grad(set_to_none=True)',
  },
];
for (const r of rows) {
  r.ours = pooled(ours, r.oursPath);
  r.peer = pooled(peer, r.peerPath);
}

/** Per-pair speed ratios: sample k of ours with sample k of the peer, round by round. */
function pairedSpeeds(oursPath, peerPath, higher) {
  const out = [];
  pairedRounds.forEach((round) => {
    const o = get(round.ours, oursPath)?.runs ?? [];
    const p = get(round.peer, peerPath)?.runs ?? [];
    for (let k = 0; k < Math.min(o.length, p.length); k++) out.push(higher ? o[k] / p[k] : p[k] / o[k]);
  });
  return out;
}

for (const r of rows) {
  // speed > 1: ours is faster. Throughputs divide ours by peer, times peer by ours.
  const ratios = allPaired ? pairedSpeeds(r.oursPath, r.peerPath, r.higher) : [];
  r.speed = ratios.length ? median(ratios) : r.higher ? r.ours.median / r.peer.median : r.peer.median / r.ours.median;
  r.speedBest = r.higher ? r.ours.max / r.peer.max : r.peer.min / r.ours.min;
  r.ok = r.speed >= r.target;
}

const header = [
  'benchmark',
  'unit',
  'ours median [min–max]',
  'peer median [min–max]',
  allPaired ? 'speed ours/peer (paired)' : 'speed ours/peer',
  'best/best',
  'target',
  'verdict',
];
const table = rows.map((r) => [
  r.metric,
  r.unit,
  cell(r.ours, r.d),
  cell(r.peer, r.d),
  r.speed.toFixed(2),
  r.speedBest.toFixed(2),
  `>= ${r.target.toFixed(2)}`,
  r.ok ? 'ok' : 'SLOWER',
]);
const widths = header.map((h, k) => Math.max(h.length, ...table.map((row) => row[k].length)));
const line = (cells) => cells.map((c, k) => (k >= 4 ? c.padStart(widths[k]) : c.padEnd(widths[k]))).join('  ');

const VARIANTS = ['setToNone', 'zeroFill'];
const o0 = ours[0];
const p0 = peer[0];
const out = [];
out.push(`Engine benchmark: ${o0.engine}`);
out.push(`            vs peer: ${p0.engine}`);
out.push(
  `Machine: ${combined.host.cpus} CPUs (${combined.host.cpuModel}), load average at end ${combined.host.loadavgAtEnd.map((x) => x.toFixed(2)).join(' ')}; ` +
    (allPaired
      ? `${combined.rounds} round(s), each one process per side with their blocks alternating, samples pooled`
      : `${combined.rounds} round(s) per side, run one after the other, samples pooled`),
);
out.push(
  `Threads (library defaults): ours torch.getNumThreads() = ${o0.numThreads}; peer torch.get_num_threads() = ${p0.numThreads}; ` +
    `OpenBLAS threads = ${p0.openblasThreads ?? '?'} (one libopenblas for both)`,
);
const envSet = Object.entries({ ...o0.env, ...p0.env }).filter(([, v]) => v != null);
out.push(`Thread env vars: ${envSet.length ? envSet.map(([k, v]) => `${k}=${v}`).join(' ') : 'none set'}`);
out.push('');
out.push(line(header));
out.push(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of table) out.push(line(row));
out.push('');
out.push(
  'speed ours/peer: > 1 means ours is faster (GFLOP/s ours/peer; times peer/ours)' +
    (allPaired ? ', the median over pairs of samples taken next to each other' : ', from the medians') +
    ". best/best: the same from each side's best sample. verdict: speed against the target.",
);
rows.forEach((r, k) => out.push(`  ${k + 1}. ${r.metric}: ${r.note}`));

// ---- diagnostics

// wall-clock median (process-CPU-time median) of a per-call measurement
const us = (side, path) => `${fmt(pooled(side, `${path}.wall`).median, 3)} (${fmt(pooled(side, `${path}.cpu`).median, 3)})`;
out.push('');
out.push('Diagnostics: µs per call, wall-clock median (CPU-time median, less sensitive to other load on the machine):');
out.push(
  `  tiny op, ours: torch.add + dispose ${us(ours, 'tinyAdd.usPerCall.addDispose')}; in tidy ${us(ours, 'tinyAdd.usPerCall.addTidy1000')}; ` +
    `the same native calls without the JS Tensor wrapper, native.add + native.dispose ${us(ours, 'tinyAdd.diagnostics.nativeAddDispose')}; ` +
    `native.detach + native.dispose ${us(ours, 'tinyAdd.diagnostics.nativeDetachDispose')}; an N-API call doing nothing ${us(ours, 'tinyAdd.diagnostics.nativeNoop')}`,
);
out.push(
  `  tiny op, peer: torch.add ${us(peer, 'tinyAdd.usPerCall.torchAdd')}; a + b ${us(peer, 'tinyAdd.usPerCall.operatorAdd')}; ` +
    `a.detach() ${us(peer, 'tinyAdd.diagnostics.detach')}; an empty loop iteration ${us(peer, 'tinyAdd.diagnostics.emptyLoop')}`,
);
const rss = (r) =>
  `RSS ${Math.min(...VARIANTS.map((v) => r.adamw[v].rssBeforeMB)).toFixed(0)} MB before the first model, ` +
  `${r.adamw.setToNone.rssAfterMB.toFixed(0)} MB at the end` +
  (r.adamw.setToNone.liveTensorsAfter != null
    ? `, ${r.adamw.setToNone.liveTensorsAfter} live tensors at the end (${r.adamw.setToNone.liveTensorsHeld} held by the benchmark)`
    : '');
out.push(`  AdamW memory (round 1): ours ${rss(o0)}; peer ${rss(p0)}`);
const lo = o0.adamw.setToNone.lossesWarmup;
const lp = p0.adamw.zeroFill.lossesWarmup;
const same = lo.length === lp.length && lo.every((v, k) => Math.abs(v - lp[k]) <= 1e-4 * Math.max(1, Math.abs(lp[k])));
out.push(
  `  AdamW warm-up losses (same init from seed 0): ours ${lo.map((v) => v.toFixed(4)).join(' ')}; peer ${lp.map((v) => v.toFixed(4)).join(' ')} ` +
    `(${same ? 'equal' : 'DIFFERENT'})`,
);
if (outPath) out.push(`\nRaw results: ${outPath}`);
console.log(out.join('\n'));
