"""GPT2Tokenizer: behaviour, and parity with transformers' GPT2Tokenizer (the oracle) and
pytorch-transformers 1.2's.

The vocabulary is a byte-level BPE trained here with `tokenizers` on TRAINING (deterministic:
the same files on every run), laid out as GPT-2's: every byte symbol, the merges, then
"<|endoftext|>" as the last id. Parity runs on it in the layouts checkpoints come in:
vocab.json + merges.txt alone, the folder transformers saves (tokenizer.json only), the Hub
layout (both, plus a tokenizer.json with the ByteLevel post-processor), the folder
pytorch-transformers 1.2 saves, and a vocabulary without "<|endoftext|>".
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugformers.hub import CheckpointNotFoundError
from plugformers.testing.tokenization import assert_same_encoding, same_outcome
from plugformers_gpt2.tokenization import GPT2Tokenizer, GPT2TokenizerFast
from tokenizers import Tokenizer, decoders, pre_tokenizers, processors, trainers
from tokenizers.models import BPE

EOT = "<|endoftext|>"

TRAINING = [
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.",
    "It was the best of times, it was the worst of times, it was the age of wisdom.",
    "Language models predict the next token from the tokens that come before it.",
    "Tokenizers split text into pieces: words, parts of words, and single bytes.",
    "I'll say it again: don't stop, we've got this, they're here, she's ready, I'm done, he'd go.",
    "Numbers like 3.14159, 2,718 and 1000000 appear in text; so do dates: 2019-02-14.",
    "Café, naïve, façade, résumé, señor, Zürich, Ångström, São Paulo, Øresund, Kraków.",
    "Ελληνικά κείμενα, русский текст, עברית, العربية, हिन्दी पाठ.",
    "中文分词测试，日本語のテキスト、한국어 텍스트。",
    "Emoji: 👍🏽 🧑‍💻 🇫🇷 ❤️ 😀😀😀 🎉",
    "def tokenize(text: str) -> list[str]:\n    return text.split()\n",
    "for (int i = 0; i < n; i++) { total += values[i]; }  // C loop",
    "<html><body><p class=\"note\">Hello, world!</p></body></html>",
    "SELECT name, count(*) FROM users WHERE age >= 21 GROUP BY name;",
    "    indented with spaces\n\tand tabs\n\n\nand blank lines   ",
    "e-mail: someone@example.com, web: https://example.com/path?q=1&r=2#frag",
    "Once upon a time there was a tokenizer that learned merges from a tiny corpus.",
    "Generation with GPT-2 pads on the left so that every row ends with its last token.",
]

CORPUS = [
    "Hello world!",
    " Hello world!",
    "hello  world   with    runs of     spaces",
    "The quick brown fox jumps over the lazy dog.",
    "Café, naïve façade — résumé in Zürich.",
    "e\u0301 combining acute vs é precomposed, a\u0308\u0304 stacked",
    "中文分词测试 日本語のテキスト 한국어",
    "👍🏽 thumbs up, 🧑‍💻 coder 🇫🇷 flag ❤️ heart",
    "def f(x):\n    return x ** 2  # square\n",
    "numbers 3.14159 and 1,000,000 and 42nd and 007",
    "don't won't it's they're I'm we've I'll he'd DON'T",
    "text<|endoftext|>more text",
    "end of document. <|endoftext|> Start of the next one",
    "<|endoftext|>",
    "",
    "   ",
    "\n\n\n",
    "tab\tseparated\tvalues\r\nwindows line",
    "trailing spaces   ",
    "nbsp\u00a0here and ideographic\u3000space and zero\u200bwidth",
    "control\x00chars\x07here\x7f",
    "supercalifragilisticexpialidocious" * 3,
    "Ελληνικά, русский, עברית, العربية",
    "MiXeD CaSe and UPPER and lower",
    "unknown-to-training: ŋ ʃ ʒ ǂ ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
PAIRS = list(zip(CORPUS, reversed(CORPUS), strict=True))
# Texts pytorch-transformers 1.2 tokenizes as ours does with add_prefix_space=True: it always puts
# a space before the text (ours only when there is none), and strips the whitespace around added
# and special tokens, and so around the text.
LEGACY_CORPUS = [t for t in CORPUS if t and t == t.strip() and EOT not in t]


# ------------------------------------------------------------------------------ fixtures


def train_byte_level_bpe(vocab_size: int = 1500) -> Tokenizer:
    """A byte-level BPE of TRAINING: the 256 byte symbols, then the merges (no special tokens)."""
    backend = Tokenizer(BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    backend.train_from_iterator(TRAINING, trainer)
    return backend


@pytest.fixture(scope="session")
def no_eot_dir(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("gpt2-no-eot")
    train_byte_level_bpe().model.save(str(folder))  # vocab.json + merges.txt
    return str(folder)


@pytest.fixture(scope="session")
def vocab_dir(no_eot_dir, tmp_path_factory) -> str:
    """vocab.json + merges.txt only, "<|endoftext|>" as the last id (GPT-2's layout)."""
    folder = tmp_path_factory.mktemp("gpt2-vocab-files")
    vocab = json.loads(open(os.path.join(no_eot_dir, "vocab.json"), encoding="utf-8").read())
    vocab[EOT] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    shutil.copy(os.path.join(no_eot_dir, "merges.txt"), folder)
    return str(folder)


@pytest.fixture(scope="session")
def oracle_module():
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    return transformers


@pytest.fixture(scope="session")
def hf_dir(vocab_dir, oracle_module, tmp_path_factory) -> str:
    """What transformers' GPT2Tokenizer saves for the vocab files: tokenizer.json + tokenizer_config.json."""
    folder = tmp_path_factory.mktemp("gpt2-transformers-saved")
    oracle_module.GPT2Tokenizer.from_pretrained(vocab_dir).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def hub_dir(vocab_dir, tmp_path_factory) -> str:
    """The Hub's gpt2 layout: vocab files, a tokenizer.json made with `tokenizers` (ByteLevel
    pre-tokenizer, post-processor and decoder), a tokenizer_config.json with model_max_length."""
    folder = tmp_path_factory.mktemp("gpt2-hub-layout")
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(vocab_dir, name), folder)
    backend = Tokenizer(BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([EOT])
    backend.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1024}), encoding="utf-8")
    return str(folder)


