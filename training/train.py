"""Train the detector encoder on random token windows of the normalised train splits.

Reads training/work/train.{ids.bin,idx.jsonl} (scripts/prepare-data.ts --tokenize), samples
windows of --seq tokens ([CLS] window [SEP]) with dataset/language/label-balanced weights,
and trains with the recipe from ../shared/docs/MODEL.md (pre-LN, mean pooling, AdamW 1e-3,
betas 0.9/0.98, wd 0.01, warmup then cosine decay over a wall-clock budget, dropout 0.1).
Checkpoints every few minutes to training/work/ckpt.pt; rerunning the same command resumes.

Usage: OPENBLAS_NUM_THREADS=1 nice -n 5 python3 training/train.py [--minutes 100]
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(__file__))
from model import Config, Detector  # noqa: E402

W = "training/work"
CLS, SEP, PAD = 2, 3, 0


def load_split(split):
    ids = np.fromfile(f"{W}/{split}.ids.bin", dtype=np.uint16)
    idx = [json.loads(l) for l in open(f"{W}/{split}.idx.jsonl", encoding="utf-8")]
    return ids, idx


def auroc(y, s):
    y = np.asarray(y)
    s = np.asarray(s)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    # average ranks for ties
    _, inv, counts = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = (sums / counts)[inv]
    npos = y.sum()
    nneg = len(y) - npos
    if npos == 0 or nneg == 0:
        return float("nan")
    return float((ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def make_batch(ids, recs, seq, rng, first=False):
    body = seq - 2
    rows = []
    for r in recs:
        n = r["len"]
        if n > body:
            start = 0 if first else rng.randrange(0, n - body + 1)
            toks = ids[r["off"] + start: r["off"] + start + body]
        else:
            toks = ids[r["off"]: r["off"] + n]
        rows.append([CLS] + toks.astype(np.int64).tolist() + [SEP])
    t = max(len(x) for x in rows)
    inp = torch.zeros(len(rows), t, dtype=torch.long)
    att = torch.zeros(len(rows), t, dtype=torch.long)
    for i, x in enumerate(rows):
        inp[i, : len(x)] = torch.tensor(x)
        att[i, : len(x)] = 1
    return inp, att


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=100.0)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--smoothing", type=float, default=0.05)
    ap.add_argument("--ckpt", default=f"{W}/ckpt.pt")
    ap.add_argument("--eval-every", type=float, default=600.0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rng = random.Random(0)

    ids, idx = load_split("train")
    dids, didx = load_split("dev")
    vocab = json.load(open(f"{W}/tokenizer/tokenizer.json", encoding="utf-8"))["model"]["vocab"]
    cfg = Config(vocab_size=len(vocab), hidden=a.hidden, layers=a.layers, heads=a.hidden // 64,
                 ffn=4 * a.hidden)
    model = Detector(cfg)

    # sampling weights: every (dataset, lang, label) group gets mass ~ sqrt(size), Chinese x1.5
    groups = {}
    for r in idx:
        groups.setdefault((r["dataset"], r["lang"], r["label"]), 0)
        groups[(r["dataset"], r["lang"], r["label"])] += 1
    w = np.array([math.sqrt(groups[(r["dataset"], r["lang"], r["label"])]) / groups[(r["dataset"], r["lang"], r["label"])]
                  * (1.5 if r["lang"] == "zh" else 1.0) for r in idx])
    w /= w.sum()
    print("train groups:", {f"{k[0]}/{k[1]}/{k[2]}": v for k, v in sorted(groups.items())}, flush=True)

    # fixed stratified dev sample: first window of up to 1500 texts
    drng = random.Random(1)
    dev_sample = drng.sample(didx, min(1500, len(didx)))

    decay, no_decay = [], []
    for n_, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "ln" in n_ else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    step, elapsed, history = 0, 0.0, []
    prior = {"steps": 0, "minutes": 0.0}
    if os.path.exists(a.ckpt):
        ck = torch.load(a.ckpt)
        model.load_state_dict(ck["model"])
        if "opt" in ck:  # a warm start (training/warm_start.py) has weights only
            opt.load_state_dict(ck["opt"])
        step, elapsed, history = ck["step"], ck["elapsed"], ck.get("history", [])
        prior = ck.get("prior", prior)
        rng.setstate(ck["rng"]) if "rng" in ck else None
        print(f"resumed at step {step}, {elapsed / 60:.1f} min trained", flush=True)
    budget = a.minutes * 60.0
    lossf = nn.CrossEntropyLoss(label_smoothing=a.smoothing)
    np_rng = np.random.default_rng(step + 7)

    def lr_at(step_, el):
        warm = min(1.0, (step_ + 1) / a.warmup)
        frac = min(1.0, el / budget)
        return a.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))

    def evaluate():
        model.eval()
        scores = []
        with torch.no_grad():
            for i in range(0, len(dev_sample), 64):
                chunk = dev_sample[i: i + 64]
                inp, att = make_batch(dids, chunk, a.seq, rng, first=True)
                lg = model(inp, att)
                scores.extend((lg[:, 1] - lg[:, 0]).tolist())
        model.train()
        out = {}
        for lang in ("zh", "en"):
            sel = [j for j, r in enumerate(dev_sample) if r["lang"] == lang]
            out[lang] = auroc([dev_sample[j]["label"] for j in sel], [scores[j] for j in sel])
        return out

    def save():
        tmp = a.ckpt + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed,
                    "history": history, "config": cfg.to_dict(), "args": vars(a), "rng": rng.getstate(),
                    "prior": prior}, tmp)
        os.replace(tmp, a.ckpt)

    model.train()
    last_save = last_eval = time.time()
    t0 = time.time()
    el0 = elapsed
    tokens = 0
    run_loss = None
    while elapsed < budget:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, elapsed)
        pick = np_rng.choice(len(idx), size=a.batch, p=w)
        recs = [idx[j] for j in pick]
        inp, att = make_batch(ids, recs, a.seq, rng)
        y = torch.tensor([r["label"] for r in recs])
        loss = lossf(model(inp, att), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += int(att.sum())
        run_loss = loss.item() if run_loss is None else 0.98 * run_loss + 0.02 * loss.item()
        now = time.time()
        elapsed = el0 + (now - t0)
        if step % 50 == 0:
            print(f"step {step} min {elapsed / 60:.1f} loss {run_loss:.4f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"tok/s {tokens / (now - t0):.0f}", flush=True)
        if now - last_eval > a.eval_every:
            res = evaluate()
            history.append({"step": step, "minutes": round(elapsed / 60, 1), **res})
            print(f"EVAL step {step} min {elapsed / 60:.1f} dev-sample auroc zh {res['zh']:.4f} en {res['en']:.4f}", flush=True)
            last_eval = time.time()
        if now - last_save > 240:
            save()
            last_save = time.time()
    save()
    res = evaluate()
    history.append({"step": step, "minutes": round(elapsed / 60, 1), **res})
    save()
    print(f"DONE step {step} dev-sample auroc zh {res['zh']:.4f} en {res['en']:.4f}", flush=True)


if __name__ == "__main__":
    main()
