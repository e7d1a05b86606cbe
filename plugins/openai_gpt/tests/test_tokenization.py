"""OpenAIGPTTokenizer against transformers 5.x's OpenAIGPTTokenizer (the oracle): the same
ids, tokens, word ids and decoded text on a varied corpus, from vocab.json + merges.txt
and from tokenizer.json, both ways.

The vocabulary is a GPT BPE trained here with `tokenizers` (lower-cased BERT-style words,
"</w>" on each word's last symbol, a few hundred merges; deterministic).
"""

from __future__ import annotations

import json
import os

import pytest
from plugformers import AutoTokenizer
from plugformers.testing.tokenization import assert_same_encoding, same_outcome
from plugformers_openai_gpt.tokenization import OpenAIGPTTokenizer
from tokenizers import Tokenizer, normalizers, pre_tokenizers, trainers
from tokenizers.models import BPE

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()
pytestmark = pytest.mark.oracle

TRAINING = [
    "It is a truth universally acknowledged, that a single man in possession of a good fortune must be in want of a wife.",
    "Call me Ishmael. Some years ago, never mind how long precisely, I thought I would sail about a little.",
    "The models were trained on books: lower-cased words, split at every punctuation mark!",
    "Don't panic; it's only 42 -- or 3.14, or 1,000 -- and that's fine (really).",
    "Résumé, naïve, café, Zürich, Ångström, señor: accents are stripped before merging.",
    "Newer, wider, lower, lowest, newest, widest: the merges learn common endings.",
] * 3

CORPUS = [
    "Hello world!",
    "HELLO World, hello WORLD.",
    "The single man, in possession of a good fortune.",
    "don't won't it's I'm they're",
    "Résumé naïve CAFÉ Zürich ångström",
    "e\u0301 combining accent, a\u0308 too",
    "東京 and 北京 are spaced out as CJK characters",
    "emoji 😀 and symbols ☃ ✓ become <unk>",
    "numbers: 3.14159, 1,000,000 and 42nd",
    "punctuation!!! ?? ... --- (((brackets))) [x] {y}",
    "tab\tand\nnewline\r\nand  many   spaces",
    "nbsp\u00a0ideographic\u3000zero\u200bwidth",
    "control\x00chars\x07here\x7f",
    "supercalifragilisticexpialidocious" * 2,
    "wider lower newest widest newer",
    "Ελληνικά и русский текст",
    "",
    "   ",
    "<unk> as text",
]
PAIRS = list(zip(CORPUS, reversed(CORPUS), strict=True))


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory) -> str:
    """vocab.json + merges.txt only: "<unk>" first, the alphabet, then the merges."""
    backend = Tokenizer(BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>"], end_of_word_suffix="</w>",
                                  show_progress=False)
    backend.train_from_iterator(TRAINING, trainer)
    folder = tmp_path_factory.mktemp("openai-gpt-vocab")
    backend.model.save(str(folder))
    merges = open(folder / "merges.txt", encoding="utf-8").read().splitlines()
    assert merges[0].startswith("#version") and len(merges) > 200
    assert any(line.endswith("</w>") for line in merges[1:])
    return str(folder)


@pytest.fixture(scope="module")
def pair(vocab_dir):
    return OpenAIGPTTokenizer.from_pretrained(vocab_dir), transformers.OpenAIGPTTokenizer.from_pretrained(vocab_dir)


def test_ids_tokens_and_decoding_match_transformers(pair):
    ours, theirs = pair
    for text in CORPUS:
        assert_same_encoding(ours(text), theirs(text))
        assert ours.tokenize(text) == theirs.tokenize(text), text
        ids = ours.encode(text)
        assert ours.decode(ids) == theirs.decode(ids), text
    unknown = ours.tokenize("😀")
    assert unknown == ["<unk>"] and ours.convert_tokens_to_ids(unknown) == [ours.unk_token_id] == [0]
    assert ours.do_lower_case and ours.tokenize("LOWER") == ours.tokenize("lower")


def test_batches_pairs_padding_and_truncation_match_transformers(pair):
    ours, theirs = pair
    ours.pad_token = theirs.pad_token = "<unk>"
    try:
        same_outcome(ours, theirs, CORPUS, padding=True, return_tensors="pt")
        same_outcome(ours, theirs, [a for a, _ in PAIRS], [b for _, b in PAIRS], padding="max_length",
                     truncation=True, max_length=12, return_token_type_ids=True)
        same_outcome(ours, theirs, CORPUS[:4], truncation=True, max_length=3, return_offsets_mapping=True)
    finally:
        ours.pad_token = theirs.pad_token = None


def test_tokenizer_json_moves_both_ways(pair, tmp_path):
    """Ours saved (tokenizer.json and the vocab files) loads in transformers, and the
    folder transformers saves (tokenizer.json only) loads here, with the same ids."""
    ours, theirs = pair
    ours.save_pretrained(tmp_path / "ours")
    assert {"tokenizer.json", "vocab.json", "merges.txt"} <= set(os.listdir(tmp_path / "ours"))
    theirs.save_pretrained(tmp_path / "theirs")
    from_ours = transformers.AutoTokenizer.from_pretrained(tmp_path / "ours")
    from_theirs = AutoTokenizer.from_pretrained(tmp_path / "theirs")
    assert isinstance(from_theirs, OpenAIGPTTokenizer)
    vocab_only = tmp_path / "vocab-only"
    vocab_only.mkdir()
    for name in ("vocab.json", "merges.txt"):
        (vocab_only / name).write_bytes((tmp_path / "ours" / name).read_bytes())
    again = OpenAIGPTTokenizer.from_pretrained(vocab_only)
    for text in CORPUS:
        want = theirs(text)
        for tokenizer in (from_ours, from_theirs, again):
            assert_same_encoding(tokenizer(text), want)


def test_vocabulary_without_unk_behaves_as_in_transformers(vocab_dir, tmp_path):
    vocab = json.loads(open(os.path.join(vocab_dir, "vocab.json"), encoding="utf-8").read())
    del vocab["<unk>"]
    vocab = {token: index for index, token in enumerate(sorted(vocab, key=vocab.get))}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "merges.txt").write_bytes(open(os.path.join(vocab_dir, "merges.txt"), "rb").read())
    ours, theirs = OpenAIGPTTokenizer.from_pretrained(tmp_path), transformers.OpenAIGPTTokenizer.from_pretrained(tmp_path)
    assert ours.unk_token_id == theirs.unk_token_id == len(vocab)
    for text in CORPUS:  # a symbol outside the vocabulary: both fail, as the BPE model has no "<unk>"
        same_outcome(ours, theirs, text)


def test_bad_vocabulary_files_fail_clearly(tmp_path):
    (tmp_path / "vocab.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read .*vocab.json"):
        OpenAIGPTTokenizer.from_pretrained(tmp_path)