@pytest.fixture(scope="session")
def legacy_module():
    pytorch_transformers = pytest.importorskip("pytorch_transformers")
    return pytorch_transformers


@pytest.fixture(scope="session")
def legacy_dir(vocab_dir, legacy_module, tmp_path_factory) -> str:
    """What pytorch-transformers 1.2 saves, with a pad token and an added token (added_tokens.json)."""
    folder = tmp_path_factory.mktemp("gpt2-pytorch-transformers")
    tokenizer = legacy_module.GPT2Tokenizer(os.path.join(vocab_dir, "vocab.json"), os.path.join(vocab_dir, "merges.txt"))
    tokenizer.add_special_tokens({"pad_token": "<pad>"})
    tokenizer.add_tokens(["snorkelwort"])
    tokenizer.save_pretrained(str(folder))
    return str(folder)


SETTINGS = {
    "vocab-files": ("vocab_dir", {}),
    "vocab-files-prefix-space": ("vocab_dir", {"add_prefix_space": True}),
    "transformers-json": ("hf_dir", {}),
    "transformers-json-prefix-space": ("hf_dir", {"add_prefix_space": True}),
    "hub-layout": ("hub_dir", {}),
    "no-eot-in-vocab": ("no_eot_dir", {}),
    "bos-eos-framing": ("vocab_dir", {"add_bos_token": True, "add_eos_token": True}),
    "pytorch-transformers-1.2": ("legacy_dir", {}),
}


@pytest.fixture(params=list(SETTINGS))
def both(request, oracle_module):
    """(ours, transformers') tokenizers loaded from the same files with the same options."""
    folder_fixture, options = SETTINGS[request.param]
    folder = request.getfixturevalue(folder_fixture)
    ours = GPT2Tokenizer.from_pretrained(folder, **options)
    ref = oracle_module.GPT2Tokenizer.from_pretrained(folder, **options)
    return ours, ref


@pytest.fixture
def padded(both):
    """`both` with the end-of-text token as pad token (GPT-2 has none)."""
    ours, ref = both
    ours.pad_token = ours.eos_token
    ref.pad_token = ref.eos_token
    return ours, ref


@pytest.fixture(scope="session")
def gpt2(vocab_dir) -> GPT2Tokenizer:
    return GPT2Tokenizer.from_pretrained(vocab_dir)


# ------------------------------------------------------------------------------ parity with transformers


@pytest.mark.oracle
def test_single_sequences_match(both):
    ours, ref = both
    for text in CORPUS:
        assert_same_encoding(ours(text), ref(text))
        options = dict(return_offsets_mapping=True, return_token_type_ids=True, return_special_tokens_mask=True)
        assert_same_encoding(ours(text, **options), ref(text, **options))
        assert ours.tokenize(text) == ref.tokenize(text), text
        assert ours.encode(text) == ref.encode(text), text
        assert ours.encode(text, add_special_tokens=False) == ref.encode(text, add_special_tokens=False), text


