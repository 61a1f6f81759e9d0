"""Tiny RANDOM pretrained-looking checkpoints in the Hugging Face layout, for the tests of
`run.py --base`: one BERT (WordPiece tokenizer, pytorch_model.bin with a `bert.` prefix and
MLM-head weights that the loader must skip) and one XLM-RoBERTa (Unigram tokenizer with a
Metaspace pre-tokenizer, model.safetensors with a `roberta.` prefix). The tokenizer.json files
are written by hand; the vocabulary is the characters (and frequent words) of a text file.

Usage: python3 training/gpu/make_tiny_base.py bert|xlm-roberta OUT_DIR CORPUS.jsonl
"""
import collections
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoders import HFEncoder, hf_state_dict, write_safetensors  # noqa: E402


def corpus_units(path):
    chars, words = collections.Counter(), collections.Counter()
    for line in open(path, encoding="utf-8"):
        text = json.loads(line)["text"]
        chars.update(ch for ch in text.lower() if not ch.isspace())
        words.update(w for w in text.lower().split() if w.isalpha() and len(w) > 1)
    return [c for c, _ in chars.most_common()], [w for w, n in words.most_common(200) if n >= 2]


def wordpiece(chars, words):
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + chars + ["##" + c for c in chars if c.isalnum() and ord(c) < 0x3000] + [w for w in words if w not in chars]
    vocab = list(dict.fromkeys(vocab))
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
                         for i, t in enumerate(specials)],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                           "special_tokens": {t: {"id": t, "ids": [specials.index(t)], "tokens": [t]} for t in ("[CLS]", "[SEP]")}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": {t: i for i, t in enumerate(vocab)}},
    }
    cfg = {"tokenizer_class": "BertTokenizer", "model_max_length": 512, "do_lower_case": True, "unk_token": "[UNK]",
           "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    return tok, cfg, len(vocab), 0


def unigram(chars, words):
    # XLM-R's order: <s> <pad> </s> <unk>, pieces, <mask> last
    pieces = [("▁", -2.0)] + [("▁" + w, -3.0 - 0.1 * i) for i, w in enumerate(words)] + [(c, -5.0 - 0.001 * i) for i, c in enumerate(chars)]
    pieces += [("▁" + c, -6.0) for c in chars if c.isalpha() and ord(c) < 0x3000]
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]] + [list(p) for p in dict(pieces).items()] + [["<mask>", 0.0]]
    specials = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": len(vocab) - 1}
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False, "normalized": False, "special": True}
                         for t, i in specials.items()],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "special_tokens": {t: {"id": t, "ids": [specials[t]], "tokens": [t]} for t in ("<s>", "</s>")}},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False},
    }
    cfg = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>",
           "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"}
    return tok, cfg, len(vocab), 1


def main():
    family, out, corpus = sys.argv[1:4]
    chars, words = corpus_units(corpus)
    tok, tok_cfg, vocab, pad = (wordpiece if family == "bert" else unigram)(chars, words)
    cfg = {"model_type": family, "architectures": ["BertForMaskedLM" if family == "bert" else "XLMRobertaForMaskedLM"],
           "vocab_size": vocab, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
           "hidden_act": "gelu", "max_position_embeddings": 130 if family == "bert" else 132,
           "type_vocab_size": 2 if family == "bert" else 1, "layer_norm_eps": 1e-12 if family == "bert" else 1e-5,
           "pad_token_id": pad, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
    torch.manual_seed(7 if family == "bert" else 11)
    m = HFEncoder(cfg)
    for p in m.parameters():  # "pretrained" = random here, at BERT's init scale
        if p.ndim >= 2:
            torch.nn.init.normal_(p, std=0.02)
    os.makedirs(out, exist_ok=True)
    if family == "bert":
        sd = hf_state_dict(m, "bert.")
        sd["cls.predictions.bias"] = torch.zeros(vocab)  # an MLM head the loader must ignore
        torch.save(sd, os.path.join(out, "pytorch_model.bin"))
    else:
        write_safetensors(os.path.join(out, "model.safetensors"), {k: v for k, v in hf_state_dict(m, "roberta.").items() if "pooler" not in k})
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=1)
    json.dump(tok, open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    json.dump(tok_cfg, open(os.path.join(out, "tokenizer_config.json"), "w"), indent=1)
    print(f"{family}: {vocab} ids -> {out}")


if __name__ == "__main__":
    main()
