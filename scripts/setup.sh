#!/usr/bin/env bash
# Brings a fresh Debian machine to a working Lethe: Debian packages (libtorch, OpenBLAS), npm
# packages, the native addon and the TypeScript build. Idempotent and quick when all is done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# 1. Debian packages: the dictd corpora the benchmark data is built from, libtorch, and Chromium (the report and dashboard tests drive it headless). Without OpenBLAS, Debian's libtorch uses reference BLAS (~3 GFLOP/s, not ~130).
# postgresql: the workflow and server tests also run on a real server (a throw-away cluster each), where worker processes share the store.
pkgs=(libopenblas0-pthread dict-jargon dict-devil dict-gcide dict-elements chromium postgresql)
# libgloo-dev: the Gloo headers that libtorch's c10d ProcessGroupGloo.hpp includes (torch.distributed).
[ -z "${LIBTORCH:-}" ] && [ "${LIBTORCH_USE_PYTORCH:-}" != 1 ] && pkgs+=(libtorch-dev libgloo-dev)
pkgs+=(${LETHE_EXTRA_APT:-})
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"
  log "installing ${missing[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. npm packages, when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi

# npm 11 may skip dependencies' install scripts: build better-sqlite3 (the embedded store) if it did not.
if [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ]; then
  log "building better-sqlite3"
  (cd node_modules/better-sqlite3 && node ../node-gyp/bin/node-gyp.js rebuild --release >/dev/null 2>&1) || { log "better-sqlite3 failed to build"; exit 1; }
fi

# 3. The native addon: regenerate the op table's code, configure once, then make (incremental).
node native/generate.mjs
if [ ! -f build/Makefile ] || [ binding.gyp -nt build/Makefile ]; then
  log "configuring the native addon"
  node node_modules/node-gyp/bin/node-gyp.js configure >/dev/null 2>.setup-gyp.log || { cat .setup-gyp.log >&2; exit 1; }
fi
if ! node node_modules/node-gyp/bin/node-gyp.js build -j "$(nproc)" >.setup-gyp.log 2>&1; then
  grep -E 'error|Error' .setup-gyp.log | head -40 >&2
  log "native build failed (full log: .setup-gyp.log)"
  exit 1
fi
rm -f .setup-gyp.log

# 4. TypeScript (incremental).
node node_modules/typescript/bin/tsc -p tsconfig.json