@pytest.mark.oracle
def test_batches_match(both):
    ours, ref = both
    assert_same_encoding(ours(CORPUS), ref(CORPUS))
    options = dict(return_offsets_mapping=True, return_special_tokens_mask=True, return_length=True)
    assert_same_encoding(ours(CORPUS, **options), ref(CORPUS, **options))
    a, b = ours(CORPUS[:8], return_offsets_mapping=True), ref(CORPUS[:8], return_offsets_mapping=True)
    for i, text in enumerate(CORPUS[:8]):
        for char in range(len(text)):
            assert a.char_to_token(i, char) == b.char_to_token(i, char)
            assert a.char_to_word(i, char) == b.char_to_word(i, char)


@pytest.mark.oracle
def test_pairs_match(both):
    ours, ref = both
    first, second = (list(side) for side in zip(*PAIRS, strict=True))
    options = dict(return_token_type_ids=True, return_offsets_mapping=True)
    assert_same_encoding(ours(first, second, **options), ref(first, second, **options))
    for a, b in PAIRS:
        assert_same_encoding(ours(a, b, **options), ref(a, b, **options))
        assert ours.encode(a, b) == ref.encode(a, b)
        assert ours.tokenize(a, b) == ref.tokenize(a, b)


@pytest.mark.oracle
@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second", True])
def test_truncation_matches(both, strategy):
    ours, ref = both
    first, second = (list(side) for side in zip(*PAIRS, strict=True))
    for max_length in (4, 9, 16):
        for side in ("right", "left"):
            ours.truncation_side = ref.truncation_side = side
            try:
                same_outcome(ours, ref, first, second, truncation=strategy, max_length=max_length)
                same_outcome(ours, ref, CORPUS, truncation=strategy, max_length=max_length,
                             return_offsets_mapping=True)
            finally:
                ours.truncation_side = ref.truncation_side = "right"
    for a, b in PAIRS:  # pair by pair: a batch fails as a whole when one pair leaves no room
        same_outcome(ours, ref, a, b, truncation=strategy, max_length=6)


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    dict(padding=True),
    dict(padding=True, padding_side="left"),
    dict(padding="longest", pad_to_multiple_of=8),
    dict(padding="max_length", max_length=24, truncation=True),
    dict(padding=True, truncation=True, max_length=10, return_tensors="pt"),
    dict(padding=True, padding_side="left", return_tensors="pt"),
    dict(padding=True, return_tensors="pt", return_special_tokens_mask=True, return_length=True),
    dict(padding=True, return_offsets_mapping=True, padding_side="left"),
    dict(padding=True, truncation=True, max_length=8, stride=2, return_overflowing_tokens=True),
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_padding_matches(padded, options):
    ours, ref = padded
    same_outcome(ours, ref, CORPUS, **options)
    same_outcome(ours, ref, CORPUS[:7], [p[1] for p in PAIRS[:7]], **options)
    assert_same_encoding(ours(CORPUS[3], **options), ref(CORPUS[3], **options))


@pytest.mark.oracle
def test_padding_side_set_on_the_tokenizer_matches(padded):
    ours, ref = padded
    ours.padding_side = ref.padding_side = "left"
    assert_same_encoding(ours(CORPUS, padding=True), ref(CORPUS, padding=True))
    features = [dict(ref(text)) for text in CORPUS[:6]]
    assert_same_encoding(ours.pad([dict(f) for f in features]), ref.pad([dict(f) for f in features]), rows=False)


@pytest.mark.oracle
def test_pretokenized_words_match(both):
    ours, ref = both
    words = [text.split() for text in CORPUS if text.split()]
    assert_same_encoding(ours(words, is_split_into_words=True, return_offsets_mapping=True),
                ref(words, is_split_into_words=True, return_offsets_mapping=True))
    assert_same_encoding(ours(words[2], words[3], is_split_into_words=True), ref(words[2], words[3], is_split_into_words=True))


@pytest.mark.oracle
def test_decode_matches(padded):
    ours, ref = padded
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
    tensors = ref(CORPUS[:5], padding=True, return_tensors="pt")["input_ids"]
    assert ours.batch_decode(tensors) == ref.batch_decode(tensors)
    assert ours.decode(tensors[1]) == ref.decode(tensors[1])
    # a cut in the middle of a character decodes to U+FFFD, as errors="replace"
    emoji = ref.encode("👍🏽")
    assert ours.decode(emoji[:1]) == ref.decode(emoji[:1])
    tokens = ref.tokenize(CORPUS[8])
    assert ours.convert_tokens_to_string(tokens) == ref.convert_tokens_to_string(tokens)


