"""Unlearning benchmark, the peer side: NPO with a retain NLL term as open-unlearning runs it
(open-unlearning's NPO trainer: compute_dpo_loss with a frozen reference model run on every forget
batch, compute_batch_nll, ForgetRetainDataset pairing each forget item with a random retain item,
DataCollatorForSupervisedDataset padding each batch to its longest row, HF Trainer's AdamW + linear
warmup/decay + grad-norm clipping 1.0), on the Llama module of bench/peer/llama.py, float32.

Run with Debian's PyTorch 1.13 (/usr/bin/python3). bench/unlearn/unlearn.ts starts it as
`npo.py --serve` and sends one JSON line per command (see serve()):
  {"cmd": "job", ...spec}    the whole job, timed: load the model (+ a deep copy as the reference),
                             read and tokenize the JSONL data, run the steps, save the weights
  {"cmd": "check", ...spec,  the same steps on the given batches (row indices per step), returning
   "batches": [[f...], [r...]], ...}   every step's loss and its two terms (the cross-check with ours)
  {"cmd": "info"} | {"cmd": "quit"}
The tokenizer is the benchmark's word-level tokenizer.json (whitespace split, one id per word), so
tokenizing needs only its vocab; the prompt template is Lethe's default "Question: {q}\\nAnswer: {a}"
with the loss on the answer tokens and an appended EOS, as `lethe forget` encodes QA rows."""
import copy
import json
import os
import platform
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama import LlamaForCausalLM, load_safetensors  # noqa: E402

IGNORE = -100


def now():
    return time.perf_counter()


def log(msg):
    print(f"unlearn(peer): {msg}", file=sys.stderr, flush=True)


# ---- data: JSONL QA rows -> ids + labels (-100 on the prompt), as open-unlearning's QADataset

class WordTokenizer:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "tokenizer.json")) as f:
            tj = json.load(f)
        assert tj["model"]["type"] == "WordLevel", "the benchmark writes a WordLevel tokenizer"
        self.vocab = tj["model"]["vocab"]
        self.unk = self.vocab[tj["model"]["unk_token"]]
        with open(os.path.join(model_dir, "tokenizer_config.json")) as f:
            tc = json.load(f)
        self.eos = self.vocab[tc["eos_token"]]
        self.pad = self.eos  # no pad token: EOS pads, as usual for decoder-only models

    def encode(self, text):
        v, unk = self.vocab, self.unk
        return [v.get(w, unk) for w in text.split()]


def encode_rows(path, tok, max_length):
    out = []
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            if "text" in r:  # a document: every token is trained on
                ids = (tok.encode(r["text"]) + [tok.eos])[:max_length]
                out.append((ids, list(ids)))
                continue
            prompt = f"Question: {r['question']}\nAnswer:"
            full = f"Question: {r['question']}\nAnswer: {r['answer']}"
            ids = (tok.encode(full) + [tok.eos])[:max_length]
            n_prompt = len(tok.encode(prompt))
            labels = [IGNORE if k < n_prompt else t for k, t in enumerate(ids)]
            out.append((ids, labels))
    return out


def collate(items, pad_id):
    """Right-pads to the longest row of the batch (DataCollatorForSupervisedDataset)."""
    n = max(len(ids) for ids, _ in items)
    ids = torch.full((len(items), n), pad_id, dtype=torch.long)
    labels = torch.full((len(items), n), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), n), dtype=torch.long)
    for i, (x, y) in enumerate(items):
        ids[i, :len(x)] = torch.tensor(x)
        labels[i, :len(y)] = torch.tensor(y)
        mask[i, :len(x)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def random_batches(n_forget, n_retain, batch_size, steps, seed):
    """ForgetRetainDataset (anchor = forget) under a shuffling DataLoader: every epoch a fresh
    permutation of the forget set in batches, each forget item paired with a random retain item."""
    g = torch.Generator().manual_seed(seed)
    out = []
    while len(out) < steps:
        perm = torch.randperm(n_forget, generator=g).tolist()
        for k in range(0, n_forget, batch_size):
            f = perm[k:k + batch_size]
            r = torch.randint(0, n_retain, (len(f),), generator=g).tolist()
            out.append((f, r))
            if len(out) == steps:
                break
    return out


# ---- the losses (open-unlearning's trainer/utils.py)

def compute_batch_nll(model, inputs):
    logits = model(inputs["input_ids"], attention_mask=inputs["attention_mask"])
    shifted_labels = inputs["labels"][..., 1:].contiguous()
    logits = logits[..., :-1, :].contiguous()
    loss = nn.CrossEntropyLoss(ignore_index=IGNORE, reduction="none")(logits.transpose(-1, -2), shifted_labels).sum(dim=-1)
    return loss


def model_loss(model, inputs):
    """HF's model(**inputs).loss: mean shifted cross-entropy over the labelled tokens."""
    logits = model(inputs["input_ids"], attention_mask=inputs["attention_mask"])
    v = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1, :].float().reshape(-1, v), inputs["labels"][:, 1:].reshape(-1), ignore_index=IGNORE)


