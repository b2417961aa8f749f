#!/usr/bin/env bash
# Unlearning benchmark: a whole `lethe forget` NPO job (ours) against an open-unlearning-style PyTorch
# loop (bench/peer/npo.py, Debian's PyTorch 1.13), plus LoRA vs full fine-tuning step time (ours).
# Prints a table; the raw JSON goes to bench/out/unlearn-<date>.json.
#
#   bash bench/unlearn/run.sh [extra args for unlearn.js, e.g. --steps 20 --rounds 3]
#
# Env: UNLEARN_JS      compiled benchmark (default dist/bench/unlearn/unlearn.js)
#      UNLEARN_PYTHON  the peer's interpreter (default /usr/bin/python3: Debian's, not the one on PATH)
#      UNLEARN_OUT     where the raw JSON goes (default bench/out/unlearn-<UTC date and time>.json)
#      BENCH_QUICK=1   10 steps, 1 round (a smoke run, not a measurement)
set -euo pipefail
cd "$(dirname "$0")/../.."

UNLEARN_JS="${UNLEARN_JS:-dist/bench/unlearn/unlearn.js}"
PY="${UNLEARN_PYTHON:-/usr/bin/python3}"
export UNLEARN_PYTHON="$PY"
export UNLEARN_PEER="${UNLEARN_PEER:-bench/peer/npo.py}"

if [ ! -f "$UNLEARN_JS" ]; then
  echo "run.sh: $UNLEARN_JS not found (build first: bash scripts/setup.sh, or set UNLEARN_JS)" >&2
  exit 1
fi

if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
  echo "run.sh: $PY cannot import torch; installing Debian's python3-torch" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch
fi

OUT="${UNLEARN_OUT:-bench/out/unlearn-$(date -u +%Y%m%dT%H%M%SZ).json}"
mkdir -p "$(dirname "$OUT")"
echo "unlearn bench: ours ($UNLEARN_JS, node $(node --version)) vs peer ($PY, torch $("$PY" -c 'import torch; print(torch.__version__)'))"
node "$UNLEARN_JS" --out "$OUT" "$@"
