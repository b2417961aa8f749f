#!/usr/bin/env bash
# Engine benchmark: our engine (Lethe on libtorch, through Node) against the peer (PyTorch 1.13
# from Debian's python3-torch, run with /usr/bin/python3) on this machine, in one invocation.
# Each round is one `engine.js --paired` run: it starts the peer (bench/engine/peer.py --serve)
# and alternates its blocks with the peer's, so that other load on the machine falls on both.
# Needs dist/ built (npm run build). Prints a table; the raw JSON goes to bench/out/.
#   BENCH_ENGINE_JS  compiled engine.js to run (default dist/bench/engine/engine.js)
#   BENCH_ROUNDS     rounds, samples pooled (default 2)
#   BENCH_QUICK=1    fewer repetitions (a smoke test, not a measurement)
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf 'bench:engine: %s\n' "$*" >&2; }

ENGINE_JS="${BENCH_ENGINE_JS:-dist/bench/engine/engine.js}"
ROUNDS="${BENCH_ROUNDS:-2}"
PY=/usr/bin/python3

if [ ! -f "$ENGINE_JS" ]; then
  log "no $ENGINE_JS; build first (npm run build, or npm run bench:engine which builds)"
  exit 1
fi
case "$ROUNDS" in ''|*[!0-9]*|0) log "BENCH_ROUNDS must be a positive integer, got '$ROUNDS'"; exit 1 ;; esac

# The peer: Debian's PyTorch, not whatever python3 comes first on PATH.
peer_python() { env -u PYTHONPATH -u PYTHONHOME PYTHONNOUSERSITE=1 "$PY" "$@"; }
if ! peer_python -c 'import torch' >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"
  log "installing python3-torch (apt-get)"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

files=()
for r in $(seq 1 "$ROUNDS"); do
  log "round $r/$ROUNDS: $ENGINE_JS --paired (ours) with $PY bench/engine/peer.py --serve (peer)"
  BENCH_PEER_PYTHON="$PY" BENCH_PEER=bench/engine/peer.py node "$ENGINE_JS" --paired >"$tmp/round-$r.json"
  files+=("$tmp/round-$r.json")
done

out="bench/out/engine-$(date +%Y%m%d-%H%M%S).json"
node bench/engine/report.mjs --out "$out" "${files[@]}"
