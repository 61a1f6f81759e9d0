"""Encoders for the GPU kit, valid on torch 1.13 (CPU, here) and 2.x (CUDA, the lent machine).

- `FastDetector`: training/model.py's pre-LN encoder with the same parameter names (a state
  dict moves between them), attention through `scaled_dot_product_attention` when torch has it
  (flash / memory-efficient kernels on a GPU). The large teacher trained from scratch.
- `HFEncoder`: a post-LN BERT / RoBERTa / XLM-R encoder whose weights come from a checkpoint in
  the Hugging Face layout (config.json + pytorch_model.bin or model.safetensors), read without
  the `transformers` package, with a classification head on the first token (RoBERTa's head:
  dense, tanh, projection). Its ONNX export takes BERT's three inputs, as transformers.js feeds
  every encoder family (it fills token_type_ids with zeros when the tokenizer gives none).
"""
import inspect
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from model import Block, Detector  # noqa: E402

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


def attention(q, k, v, bias, p, training):
    if HAS_SDPA:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), dropout_p=p if training else 0.0)
    att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + bias
    att = F.dropout(torch.softmax(att, dim=-1), p, training)
    return torch.matmul(att, v)


class FastBlock(Block):
    def forward(self, x, bias):
        b, t, h = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        y = attention(q, k, v, bias, self.drop.p, self.training).transpose(1, 2).reshape(b, t, h)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))


class FastDetector(Detector):
    def __init__(self, c):
        super().__init__(c)
        self.blocks = nn.ModuleList([FastBlock(c) for _ in range(c.layers)])
        self.apply(self._init)


# --- Hugging Face layout -------------------------------------------------------------------

FAMILIES = {"bert": "bert", "roberta": "roberta", "xlm-roberta": "roberta", "camembert": "roberta"}
ARCHITECTURES = {"bert": "BertForSequenceClassification", "roberta": "RobertaForSequenceClassification",
                 "xlm-roberta": "XLMRobertaForSequenceClassification", "camembert": "CamembertForSequenceClassification"}


class HFEncoder(nn.Module):
    def __init__(self, cfg, dropout=0.1):
        super().__init__()
        mt = cfg.get("model_type")
        if mt not in FAMILIES:
            raise ValueError(f"model_type {mt!r} is not one this loader knows ({', '.join(FAMILIES)})")
        self.family = FAMILIES[mt]
        h, self.heads = cfg["hidden_size"], cfg["num_attention_heads"]
        eps = cfg.get("layer_norm_eps", 1e-12)
        self.pad = cfg.get("pad_token_id", 0 if self.family == "bert" else 1)
        act = cfg.get("hidden_act", "gelu")
        if act not in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(f"hidden_act {act!r} not supported")
        self.gelu_tanh = act != "gelu"
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], h)
        self.typ = nn.Embedding(max(1, cfg.get("type_vocab_size", 2)), h)
        self.eln = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList()
        for _ in range(cfg["num_hidden_layers"]):
            layer = nn.Module()
            layer.q, layer.k, layer.v, layer.ao = (nn.Linear(h, h) for _ in range(4))
            layer.aln = nn.LayerNorm(h, eps=eps)
            layer.i = nn.Linear(h, cfg["intermediate_size"])
            layer.o = nn.Linear(cfg["intermediate_size"], h)
            layer.oln = nn.LayerNorm(h, eps=eps)
            self.layers.append(layer)
        self.dense = nn.Linear(h, h)
        self.cls = nn.Linear(h, 2)
        self.drop = nn.Dropout(dropout)
        for m in (self.dense, self.cls):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        b, t = input_ids.shape
        if self.family == "roberta":
            # RoBERTa numbers positions after the padding index, counting real tokens only
            real = (input_ids != self.pad).long()
            pos = torch.cumsum(real, dim=1) * real + self.pad
        else:
            pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.drop(self.eln(self.word(input_ids) + self.pos(pos) + self.typ(token_type_ids)))
        bias = ((1.0 - attention_mask.to(x.dtype)) * -10000.0)[:, None, None, :]
        d = x.shape[-1] // self.heads
        for L in self.layers:
            split = lambda y: y.view(b, t, self.heads, d).transpose(1, 2)  # noqa: E731
            y = attention(split(L.q(x)), split(L.k(x)), split(L.v(x)), bias, self.drop.p, self.training)
            x = L.aln(x + self.drop(L.ao(y.transpose(1, 2).reshape(b, t, -1))))
            y = L.o(F.gelu(L.i(x), approximate="tanh") if self.gelu_tanh else F.gelu(L.i(x)))
            x = L.oln(x + self.drop(y))
        z = torch.tanh(self.dense(self.drop(x[:, 0])))
        return self.cls(self.drop(z))


def _hf_names(n_layers):
    """Our parameter name -> the Hugging Face name (without the model prefix)."""
    m = {"word.weight": "embeddings.word_embeddings.weight", "pos.weight": "embeddings.position_embeddings.weight",
         "typ.weight": "embeddings.token_type_embeddings.weight",
         "eln.weight": "embeddings.LayerNorm.weight", "eln.bias": "embeddings.LayerNorm.bias"}
    parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "i": "intermediate.dense", "o": "output.dense", "oln": "output.LayerNorm"}
    for i in range(n_layers):
        for ours, theirs in parts.items():
            for w in ("weight", "bias"):
                m[f"layers.{i}.{ours}.{w}"] = f"encoder.layer.{i}.{theirs}.{w}"
    return m


SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64}


def read_safetensors(path):
    """safetensors: 8-byte little-endian header length, a JSON header, then raw tensor bytes."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if spec["dtype"] not in SAFETENSORS_DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {spec['dtype']}, not a float type this loader reads")
        a, b = spec["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=SAFETENSORS_DTYPES[spec["dtype"]])
        if spec["dtype"] == "BF16":  # bfloat16 is the top half of a float32
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(arr.astype(np.float32).reshape(spec["shape"]))
    return out


def read_checkpoint(base):
    st = os.path.join(base, "model.safetensors")
    if os.path.exists(st):
        return read_safetensors(st)
    pt = os.path.join(base, "pytorch_model.bin")
    if os.path.exists(pt):
        return {k: v.float() for k, v in torch.load(pt, map_location="cpu").items() if torch.is_tensor(v)}
    raise FileNotFoundError(f"{base} has neither model.safetensors nor pytorch_model.bin")


def load_hf_encoder(base, dropout=0.1):
    """Builds an HFEncoder from a Hugging Face checkpoint folder; returns (model, config dict)."""
    cfg = json.load(open(os.path.join(base, "config.json"), encoding="utf-8"))
    model = HFEncoder(cfg, dropout)
    sd = read_checkpoint(base)
    # old BERT checkpoints name LayerNorm parameters gamma/beta
    sd = {k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): v for k, v in sd.items()}
    anchor = [k for k in sd if k.endswith("embeddings.word_embeddings.weight")]
    if len(anchor) != 1:
        raise ValueError(f"{base}: cannot find the encoder's word embeddings in the checkpoint")
    prefix = anchor[0][: -len("embeddings.word_embeddings.weight")]
    names = _hf_names(cfg["num_hidden_layers"])
    state, missing = {}, []
    for ours, theirs in names.items():
        if prefix + theirs in sd:
            state[ours] = sd[prefix + theirs]
        elif ours == "typ.weight":  # some RoBERTa exports drop the one-row type table
            state[ours] = torch.zeros_like(model.typ.weight)
        else:
            missing.append(prefix + theirs)
    if missing:
        raise ValueError(f"{base}: checkpoint lacks {missing[:5]}{' …' if len(missing) > 5 else ''}")
    # BERT's pretrained pooler is a good start for the head's dense layer
    if prefix + "pooler.dense.weight" in sd:
        state["dense.weight"], state["dense.bias"] = sd[prefix + "pooler.dense.weight"], sd[prefix + "pooler.dense.bias"]
    own = model.state_dict()
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(f"{base}: {k} has shape {tuple(v.shape)}, config says {tuple(own[k].shape)}")
    model.load_state_dict(state, strict=False)
    return model, cfg


class TransformersClassifier(nn.Module):
    """A `transformers` sequence classifier behind the kit's call convention (ids, mask, types) ->
    logits, for encoder families the own loader does not read (DeBERTa, ELECTRA, DistilBERT…)."""

    def __init__(self, m):
        super().__init__()
        self.m = m
        self.takes_types = "token_type_ids" in inspect.signature(m.forward).parameters
        self.architecture = type(m).__name__

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kw = {"token_type_ids": token_type_ids} if self.takes_types and token_type_ids is not None else {}
        return self.m(input_ids=input_ids, attention_mask=attention_mask, **kw).logits


def load_base(base, dropout=0.1):
    """(model, config dict, architecture name) for a Hugging Face checkpoint folder: the own
    loader for BERT / RoBERTa / XLM-R (the same code here and on the GPU machine), `transformers`
    for other encoder families when it is importable (the GPU machine has it; not tested here)."""
    cfg = json.load(open(os.path.join(base, "config.json"), encoding="utf-8"))
    if cfg.get("model_type") in FAMILIES:
        model, cfg = load_hf_encoder(base, dropout)
        return model, cfg, ARCHITECTURES[cfg["model_type"]]
    try:
        from transformers import AutoModelForSequenceClassification
    except ImportError:
        raise ValueError(f"model_type {cfg.get('model_type')!r}: this loader reads {', '.join(FAMILIES)}; "
                         "other families need the transformers package") from None
    m = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2, attn_implementation="eager",
                                                           ignore_mismatched_sizes=True)
    wrapped = TransformersClassifier(m)
    return wrapped, cfg, wrapped.architecture


def hf_state_dict(model, prefix):
    """The inverse mapping (our names -> Hugging Face names): used by the tests' tiny checkpoints."""
    names = _hf_names(len(model.layers))
    sd = model.state_dict()
    out = {prefix + theirs: sd[ours] for ours, theirs in names.items()}
    out[prefix + "pooler.dense.weight"], out[prefix + "pooler.dense.bias"] = sd["dense.weight"], sd["dense.bias"]
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().float().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))