@pytest.mark.oracle
def test_vocabulary_and_special_tokens_match(both):
    ours, ref = both
    assert len(ours) == len(ref) and ours.vocab_size == ref.vocab_size
    assert ours.get_vocab() == ref.get_vocab()
    assert ours.get_added_vocab() == ref.get_added_vocab()
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.all_special_ids == ref.all_special_ids
    for name in ("unk", "bos", "eos", "pad", "sep", "cls", "mask"):
        assert getattr(ours, f"{name}_token") == getattr(ref, f"{name}_token"), name
        assert getattr(ours, f"{name}_token_id") == getattr(ref, f"{name}_token_id"), name
    assert ours.model_max_length == ref.model_max_length
    assert ours.add_prefix_space == ref.add_prefix_space
    tokens = ["Ġthe", "the", EOT, "zzzqqq", "Ġ"]
    assert ours.convert_tokens_to_ids(tokens) == ref.convert_tokens_to_ids(tokens)
    for pair in (False, True):
        assert ours.num_special_tokens_to_add(pair=pair) == ref.num_special_tokens_to_add(pair=pair)
    ids = ref(CORPUS[12], CORPUS[0])["input_ids"]
    assert ours.get_special_tokens_mask(ids, already_has_special_tokens=True) == \
        ref.get_special_tokens_mask(ids, already_has_special_tokens=True)


@pytest.mark.oracle
def test_added_tokens_match(both):
    ours, ref = both
    counts = [(tokenizer.add_tokens(["the", "NewWord", "brand-new"]),
               tokenizer.add_special_tokens({"additional_special_tokens": ["<sep>"], "pad_token": "<pad>"}))
              for tokenizer in (ours, ref)]
    assert counts[0] == counts[1]
    assert len(ours) == len(ref) and ours.get_added_vocab() == ref.get_added_vocab()
    assert ours.pad_token_id == ref.pad_token_id and ours.all_special_ids == ref.all_special_ids
    texts = ["say NewWord and the brand-new <sep> thing", "<pad> x <sep>y" + EOT, "nothing added"]
    assert_same_encoding(ours(texts, texts[::-1], padding=True, return_offsets_mapping=True),
                ref(texts, texts[::-1], padding=True, return_offsets_mapping=True))
    for ids in ref(texts)["input_ids"]:
        for skip in (False, True):
            assert ours.decode(ids, skip_special_tokens=skip) == ref.decode(ids, skip_special_tokens=skip)


@pytest.mark.oracle
@pytest.mark.parametrize("add_prefix_space", [False, True])
def test_saved_folder_loads_in_transformers(vocab_dir, oracle_module, tmp_path, add_prefix_space):
    ours = GPT2Tokenizer.from_pretrained(vocab_dir, add_prefix_space=add_prefix_space)
    ours.add_special_tokens({"pad_token": "<pad>"})
    ours.save_pretrained(tmp_path)
    for ref in (oracle_module.AutoTokenizer.from_pretrained(tmp_path),
                oracle_module.GPT2Tokenizer.from_pretrained(tmp_path)):
        assert type(ref).__name__ == "GPT2Tokenizer" and ref.add_prefix_space is add_prefix_space
        assert_same_encoding(ours(CORPUS, padding=True), ref(CORPUS, padding=True))
        assert ref.pad_token == "<pad>" and len(ref) == len(ours)
    # and back: ours reads what transformers saves from that folder
    ref.save_pretrained(tmp_path / "again")
    again = GPT2Tokenizer.from_pretrained(tmp_path / "again")
    assert again.add_prefix_space is add_prefix_space
    assert_same_encoding(again(CORPUS, padding=True), ours(CORPUS, padding=True))


@pytest.mark.oracle
def test_transformers_folder_has_only_tokenizer_json(hf_dir, vocab_dir):
    # so the "transformers-json" setting above really loads from tokenizer.json
    assert sorted(os.listdir(hf_dir)) == ["tokenizer.json", "tokenizer_config.json"]
    ours = GPT2Tokenizer.from_pretrained(hf_dir)
    assert ours(CORPUS) == GPT2Tokenizer.from_pretrained(vocab_dir)(CORPUS)


@pytest.mark.oracle
@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=60))
def test_random_text_matches_transformers(vocab_dir, oracle_module, text):
    ours, ref = _cached_pair(vocab_dir, oracle_module)
    assert ours(text, return_offsets_mapping=True) == ref(text, return_offsets_mapping=True)


_PAIR_CACHE: dict = {}


def _cached_pair(folder: str, oracle_module):
    if folder not in _PAIR_CACHE:
        _PAIR_CACHE[folder] = (GPT2Tokenizer.from_pretrained(folder),
                               oracle_module.GPT2Tokenizer.from_pretrained(folder))
    return _PAIR_CACHE[folder]


# ------------------------------------------------------------------------------ parity with pytorch-transformers 1.2


