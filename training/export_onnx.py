"""Export a training checkpoint to the Hugging Face layout transformers.js loads:
OUT/config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx (fp32, opset 14),
and check ONNX-vs-PyTorch numbers on a few inputs when onnxruntime is around (it is not on
this machine; the Node tests check the int8 model instead).

Usage: python3 training/export_onnx.py CKPT TOKENIZER_DIR OUT_DIR
"""
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from model import Config, Detector  # noqa: E402


class Wrapper(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.m(input_ids, attention_mask, token_type_ids)


def main():
    ckpt, tok_dir, out = sys.argv[1:4]
    ck = torch.load(ckpt, map_location="cpu")
    c = Config(**ck["config"])
    model = Detector(c)
    model.load_state_dict(ck["model"])
    model.eval()
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    w = Wrapper(model).eval()
    ids = torch.tensor([[2, 100, 200, 300, 3, 0], [2, 400, 500, 600, 700, 3]], dtype=torch.long)
    att = (ids != 0).long()
    att[0, 4] = 1
    typ = torch.zeros_like(ids)
    path = os.path.join(out, "onnx", "model.onnx")
    torch.onnx.export(w, (ids, att, typ), path, opset_version=14,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                    "attention_mask": {0: "batch", 1: "sequence"},
                                    "token_type_ids": {0: "batch", 1: "sequence"},
                                    "logits": {0: "batch"}},
                      do_constant_folding=True)
    w.eval()
    model.eval()
    with torch.no_grad():
        ref = model(ids, att, typ)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": att.tolist(), "logits": ref.tolist()}, f)
    prior = ck.get("prior", {"steps": 0, "minutes": 0.0})
    config = {
        "model_type": "bert",
        "architectures": ["BertForSequenceClassification"],
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden,
        "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads,
        "intermediate_size": c.ffn,
        "max_position_embeddings": c.max_pos,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "id2label": {"0": "human", "1": "ai"},
        "label2id": {"human": 0, "ai": 1},
        "problem_type": "single_label_classification",
        "slopguard": {"prenorm": True, "pooling": "mean", "train_seq_len": ck["args"]["seq"], "batch": ck["args"]["batch"],
                      # a warm-started run adds the training of the model it started from
                      "steps": prior["steps"] + ck["step"],
                      "train_minutes": round(prior["minutes"] + ck["elapsed"] / 60, 1)},
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, name), os.path.join(out, name))
    print(f"exported step {ck['step']} ({ck['elapsed'] / 60:.1f} min) to {path}; reference logits {ref.tolist()}")


if __name__ == "__main__":
    main()
