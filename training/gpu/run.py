"""The one-command GPU run: train, evaluate on dev, distil, export ONNX, quantise int8, and write
what comes back into OUT (at most 8 files, each at most 16 MiB).

From scratch (default): a large pre-LN teacher (6 layers, 512 hidden, 512 tokens, bf16 autocast,
fused AdamW) trains for most of TRAIN_SECONDS on the pack (training/gpu/pack.ts); the best
teacher by a dev sample is kept; then the shippable student (training/model.py's encoder, the
shipped size 2 layers / 256 hidden on 128-token windows, started from --student-init when given)
learns from the teacher's soft labels and the true labels for the rest of the budget.
With --base PATH: a pretrained BERT / RoBERTa / XLM-R checkpoint in the Hugging Face layout is
fine-tuned on 128-token windows instead, and exported with its own tokenizer.

Files in OUT: model_quantized.onnx, config.json, tokenizer.json, tokenizer_config.json,
result.json (dev metrics, reference logits, sha256 and size of every file, stage timings),
train.log (written as it goes), student.pt (train.py's checkpoint format, fp16; scratch mode).

Usage: PYTHONUNBUFFERED=1 python3 training/gpu/run.py --out $OUT [--pack training/gpu/pack]
       [--seconds 400] [--base PATH] [--student-init CKPT] [--tiny]
TRAIN_SECONDS (env) is the default of --seconds; --tiny is the CPU smoke configuration.
"""
import argparse
import copy
import gzip
import hashlib
import inspect
import json
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from encoders import FastDetector, load_base  # noqa: E402
from model import Config, Detector  # noqa: E402

T0 = time.time()
MiB = 1 << 20
RETURN_LIMIT = 16 * MiB


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1, encoding="utf-8")

    def __call__(self, *parts):
        line = f"[{time.time() - T0:6.1f}s] " + " ".join(str(p) for p in parts)
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


# --- data -----------------------------------------------------------------------------------

class Split:
    def __init__(self, pack, name, id_bytes):
        raw = gzip.decompress(open(os.path.join(pack, f"{name}.ids.gz"), "rb").read())
        self.ids = np.frombuffer(raw, dtype="<u2" if id_bytes == 2 else "<u4").astype(np.int64)
        cols = json.loads(gzip.decompress(open(os.path.join(pack, f"{name}.idx.json.gz"), "rb").read()))
        self.len = np.asarray(cols["len"], dtype=np.int64)
        self.off = np.concatenate([[0], np.cumsum(self.len)[:-1]])
        self.label = np.asarray(cols["label"], dtype=np.int64)
        self.lang = np.asarray(cols["lang"], dtype=np.int64)  # 0 zh, 1 en
        self.dataset = np.asarray(cols["dataset"], dtype=np.int64)
        self.variant = cols["variant"]

    def __len__(self):
        return len(self.len)


class Batches:
    """Windows of at most `seq` tokens ([CLS] body [SEP]) from texts drawn with
    (dataset, lang, label)-balanced weights (each group ~ sqrt(size), Chinese x1.5, as
    training/train.py); a draw of several batches is sorted by length so padding stays small."""

    def __init__(self, split, seq, batch, meta, seed):
        self.s, self.seq, self.batch = split, seq, batch
        self.cls, self.sep, self.pad = meta["cls"], meta["sep"], meta["pad"]
        key = split.dataset * 4 + split.lang * 2 + split.label
        _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
        w = np.sqrt(counts[inv]) / counts[inv] * np.where(split.lang == 0, 1.5, 1.0)
        self.p = w / w.sum()
        self.rng = np.random.default_rng(seed)
        self.queue = []

    def window(self, i, start=None):
        body = self.seq - 2
        n = int(self.s.len[i])
        if start is None:
            start = int(self.rng.integers(0, n - body + 1)) if n > body else 0
        toks = self.s.ids[self.s.off[i] + start: self.s.off[i] + min(n, start + body)]
        return np.concatenate([[self.cls], toks, [self.sep]])

    def next(self):
        if not self.queue:
            pick = self.rng.choice(len(self.s), size=self.batch * 8, p=self.p)
            rows = sorted(((self.window(i), i) for i in pick), key=lambda r: len(r[0]))
            self.queue = [rows[k: k + self.batch] for k in range(0, len(rows), self.batch)]
            random.Random(int(self.rng.integers(1 << 30))).shuffle(self.queue)
        rows = self.queue.pop()
        return pad_rows([r for r, _ in rows], self.pad), np.asarray([self.s.label[i] for _, i in rows])


