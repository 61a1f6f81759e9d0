"""Builds the tiny GPT-2-style causal LM the zero-shot scorer's tests use (random weights,
2 layers, 64 hidden, the detector's 16k WordPiece vocabulary), in the layout transformers.js
loads (config.json model_type gpt2, tokenizer files, onnx/model_quantized.onnx int8), plus
reference per-token log-probabilities from PyTorch for one sentence (reference.json).

It says nothing about AI text: it only proves the zero-shot plumbing runs offline.

Usage: python3 training/make_tiny_gpt2.py TOKENIZER_DIR OUT_DIR [SEED]
"""
import json
import math
import os
import shutil
import subprocess
import sys

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, h, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(h)
        self.c_attn = nn.Linear(h, 3 * h)
        self.c_proj = nn.Linear(h, h)
        self.ln_2 = nn.LayerNorm(h)
        self.fc = nn.Linear(h, 4 * h)
        self.proj = nn.Linear(4 * h, h)

    def forward(self, x, bias):
        b, t, h = x.shape
        d = h // self.heads
        q, k, v = self.c_attn(self.ln_1(x)).view(b, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + bias, dim=-1)
        x = x + self.c_proj(torch.matmul(att, v).transpose(1, 2).reshape(b, t, h))
        return x + self.proj(nn.functional.gelu(self.fc(self.ln_2(x))))


class TinyGPT2(nn.Module):
    def __init__(self, vocab, h=64, layers=2, heads=2, max_pos=512):
        super().__init__()
        self.wte = nn.Embedding(vocab, h)
        self.wpe = nn.Embedding(max_pos, h)
        self.h = nn.ModuleList([Block(h, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(h)
        self.head = nn.Linear(h, vocab, bias=False)
        for p in self.parameters():
            if p.ndim == 2:
                nn.init.normal_(p, std=0.3)

    def forward(self, input_ids, attention_mask):
        t = input_ids.shape[1]
        x = self.wte(input_ids) + self.wpe(torch.arange(t).unsqueeze(0))
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        allowed = causal[None, None, :, :] & (attention_mask[:, None, None, :] > 0)
        bias = torch.where(allowed, torch.zeros(()), torch.full((), -10000.0))
        for blk in self.h:
            x = blk(x, bias)
        return self.head(self.ln_f(x))


def main():
    tok_dir, out = sys.argv[1:3]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    torch.manual_seed(seed)
    vocab = len(json.load(open(os.path.join(tok_dir, "tokenizer.json")))["model"]["vocab"])
    m = TinyGPT2(vocab).eval()
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    ids = torch.tensor([[2, 10, 20, 30, 3]])
    att = torch.ones_like(ids)
    fp32 = os.path.join(out, "onnx", "model.fp32.onnx")
    torch.onnx.export(m, (ids, att), fp32, opset_version=14, input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                                             "attention_mask": {0: "batch", 1: "sequence"},
                                                             "logits": {0: "batch", 1: "sequence"}})
    m.eval()
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "quantize.py"), fp32,
                    os.path.join(out, "onnx", "model_quantized.onnx")], check=True)
    os.remove(fp32)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, name), os.path.join(out, name))
    json.dump({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": vocab, "n_embd": 64,
               "n_layer": 2, "n_head": 2, "n_positions": 512, "bos_token_id": 2, "eos_token_id": 3,
               "use_cache": False, "slopguard": {"purpose": "test fixture, random weights", "seed": seed}},
              open(os.path.join(out, "config.json"), "w"), indent=1)
    with torch.no_grad():
        lp = torch.log_softmax(m(ids, att), -1)[0]
    ref = [float(lp[i, ids[0, i + 1]]) for i in range(ids.shape[1] - 1)]
    json.dump({"input_ids": ids[0].tolist(), "token_logprobs": ref}, open(os.path.join(out, "reference.json"), "w"))
    print("wrote", out, "reference", ref)


if __name__ == "__main__":
    main()
