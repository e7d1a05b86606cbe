"""RobertaTokenizer against transformers' RobertaTokenizer (5.23) on a byte-level BPE
vocabulary trained here (about 1000 tokens) over a varied corpus: the same ids, token
type ids, attention masks, special-token masks and offsets, for single texts and pairs,
with truncation and padding, with and without add_prefix_space, built from vocab.json +
merges.txt or from a tokenizer.json; saved folders load in both libraries."""

from __future__ import annotations

import json

import pytest
from tokenizers import AddedToken, ByteLevelBPETokenizer

transformers = pytest.importorskip("transformers")

from plugformers import AutoTokenizer  # noqa: E402
from plugformers_roberta.tokenization import RobertaTokenizer  # noqa: E402

pytestmark = pytest.mark.oracle

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0 .. 4, RoBERTa's order
CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "RoBERTa's tokenizer can't, won't and shouldn't split contractions oddly; it's byte-level.",
    "Numbers: 3.14159, 2,718 and 1e-10 — also 42% of $100.",
    "Unicode: café, naïve, émigré, Straße, Ελληνικά, русский, 日本語のテキスト, 한국어.",
    "Emoji 🤗🚀 and symbols © ® ™ ∑ ∞ ≠ ≤.",
    "  Leading spaces,\ttabs\tand\nnew lines\r\nand trailing spaces   ",
    "Code: def f(x): return x ** 2  # comment",
    "URLs like https://example.com/path?q=1&r=2 and e-mails a.b@c.org",
    "ALL CAPS TEXT and MiXeD cAsE tExT",
    "Robustly optimized pretraining drops next-sentence prediction, trains longer, with bigger batches.",
    "Byte-pair encoding merges the most frequent adjacent symbols until the vocabulary is full.",
    "She sells seashells by the seashore; the shells she sells are surely seashells.",
    "In 1492, Columbus sailed the ocean blue; in 1969, Apollo 11 landed on the Moon.",
    "Mixed scripts: naïve façade coöperate jalapeño piñata Zürich Kraków São Paulo Reykjavík.",
    "Punctuation!!! Questions??? Ellipses... (parentheses) [brackets] {braces} <angles> \"quotes\" 'single'",
    "JSON: {\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "Shell: grep -rn 'pattern' src/ | sort -u > out.txt && echo done",
    "Money: €12.50, £7, ¥1000, ₹250; temperatures: -40°C, 98.6°F.",
    "Wikipedia is a free online encyclopedia written collaboratively by volunteers around the world.",
    "Transformers use self-attention to weigh every token against every other token in the sequence.",
    "Chinese: 自然语言处理是人工智能的一个分支。 Arabic: معالجة اللغة الطبيعية. Hindi: प्राकृतिक भाषा.",
]
TEXTS = CORPUS + [
    "Hello <mask> world", "Hello<mask>world", "<mask> at the start", "<s> specials </s> inside",
    " leading space", "", "unseen words: zyxwvut qqq", "tab\tafter<mask>\tand <pad> here",
]
PAIRS = [(a, b) for a, b in zip(TEXTS[::2], TEXTS[1::2])]
MASK = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory):
    """vocab.json + merges.txt of a byte-level BPE trained on CORPUS (about 1000 tokens)."""
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(CORPUS * 3, vocab_size=1000, min_frequency=1, special_tokens=SPECIALS)
    folder = tmp_path_factory.mktemp("roberta-vocab")
    trainer.save_model(str(folder))
    return folder


@pytest.fixture(scope="module")
def json_dir(vocab_dir, tmp_path_factory):
    """What transformers saves for that vocabulary (a tokenizer.json with the lstrip <mask>)."""
    folder = tmp_path_factory.mktemp("roberta-json")
    transformers.RobertaTokenizer.from_pretrained(vocab_dir, mask_token=MASK).save_pretrained(folder)
    return folder


def oracle(vocab_dir, **kwargs):
    return transformers.RobertaTokenizer.from_pretrained(vocab_dir, mask_token=MASK, **kwargs)


def ours_from_files(vocab_dir, **kwargs):
    return RobertaTokenizer(vocab_file=str(vocab_dir / "vocab.json"), merges_file=str(vocab_dir / "merges.txt"),
                            **kwargs)


def assert_same(ours, theirs, *args, **kwargs) -> None:
    options = dict(return_offsets_mapping=True, return_token_type_ids=True, return_special_tokens_mask=True)
    a, b = ours(*args, **options, **kwargs), theirs(*args, **options, **kwargs)
    assert set(a) == set(b), (set(a), set(b))
    for key in b:
        assert a[key] == b[key], f"{key} differs for {args} {kwargs}"


def test_vocab_size_is_about_a_thousand(vocab_dir):
    assert 900 <= len(json.loads((vocab_dir / "vocab.json").read_text(encoding="utf-8"))) <= 1000


