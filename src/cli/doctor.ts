// `lethe doctor`: what Lethe runs on, and what to do about anything missing or slow.
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface DoctorReport {
  node: string;
  platform: string;
  cpus: number;
  addon: { loaded: boolean; error?: string };
  libtorch?: { version: string; dir: string; cxx11Abi: boolean; builtWithCuda: boolean };
  blas?: { libraries: string[]; kind: string };
  threads?: { intraOp: number; ompNumThreads: string | null; parallelInfo: string };
  cuda?: { available: boolean; deviceCount: number; devices: string[] };
  matmulGflops?: number;
  advice: string[];
}

/** The BLAS libraries mapped into this process (libtorch links libblas.so.3, whatever it points at). */
function loadedBlas(): string[] {
  if (!existsSync('/proc/self/maps')) return [];
  const paths = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[5] ?? '');
  return [...new Set(paths.filter((p) => /blas|mkl|lapack/i.test(p)))];
}

function blasKind(libs: string[]): string {
  const all = libs.join(' ');
  if (/mkl/i.test(all)) return 'Intel MKL';
  if (/openblas-pthread|libopenblasp/i.test(all)) return 'OpenBLAS (pthread)';
  if (/openblas-openmp|libopenblaso/i.test(all)) return 'OpenBLAS (OpenMP)';
  if (/openblas/i.test(all)) return 'OpenBLAS';
  if (/blis/i.test(all)) return 'BLIS';
  if (/atlas/i.test(all)) return 'ATLAS';
  if (/\/blas\/libblas\.so/.test(all)) return 'reference BLAS (slow)';
  return libs.length ? 'unknown' : 'none found (statically linked or MKL inside libtorch)';
}

function gpuNames(): string[] {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

export async function doctor(): Promise<DoctorReport> {
  const report: DoctorReport = {
    node: process.version,
    platform: `${os.platform()} ${os.arch()} (${os.release()})`,
    cpus: os.availableParallelism(),
    addon: { loaded: false },
    advice: [],
  };
  let torch: typeof import('../torch/index.js');
  try {
    torch = await import('../torch/index.js');
    report.addon.loaded = true;
  } catch (err) {
    report.addon.error = (err as Error).message;
    report.advice.push(
      "Build the native addon: 'npm run setup' (installs libtorch-dev and libopenblas0-pthread with apt-get when missing).",
    );
    return report;
  }
  const info = torch.buildInfo();
  report.libtorch = { version: info.torchVersion, dir: info.libtorchDir, cxx11Abi: info.cxx11Abi, builtWithCuda: info.builtWithCuda };
  const libs = loadedBlas();
  report.blas = { libraries: libs, kind: blasKind(libs) };
  if (report.blas.kind.startsWith('reference')) {
    report.advice.push('libtorch is using reference BLAS (~3 GFLOP/s). Install OpenBLAS: apt-get install libopenblas0-pthread');
  }
  report.threads = {
    intraOp: torch.getNumThreads(),
    ompNumThreads: process.env.OMP_NUM_THREADS ?? null,
    parallelInfo: info.parallelInfo
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /backend|OpenMP|MKL|threads/i.test(l))
      .join('; '),
  };
  report.cuda = { available: torch.cuda.isAvailable(), deviceCount: torch.cuda.deviceCount(), devices: gpuNames() };
  if (!report.cuda.available) {
    report.advice.push(
      info.builtWithCuda
        ? 'The addon was built with CUDA but no device is usable: check the driver (nvidia-smi).'
        : "CPU only: this libtorch has no CUDA. On a GPU machine, build against PyTorch's libtorch: LIBTORCH_USE_PYTORCH=1 npm run setup",
    );
  }
  report.matmulGflops = quickMatmul(torch);
  return report;
}

/** fp32 512² matmul throughput, a few runs: enough to tell OpenBLAS (~100 GFLOP/s) from reference BLAS. */
function quickMatmul(torch: typeof import('../torch/index.js')): number {
  return torch.tidy(() => {
    const n = 512;
    const a = torch.randn([n, n]);
    const b = torch.randn([n, n]);
    torch.matmul(a, b).dispose();
    const runs = 5;
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < runs; k++) torch.matmul(a, b).dispose();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return (2 * n ** 3 * runs) / seconds / 1e9;
  });
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `node        ${r.node} on ${r.platform}, ${r.cpus} CPUs`,
    `addon       ${r.addon.loaded ? 'loaded' : `NOT LOADED: ${r.addon.error}`}`,
  ];
  if (r.libtorch) {
    lines.push(
      `libtorch    ${r.libtorch.version} from ${r.libtorch.dir} (C++11 ABI ${r.libtorch.cxx11Abi ? 'on' : 'off'}, CUDA build ${r.libtorch.builtWithCuda ? 'yes' : 'no'})`,
    );
  }
  if (r.blas) lines.push(`BLAS        ${r.blas.kind}${r.blas.libraries.length ? `: ${r.blas.libraries.join(', ')}` : ''}`);
  if (r.threads)
    lines.push(
      `threads     intra-op ${r.threads.intraOp}, OMP_NUM_THREADS=${r.threads.ompNumThreads ?? '(unset)'}; ${r.threads.parallelInfo}`,
    );
  if (r.cuda) {
    lines.push(`CUDA        ${r.cuda.available ? `available, ${r.cuda.deviceCount} device(s)` : 'not available'}`);
    for (const d of r.cuda.devices) lines.push(`            ${d}`);
  }
  if (r.matmulGflops !== undefined) lines.push(`matmul      fp32 512x512: ${r.matmulGflops.toFixed(1)} GFLOP/s`);
  for (const a of r.advice) lines.push(`advice      ${a}`);
  return lines.join('\n');
}