def pad_rows(rows, pad):
    t = max(len(r) for r in rows)
    inp = np.full((len(rows), t), pad, dtype=np.int64)
    att = np.zeros((len(rows), t), dtype=np.int64)
    for k, r in enumerate(rows):
        inp[k, : len(r)] = r
        att[k, : len(r)] = 1
    return inp, att


# --- metrics --------------------------------------------------------------------------------

def auroc(y, s):
    y, s = np.asarray(y), np.asarray(s, dtype=np.float64)
    npos, nneg = int(y.sum()), int(len(y) - y.sum())
    if npos == 0 or nneg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    ranks[order] = np.arange(1, len(s) + 1)
    _, inv, counts = np.unique(s, return_inverse=True, return_counts=True)
    ranks = (np.bincount(inv, weights=ranks) / counts)[inv]  # ties share their mean rank
    return round(float((ranks[y == 1].sum() - npos * (npos + 1) / 2) / (npos * nneg)), 4)


def tpr_at_fpr(y, s, fpr=0.01):
    y, s = np.asarray(y), np.asarray(s, dtype=np.float64)
    neg = np.sort(s[y == 0])[::-1]
    if len(neg) == 0 or y.sum() == 0:
        return None
    k = int(math.floor(fpr * len(neg)))
    thr = neg[k] if k < len(neg) else -np.inf
    return round(float((s[y == 1] > thr).mean()), 4)


def metrics(split, scores, names):
    out = {}
    for lang, code in (("zh", 0), ("en", 1)):
        sel = split.lang == code
        if not sel.any():
            continue
        m = {"n": int(sel.sum()), "auroc": auroc(split.label[sel], scores[sel]), "tpr_at_1pct_fpr": tpr_at_fpr(split.label[sel], scores[sel])}
        per = {}
        for d in np.unique(split.dataset[sel]):
            ds = sel & (split.dataset == d)
            per[names[d]] = {"n": int(ds.sum()), "auroc": auroc(split.label[ds], scores[ds])}
        m["datasets"] = per
        out[lang] = m
    return out


# --- training -------------------------------------------------------------------------------

def adamw(model, lr, device):
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "ln" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "ln" not in n)]
    kw = {}
    if device.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters:
        kw["fused"] = True
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.98), eps=1e-6, **kw)


def autocast(device):
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return torch.autocast(device_type="cpu", enabled=False)