@pytest.mark.oracle
def test_pytorch_transformers_folder_matches_it(legacy_dir, legacy_module):
    assert "tokenizer.json" not in os.listdir(legacy_dir)
    ref = legacy_module.GPT2Tokenizer.from_pretrained(legacy_dir)
    # 1.2 puts a space before every text: ours does with add_prefix_space=True
    ours = GPT2Tokenizer.from_pretrained(legacy_dir, add_prefix_space=True)
    assert ours.pad_token == ref.pad_token == "<pad>" and ours.pad_token_id == ref.pad_token_id
    assert len(ours) == len(ref) and ours.get_vocab() == {**ref.encoder, **ref.added_tokens_encoder}
    for text in LEGACY_CORPUS:
        ids = ref.encode(text)
        assert ours.encode(text) == ids, text
        assert ours.tokenize(text) == ref.tokenize(text), text
        assert ours.decode(ids, clean_up_tokenization_spaces=True) == ref.decode(ids), text
        assert ours.decode(ids) == ref.decode(ids, clean_up_tokenization_spaces=False), text
    # without the option, ours needs the space in the text
    default = GPT2Tokenizer.from_pretrained(legacy_dir)
    assert [default.encode(" " + t) for t in LEGACY_CORPUS] == [ref.encode(t) for t in LEGACY_CORPUS]
    assert default.encode("Hello world") != ref.encode("Hello world")
    # the pad token it added is special (skipped in decoding); its loading record is not an option
    assert ours.decode([ours.pad_token_id] + ids, skip_special_tokens=True) == ours.decode(ids)
    assert ours.init_kwargs == {}


@pytest.mark.oracle
def test_folder_without_tokenizer_config_loads(legacy_dir, legacy_module, tmp_path):
    # pytorch-transformers 1.0/1.1 wrote no tokenizer_config.json
    for name in ("vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json"):
        shutil.copy(os.path.join(legacy_dir, name), tmp_path)
    ours = GPT2Tokenizer.from_pretrained(tmp_path, add_prefix_space=True)
    ref = legacy_module.GPT2Tokenizer.from_pretrained(str(tmp_path))
    assert ours.pad_token == "<pad>" and ours.convert_tokens_to_ids("snorkelwort") == ref.added_tokens_encoder["snorkelwort"]
    assert [ours.encode(t) for t in LEGACY_CORPUS] == [ref.encode(t) for t in LEGACY_CORPUS]


@pytest.mark.oracle
def test_pytorch_transformers_reads_our_saved_files(gpt2, legacy_module, tmp_path):
    gpt2.save_pretrained(tmp_path)
    ref = legacy_module.GPT2Tokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"))
    ours = GPT2Tokenizer.from_pretrained(tmp_path, add_prefix_space=True)
    assert [ours.encode(t) for t in LEGACY_CORPUS] == [ref.encode(t) for t in LEGACY_CORPUS]
    assert ref.encoder == gpt2.get_vocab() and len(ref.bpe_ranks) == len(read_merges_lines(tmp_path / "merges.txt"))


def read_merges_lines(path) -> list[str]:
    lines = open(path, encoding="utf-8").read().split("\n")
    assert lines[0] == "#version: 0.2" and lines[-1] == ""
    return lines[1:-1]


# ------------------------------------------------------------------------------ round trip (property-based)

FRAGMENTS = ["👍🏽", "🧑‍💻", "🇫🇷", "e\u0301", "a\u0308\u0304", "  ", "\t\t", "\n", "\r\n", "   \n  ", "don't",
             "I'll", "中文", "\u00a0", "\u200b", "\x00", "Ġ", "Ċ", EOT, "<|endo", "ftext|>"]
texts = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(FRAGMENTS)), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_decode_gives_the_text_back_byte_for_byte(text):
    ours = _trained_tokenizer()
    ids = ours.encode(text)
    assert ours.decode(ids) == text
    assert ours.decode(ids, skip_special_tokens=True) == text.replace(EOT, "")
    assert ours.batch_decode([ids, ids[:0]]) == [text, ""]


@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_prefix_space_is_added_once(text):
    ours = _trained_tokenizer(add_prefix_space=True)
    # each piece between special tokens is pre-tokenized on its own, so each gets the space
    expected = EOT.join(part if not part or part.startswith(" ") else " " + part for part in text.split(EOT))
    assert ours.decode(ours.encode(text)) == expected


_TRAINED: dict = {}


def _trained_tokenizer(**options) -> GPT2Tokenizer:
    """Built in memory (hypothesis tests do not take function-scoped fixtures)."""
    key = tuple(sorted(options.items()))
    if key not in _TRAINED:
        backend = train_byte_level_bpe()
        _TRAINED[key] = GPT2Tokenizer(tokenizer_object=_as_gpt2(backend), **options)
    return _TRAINED[key]


def _as_gpt2(backend: Tokenizer) -> Tokenizer:
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([EOT])
    return backend


# ------------------------------------------------------------------------------ behaviour


