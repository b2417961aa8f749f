#!/usr/bin/env bash
# Data-parallel vs threads on this machine: `lethe finetune` of the demo's tiny target (≈2M
# parameters) on persona QA, global batch 16, as 1 process × 2 threads and as 2 Gloo processes ×
# 1 thread (--nproc 2), and for reference 1 process × 1 thread and 1 process with the default
# threads (no thread variables set), alternating BENCH_ROUNDS times (default 2). Prints s/step and tokens/s of
# the steady state (from each run's train_log.jsonl, first logged interval dropped).
# Needs runs/demo (npm run demo) or MODEL=... DATA=... pointing at a model folder and a JSONL file.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${MODEL:-runs/demo/run/target}
DATA=${DATA:-runs/demo/data/persona/qa/retain90.jsonl}
STEPS=${STEPS:-40}
ROUNDS=${BENCH_ROUNDS:-2}
out=bench/out/dist
rm -rf "$out"; mkdir -p "$out"
run() { # name, threads, extra args
  local dir="$out/$1-$4"
  # threads "-": the environment as it is (libtorch's default intra-op threads, OpenBLAS's own)
  local envs=(); [ "$2" != - ] && envs=(LETHE_THREADS=$2 OMP_NUM_THREADS=$2 OPENBLAS_NUM_THREADS=$2)
  env "${envs[@]}" node dist/src/cli/main.js finetune --model "$MODEL" --data "$DATA" \
    --steps "$STEPS" --batch-size 16 --out "$dir" ${3:+$3} >/dev/null 2>&1
  node -e '
    const rows = require("fs").readFileSync(process.argv[1] + "/train_log.jsonl", "utf8").trim().split("\n").map(JSON.parse).filter((r) => r.loss !== undefined);
    const a = rows[0], b = rows.at(-1);
    const s = (b.elapsedSec - a.elapsedSec) / (b.step - a.step), tps = (b.tokens - a.tokens) / (b.elapsedSec - a.elapsedSec);
    console.log(`${process.argv[2].padEnd(24)} ${s.toFixed(3)} s/step  ${Math.round(tps)} tokens/s`);' "$dir" "$1"
}
for r in $(seq 1 "$ROUNDS"); do
  run "1proc-x-2threads" 2 "" "$r"
  run "2proc-x-1thread" 1 "--nproc 2" "$r"
  run "1proc-x-1thread" 1 "" "$r"
  run "1proc-default-threads" - "" "$r"
done
