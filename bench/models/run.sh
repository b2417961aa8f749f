#!/usr/bin/env bash
# Models benchmark: our Llama model code vs a plain PyTorch module (Debian's PyTorch 1.13), plus
# KV-cached vs uncached generation. Prints a table; the raw JSON goes to bench/out/models-<date>.json.
#
#   bash bench/models/run.sh [extra args for models.js, e.g. --steps 3]
#
# Env: MODELS_JS      compiled benchmark (default dist/bench/models/models.js)
#      MODELS_PYTHON  the peer's interpreter (default /usr/bin/python3: Debian's, not the one on PATH)
#      MODELS_OUT     where the raw JSON goes (default bench/out/models-<UTC date and time>.json)
#      BENCH_QUICK=1  fewer steps, a shorter generation (a smoke run, not a measurement)
set -euo pipefail
cd "$(dirname "$0")/../.."

MODELS_JS="${MODELS_JS:-dist/bench/models/models.js}"
PY="${MODELS_PYTHON:-/usr/bin/python3}"
export MODELS_PYTHON="$PY"
export MODELS_PEER="${MODELS_PEER:-bench/peer/llama.py}"

if [ ! -f "$MODELS_JS" ]; then
  echo "run.sh: $MODELS_JS not found (build first: bash scripts/setup.sh, or set MODELS_JS)" >&2
  exit 1
fi

if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  echo "run.sh: $PY cannot import torch; installing Debian's python3-torch" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch
fi

OUT="${MODELS_OUT:-bench/out/models-$(date -u +%Y%m%dT%H%M%SZ).json}"
mkdir -p "$(dirname "$OUT")"
echo "models bench: ours ($MODELS_JS, node $(node --version)) vs peer ($PY, torch $("$PY" -c 'import torch; print(torch.__version__)'))"
node "$MODELS_JS" --out "$OUT" "$@"
