"""Rebuild a training checkpoint from the shipped int8 model, so a new machine (whose
training/work/ckpt.pt is gone: only int8 weights are committed) continues training instead
of starting from scratch. Dequantises every int8 table and MatMul weight written by
training/quantize.py back to fp32, maps the ONNX names onto training/model.py's parameters,
and checks the result against the shipped reference logits.

The checkpoint has no optimiser state; train.py starts a fresh AdamW and a new warmup and
cosine schedule over its --minutes. The earlier steps and minutes are kept as `prior`, so
the exported config reports the model's whole training.

Usage: /usr/bin/python3 training/warm_start.py MODEL_DIR CKPT_OUT
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from model import Config, Detector  # noqa: E402


def main():
    model_dir, out = sys.argv[1:3]
    hf = json.load(open(os.path.join(model_dir, "config.json"), encoding="utf-8"))
    cfg = Config(vocab_size=hf["vocab_size"], hidden=hf["hidden_size"], layers=hf["num_hidden_layers"],
                 heads=hf["num_attention_heads"], ffn=hf["intermediate_size"], max_pos=hf["max_position_embeddings"])
    g = onnx.load(os.path.join(model_dir, "onnx", "model_quantized.onnx")).graph
    t = {i.name: numpy_helper.to_array(i) for i in g.initializer}

    state = {}
    for name in ("tok", "pos"):  # per-row int8 tables
        base = f"/m/{name}/Gather_output_0_q_T"
        state[f"{name}.weight"] = t[base].astype(np.float32) * t[base + "s"][:, None]
    for i in range(cfg.layers):
        for lin in ("qkv", "out", "fc1", "fc2"):  # per-column int8 MatMul weights [in, out]
            base = f"/m/blocks.{i}/{lin}/MatMul_output_0_q_W"
            state[f"blocks.{i}.{lin}.weight"] = (t[base].astype(np.float32) * t[base + "s"][None, :]).T
    for name, value in t.items():
        if name.startswith("m."):  # fp32 parameters kept by name
            state[name[2:]] = value

    model = Detector(cfg)
    missing = set(model.state_dict()) - set(state)
    if missing:
        raise SystemExit(f"no weights for {sorted(missing)}")
    model.load_state_dict({k: torch.tensor(np.ascontiguousarray(v), dtype=torch.float32) for k, v in state.items()})
    model.eval()

    ref = json.load(open(os.path.join(model_dir, "reference.json"), encoding="utf-8"))
    with torch.no_grad():
        ids = torch.tensor(ref["input_ids"])
        logits = model(ids, torch.tensor(ref["attention_mask"]), torch.zeros_like(ids))
    gap = float((logits - torch.tensor(ref["logits"])).abs().max())
    print(f"dequantised logits vs fp32 reference: max abs gap {gap:.4f}")
    if gap > 0.25:
        raise SystemExit("dequantised model does not reproduce the reference logits")

    prior = hf.get("slopguard", {})
    torch.save({"model": model.state_dict(), "step": 0, "elapsed": 0.0, "history": [], "config": cfg.to_dict(),
                "prior": {"steps": prior.get("steps", 0), "minutes": prior.get("train_minutes", 0.0)}}, out)
    print(f"wrote {out} (prior: {prior.get('steps', 0)} steps, {prior.get('train_minutes', 0.0)} min)")


if __name__ == "__main__":
    main()
