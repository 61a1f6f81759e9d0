"""L2 logistic regression on the n-gram TF-IDF matrices train-ngram.ts dumps (one language).

Reads <prefix>.{train,dev}.{ptr,idx,val,y}.bin (CSR: int64 row pointers, int32 columns,
float32 values, uint8 labels) and <prefix>.train.w.bin (float32 sample weights), fits scikit-learn's liblinear (primal trust-region Newton: on these
matrices 15-25 s per fit where the dual solver took minutes at C >= 8) for each C of --cs, and keeps the C with the best dev AUROC.
Writes <prefix>.weights.bin (float32, 2^bits) and <prefix>.fit.json (bias, C, dev AUROC per C,
dev logits for the TypeScript side to check that it reproduces them).

Usage: /usr/bin/python3 training/fit_lr.py PREFIX --bits 20 [--cs 2,4,8]
"""
import argparse
import json
import time

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


def load(prefix, split, size):
    ptr = np.fromfile(f"{prefix}.{split}.ptr.bin", dtype=np.int64)
    idx = np.fromfile(f"{prefix}.{split}.idx.bin", dtype=np.int32)
    val = np.fromfile(f"{prefix}.{split}.val.bin", dtype=np.float32)
    y = np.fromfile(f"{prefix}.{split}.y.bin", dtype=np.uint8)
    return csr_matrix((val, idx, ptr), shape=(len(y), size), dtype=np.float64), y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--bits", type=int, default=20)
    ap.add_argument("--cs", default="2,4,8")
    a = ap.parse_args()
    size = 1 << a.bits
    xtr, ytr = load(a.prefix, "train", size)
    xdv, ydv = load(a.prefix, "dev", size)
    w = np.fromfile(f"{a.prefix}.train.w.bin", dtype=np.float32).astype(np.float64)
    print(f"train {xtr.shape[0]} texts, {xtr.nnz} nonzeros; dev {xdv.shape[0]}", flush=True)
    best = None
    tried = {}
    for c in [float(x) for x in a.cs.split(",")]:
        t0 = time.time()
        # intercept_scaling: liblinear regularises the intercept as a feature; a large constant
        # column keeps that penalty negligible
        m = LogisticRegression(C=c, solver="liblinear", dual=False, max_iter=500, tol=1e-4, intercept_scaling=10.0)
        m.fit(xtr, ytr, sample_weight=w)
        z = xdv @ m.coef_[0] + m.intercept_[0]
        auc = roc_auc_score(ydv, z)
        tried[str(c)] = round(float(auc), 5)
        print(f"C={c}: dev AUROC {auc:.4f} ({time.time() - t0:.0f} s)", flush=True)
        if best is None or auc > best[0]:
            best = (auc, c, m.coef_[0].astype(np.float32), float(m.intercept_[0]), z)
    auc, c, w, b, z = best
    w.tofile(f"{a.prefix}.weights.bin")
    with open(f"{a.prefix}.fit.json", "w") as f:
        json.dump({"C": c, "bias": b, "devAuroc": float(auc), "tried": tried, "devLogits": [round(float(v), 6) for v in z]}, f)


if __name__ == "__main__":
    main()
