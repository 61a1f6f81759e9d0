"""Build the WordPiece vocabulary and the Hugging Face tokenizer files from the normalised
training texts (training/work/train.jsonl, written by scripts/prepare-data.ts).

Chinese: one token per Han character (BertNormalizer handle_chinese_chars). English: whole
frequent words plus frequent word-initial pieces and "##" continuation pieces, so WordPiece's
greedy longest-match splits rare words into a few pieces instead of [UNK].

The Python pre-tokeniser here only decides which pieces enter the vocabulary; the ids the
model trains on are produced by transformers.js itself (scripts/tokenize-data.ts), so training
and serving tokenise identically by construction.

Usage: python3 training/build_vocab.py OUT_DIR [--size 16000]
"""
import collections
import json
import os
import sys
import unicodedata

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def pretokenize(text):
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    out, cur = [], []
    for ch in text:
        if ch.isspace() or is_cjk(ord(ch)) or is_punct(ch) or unicodedata.category(ch) in ("Cc", "Cf"):
            if cur:
                out.append("".join(cur))
                cur = []
            if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf"):
                out.append(ch)
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def main():
    out_dir = sys.argv[1]
    size = int(sys.argv[sys.argv.index("--size") + 1]) if "--size" in sys.argv else 16000
    words = collections.Counter()
    with open("training/work/train.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            words.update(pretokenize(r["text"][:20000]))
    singles = collections.Counter()
    conts = collections.Counter()
    for w, n in words.items():
        if len(w) == 1:
            singles[w] += n
        else:
            singles[w[0]] += n
            for ch in w[1:]:
                conts["##" + ch] += n
    vocab = list(SPECIALS)
    seen = set(vocab)

    def add(tok):
        if tok not in seen:
            seen.add(tok)
            vocab.append(tok)

    for ch, n in singles.most_common():
        if n >= 3:
            add(ch)
    for c, n in conts.most_common():
        if n >= 3:
            add(c)
    budget_words = int((size - len(vocab)) * 0.75)
    multi = [(w, n) for w, n in words.most_common() if len(w) > 1 and len(w) <= 30]
    for w, n in multi[:budget_words]:
        if n < 5:
            break
        add(w)
    # pieces for the words that are not in the vocabulary: frequent prefixes and suffixes
    pieces = collections.Counter()
    for w, n in multi[budget_words:]:
        for k in range(2, min(7, len(w))):
            pieces[w[:k]] += n
            pieces["##" + w[-k:]] += n
    for p, n in pieces.most_common():
        if len(vocab) >= size:
            break
        add(p)
    os.makedirs(out_dir, exist_ok=True)
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in enumerate(SPECIALS)
        ],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]} for i, t in enumerate(SPECIALS) if t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(vocab)}},
    }
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "model_max_length": 512, "do_lower_case": True,
                   "tokenize_chinese_chars": True, "strip_accents": None, "unk_token": "[UNK]",
                   "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"},
                  f, ensure_ascii=False, indent=1)
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    cjk = sum(1 for t in vocab if len(t) == 1 and is_cjk(ord(t)))
    print(f"vocab {len(vocab)} tokens ({cjk} Han characters)", file=sys.stderr)


if __name__ == "__main__":
    main()
