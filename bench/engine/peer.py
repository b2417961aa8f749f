"""Engine benchmark, the peer side: the measurements of bench/engine/engine.ts with PyTorch
(Debian's python3-torch 1.13, run with /usr/bin/python3). Library defaults throughout (no
set_num_threads, AdamW's default foreach, zero_grad's default unless a variant says otherwise).

  /usr/bin/python3 bench/engine/peer.py           runs everything, prints one JSON object
  /usr/bin/python3 bench/engine/peer.py --serve   one JSON request per stdin line, one JSON reply
                                                  per stdout line (engine.js --paired drives it,
                                                  alternating its own blocks with these)
Requests: {"op": "info"} | {"op": "matmul"} (one timed run) | {"op": "tiny", "kind": K, "calls": N}
| {"op": "adamw", "variant": "zeroFill"|"setToNone", "steps": N} | {"op": "result"} (all samples so
far, in the layout of the standalone run) | {"op": "quit"}."""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

QUICK = os.environ.get("BENCH_QUICK") == "1"
N = 2048
TINY_CALLS = 100_000
DIMS = (512, 1024, 1024, 10)
BATCH = 64
WARMUP_STEPS = 5
# The schedule of the standalone run (engine.js --paired asks for the same blocks).
MATMUL_RUNS = 3 if QUICK else 9
TINY_REPS = 2 if QUICK else 5
TINY_KINDS = ("torchAdd", "operatorAdd", "detach", "emptyLoop")
ADAMW_BLOCKS, ADAMW_BLOCK_STEPS = (2, 5) if QUICK else (8, 5)
ADAMW_VARIANTS = ("zeroFill", "setToNone")


