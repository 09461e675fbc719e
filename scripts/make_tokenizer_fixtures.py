#!/usr/bin/env python3
"""Writes the Tokenizer test fixtures (Tests/TokenizerTests/Fixtures) from the Hugging Face `tokenizers`
package: a small vocabulary, token-id goldens for hard texts and pairs (small vocabulary in several
settings, and the real all-MiniLM-L6-v2 tokenizer.json), a bulk golden over SciFact texts, and the
per-code-point classes of the basic tokenizer. Deterministic. Run via scripts/make-goldens.

Usage: make_tokenizer_fixtures.py OUT_DIR MINILM_DIR SHARED_DIR
"""
import json
import os
import random
import sys

from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.implementations import BertWordPieceTokenizer

HARD_TEXTS = [
    "Café naïve Ångström",
    "日本語のテキスト",
    "I ❤️ 🍕!!",
    "...?!--",
    "x" * 150,
    "y" * 100,
    "z" * 101,
    "",
    "   \t\n  ",
    "a\u0000b\u0001c\u007fd\ufffde\u001cf\u0085g",
    "line one\tcol\nline two\r\nend\u000bvt\u000cff",
    "English русский ελληνικά 中文 العربية हिन्दी",
    "3.14e-10 1,000,000 -42 +7 0.5%",
    "<p class=\"x\">Hello &amp; <b>world</b></p>",
    "Ο Σωκράτης ΣΟΦΌΣ Москва ЁЛКА",
    "e\u0301 a\u0308 n\u0303 o\u0323\u0302 A\u030a",
    "a\u00a0b c\u202fd",
    "👩\u200d💻 a\u200db \u200cx\u200ey\ufeffz",
    "hello [SEP] world [MASK] [cls] [UNK][CLS]x [PAD]",
    "İstanbul ǅ ǈ ﬁ straße ẞ ß Ⅻ ｆｕｌｌ",
    "a\u0345b \u0130 \u212a \u2126",
    "👍🏽 🇫🇷 ☺️ 😀😃",
    "한국어 텍스트",
    "ภาษาไทย",
    "مَرْحَبًا بالعالم",
    "Tiếng Việt có dấu",
    "x² + y² = z²; ∑ ∞ ≠ ≤ ≮ ½",
    "$5 €10 £3 ¥7 ₹9 ¢",
    "“smart” ‘quotes’ «guillemets» — dash – en ‒ figure",
    "https://example.com/a?b=c&d=e#f john.doe@example.org",
    "don't can't won't y'all rock'n'roll",
    "a\u2003b\u3000c\u2028d\u2029e\u1680f",
    "\ue000x\U000f0000y",
    "supercalifragilisticexpialidocious Pneumonoultramicroscopicsilicovolcanoconiosis",
    "covid19 h1n1 2nd 3rd CO2 SARS-CoV-2 IL-6",
    "ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝒮 ℌ ⅷ",
    "\u037e \u0387 \u1fef \u2260 \u226e \uf900 \u2f800 \U0002f800",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!",
    "(a) [b] {c} <d> |e| ~f~ ^g^ `h` _i_ @j #k $l %m &n *o +p =q \\r /s",
    "\u0600\u0601 \u06dd \u070f \u180e \u200b \u2060 \u2061 \u206a \ufff9",
    "ᄀ ᅡ ᆨ ᄒᆞᆫ",
    "Ǳ ǲ ǳ Ὰ ᾼ ῼ ΐ",
]

PAIRS = [
    ("What is the capital of France?", "Paris is the capital and most populous city of France."),
    ("", "Only the second text is here."),
    ("Only the first text.", ""),
    ("", ""),
    ("short", "a much longer passage " * 40),
    ("a long query " * 40, "short passage"),
    ("first long text " * 30, "second long text, longer " * 40),
    ("equal length words " * 20, "equal length words " * 20),
    ("one two three four five six seven eight nine ten", "eleven twelve thirteen fourteen fifteen sixteen seventeen"),
    ("Café naïve", "日本語のテキスト 🍕 " * 10),
]


def wordpiece_from_vocab(vocab_path, lowercase, strip_accents, chinese):
    return BertWordPieceTokenizer(vocab_path, clean_text=True, handle_chinese_chars=chinese,
                                  strip_accents=strip_accents, lowercase=lowercase)


def encode_all(tok, single_max, pair_maxes, texts=HARD_TEXTS, pairs=PAIRS):
    """tokens/ids without specials (no truncation), basic words, encode at single_max, pair encodings."""
    tok.no_padding()
    tok.no_truncation()
    out = {"tokens": [], "ids": [], "words": []}
    norm, pre = tok.normalizer, tok.pre_tokenizer
    for t in texts:
        e = tok.encode(t, add_special_tokens=False)
        out["tokens"].append(e.tokens)
        out["ids"].append(e.ids)
    tok.enable_truncation(max_length=single_max)
    out["single_max_length"] = single_max
    out["encode"] = [tok.encode(t).ids for t in texts]
    out["pair_encodings"] = []
    for m in pair_maxes:
        tok.enable_truncation(max_length=m, strategy="longest_first")
        for a, b in pairs:
            e = tok.encode(a, b)
            out["pair_encodings"].append({"pair": PAIRS.index((a, b)), "max_length": m, "ids": e.ids,
                                          "type_ids": e.type_ids, "special_tokens_mask": e.special_tokens_mask})
    tok.no_truncation()
    return out


SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def basic_words(norm, pre, text):
    """Words after BertNormalizer + BertPreTokenizer. Special tokens written in the text are split off
    first and kept verbatim, as the tokenizers package's added vocabulary does (leftmost match)."""
    words = []
    i = start = 0
    while i < len(text):
        hit = next((t for t in SPECIAL if text.startswith(t, i)), None)
        if hit:
            words += [w for w, _ in pre.pre_tokenize_str(norm.normalize_str(text[start:i]))] + [hit]
            i += len(hit)
            start = i
        else:
            i += 1
    return words + [w for w, _ in pre.pre_tokenize_str(norm.normalize_str(text[start:]))]


def scalar_classes(lowercase=True, strip=True):
    """For every code point c: the basic-tokenizer words of "a" + c + "b" under the uncased BERT normalizer.
    Classes as range lists: plain ["a c b"], split ["a", c, "b"], space ["a", "b"], removed ["ab"];
    mapped (code point -> x): ["a x b"]; mapped_split (code point -> x): ["a", x, "b"];
    explicit (code point -> words): anything else."""
    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=strip, lowercase=lowercase)
    pre = pre_tokenizers.BertPreTokenizer()
    classes = {"plain": [], "split": [], "space": [], "removed": []}
    explicit, mapped, mapped_split = {}, {}, {}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        if ch in "AB":  # lower-casing makes these look like "removed"/"plain" cases of their own
            explicit[str(c)] = basic_words(norm, pre, "a" + ch + "b")
            continue
        w = basic_words(norm, pre, "a" + ch + "b")
        if w == ["a" + ch + "b"]:
            k = "plain"
        elif w == ["a", ch, "b"]:
            k = "split"
        elif w == ["a", "b"]:
            k = "space"
        elif w == ["ab"]:
            k = "removed"
        elif len(w) == 1 and len(w[0]) >= 2 and w[0][0] == "a" and w[0][-1] == "b":
            mapped[str(c)] = w[0][1:-1]
            continue
        elif len(w) == 3 and w[0] == "a" and w[2] == "b":
            mapped_split[str(c)] = w[1]
            continue
        else:
            explicit[str(c)] = w
            continue
        r = classes[k]
        if r and r[-1][1] == c - 1:
            r[-1][1] = c
        else:
            r.append([c, c])
    return {"lowercase": lowercase, "strip_accents": strip, "ranges": classes, "mapped": mapped,
            "mapped_split": mapped_split, "explicit": explicit}


def small_vocab(real_vocab_path):
    """First 3,000 lines of the real uncased vocabulary (specials, [unused], single characters of many scripts,
    common words) plus every "##" single-character continuation of it."""
    with open(real_vocab_path, encoding="utf-8") as f:
        real = [line.rstrip("\n") for line in f]
    vocab = real[:3000]
    seen = set(vocab)
    for t in real[3000:]:
        if t.startswith("##") and len(t) == 3 and t not in seen:
            vocab.append(t)
            seen.add(t)
    return vocab


def write_json(path, obj, compact=False):
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main(out, minilm_dir, shared_dir):
    os.makedirs(os.path.join(out, "small-vocab"), exist_ok=True)
    real_vocab = os.path.join(minilm_dir, "vocab.txt")
    if not os.path.exists(real_vocab):
        sys.exit(f"make-goldens: {real_vocab} is missing (run scripts/setup)")
    vocab = small_vocab(real_vocab)
    vocab_path = os.path.join(out, "small-vocab", "vocab.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(out, "small-vocab", "tokenizer_config.json"), {
        "do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True, "model_max_length": 40,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})

    goldens = {"texts": HARD_TEXTS, "pairs": [list(p) for p in PAIRS], "configs": {}}
    settings = {
        "small-uncased": (True, None, True),
        "small-cased": (False, None, True),
        "small-uncased-keep-accents": (True, False, True),
        "small-cased-strip-accents": (False, True, True),
        "small-no-chinese": (True, None, False),
    }
    for name, (lower, strip, chinese) in settings.items():
        tok = wordpiece_from_vocab(vocab_path, lower, strip, chinese)
        g = {"vocab": "small-vocab/vocab.txt", "lowercase": lower, "strip_accents": strip, "tokenize_chinese_chars": chinese}
        g.update(encode_all(tok, 16, [8, 16, 17, 33]))
        g["words"] = [basic_words(tok.normalizer, tok.pre_tokenizer, t) for t in HARD_TEXTS]
        goldens["configs"][name] = g

    minilm_json = os.path.join(minilm_dir, "tokenizer.json")
    corpus = os.path.join(shared_dir, "data", "scifact", "corpus.jsonl")
    for needed in (minilm_json, corpus):
        if not os.path.exists(needed):
            sys.exit(f"make-goldens: {needed} is missing (STRATA_MODELS / STRATA_SHARED); the tokenizer goldens "
                     "would lose entries, so nothing more is written")
    tok = Tokenizer.from_file(minilm_json)
    g = {"model": "all-MiniLM-L6-v2"}
    g.update(encode_all(tok, 256, [16, 31, 128, 256]))
    g["words"] = [basic_words(tok.normalizer, tok.pre_tokenizer, t) for t in HARD_TEXTS]
    goldens["minilm"] = g
    # bulk golden: a seeded sample of SciFact corpus texts (title + " " + text), ids only
    with open(corpus, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    sample = random.Random(0).sample(docs, 200)
    tok.no_truncation()
    tok.no_padding()
    bulk = {"source": "data/scifact/corpus.jsonl", "text": "title + \" \" + text", "doc_ids": [], "ids": []}
    for d in sample:
        bulk["doc_ids"].append(d["_id"])
        bulk["ids"].append(tok.encode(d.get("title", "") + " " + d["text"], add_special_tokens=False).ids)
    write_json(os.path.join(out, "scifact_ids.json"), bulk, compact=True)
    write_json(os.path.join(out, "goldens.json"), goldens, compact=True)
    write_json(os.path.join(out, "scalar_classes.json"), scalar_classes(), compact=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