@pytest.mark.parametrize("source", ["vocab-files", "tokenizer.json"])
@pytest.mark.parametrize("add_prefix_space", [False, True])
def test_texts_and_pairs_match_transformers(vocab_dir, json_dir, source, add_prefix_space):
    if source == "vocab-files":
        ours = ours_from_files(vocab_dir, add_prefix_space=add_prefix_space)
        theirs = oracle(vocab_dir, add_prefix_space=add_prefix_space)
    else:
        ours = RobertaTokenizer.from_pretrained(json_dir, add_prefix_space=add_prefix_space)
        theirs = transformers.RobertaTokenizer.from_pretrained(json_dir, add_prefix_space=add_prefix_space)
    for text in TEXTS:
        assert_same(ours, theirs, text)
    assert_same(ours, theirs, TEXTS)
    assert_same(ours, theirs, [a for a, _ in PAIRS], [b for _, b in PAIRS])
    assert ours.tokenize(TEXTS[1]) == theirs.tokenize(TEXTS[1])
    for text in TEXTS:
        ids = ours(text)["input_ids"]
        assert ours.decode(ids) == theirs.decode(ids)
        assert ours.decode(ids, skip_special_tokens=True) == theirs.decode(ids, skip_special_tokens=True)


def test_pair_layout_and_special_tokens(vocab_dir):
    tok = ours_from_files(vocab_dir)
    assert (tok.bos_token, tok.cls_token, tok.eos_token, tok.sep_token, tok.unk_token, tok.pad_token,
            tok.mask_token) == ("<s>", "<s>", "</s>", "</s>", "<unk>", "<pad>", "<mask>")
    assert [tok.cls_token_id, tok.pad_token_id, tok.sep_token_id, tok.unk_token_id, tok.mask_token_id] == [0, 1, 2, 3, 4]
    a, b = tok.encode("Hello", add_special_tokens=False), tok.encode("world", add_special_tokens=False)
    assert tok.encode("Hello", "world") == [0, *a, 2, 2, *b, 2]  # <s> A </s></s> B </s>
    assert tok("Hello", "world", return_token_type_ids=True)["token_type_ids"] == [0] * (len(a) + len(b) + 4)
    assert "token_type_ids" not in tok("Hello")  # RoBERTa's model inputs: ids and attention mask
    # the lstrip <mask> takes the space before it
    assert tok.encode("Hello <mask>") == tok.encode("Hello<mask>")


@pytest.mark.parametrize("truncation", ["longest_first", "only_first", "only_second"])
def test_truncation_matches_transformers(vocab_dir, truncation):
    ours, theirs = ours_from_files(vocab_dir), oracle(vocab_dir)
    for a, b in PAIRS:
        if truncation != "longest_first":  # only_*: the truncated side must be long enough
            short = a if truncation == "only_second" else b
            if len(ours.tokenize(short)) + 4 >= 12:
                continue
        assert_same(ours, theirs, a, b, truncation=truncation, max_length=12)
    assert_same(ours, theirs, TEXTS, truncation=True, max_length=6)


@pytest.mark.parametrize("side", ["right", "left"])
def test_padding_matches_transformers(vocab_dir, side):
    ours, theirs = ours_from_files(vocab_dir, padding_side=side), oracle(vocab_dir, padding_side=side)
    assert_same(ours, theirs, TEXTS, padding=True)
    assert_same(ours, theirs, TEXTS[:4], padding="max_length", max_length=40, truncation=True)
    assert_same(ours, theirs, [a for a, _ in PAIRS], [b for _, b in PAIRS], padding="longest")
    batch = ours(TEXTS[:3], padding=True, return_tensors="pt")
    assert batch["input_ids"].shape == batch["attention_mask"].shape
    assert (batch["input_ids"][batch["attention_mask"] == 0] == ours.pad_token_id).all()


def test_split_into_words_with_prefix_space(vocab_dir):
    ours, theirs = ours_from_files(vocab_dir, add_prefix_space=True), oracle(vocab_dir, add_prefix_space=True)
    words = [["Hello", "world", "café"], ["RoBERTa's", "byte-level", "BPE"]]
    a = ours(words, is_split_into_words=True, return_offsets_mapping=True)
    b = theirs(words, is_split_into_words=True, return_offsets_mapping=True)
    assert a["input_ids"] == b["input_ids"] and a["offset_mapping"] == b["offset_mapping"]


def test_saved_folder_loads_in_both_libraries(vocab_dir, tmp_path):
    ours = ours_from_files(vocab_dir)
    ours.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "RobertaTokenizer" and config["mask_token"] == "<mask>"
    assert config["added_tokens_decoder"]["4"]["lstrip"] is True
    theirs = transformers.RobertaTokenizer.from_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert type(again) is RobertaTokenizer
    for text in TEXTS:
        expected = ours(text, return_offsets_mapping=True)
        assert theirs(text, return_offsets_mapping=True) == expected, text
        assert again(text, return_offsets_mapping=True) == expected, text
    (tmp_path / "tokenizer.json").unlink()  # vocab.json + merges.txt + the config only
    legacy = RobertaTokenizer.from_pretrained(tmp_path)
    for text in TEXTS:
        assert legacy(text)["input_ids"] == ours(text)["input_ids"], text


def test_plain_mask_token_is_not_lstrip(vocab_dir):
    plain = ours_from_files(vocab_dir, mask_token="<mask>")
    theirs = transformers.RobertaTokenizer.from_pretrained(vocab_dir)  # transformers 5's default from vocab files
    assert plain("Hello <mask> world")["input_ids"] == theirs("Hello <mask> world")["input_ids"]
    assert plain.encode("Hello <mask>") != plain.encode("Hello<mask>")