def test_defaults_are_gpt2s(gpt2):
    assert gpt2.bos_token == gpt2.eos_token == gpt2.unk_token == EOT
    assert gpt2.eos_token_id == gpt2.vocab_size - 1 == len(gpt2) - 1  # the last id, as in GPT-2
    assert gpt2.pad_token is None and gpt2.pad_token_id is None
    assert gpt2.add_prefix_space is False and gpt2.add_bos_token is False and gpt2.add_eos_token is False
    assert gpt2.model_input_names == ["input_ids", "attention_mask"]
    assert gpt2.num_special_tokens_to_add() == 0 and gpt2.num_special_tokens_to_add(pair=True) == 0
    assert list(gpt2("Hello world")) == ["input_ids", "attention_mask"]
    # the leading space is part of a word's token
    assert gpt2.tokenize("Hello world") == ["Hello", "Ġworld"]
    assert gpt2.tokenize(" Hello") != gpt2.tokenize("Hello")
    # "<|endoftext|>" in text is the special token, unless asked to split it
    assert gpt2.encode("a" + EOT + "b") == [gpt2.encode("a")[0], gpt2.eos_token_id, gpt2.encode("b")[0]]
    assert gpt2.eos_token_id not in gpt2.encode(EOT, split_special_tokens=True)
    assert GPT2TokenizerFast is GPT2Tokenizer


def test_padding_without_pad_token_says_how_to_set_one(vocab_dir):
    tokenizer = GPT2Tokenizer.from_pretrained(vocab_dir)
    with pytest.raises(ValueError, match=r"no pad_token.*tokenizer\.pad_token = tokenizer\.eos_token.*add_special_tokens"):
        tokenizer(["a", "b c"], padding=True)
    with pytest.raises(ValueError, match="pad_token"):
        tokenizer.pad([{"input_ids": [1, 2]}, {"input_ids": [1]}])
    assert tokenizer(["a", "b c"])["input_ids"]  # no padding asked: fine
    tokenizer.pad_token = tokenizer.eos_token
    long, short = tokenizer.encode("Hello world, the quick brown fox"), tokenizer.encode("Hello")
    batch = tokenizer(["Hello world, the quick brown fox", "Hello"], padding=True)
    missing = len(long) - len(short)
    assert batch["input_ids"] == [long, short + [tokenizer.eos_token_id] * missing]
    assert batch["attention_mask"] == [[1] * len(long), [1] * len(short) + [0] * missing]


def test_left_padding_for_generation(vocab_dir):
    tokenizer = GPT2Tokenizer.from_pretrained(vocab_dir, padding_side="left", pad_token=EOT)
    eot = tokenizer.eos_token_id
    ids = tokenizer.encode("the fox")
    batch = tokenizer(["the quick brown fox jumps", "the fox"], padding=True, return_tensors="pt")
    width = batch["input_ids"].shape[1]
    assert batch["input_ids"][1].tolist() == [eot] * (width - len(ids)) + ids  # every row ends with its last token
    assert batch["attention_mask"][1].tolist() == [0] * (width - len(ids)) + [1] * len(ids)
    right = tokenizer(["the quick brown fox jumps", "the fox"], padding=True, padding_side="right")
    assert right["input_ids"][1] == ids + [eot] * (width - len(ids))
    assert tokenizer.decode(batch["input_ids"][1], skip_special_tokens=True) == "the fox"


