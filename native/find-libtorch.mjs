#!/usr/bin/env node
// Finds libtorch for binding.gyp, in tch-rs's order: $LIBTORCH (a folder with include/ and lib/),
// LIBTORCH_USE_PYTORCH=1 (ask python's torch), else Debian's libtorch-dev under /usr.
// `node native/find-libtorch.mjs include|libdir|cuda|nccl|gloo|gloo-shared|abi|describe`
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function fromPython() {
  try {
    return execFileSync(process.env.PYTHON ?? 'python3', ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (err) {
    fail(`LIBTORCH_USE_PYTORCH=1 but python could not import torch: ${String(err.stderr ?? err.message).trim()}`);
  }
}

function fail(reason) {
  process.stderr.write(
    `\nlethe: libtorch not found: ${reason}\n` +
      'Fixes, any one of:\n' +
      '  - Debian/Ubuntu: apt-get install libtorch-dev libopenblas0-pthread   (then: npm run setup)\n' +
      '  - point LIBTORCH at a libtorch folder holding include/ and lib/ (e.g. an unpacked libtorch zip)\n' +
      '  - LIBTORCH_USE_PYTORCH=1 to use the libtorch inside the python3 torch package\n\n',
  );
  process.exit(1);
}

function locate() {
  if (process.env.LIBTORCH) {
    const root = process.env.LIBTORCH;
    return { root, include: [join(root, 'include'), join(root, 'include/torch/csrc/api/include')], libdir: join(root, 'lib') };
  }
  if (process.env.LIBTORCH_USE_PYTORCH === '1') {
    const root = fromPython();
    return { root, include: [join(root, 'include'), join(root, 'include/torch/csrc/api/include')], libdir: join(root, 'lib') };
  }
  return { root: '/usr', include: ['/usr/include', '/usr/include/torch/csrc/api/include'], libdir: '/usr/lib/x86_64-linux-gnu' };
}

const where = locate();
const header = join(where.include[1], 'torch/version.h');
if (!existsSync(header)) fail(`no ${header}`);
if (!existsSync(join(where.libdir, 'libtorch_cpu.so'))) fail(`no libtorch_cpu.so in ${where.libdir}`);

const mode = process.argv[2] ?? 'describe';
const cuda = existsSync(join(where.libdir, 'libtorch_cuda.so'));
// c10d: NCCL when the CUDA libtorch ships its process group; Gloo is inside libtorch_cpu except on
// Debian, whose libtorch links the shared libgloo (its headers: Debian's libgloo-dev).
const nccl = cuda && existsSync(join(where.include[0], 'torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp'));
// Without Gloo's headers the addon builds without the Gloo backend (torch.distributed says so).
const gloo = existsSync(join(where.include[0], 'gloo/algorithm.h'));
const glooShared = gloo && ['/usr/lib/x86_64-linux-gnu', '/usr/lib', '/lib', where.libdir].some((d) => existsSync(join(d, 'libgloo.so')));
switch (mode) {
  case 'include':
    console.log(where.include.join(' '));
    break;
  case 'libdir':
    console.log(where.libdir);
    break;
  case 'root':
    console.log(where.root);
    break;
  case 'cuda':
    console.log(cuda ? 1 : 0);
    break;
  case 'nccl':
    console.log(nccl ? 1 : 0);
    break;
  case 'gloo':
    console.log(gloo ? 1 : 0);
    break;
  case 'gloo-shared':
    console.log(glooShared ? 1 : 0);
    break;
  case 'abi':
    console.log(process.env.LIBTORCH_CXX11_ABI ?? '1');
    break;
  default:
    console.log(JSON.stringify({ ...where, cuda, nccl, gloo, glooShared }, null, 2));
}