@torch.no_grad()
def score(model, split, seq, pad_ids, device, batch, windows=1, limit=None):
    """Mean logit margin (ai - human) over up to `windows` consecutive windows per text."""
    cls, sep, pad = pad_ids
    idx = np.arange(len(split)) if limit is None else limit
    items = []
    body = seq - 2
    for i in idx:
        n = int(split.len[i])
        for w in range(max(1, min(windows, math.ceil(n / body)))):
            toks = split.ids[split.off[i] + w * body: split.off[i] + min(n, (w + 1) * body)]
            items.append((i, np.concatenate([[cls], toks, [sep]])))
    items.sort(key=lambda x: len(x[1]))
    total = np.zeros(len(split))
    count = np.zeros(len(split))
    was = model.training
    model.eval()
    for k in range(0, len(items), batch):
        chunk = items[k: k + batch]
        inp, att = pad_rows([r for _, r in chunk], pad)
        with autocast(device):
            lg = model(torch.from_numpy(inp).to(device), torch.from_numpy(att).to(device)).float()
        m = (lg[:, 1] - lg[:, 0]).cpu().numpy()
        for (i, _), v in zip(chunk, m):
            total[i] += v
            count[i] += 1
    model.train(was)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def train_loop(log, tag, model, batches, device, seconds, lr, warmup, teacher=None, dev_check=None, smoothing=0.05, periodic=True):
    """Wall-clock-budgeted training: warmup then cosine decay to 5% over `seconds`. With a
    teacher: half cross-entropy, half KL to the teacher's probabilities. `dev_check` (a function
    returning a number) is called about every 10% of the budget (only at the end unless
    `periodic`); the best state is kept."""
    opt = adamw(model, lr, device)
    lossf = nn.CrossEntropyLoss(label_smoothing=smoothing)
    t0 = time.time()
    step, tokens, run = 0, 0, None
    best, best_state, next_check = -1.0, None, (seconds / 10 if periodic else math.inf)
    if dev_check is not None and periodic:  # the starting point competes too (a warm start may already be best)
        best, best_state = dev_check(), copy.deepcopy(model.state_dict())
        log(f"{tag} dev-sample mean AUROC {best:.4f} before training")
    model.train()
    while True:
        el = time.time() - t0
        if el >= seconds:
            break
        frac = el / seconds
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        (inp, att), y = batches.next()
        tokens += int(att.sum())  # counted on the host: no device sync per step
        inp, att = torch.from_numpy(inp).to(device, non_blocking=True), torch.from_numpy(att).to(device, non_blocking=True)
        y = torch.from_numpy(y).to(device)
        with autocast(device):
            logits = model(inp, att).float()
            loss = lossf(logits, y)
            if teacher is not None:
                with torch.no_grad():
                    soft = F.softmax(teacher(inp, att).float(), dim=-1)
                loss = 0.5 * loss + 0.5 * F.kl_div(F.log_softmax(logits, dim=-1), soft, reduction="batchmean")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        lv = float(loss) if step % 25 == 0 or step < 3 else None
        if lv is not None:
            run = lv if run is None else 0.8 * run + 0.2 * lv
        if step % 200 == 0 or step == 1:
            log(f"{tag} step {step} {el:.0f}s loss {run:.4f} lr {opt.param_groups[0]['lr']:.2e} tok/s {tokens / max(el, 1e-6):.0f}")
        if dev_check is not None and el >= next_check:
            v = dev_check()
            log(f"{tag} dev-sample mean AUROC {v:.4f} at step {step}")
            if v > best:
                best, best_state = v, copy.deepcopy(model.state_dict())
            next_check += seconds / 10
    if dev_check is not None:
        v = dev_check()
        log(f"{tag} dev-sample mean AUROC {v:.4f} at the end (step {step})")
        if best_state is not None and best > v:
            model.load_state_dict(best_state)
            log(f"{tag} keeps its best dev-sample state ({best:.4f})")
    return {"steps": step, "seconds": round(time.time() - t0, 1), "tokens": tokens, "tokens_per_s": round(tokens / max(time.time() - t0, 1e-6))}


# --- export ---------------------------------------------------------------------------------

