"""A small pre-LayerNorm BERT-style encoder with mean pooling, for AI-vs-human classification.

Pre-LN blocks and mean pooling over non-pad tokens train far faster from scratch on a CPU
than the post-LN / CLS-pooler original (../shared/docs/MODEL.md). The ONNX graph exported
from this module takes BERT's inputs (input_ids, attention_mask, token_type_ids) and returns
`logits` [batch, 2] (0 human, 1 ai), which is what transformers.js'
BertForSequenceClassification expects.
"""
import math

import torch
from torch import nn


class Config:
    def __init__(self, vocab_size=16000, hidden=256, layers=4, heads=4, ffn=1024, max_pos=512,
                 dropout=0.1, num_labels=2):
        self.vocab_size, self.hidden, self.layers, self.heads = vocab_size, hidden, layers, heads
        self.ffn, self.max_pos, self.dropout, self.num_labels = ffn, max_pos, dropout, num_labels

    def to_dict(self):
        return dict(self.__dict__)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c.heads
        self.ln1 = nn.LayerNorm(c.hidden, eps=1e-12)
        self.qkv = nn.Linear(c.hidden, 3 * c.hidden)
        self.out = nn.Linear(c.hidden, c.hidden)
        self.ln2 = nn.LayerNorm(c.hidden, eps=1e-12)
        self.fc1 = nn.Linear(c.hidden, c.ffn)
        self.fc2 = nn.Linear(c.ffn, c.hidden)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, bias):
        b, t, h = x.shape
        d = h // self.heads
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + bias
        att = self.drop(torch.softmax(att, dim=-1))
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, h)
        x = x + self.drop(self.out(y))
        x = x + self.drop(self.fc2(nn.functional.gelu(self.fc1(self.ln2(x)))))
        return x


class Detector(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c.vocab_size, c.hidden)
        self.pos = nn.Embedding(c.max_pos, c.hidden)
        self.typ = nn.Embedding(2, c.hidden)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.layers)])
        self.ln = nn.LayerNorm(c.hidden, eps=1e-12)
        self.cls = nn.Linear(c.hidden, c.num_labels)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def encode(self, input_ids, attention_mask, token_type_ids=None):
        t = input_ids.shape[1]
        pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
        x = self.tok(input_ids) + self.pos(pos)
        if token_type_ids is not None:
            x = x + self.typ(token_type_ids)
        else:
            x = x + self.typ.weight[0]
        x = self.drop(x)
        mask = attention_mask.to(x.dtype)
        bias = ((1.0 - mask) * -10000.0)[:, None, None, :]
        for blk in self.blocks:
            x = blk(x, bias)
        x = self.ln(x)
        return x, mask

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        x, mask = self.encode(input_ids, attention_mask, token_type_ids)
        pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
        return self.cls(self.drop(pooled))