def now():
    return time.perf_counter()


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def summary(xs):
    return {"median": median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def rss_mb():
    """Resident set size in MB, from /proc (the same source engine.ts reads)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def log(msg):
    print(f"engine(peer): {msg}", file=sys.stderr, flush=True)


def openblas_threads():
    try:
        import ctypes
        return ctypes.CDLL("libopenblas.so.0").openblas_get_num_threads()
    except Exception:  # noqa: BLE001 (not OpenBLAS, or no such symbol)
        return None


class Peer:
    def __init__(self):
        self.mm = None
        self.tiny_ab = None
        self.tiny_warm = set()
        self.adamw = {}
        # Every timed sample, in order (engine.js --paired pairs them with its own by index).
        self.mm_samples = []
        self.tiny_samples = {}

    def info(self):
        return {
            "side": "peer",
            "engine": f"PyTorch {torch.__version__} (Python {sys.version.split()[0]}, {sys.executable})",
            "torchVersion": torch.__version__,
            "torchPath": os.path.dirname(torch.__file__),
            "numThreads": torch.get_num_threads(),
            "numThreadsSource": "torch.get_num_threads(), library default",
            "openblasThreads": openblas_threads(),
            "parallelInfo": torch.__config__.parallel_info(),
            "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
            "quick": QUICK,
        }

    # ---- 1. fp32 matmul N×N @ N×N: one timed run (the first call also makes the inputs and warms up)

    def matmul(self):
        if self.mm is None:
            torch.manual_seed(0)
            self.mm = (torch.randn(N, N), torch.randn(N, N))
            for _ in range(2):
                torch.matmul(*self.mm)
        t0 = now()
        c = torch.matmul(*self.mm)
        dt = now() - t0
        del c
        rep = {"gflops": 2 * N ** 3 / dt / 1e9, "seconds": dt}
        self.mm_samples.append(rep)
        return rep

    # ---- 2. tiny op: add of two 16-element float32 tensors; µs per call, wall and CPU time

    def tiny(self, kind, calls):
        if self.tiny_ab is None:
            torch.manual_seed(0)
            self.tiny_ab = (torch.randn(16), torch.randn(16))
        a, b = self.tiny_ab

        def operator_add(n):
            for _ in range(n):
                c = a + b  # noqa: F841 (rebinding frees the previous result)

        def torch_add(n):
            for _ in range(n):
                c = torch.add(a, b)  # noqa: F841

        def detach(n):
            for _ in range(n):
                c = a.detach()  # noqa: F841

        def empty_loop(n):
            for _ in range(n):
                pass

        body = {"operatorAdd": operator_add, "torchAdd": torch_add, "detach": detach, "emptyLoop": empty_loop}[kind]
        if kind not in self.tiny_warm:
            body(min(calls, 10_000))
            self.tiny_warm.add(kind)
        c0 = time.process_time()
        t0 = now()
        body(calls)
        t1 = now()
        c1 = time.process_time()
        rep = {"wall": (t1 - t0) / calls * 1e6, "cpu": (c1 - c0) / calls * 1e6}
        self.tiny_samples.setdefault(kind, []).append(rep)
        return rep

    # ---- 3. AdamW step of an MLP (512 → 1024 → 1024 → 10, GELU, cross-entropy, batch 64)

    def _adamw_setup(self, variant):
        rss0 = rss_mb()
        torch.manual_seed(0)
        layers = []
        for k in range(len(DIMS) - 1):
            layers.append(nn.Linear(DIMS[k], DIMS[k + 1]))
            if k + 2 < len(DIMS):
                layers.append(nn.GELU())
        model = nn.Sequential(*layers)
        x = torch.randn(BATCH, DIMS[0])
        y = torch.randint(0, DIMS[-1], (BATCH,))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        set_to_none = variant == "setToNone"

        def step():
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if set_to_none:
                opt.zero_grad(set_to_none=True)
            else:
                opt.zero_grad()  # 1.13's default: fill with zeros
            return loss

        losses = [step().item() for _ in range(WARMUP_STEPS)]
        g = opt.param_groups[0]
        state = {
            "step": step, "ms": [], "model": model,
            "info": {
                "batch": BATCH, "dims": list(DIMS), "warmup": WARMUP_STEPS,
                "params": len(list(model.parameters())), "paramElements": sum(p.numel() for p in model.parameters()),
                "lr": g["lr"], "betas": list(g["betas"]), "eps": g["eps"], "weightDecay": g["weight_decay"],
                "foreach": g["foreach"],
                "zeroGrad": "zero_grad(set_to_none=True)" if set_to_none else "zero_grad() (default: set_to_none=False)",
                "lossesWarmup": losses, "rssBeforeMB": rss0,
            },
        }
        self.adamw[variant] = state
        return state

    def adamw_steps(self, variant, steps):
        s = self.adamw.get(variant) or self._adamw_setup(variant)
        ms = []
        for _ in range(steps):
            t0 = now()
            loss = s["step"]()
            ms.append((now() - t0) * 1e3)
        del loss
        s["ms"].extend(ms)
        return {"ms": ms}

    def adamw_info(self, variant):
        s = self.adamw[variant]
        return {**s["info"], "steps": len(s["ms"]), "rssAfterMB": rss_mb()}

    def serve(self):
        for line in sys.stdin:
            req = json.loads(line)
            op = req["op"]
            if op == "quit":
                break
            if op == "info":
                rep = self.info()
            elif op == "matmul":
                rep = self.matmul()
            elif op == "tiny":
                rep = self.tiny(req["kind"], req["calls"])
            elif op == "adamw":
                rep = self.adamw_steps(req["variant"], req["steps"])
            elif op == "result":
                rep = self.result()
            else:
                rep = {"error": f"unknown op {op!r}"}
            sys.stdout.write(json.dumps(rep) + "\n")
            sys.stdout.flush()

    def run_all(self):
        """The standalone run: the same blocks as engine.js --paired, without the other side."""
        t0 = now()
        info = self.info()
        log(f"torch {torch.__version__} from {info['torchPath']}, get_num_threads() = {info['numThreads']}")
        for _ in range(MATMUL_RUNS):
            self.matmul()
        for _ in range(TINY_REPS):
            for k in TINY_KINDS:
                self.tiny(k, TINY_CALLS)
        for _ in range(ADAMW_BLOCKS):
            for v in ADAMW_VARIANTS:
                self.adamw_steps(v, ADAMW_BLOCK_STEPS)
        out = self.result()
        out["totalSeconds"] = now() - t0
        print(json.dumps(out))

    def result(self):
        """Everything measured so far, in the JSON layout engine.ts writes: summaries with their
        samples, in the order taken, in `runs`."""
        per = lambda xs, key: summary([x[key] for x in xs])  # noqa: E731
        tiny = self.tiny_samples
        both = lambda k: {"wall": per(tiny[k], "wall"), "cpu": per(tiny[k], "cpu")}  # noqa: E731
        return {
            **self.info(),
            "matmul": {"n": N, "warmup": 2, "gflops": per(self.mm_samples, "gflops"), "seconds": per(self.mm_samples, "seconds")},
            "tinyAdd": {
                "numel": 16, "calls": TINY_CALLS, "reps": len(tiny.get("torchAdd", [])),
                "usPerCall": {k: both(k) for k in ("operatorAdd", "torchAdd") if k in tiny},
                "diagnostics": {k: both(k) for k in ("detach", "emptyLoop") if k in tiny},
            },
            "adamw": {
                "defaultVariant": "zeroFill",
                **{v: {**self.adamw_info(v), "msPerStep": summary(s["ms"])} for v, s in self.adamw.items()},
            },
        }


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        Peer().serve()
    else:
        Peer().run_all()