class Wrapper(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.m(input_ids, attention_mask, token_type_ids)


def export_onnx(model, path, pad_ids, vocab):
    """Opset 14 through the TorchScript exporter on every torch version (torch 2.9+ defaults to
    the dynamo exporter, whose graph quantize.py was not written for)."""
    cls, sep, pad = pad_ids
    model = model.float().cpu().eval()
    ids = torch.tensor([[cls, 5 % vocab, 6 % vocab, 7 % vocab, sep, pad], [cls, 8 % vocab, 9 % vocab, 10 % vocab, 11 % vocab, sep]])
    att = (torch.arange(6)[None, :] <= torch.tensor([[4], [5]])).long()
    kw = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    w = Wrapper(model).eval()
    common = dict(input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                  dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                "token_type_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}})
    try:
        torch.onnx.export(w, (ids, att, torch.zeros_like(ids)), path, opset_version=14, do_constant_folding=True, **common, **kw)
        exporter = "torchscript"
    except Exception as e:  # a torch without the TorchScript exporter: the dynamo one needs opset 18
        if not kw:
            raise
        print(f"TorchScript ONNX export failed ({e}); using the dynamo exporter, opset 18", flush=True)
        torch.onnx.export(w, (ids, att, torch.zeros_like(ids)), path, opset_version=18, dynamo=True, **common)
        exporter = "dynamo"
    model.eval()  # exporting flips a wrapped module back to training mode (MODEL.md)
    return exporter


def quantize(fp32, int8, exporter):
    """training/quantize.py (the shipped pattern) on TorchScript graphs; onnxruntime's own
    quantize_dynamic on a dynamo graph, whose weights that script does not recognise."""
    if exporter == "dynamo":
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True)
        return
    if os.system(f"{sys.executable} {os.path.join(HERE, '..', 'quantize.py')} {fp32} {int8}") != 0:
        raise SystemExit("quantize.py failed")


def reference_logits(model, onnx_path, ref, pad):
    """Logits of the pack's reference windows: from onnxruntime on the int8 file when Python
    onnxruntime is there (the GPU machine), else from the fp32 PyTorch model."""
    inp, att = pad_rows([np.asarray(r) for r in ref["ids"]], pad)
    try:
        import onnxruntime as ort
        s = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        feeds = {"input_ids": inp, "attention_mask": att, "token_type_ids": np.zeros_like(inp)}
        # a graph may lack token_type_ids (a family that takes none); transformers.js feeds what it asks
        lg = s.run(["logits"], {i.name: feeds[i.name] for i in s.get_inputs()})[0]
        source = "onnxruntime-int8"
    except ImportError:
        with torch.no_grad():
            lg = model.float().cpu().eval()(torch.from_numpy(inp), torch.from_numpy(att), torch.zeros_like(torch.from_numpy(inp))).numpy()
        source = "torch-fp32"
    return {"texts": ref["texts"], "input_ids": inp.tolist(), "attention_mask": att.tolist(), "logits": lg.tolist(), "source": source}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- main -----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", default=os.path.join(HERE, "pack"))
    ap.add_argument("--out", default=os.environ.get("OUT"))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("TRAIN_SECONDS", "400")))
    ap.add_argument("--student-share", type=float, default=0.25, help="part of --seconds for the student (scratch mode)")
    ap.add_argument("--base", help="fine-tune this Hugging Face checkpoint folder instead of training from scratch")
    ap.add_argument("--student-init", help="train.py / warm_start.py checkpoint to start the student from")
    ap.add_argument("--tiny", action="store_true", help="CPU smoke configuration: tiny models, seconds of training")
    ap.add_argument("--layers", type=int)
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--seq", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--student-layers", type=int, help="a fresh student of this depth (default 2, the shipped size)")
    ap.add_argument("--student-hidden", type=int, help="a fresh student of this width (default 256)")
    a = ap.parse_args()
    if not a.out:
        raise SystemExit("--out (or $OUT) is required")
    os.makedirs(a.out, exist_ok=True)
    log = Log(os.path.join(a.out, "train.log"))
    device = torch.device("cuda" if torch.cuda.is_available() and not a.tiny else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        # one thread: on a shared CPU, OpenMP threads waiting on each other cost more than they give (MODEL.md)
        torch.set_num_threads(1)
    torch.manual_seed(0)
    random.seed(0)

    meta = json.load(open(os.path.join(a.pack, "meta.json"), encoding="utf-8"))
    tm = meta["tokenizer"]
    pad_ids = (tm["cls"], tm["sep"], tm["pad"])
    served = meta["servedMaxTokens"]
    result = {"status": "running", "mode": "base" if a.base else "scratch", "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
              "torch": torch.__version__, "seconds": a.seconds, "stages": {}, "metrics": {}, "files": {}}

    def save_result():
        tmp = os.path.join(a.out, "result.json.tmp")
        json.dump(result, open(tmp, "w", encoding="utf-8"), indent=1)
        os.replace(tmp, os.path.join(a.out, "result.json"))

    try:
        log(f"device {result['device']}, torch {torch.__version__}, pack tokenizer {tm['type']} ({tm['vocabSize']} ids), budget {a.seconds:.0f}s")
        train, dev = Split(a.pack, "train", meta["idBytes"]), Split(a.pack, "dev", meta["idBytes"])
        log(f"data: train {len(train)} texts {len(train.ids)} tokens, dev {len(dev)} texts")
        names = meta["datasets"]
        sample = np.random.default_rng(1).choice(len(dev), size=min(2000, len(dev)), replace=False)
        eval_batch = 256 if device.type == "cuda" else 16
        # the served model is scored like the service does, over several windows per text (fewer in --tiny)
        eval_windows = 2 if a.tiny else 8

        def dev_check(model, seq, windows):
            def check():
                s = score(model, dev, seq, pad_ids, device, eval_batch, windows, limit=sample)
                vals = [auroc(dev.label[sample][dev.lang[sample] == c], s[sample][dev.lang[sample] == c]) for c in (0, 1)]
                vals = [v for v in vals if v is not None]
                return float(np.mean(vals)) if vals else 0.0
            return check

        train_steps = 0
        if a.base:
            cfg_sha = hashlib.sha256(open(os.path.join(a.base, "tokenizer.json"), "rb").read()).hexdigest()
            if cfg_sha != tm["sha256"]:
                raise SystemExit(f"the pack was tokenised with another tokenizer than {a.base}/tokenizer.json: rerun "
                                 f"npm run gpu:pack -- --tokenizer {a.base}")
            model, base_cfg, architecture = load_base(a.base)
            model.to(device)
            seq = a.seq or (32 if a.tiny else served)
            batch = a.batch or (8 if a.tiny else 128)
            lr = a.lr or (1e-3 if a.tiny else 3e-5)
            log(f"base {a.base}: {base_cfg['model_type']} {base_cfg['num_hidden_layers']} layers, {base_cfg['hidden_size']} hidden, "
                f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters; fine-tune seq {seq} batch {batch} lr {lr}")
            st = train_loop(log, "finetune", model, Batches(train, seq, batch, tm, 2), device, a.seconds, lr,
                            warmup=10 if a.tiny else 200, dev_check=dev_check(model, seq, eval_windows), periodic=not a.tiny)
            result["stages"]["finetune"] = st
            train_steps = st["steps"]
            shipped, ship_seq, ship_batch = model, seq, batch
        else:
            tiny = a.tiny
            layers = a.layers or (1 if tiny else 6)
            hidden = a.hidden or (32 if tiny else 512)
            seq = a.seq or (32 if tiny else 512)
            batch = a.batch or (8 if tiny else 256)
            lr = a.lr or 1e-3
            tcfg = Config(vocab_size=tm["vocabSize"], hidden=hidden, layers=layers, heads=max(1, hidden // 64), ffn=4 * hidden, max_pos=max(seq, 512))
            teacher = FastDetector(tcfg).to(device)
            t_sec = a.seconds * (1 - a.student_share)
            log(f"teacher: {layers} layers, {hidden} hidden, seq {seq}, batch {batch}, lr {lr}, "
                f"{sum(p.numel() for p in teacher.parameters()) / 1e6:.1f}M parameters, {t_sec:.0f}s")
            st = train_loop(log, "teacher", teacher, Batches(train, seq, batch, tm, 2), device, t_sec, lr,
                            warmup=20 if tiny else 300, dev_check=dev_check(teacher, seq, 1), periodic=not tiny)
            result["stages"]["teacher"] = {**st, "layers": layers, "hidden": hidden, "seq": seq, "batch": batch}
            t0 = time.time()
            result["metrics"]["teacher"] = metrics(dev, score(teacher, dev, seq, pad_ids, device, eval_batch, 1), names)
            result["stages"]["teacher_eval"] = {"seconds": round(time.time() - t0, 1)}
            log("teacher dev (first window of every text):", json.dumps({k: {x: v[x] for x in ("auroc", "tpr_at_1pct_fpr")} for k, v in result["metrics"]["teacher"].items()}))
            save_result()
            teacher.eval()

            # the student: the shipped architecture on the served window length, or the one it starts from
            ship_seq, ship_batch = (32 if tiny else served), (8 if tiny else 512)
            init = torch.load(a.student_init, map_location="cpu") if a.student_init else None
            if init is not None:
                scfg = Config(**init["config"])
                if scfg.vocab_size != tm["vocabSize"]:
                    raise SystemExit(f"--student-init {a.student_init} has {scfg.vocab_size} ids; the pack's tokenizer {tm['vocabSize']}")
                if (a.student_layers or scfg.layers, a.student_hidden or scfg.hidden) != (scfg.layers, scfg.hidden):
                    raise SystemExit(f"--student-init {a.student_init} is {scfg.layers} layers x {scfg.hidden}; drop it for another student size")
            else:
                s_hidden = a.student_hidden or (32 if tiny else 256)
                scfg = Config(vocab_size=tm["vocabSize"], hidden=s_hidden, layers=a.student_layers or (1 if tiny else 2),
                              heads=max(1, s_hidden // 64), ffn=4 * s_hidden)
            shipped = FastDetector(scfg)
            prior = {"steps": 0, "minutes": 0.0}
            if init is not None:
                shipped.load_state_dict({k: v.float() for k, v in init["model"].items()})
                prior = {"steps": init.get("prior", {}).get("steps", 0) + init.get("step", 0),
                         "minutes": init.get("prior", {}).get("minutes", 0.0) + init.get("elapsed", 0.0) / 60}
                log(f"student starts from {a.student_init} ({prior['steps']} steps, {prior['minutes']:.0f} min before)")
            shipped.to(device)
            s_sec = max(1.0, a.seconds * a.student_share - result["stages"]["teacher_eval"]["seconds"])
            log(f"student: {scfg.layers} layers, {scfg.hidden} hidden, seq {ship_seq}, batch {ship_batch}, distilled for {s_sec:.0f}s")
            st = train_loop(log, "student", shipped, Batches(train, ship_seq, ship_batch, tm, 3), device, s_sec,
                            lr * (0.5 if a.student_init else 1.0), warmup=20 if tiny else 200, teacher=teacher,
                            dev_check=dev_check(shipped, ship_seq, eval_windows), periodic=not tiny)
            result["stages"]["student"] = st
            train_steps = st["steps"]
            del teacher
            # saved before evaluation and export: if those fail here, export_onnx.py + quantize.py
            # turn this checkpoint into the shipped files on any machine
            c = shipped.c
            torch.save({"model": {k: v.detach().half().cpu() for k, v in shipped.state_dict().items()}, "step": train_steps,
                        "elapsed": st["seconds"], "history": [], "config": c.to_dict(), "args": {"seq": ship_seq, "batch": ship_batch},
                        "prior": prior}, os.path.join(a.out, "student.pt"))
            log("saved student.pt")

        t0 = time.time()
        result["metrics"]["shipped"] = metrics(dev, score(shipped, dev, ship_seq, pad_ids, device, eval_batch, eval_windows), names)
        result["stages"]["shipped_eval"] = {"seconds": round(time.time() - t0, 1)}
        log(f"shipped model dev (mean over up to {eval_windows} windows of {ship_seq} tokens):",
            json.dumps({k: {x: v[x] for x in ("auroc", "tpr_at_1pct_fpr")} for k, v in result["metrics"]["shipped"].items()}))
        save_result()

        # export: fp32 ONNX (kept off OUT), int8 next to the config and tokenizer
        t0 = time.time()
        work = os.path.join(a.out, "..", os.path.basename(os.path.normpath(a.out)) + "-work") if a.tiny else "/tmp/slopguard-gpu-export"
        os.makedirs(work, exist_ok=True)
        fp32 = os.path.join(work, "model.onnx")
        shipped = shipped.float().cpu().eval()
        if not a.base:
            # export through model.py's own module (plain attention): the graph, and its node names
            # that warm_start.py reads back, are those of every shipped model
            plain = Detector(shipped.c)
            plain.load_state_dict(shipped.state_dict())
            shipped = plain.eval()
        exporter = export_onnx(shipped, fp32, pad_ids, tm["vocabSize"])
        int8 = os.path.join(a.out, "model_quantized.onnx")
        quantize(fp32, int8, exporter)
        result["reference"] = reference_logits(shipped, int8, json.load(open(os.path.join(a.pack, "reference.json"), encoding="utf-8")), pad_ids[2])
        minutes = round(time.time() - T0) / 60
        if a.base:
            config = {**base_cfg, "architectures": [architecture], "num_labels": 2,
                      "id2label": {"0": "human", "1": "ai"}, "label2id": {"human": 0, "ai": 1},
                      "problem_type": "single_label_classification",
                      "slopguard": {"base": os.path.basename(os.path.normpath(a.base)), "pooling": "first-token head", "train_seq_len": ship_seq,
                                    "batch": ship_batch, "steps": train_steps, "train_minutes": round(a.seconds / 60, 1)}}
        else:
            c = shipped.c
            config = {"model_type": "bert", "architectures": ["BertForSequenceClassification"], "vocab_size": c.vocab_size,
                      "hidden_size": c.hidden, "num_hidden_layers": c.layers, "num_attention_heads": c.heads, "intermediate_size": c.ffn,
                      "max_position_embeddings": c.max_pos, "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
                      "pad_token_id": pad_ids[2], "id2label": {"0": "human", "1": "ai"}, "label2id": {"human": 0, "ai": 1},
                      "problem_type": "single_label_classification",
                      "slopguard": {"prenorm": True, "pooling": "mean", "train_seq_len": ship_seq, "batch": ship_batch,
                                    "steps": prior["steps"] + train_steps, "train_minutes": round(prior["minutes"] + a.seconds * a.student_share / 60, 1),
                                    "distilled_from": {k: result["stages"]["teacher"][k] for k in ("layers", "hidden", "seq", "batch", "steps", "seconds")},
                                    "gpu": result["device"]}}
        json.dump(config, open(os.path.join(a.out, "config.json"), "w", encoding="utf-8"), indent=1)
        shutil.copy(os.path.join(a.pack, "tokenizer.json"), os.path.join(a.out, "tokenizer.json"))
        tc = os.path.join(a.base or a.pack, "tokenizer_config.json")
        if os.path.exists(tc):
            shutil.copy(tc, os.path.join(a.out, "tokenizer_config.json"))
        result["stages"]["export"] = {"seconds": round(time.time() - t0, 1), "exporter": exporter}
        log(f"exported in {time.time() - t0:.1f}s; reference logits from {result['reference']['source']}; minutes so far {minutes:.1f}")

        for name in sorted(os.listdir(a.out)):
            p = os.path.join(a.out, name)
            if name in ("result.json", "train.log") or not os.path.isfile(p):
                continue
            size = os.path.getsize(p)
            if size > RETURN_LIMIT and not a.base:
                os.remove(p)  # would not come back anyway; the log says so
                log(f"dropped {name}: {size / MiB:.1f} MiB is over the 16 MiB return limit")
                continue
            result["files"][name] = {"bytes": size, "sha256": sha256(p)}
        result["status"] = "complete"
        result["wall_seconds"] = round(time.time() - T0, 1)
        save_result()
        log("done:", ", ".join(f"{k} {v['bytes'] / MiB:.2f} MiB" for k, v in result["files"].items()))

    except BaseException as e:  # what ran comes back: the log, the metrics so far, student.pt if saved
        result["status"], result["error"] = "failed", repr(e)
        save_result()
        log(f"FAILED: {e!r}")
        raise

if __name__ == "__main__":
    main()