def test_save_and_load_round_trip(vocab_dir, tmp_path):
    tokenizer = GPT2Tokenizer.from_pretrained(vocab_dir, model_max_length=1024)
    tokenizer.add_tokens(["snorkelwort"])
    tokenizer.add_special_tokens({"pad_token": "<pad>"})
    paths = tokenizer.save_pretrained(tmp_path / "full")
    names = sorted(os.path.basename(p) for p in paths)
    assert names == ["merges.txt", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json"]
    assert sorted(os.listdir(tmp_path / "full")) == names  # no temporary files left behind
    saved_vocab = json.loads((tmp_path / "full" / "vocab.json").read_text(encoding="utf-8"))
    original = json.loads(open(os.path.join(vocab_dir, "vocab.json"), encoding="utf-8").read())
    assert saved_vocab == original and list(saved_vocab.values()) == sorted(saved_vocab.values())
    assert read_merges_lines(tmp_path / "full" / "merges.txt") == \
        read_merges_lines(os.path.join(vocab_dir, "merges.txt"))
    config = json.loads((tmp_path / "full" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "GPT2Tokenizer" and config["add_prefix_space"] is False
    assert config["pad_token"] == "<pad>" and config["model_max_length"] == 1024

    tokenizer.save_pretrained(tmp_path / "legacy", legacy_format=True)
    assert not (tmp_path / "legacy" / "tokenizer.json").exists()
    texts = CORPUS + ["a snorkelwort <pad> here"]
    expected = tokenizer(texts, padding=True)
    for folder in ("full", "legacy"):
        loaded = GPT2Tokenizer.from_pretrained(tmp_path / folder)
        assert loaded(texts, padding=True) == expected, folder
        assert len(loaded) == len(tokenizer) and loaded.pad_token == "<pad>" and loaded.model_max_length == 1024


def test_add_prefix_space_is_kept_and_overrides_tokenizer_json(vocab_dir, tmp_path):
    spaced = GPT2Tokenizer.from_pretrained(vocab_dir, add_prefix_space=True)
    assert spaced.encode("Hello") == spaced.encode(" Hello") == GPT2Tokenizer.from_pretrained(vocab_dir).encode(" Hello")
    spaced.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert saved["pre_tokenizer"]["add_prefix_space"] is True
    os.remove(tmp_path / "tokenizer_config.json")  # only tokenizer.json says it now
    from_json = GPT2Tokenizer.from_pretrained(tmp_path)
    assert from_json.add_prefix_space is True and from_json.encode("Hello") == spaced.encode("Hello")
    plain = GPT2Tokenizer.from_pretrained(tmp_path, add_prefix_space=False)
    assert plain.add_prefix_space is False
    assert plain.encode("Hello") == GPT2Tokenizer.from_pretrained(vocab_dir).encode("Hello") != spaced.encode("Hello")
    assert plain.decode(plain.encode("Hello")) == "Hello"
    direct = GPT2Tokenizer(tokenizer_file=str(tmp_path / "tokenizer.json"), add_prefix_space=False)
    assert direct.encode("Hello") == plain.encode("Hello")


def test_vocab_files_and_tokenizer_json_give_the_same_tokenizer(vocab_dir, hub_dir, gpt2):
    from_files = GPT2Tokenizer(vocab_file=os.path.join(vocab_dir, "vocab.json"),
                               merges_file=os.path.join(vocab_dir, "merges.txt"))
    from_json = GPT2Tokenizer(tokenizer_file=os.path.join(hub_dir, "tokenizer.json"))
    from_object = GPT2Tokenizer(tokenizer_object=Tokenizer.from_file(os.path.join(hub_dir, "tokenizer.json")))
    expected = gpt2(CORPUS, return_offsets_mapping=True)
    for tokenizer in (from_files, from_json, from_object, GPT2Tokenizer.from_pretrained(hub_dir)):
        assert tokenizer(CORPUS, return_offsets_mapping=True) == expected
        assert tokenizer.get_vocab() == gpt2.get_vocab()
    assert json.loads(gpt2.backend_tokenizer.to_str())["post_processor"] == \
        json.loads(from_json.backend_tokenizer.to_str())["post_processor"]


def test_bos_and_eos_framing(vocab_dir):
    tokenizer = GPT2Tokenizer.from_pretrained(vocab_dir)
    ids, eot = tokenizer.encode("Hello world"), tokenizer.eos_token_id
    tokenizer.add_bos_token = True
    assert tokenizer.encode("Hello world") == [eot] + ids
    assert tokenizer.build_inputs_with_special_tokens([5], [6]) == [eot, 5, eot, 6]
    tokenizer.add_eos_token = True
    assert tokenizer.encode("Hello world") == [eot] + ids + [eot]
    assert tokenizer.decode(tokenizer.encode("Hello world"), skip_special_tokens=True) == "Hello world"
    tokenizer.add_bos_token = tokenizer.add_eos_token = False
    assert tokenizer.encode("Hello world") == ids


def test_autotokenizer_picks_gpt2(vocab_dir, gpt2, tmp_path):
    from plugformers import AutoTokenizer

    with_config = tmp_path / "with-config"
    shutil.copytree(vocab_dir, with_config)
    (with_config / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": len(gpt2)}))
    tokenizer = AutoTokenizer.from_pretrained(with_config)
    assert type(tokenizer) is GPT2Tokenizer and tokenizer(CORPUS) == gpt2(CORPUS)
    gpt2.save_pretrained(tmp_path / "saved")  # no config.json: tokenizer_config.json names the class
    assert type(AutoTokenizer.from_pretrained(tmp_path / "saved")) is GPT2Tokenizer
    legacy = tmp_path / "my-gpt2-checkpoint"  # pytorch-transformers 1.x: config.json without model_type
    shutil.copytree(vocab_dir, legacy)
    (legacy / "config.json").write_text(json.dumps({"vocab_size": len(gpt2), "n_embd": 32}))
    assert type(AutoTokenizer.from_pretrained(legacy)) is GPT2Tokenizer


def test_bad_files_are_explained(vocab_dir, tmp_path):
    vocab, merges = os.path.join(vocab_dir, "vocab.json"), os.path.join(vocab_dir, "merges.txt")
    no_merges = tmp_path / "no-merges"
    no_merges.mkdir()
    shutil.copy(vocab, no_merges)
    with pytest.raises(CheckpointNotFoundError, match=r"merges\.txt") as error:
        GPT2Tokenizer.from_pretrained(no_merges)
    assert "tokenizer.json" in str(error.value)
    with pytest.raises(ValueError, match="merges_file"):
        GPT2Tokenizer(vocab_file=vocab)
    with pytest.raises(FileNotFoundError, match=r"nowhere/merges\.txt"):
        GPT2Tokenizer(vocab_file=vocab, merges_file=str(tmp_path / "nowhere" / "merges.txt"))
    with pytest.raises(ValueError, match="vocab_file"):
        GPT2Tokenizer()

    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    cases = [
        (write("truncated.json", '{"a": 0, "b": 1'), merges, r"truncated\.json: not valid UTF-8 JSON"),
        (write("list.json", '["a", "b"]'), merges, r"list\.json: expected a JSON object.*found a list"),
        (write("empty.json", "{}"), merges, r"empty\.json: the vocabulary is empty"),
        (write("bad-id.json", '{"a": 0, "b": "1"}'), merges, r"bad-id\.json: token 'b' has id '1'"),
        (vocab, write("three.txt", "#version: 0.2\nĠ t\nĠ t h\n"), r"three\.txt, line 3: 'Ġ t h' is not a merge"),
        (vocab, write("unknown.txt", "#version: 0.2\nĠ t\nq ꙮ\n"), r"unknown\.txt, line 3: .*'ꙮ', which is not in"),
    ]
    for vocab_file, merges_file, message in cases:
        with pytest.raises(ValueError, match=message):
            GPT2Tokenizer(vocab_file=vocab_file, merges_file=merges_file)
    # no header line, Windows line ends: still fine
    lines = read_merges_lines(merges)
    assert GPT2Tokenizer(vocab_file=vocab, merges_file=write("plain.txt", "\r\n".join(lines) + "\r\n"))(CORPUS) == \
        GPT2Tokenizer(vocab_file=vocab, merges_file=merges)(CORPUS)


def test_doubtful_files_and_options_warn(vocab_dir, tmp_path):
    merges = os.path.join(vocab_dir, "merges.txt")
    vocab = json.loads(open(os.path.join(vocab_dir, "vocab.json"), encoding="utf-8").read())
    (tmp_path / "words.json").write_text(json.dumps({"Ġ": 0, "t": 1, "Ġt": 2}), encoding="utf-8")
    (tmp_path / "words.txt").write_text("Ġ t\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"words\.json: 254 of the 256 byte symbols"):
        GPT2Tokenizer(vocab_file=str(tmp_path / "words.json"), merges_file=str(tmp_path / "words.txt"))
    shared = tmp_path / "shared.json"
    shared.write_text(json.dumps({**vocab, "extra": 0}, ensure_ascii=False), encoding="utf-8")
    with pytest.warns(UserWarning, match=r"shared\.json: .* share id 0"):
        GPT2Tokenizer(vocab_file=str(shared), merges_file=merges)
    with pytest.warns(UserWarning, match="errors='strict' is not supported"):
        GPT2Tokenizer.from_pretrained(vocab_dir, errors="strict")
    bert_like = Tokenizer(BPE.from_file(os.path.join(vocab_dir, "vocab.json"), merges))
    bert_like.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.warns(UserWarning, match="add_prefix_space=True is ignored.*Whitespace"):
        GPT2Tokenizer(tokenizer_object=bert_like, add_prefix_space=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GPT2Tokenizer.from_pretrained(vocab_dir)


def test_batch_encoding_alignments(gpt2):
    batch = gpt2(["Hello world", "the quick fox"], return_offsets_mapping=True)
    assert batch.tokens(0) == ["Hello", "Ġworld"] and batch.tokens(1) == ["t", "he", "Ġquick", "Ġfox"]
    assert batch["offset_mapping"][0] == [(0, 5), (5, 11)]  # a token's span includes its leading space
    assert batch.word_ids(1) == [0, 0, 1, 2]
    assert batch.char_to_token(0, 7) == 1 and batch.token_to_chars(1, 2) == (3, 9)
    assert batch.word_to_tokens(1, 0) == (0, 2)


def test_tokenizer_survives_pickling(gpt2):
    copy = pickle.loads(pickle.dumps(gpt2))
    assert copy(CORPUS) == gpt2(CORPUS) and copy.add_prefix_space is False


def test_import_leaves_torch_out():
    code = ("import sys, plugformers_gpt2.tokenization; "
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, 'torch or numpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