def npo_loss(model, ref_model, forget, beta):
    lose_loss_current = compute_batch_nll(model, forget)
    t0 = now()
    with torch.no_grad():
        lose_loss_ref = compute_batch_nll(ref_model, forget)
    ref_s = now() - t0
    lose_log_ratio = -(lose_loss_current - lose_loss_ref)
    win_log_ratio = 0
    return -2 / beta * F.logsigmoid(beta * (win_log_ratio - lose_log_ratio)).mean(), ref_s


# ---- the job

def run(spec, batches=None):
    """spec: model_dir, forget, retain, steps, batch_size, lr, warmup_steps, beta, gamma, alpha,
    seed, max_length, out_dir (or null: no save). Returns timings (and losses per step)."""
    t_start = now()
    torch.manual_seed(spec["seed"])
    model = LlamaForCausalLM(json.load(open(os.path.join(spec["model_dir"], "config.json"))))
    model.load_state_dict(load_safetensors(os.path.join(spec["model_dir"], "model.safetensors")), strict=True)
    ref_model = copy.deepcopy(model)  # open-unlearning's _prepare_ref_model
    ref_model.eval()
    for p in ref_model.parameters():
        p.requires_grad_(False)
    model.train()
    t_loaded = now()

    tok = WordTokenizer(spec["model_dir"])
    forget = encode_rows(spec["forget"], tok, spec["max_length"])
    retain = encode_rows(spec["retain"], tok, spec["max_length"])
    steps, bs = spec["steps"], spec["batch_size"]
    plan = batches if batches is not None else random_batches(len(forget), len(retain), bs, steps, spec["seed"])
    t_data = now()

    opt = torch.optim.AdamW(model.parameters(), lr=spec["lr"], betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
    warmup, total = spec["warmup_steps"], steps

    def factor(step):  # transformers' get_linear_schedule_with_warmup
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    step_s, ref_s, losses = [], 0.0, []
    tokens_real = tokens_padded = 0
    for step in range(steps):
        t0 = now()
        f_idx, r_idx = plan[step]
        fb = collate([forget[i] for i in f_idx], tok.pad)
        rb = collate([retain[i] for i in r_idx], tok.pad)
        for b in (fb, rb):
            tokens_real += int(b["attention_mask"].sum())
            tokens_padded += b["input_ids"].numel()
        forget_loss, rs = npo_loss(model, ref_model, fb, spec["beta"])
        ref_s += rs
        retain_loss = model_loss(model, rb)
        loss = spec["gamma"] * forget_loss + spec["alpha"] * retain_loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        model.zero_grad(set_to_none=True)
        losses.append({"loss": loss.item(), "forget": forget_loss.item(), "retain": retain_loss.item()})
        step_s.append(now() - t0)
    t_trained = now()

    if spec.get("out_dir"):
        os.makedirs(spec["out_dir"], exist_ok=True)
        torch.save(model.state_dict(), os.path.join(spec["out_dir"], "pytorch_model.bin"))
    t_end = now()
    return {
        "total_s": t_end - t_start, "load_s": t_loaded - t_start, "data_s": t_data - t_loaded,
        "train_s": t_trained - t_data, "save_s": t_end - t_trained, "ref_forward_s": ref_s, "step_s": step_s,
        "losses": losses, "tokens_real": tokens_real, "tokens_padded": tokens_padded,
        "data_tokens": {"forget": sum(len(x) for x, _ in forget), "retain": sum(len(x) for x, _ in retain)},
    }


def info():
    return {
        "side": "peer", "impl": "open-unlearning-style NPO loop (bench/peer/npo.py)", "torch_version": torch.__version__,
        "python": platform.python_version(), "num_threads": torch.get_num_threads(),
    }


def serve():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            cmd = msg.get("cmd")
            if cmd == "job":
                res = run(msg)
            elif cmd == "check":
                res = run(msg, batches=msg["batches"])
            elif cmd == "info":
                res = info()
            elif cmd == "quit":
                break
            else:
                res = {"error": f"unknown command {cmd}"}
        except Exception as e:  # noqa: BLE001 (reported to the caller)
            res = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        sys.exit("usage: npo.py --serve  (started by bench/unlearn/unlearn.ts)")
