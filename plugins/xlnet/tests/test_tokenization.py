"""XLNetTokenizer: behaviour, and parity with transformers' XLNetTokenizer (the oracle).

The vocabularies are SentencePiece unigram models trained here (deterministic: one thread, no
shuffling), laid out as XLNet's spiece.model: ``<unk> <s> </s>``, then the control symbols
``<cls> <sep> <pad> <mask> <eod>`` and the user-defined ``<eop> . ( ) " - – £ €`` (ids 0-16,
as in XLNet; transformers' XLNet config has pad 5, bos 1, eos 2), NFKC (sentencepiece's
nmt_nfkc) as normalization. A second one has the identity normalization and lacks <eod> and
<eop>. Parity runs on the layouts checkpoints come in: spiece.model alone, the folder
transformers saves (tokenizer.json only), the Hub layout (spiece.model + a tokenizer.json made
by transformers 4's converter, no tokenizer_config.json), and the folder we save.

Needs sentencepiece (training); the oracle tests need transformers and protobuf (transformers
reads spiece.model through it).
"""

from __future__ import annotations

import io
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
from plugformers_xlnet.tokenization import XLNetTokenizer, XLNetTokenizerFast, read_spiece_model
from tokenizers import Tokenizer

spm = pytest.importorskip("sentencepiece")

CONTROL = ["<cls>", "<sep>", "<pad>", "<mask>", "<eod>"]
USER_DEFINED = ["<eop>", ".", "(", ")", '"', "-", "–", "£", "€"]  # XLNet's spm_train flags

TRAINING = [
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.",
    "It was the best of times, it was the worst of times, it was the age of wisdom.",
    "Language models predict the next token from the tokens that come before it.",
    "XLNet is a generalized autoregressive pretraining method for language understanding.",
    "It uses permutation language modeling and the segment recurrence of Transformer-XL.",
    "Tokenizers split text into pieces: words, parts of words, and single characters.",
    "I'll say it again: don't stop, we've got this, they're here, she's ready, I'm done.",
    "Numbers like 3.14159, 2,718 and 1000000 appear in text; so do dates: 2019-02-14.",
    "Prices: £5, €10 and $20 (about the same) - or \"roughly\" – so they say.",
    "Café, naïve, façade, résumé, señor, Zürich, Ångström, São Paulo, Øresund, Kraków.",
    "Ελληνικά κείμενα, русский текст, עברית, العربية, हिन्दी पाठ.",
    "中文分词测试，日本語のテキスト、한국어 텍스트。",
    "Emoji: 👍 ❤ 😀 🎉 are rare in the training text.",
    "Once upon a time there was a tokenizer that learned its pieces from a tiny corpus.",
    "Paragraph one ends here <eop> and the document ends here <eod>",
    "Reading comprehension: the question comes second and the classifier token comes last.",
    "Left padding keeps the last token of every row in the same place for generation.",
    "Unigram language models keep the pieces that explain the corpus best.",
]

CORPUS = [
    "Hello world!",
    " Hello world!",
    "hello  world   with    runs of     spaces",
    "The quick brown fox jumps over the lazy dog.",
    "Café, naïve façade — résumé in Zürich.",
    "e\u0301 combining acute vs é precomposed, a\u0308\u0304 stacked",
    "ÅNGSTRÖM MiXeD CaSe and UPPER and lower",
    "中文分词测试 日本語のテキスト 한국어",
    "👍🏽 thumbs up, 🧑‍💻 coder 🇫🇷 flag ❤️ heart",
    "numbers 3.14159 and 1,000,000 and 42nd and 007 and 2019-02-14",
    "don't won't it's they're I'm ``quoted'' \"double\"",
    "£5 and €10 (roughly) – a dash - a hyphen",
    "a <mask> in the middle, <mask>glued, and<sep>separators<cls>",
    "paragraph <eop> document <eod> end",
    "<unk> <s> </s> <pad> literal specials",
    "",
    "   ",
    "\n\n\t",
    "tab\tseparated\tvalues\r\nwindows line",
    "  leading and trailing spaces  ",
    "nbsp\u00a0here and ideographic\u3000space and zero\u200bwidth",
    "ﬁ ligature and ＦＵＬＬＷＩＤＴＨ text ①②",
    "control\x00chars\x07here\x7f",
    "supercalifragilisticexpialidocious" * 3,
    "Ελληνικά, русский, עברית, العربية",
    "unknown-to-training: ŋ ʃ ʒ ǂ ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
PAIRS = list(zip(CORPUS, reversed(CORPUS), strict=True))
ACCENTED = ["Café naïve façade", "résumé señor Zürich", "São Paulo Kraków Øresund", "Ångström"]


# ------------------------------------------------------------------------------ fixtures


def train_spiece(vocab_size: int, **options) -> bytes:
    """A unigram spiece.model trained on TRAINING, the same bytes on every run."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TRAINING * 3), model_writer=model, model_type="unigram", vocab_size=vocab_size,
        hard_vocab_limit=False, character_coverage=1.0, num_threads=1, shuffle_input_sentence=False,
        minloglevel=2, **options)
    return model.getvalue()


@pytest.fixture(scope="module")
def spiece_dir(tmp_path_factory) -> str:
    """spiece.model only, XLNet's layout of special pieces."""
    folder = tmp_path_factory.mktemp("xlnet-spiece")
    (folder / "spiece.model").write_bytes(train_spiece(800, control_symbols=CONTROL, user_defined_symbols=USER_DEFINED))
    return str(folder)


@pytest.fixture(scope="module")
def identity_dir(tmp_path_factory) -> str:
    """No normalization (an empty character map), and no <eod> or <eop> piece."""
    folder = tmp_path_factory.mktemp("xlnet-identity")
    (folder / "spiece.model").write_bytes(train_spiece(
        400, control_symbols=["<cls>", "<sep>", "<pad>", "<mask>"], normalization_rule_name="identity"))
    return str(folder)


@pytest.fixture(scope="module")
def oracle_module():
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("google.protobuf", reason="transformers reads spiece.model with protobuf")
    transformers.logging.set_verbosity_error()
    return transformers


@pytest.fixture(scope="module")
def hf_dir(spiece_dir, oracle_module, tmp_path_factory) -> str:
    """What transformers' XLNetTokenizer saves: tokenizer.json + tokenizer_config.json."""
    folder = tmp_path_factory.mktemp("xlnet-transformers-saved")
    oracle_module.XLNetTokenizer.from_pretrained(spiece_dir).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def hub_dir(spiece_dir, tmp_path_factory) -> str:
    """The Hub's xlnet-base-cased layout: spiece.model and a tokenizer.json from transformers 4's
    converter (no whitespace split; runs of spaces collapsed by the normalizer), no tokenizer_config."""
    folder = tmp_path_factory.mktemp("xlnet-hub-layout")
    shutil.copy(os.path.join(spiece_dir, "spiece.model"), folder)
    state = json.loads(XLNetTokenizer.from_pretrained(spiece_dir).backend_tokenizer.to_str())
    state["normalizer"]["normalizers"].append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    state["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    (folder / "tokenizer.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    return str(folder)


@pytest.fixture(scope="module")
def ours_dir(spiece_dir, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("xlnet-ours-saved")
    XLNetTokenizer.from_pretrained(spiece_dir).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def xlnet(spiece_dir) -> XLNetTokenizer:
    return XLNetTokenizer.from_pretrained(spiece_dir)


SETTINGS = {
    "spiece-model": ("spiece_dir", {}),
    "spiece-model-lowercase": ("spiece_dir", {"do_lower_case": True}),
    "identity-normalization": ("identity_dir", {}),
    "transformers-saved": ("hf_dir", {}),
    "hub-layout": ("hub_dir", {}),
    "ours-saved": ("ours_dir", {}),
}


@pytest.fixture(params=list(SETTINGS))
def both(request, oracle_module):
    """(ours, transformers') tokenizers loaded from the same folder with the same options."""
    folder_fixture, options = SETTINGS[request.param]
    folder = request.getfixturevalue(folder_fixture)
    return XLNetTokenizer.from_pretrained(folder, **options), oracle_module.XLNetTokenizer.from_pretrained(folder, **options)


# ------------------------------------------------------------------------------ parity with transformers

FULL = dict(return_offsets_mapping=True, return_token_type_ids=True, return_special_tokens_mask=True)


@pytest.mark.oracle
def test_single_sequences_match(both):
    ours, ref = both
    for text in CORPUS:
        assert_same_encoding(ours(text), ref(text))
        assert_same_encoding(ours(text, **FULL), ref(text, **FULL))
        assert ours.tokenize(text) == ref.tokenize(text), text
        assert ours.encode(text, add_special_tokens=False) == ref.encode(text, add_special_tokens=False), text


@pytest.mark.oracle
def test_batches_and_alignments_match(both):
    ours, ref = both
    assert_same_encoding(ours(CORPUS, **FULL, return_length=True), ref(CORPUS, **FULL, return_length=True))
    a, b = ours(CORPUS[:10], return_offsets_mapping=True), ref(CORPUS[:10], return_offsets_mapping=True)
    for i, text in enumerate(CORPUS[:10]):
        for char in range(len(text)):
            assert a.char_to_token(i, char) == b.char_to_token(i, char)
            assert a.char_to_word(i, char) == b.char_to_word(i, char)


@pytest.mark.oracle
def test_pairs_match(both):
    ours, ref = both
    first, second = (list(side) for side in zip(*PAIRS, strict=True))
    assert_same_encoding(ours(first, second, **FULL), ref(first, second, **FULL))
    for a, b in PAIRS[:8]:
        assert_same_encoding(ours(a, b, **FULL), ref(a, b, **FULL))
        assert ours.tokenize(a, b) == ref.tokenize(a, b)


@pytest.mark.oracle
@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second", True])
def test_truncation_matches(both, strategy):
    ours, ref = both
    first, second = (list(side) for side in zip(*PAIRS, strict=True))
    for max_length in (3, 8, 15):
        for side in ("right", "left"):
            ours.truncation_side = ref.truncation_side = side
            same_outcome(ours, ref, first, second, truncation=strategy, max_length=max_length,
                         return_token_type_ids=True)
            same_outcome(ours, ref, CORPUS, truncation=strategy, max_length=max_length, return_offsets_mapping=True)
    ours.truncation_side = ref.truncation_side = "right"
    for a, b in PAIRS[::3]:  # pair by pair: a batch fails as a whole when one pair leaves no room
        same_outcome(ours, ref, a, b, truncation=strategy, max_length=6, return_token_type_ids=True)


@pytest.mark.oracle
@pytest.mark.parametrize("options", [
    dict(padding=True),
    dict(padding=True, padding_side="right"),
    dict(padding="longest", pad_to_multiple_of=8, return_token_type_ids=True),
    dict(padding="max_length", max_length=24, truncation=True),
    dict(padding=True, truncation=True, max_length=10, return_tensors="pt", return_token_type_ids=True),
    dict(padding=True, return_tensors="np", return_special_tokens_mask=True, return_length=True),
    dict(padding=True, return_offsets_mapping=True, return_token_type_ids=True),
    dict(padding=True, truncation=True, max_length=8, stride=2, return_overflowing_tokens=True),
    dict(truncation="only_first", max_length=9, stride=3, return_overflowing_tokens=True, return_offsets_mapping=True),
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_padding_and_overflow_match(both, options):
    ours, ref = both
    same_outcome(ours, ref, CORPUS, **options)
    same_outcome(ours, ref, CORPUS[:8], [b for _, b in PAIRS[:8]], **options)
    same_outcome(ours, ref, CORPUS[3], **options)


@pytest.mark.oracle
def test_pad_matches(both):
    ours, ref = both
    features = [dict(ref(text, return_token_type_ids=True)) for text in CORPUS[:6]]
    assert_same_encoding(ours.pad([dict(f) for f in features]), ref.pad([dict(f) for f in features]), rows=False)
    assert_same_encoding(ours.pad([dict(f) for f in features], return_tensors="pt"),
                         ref.pad([dict(f) for f in features], return_tensors="pt"), rows=False)


@pytest.mark.oracle
def test_pretokenized_words_match(both):
    ours, ref = both
    words = [text.split() for text in CORPUS if text.split()]
    assert_same_encoding(ours(words, is_split_into_words=True, return_offsets_mapping=True),
                         ref(words, is_split_into_words=True, return_offsets_mapping=True))
    assert_same_encoding(ours(words[2], words[3], is_split_into_words=True, return_token_type_ids=True),
                         ref(words[2], words[3], is_split_into_words=True, return_token_type_ids=True))


@pytest.mark.oracle
def test_decode_matches(both):
    ours, ref = both
    batch = ref(CORPUS, [b for _, b in PAIRS], padding=True)
    for ids in batch["input_ids"]:
        for skip in (False, True):
            for clean in (None, True):
                assert ours.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean) == \
                    ref.decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=clean)
        assert ours.convert_ids_to_tokens(ids) == ref.convert_ids_to_tokens(ids)
    assert ours.batch_decode(batch["input_ids"], skip_special_tokens=True) == \
        ref.batch_decode(batch["input_ids"], skip_special_tokens=True)
    tensors = ref(CORPUS[:5], padding=True, return_tensors="pt")["input_ids"]
    assert ours.batch_decode(tensors) == ref.batch_decode(tensors)
    for text in CORPUS[:12]:
        tokens = ref.tokenize(text)
        assert ours.convert_tokens_to_string(tokens) == ref.convert_tokens_to_string(tokens)


@pytest.mark.oracle
def test_vocabulary_and_special_tokens_match(both):
    ours, ref = both
    assert len(ours) == len(ref) and ours.vocab_size == ref.vocab_size
    assert ours.get_vocab() == ref.get_vocab()
    assert {i: (t.content, t.special) for i, t in ours.added_tokens_decoder.items()} == \
        {i: (t.content, t.special) for i, t in ref.added_tokens_decoder.items()}
    for name in ("unk", "bos", "eos", "pad", "sep", "cls", "mask"):
        assert getattr(ours, f"{name}_token") == getattr(ref, f"{name}_token"), name
        assert getattr(ours, f"{name}_token_id") == getattr(ref, f"{name}_token_id"), name
    assert ours.padding_side == ref.padding_side == "left"
    assert ours.pad_token_type_id == ref.pad_token_type_id
    assert ours.model_input_names == ref.model_input_names
    assert ours.model_max_length == ref.model_max_length
    assert ours.do_lower_case == ref.do_lower_case and ours.remove_space == ref.remove_space
    for pair in (False, True):
        assert ours.num_special_tokens_to_add(pair=pair) == ref.num_special_tokens_to_add(pair=pair)


@pytest.mark.oracle
def test_special_token_lists_of_a_transformers_folder_match(hf_dir, oracle_module):
    # transformers lists every control and user-defined piece ("." included) as an extra special token
    # of a tokenizer made from spiece.model, and saves that list; from its folder, ours reads the same
    ours, ref = XLNetTokenizer.from_pretrained(hf_dir), oracle_module.XLNetTokenizer.from_pretrained(hf_dir)
    assert ours.all_special_tokens == ref.all_special_tokens and ours.all_special_ids == ref.all_special_ids
    assert "." in ref.all_special_tokens
    ids = ref("a <mask> b. <eop>", "the fox")["input_ids"]
    assert ours.get_special_tokens_mask(ids, already_has_special_tokens=True) == \
        ref.get_special_tokens_mask(ids, already_has_special_tokens=True)


def test_special_token_list_of_a_spiece_model(xlnet):
    # from spiece.model alone ours lists XLNet's documented two extra special tokens, <eop> and <eod>
    # (transformers 5.23 lists every control and user-defined piece, "." and "(" included); neither
    # library skips "." when decoding with skip_special_tokens=True
    assert xlnet.all_special_tokens == ["<s>", "</s>", "<unk>", "<sep>", "<pad>", "<cls>", "<mask>", "<eop>", "<eod>"]
    assert xlnet.decode(xlnet.encode("a (b). <eop>"), skip_special_tokens=True) == "a( b).<eop>"


@pytest.mark.oracle
def test_added_tokens_match(both):
    ours, ref = both
    counts = [(tokenizer.add_tokens(["the", "NewWord", "brand-new"]),
               tokenizer.add_special_tokens({"additional_special_tokens": ["<extra>"]}))
              for tokenizer in (ours, ref)]
    assert counts[0] == counts[1]
    assert len(ours) == len(ref) and ours.get_added_vocab() == ref.get_added_vocab()
    texts = ["say NewWord and the brand-new <extra> thing", "<extra>x<sep>y", "nothing added"]
    assert_same_encoding(ours(texts, texts[::-1], padding=True, return_offsets_mapping=True),
                         ref(texts, texts[::-1], padding=True, return_offsets_mapping=True))
    for ids in ref(texts)["input_ids"]:
        for skip in (False, True):
            assert ours.decode(ids, skip_special_tokens=skip) == ref.decode(ids, skip_special_tokens=skip)


@pytest.mark.oracle
def test_our_folder_loads_in_transformers_and_back(spiece_dir, oracle_module, tmp_path):
    ours = XLNetTokenizer.from_pretrained(spiece_dir, do_lower_case=True, model_max_length=512)
    ours.add_tokens(["snorkelwort"])
    paths = ours.save_pretrained(tmp_path / "ours")
    assert sorted(os.path.basename(p) for p in paths) == \
        ["special_tokens_map.json", "spiece.model", "tokenizer.json", "tokenizer_config.json"]
    texts = CORPUS + ["a snorkelwort here"]
    for ref in (oracle_module.AutoTokenizer.from_pretrained(tmp_path / "ours"),
                oracle_module.XLNetTokenizer.from_pretrained(tmp_path / "ours")):
        assert type(ref).__name__ == "XLNetTokenizer" and ref.do_lower_case is True
        assert_same_encoding(ours(texts, padding=True, return_token_type_ids=True),
                             ref(texts, padding=True, return_token_type_ids=True))
        assert len(ref) == len(ours) and ref.model_max_length == 512
    # transformers reads our spiece.model on its own, too
    alone = tmp_path / "spiece-only"
    alone.mkdir()
    shutil.copy(tmp_path / "ours" / "spiece.model", alone)
    assert_same_encoding(XLNetTokenizer.from_pretrained(alone)(CORPUS),
                         oracle_module.XLNetTokenizer.from_pretrained(alone)(CORPUS))
    # and back: ours reads what transformers saves from our folder
    ref.save_pretrained(tmp_path / "again")
    again = XLNetTokenizer.from_pretrained(tmp_path / "again")
    assert again.do_lower_case is True
    assert_same_encoding(again(texts, padding=True), ours(texts, padding=True))


@pytest.mark.oracle
def test_transformers_folder_has_no_spiece_model(hf_dir, spiece_dir, tmp_path):
    # so the "transformers-saved" setting really loads tokenizer.json; saving it writes a spiece.model
    assert sorted(os.listdir(hf_dir)) == ["tokenizer.json", "tokenizer_config.json"]
    from_json = XLNetTokenizer.from_pretrained(hf_dir)
    assert from_json(CORPUS) == XLNetTokenizer.from_pretrained(spiece_dir)(CORPUS)
    from_json.save_pretrained(tmp_path)
    assert XLNetTokenizer(vocab_file=str(tmp_path / "spiece.model"))(CORPUS) == from_json(CORPUS)


@pytest.mark.oracle
@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=40), pair=st.one_of(st.none(), st.text(max_size=20)))
def test_random_text_matches_transformers(spiece_dir, oracle_module, text, pair):
    ours, ref = _cached_pair(spiece_dir, oracle_module)
    assert ours(text, pair, **FULL) == ref(text, pair, **FULL)


_PAIR_CACHE: dict = {}


def _cached_pair(folder: str, oracle_module):
    if folder not in _PAIR_CACHE:
        _PAIR_CACHE[folder] = (XLNetTokenizer.from_pretrained(folder),
                               oracle_module.XLNetTokenizer.from_pretrained(folder))
    return _PAIR_CACHE[folder]


# ------------------------------------------------------------------------------ spiece.model


def test_reader_agrees_with_sentencepiece(spiece_dir, identity_dir):
    for folder in (spiece_dir, identity_dir):
        path = os.path.join(folder, "spiece.model")
        model, data = read_spiece_model(path)
        sp = spm.SentencePieceProcessor(model_file=path)
        assert len(model.pieces) == sp.get_piece_size() and data == open(path, "rb").read()
        for index, (piece, score, kind) in enumerate(model.pieces):
            assert piece == sp.id_to_piece(index) and score == sp.get_score(index)
            assert (kind == 2) == sp.is_unknown(index) and (kind == 3) == sp.is_control(index)
        assert model.unk_id == sp.unk_id() == 0 and model.model_type == "unigram"
    assert read_spiece_model(os.path.join(spiece_dir, "spiece.model"))[0].precompiled_charsmap
    assert not read_spiece_model(os.path.join(identity_dir, "spiece.model"))[0].precompiled_charsmap


def test_spiece_model_built_from_tokenizer_json_is_the_same_model(spiece_dir, xlnet, tmp_path):
    pb = pytest.importorskip("sentencepiece.sentencepiece_model_pb2", exc_type=ImportError)
    XLNetTokenizer(tokenizer_object=xlnet.backend_tokenizer).save_pretrained(tmp_path)  # no spiece.model at hand
    original, rebuilt = pb.ModelProto(), pb.ModelProto()
    original.ParseFromString(open(os.path.join(spiece_dir, "spiece.model"), "rb").read())
    rebuilt.ParseFromString((tmp_path / "spiece.model").read_bytes())
    assert [(p.piece, p.score, p.type) for p in rebuilt.pieces] == [(p.piece, p.score, p.type) for p in original.pieces]
    assert rebuilt.normalizer_spec.precompiled_charsmap == original.normalizer_spec.precompiled_charsmap
    assert rebuilt.trainer_spec.unk_id == 0 and rebuilt.trainer_spec.model_type == original.trainer_spec.model_type
    sp_original = spm.SentencePieceProcessor(model_file=os.path.join(spiece_dir, "spiece.model"))
    sp_rebuilt = spm.SentencePieceProcessor(model_file=str(tmp_path / "spiece.model"))
    assert [sp_rebuilt.encode(t) for t in CORPUS] == [sp_original.encode(t) for t in CORPUS]


def test_keep_accents_keeps_them_as_sentencepiece_does(spiece_dir):
    # transformers 5.23 removes accents whatever keep_accents says; XLNet's own preprocessing and
    # sentencepiece keep them, and so does ours with keep_accents=True
    kept = XLNetTokenizer.from_pretrained(spiece_dir, keep_accents=True)
    stripped = XLNetTokenizer.from_pretrained(spiece_dir)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(spiece_dir, "spiece.model"))
    for text in ACCENTED:
        assert kept.encode(text, add_special_tokens=False) == sp.encode(text), text
        assert kept.decode(kept.encode(text, add_special_tokens=False)) == text
        assert stripped.encode(text) != kept.encode(text)
    assert "é" not in "".join(stripped.tokenize("Café résumé")) and "é" in "".join(kept.tokenize("Café résumé"))


# ------------------------------------------------------------------------------ behaviour


def test_defaults_are_xlnets(xlnet):
    assert [xlnet.convert_tokens_to_ids(t) for t in ["<unk>", "<s>", "</s>", *CONTROL, *USER_DEFINED]] == list(range(17))
    assert (xlnet.pad_token_id, xlnet.bos_token_id, xlnet.eos_token_id) == (5, 1, 2)  # XLNetConfig's defaults
    assert xlnet.additional_special_tokens == ["<eop>", "<eod>"]
    assert xlnet.padding_side == "left" and xlnet.do_lower_case is False
    assert xlnet.remove_space is True and xlnet.keep_accents is False
    assert XLNetTokenizerFast is XLNetTokenizer


def test_special_tokens_go_at_the_end_with_type_ids_0_1_2(xlnet):
    a, b = xlnet.encode("The world", add_special_tokens=False), xlnet.encode("the fox", add_special_tokens=False)
    sep, cls = xlnet.sep_token_id, xlnet.cls_token_id
    assert xlnet.build_inputs_with_special_tokens(a) == a + [sep, cls]
    assert xlnet.build_inputs_with_special_tokens(a, b) == a + [sep] + b + [sep, cls]
    assert xlnet.get_special_tokens_mask(a, b) == [0] * len(a) + [1] + [0] * len(b) + [1, 1]
    single = xlnet("The world", return_token_type_ids=True, return_special_tokens_mask=True)
    assert single["input_ids"] == a + [sep, cls]
    assert single["token_type_ids"] == [0] * len(a) + [0, 2]
    assert single["special_tokens_mask"] == [0] * len(a) + [1, 1]
    pair = xlnet("The world", "the fox", return_token_type_ids=True)
    assert pair["input_ids"] == a + [sep] + b + [sep, cls]
    assert pair["token_type_ids"] == [0] * (len(a) + 1) + [1] * (len(b) + 1) + [2]
    assert xlnet.create_token_type_ids_from_sequences(a, b) == pair["token_type_ids"]
    assert xlnet.decode(pair["input_ids"]) == "The world<sep> the fox<sep><cls>"
    assert xlnet.decode(pair["input_ids"], skip_special_tokens=True) == "The world the fox"


def test_left_padding(xlnet):
    long, short = xlnet.encode("the quick brown fox jumps"), xlnet.encode("the fox")
    batch = xlnet(["the quick brown fox jumps", "the fox"], padding=True, return_tensors="pt")
    missing = len(long) - len(short)
    assert batch["input_ids"][1].tolist() == [xlnet.pad_token_id] * missing + short  # every row ends with <cls>
    assert batch["attention_mask"][1].tolist() == [0] * missing + [1] * len(short)
    right = xlnet(["the quick brown fox jumps", "the fox"], padding=True, padding_side="right")
    assert right["input_ids"][1] == short + [xlnet.pad_token_id] * missing


def test_remove_space(spiece_dir, xlnet):
    kept = XLNetTokenizer.from_pretrained(spiece_dir, remove_space=False)
    assert xlnet.tokenize("  a   b  ") == xlnet.tokenize("a b")
    assert kept.tokenize("a   b") != kept.tokenize("a b") and kept.tokenize("a b") == xlnet.tokenize("a b")
    assert kept.decode(kept.encode("a   b", add_special_tokens=False)) == "a   b"


def test_lowercase(spiece_dir):
    lower = XLNetTokenizer.from_pretrained(spiece_dir, do_lower_case=True)
    assert lower.tokenize("THE Quick FOX") == lower.tokenize("the quick fox")
    assert lower.decode(lower.encode("THE Fox", add_special_tokens=False)) == "the fox"


def test_options_survive_save_and_override_tokenizer_json(spiece_dir, tmp_path):
    XLNetTokenizer.from_pretrained(spiece_dir, do_lower_case=True, keep_accents=True).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["tokenizer_class"] == "XLNetTokenizer" and config["padding_side"] == "left"
    assert (config["do_lower_case"], config["keep_accents"], config["remove_space"]) == (True, True, True)
    os.remove(tmp_path / "tokenizer_config.json")  # tokenizer.json alone says lowercase, keep accents
    from_json = XLNetTokenizer.from_pretrained(tmp_path)
    assert from_json.do_lower_case is True and from_json.keep_accents is True
    assert from_json.tokenize("Café ÅNG") == \
        XLNetTokenizer.from_pretrained(spiece_dir, do_lower_case=True, keep_accents=True).tokenize("Café ÅNG")
    cased = XLNetTokenizer.from_pretrained(tmp_path, do_lower_case=False, keep_accents=False)
    assert cased("Café ÅNGSTRÖM") == XLNetTokenizer.from_pretrained(spiece_dir)("Café ÅNGSTRÖM")


def test_save_and_load_round_trip(spiece_dir, tmp_path):
    tokenizer = XLNetTokenizer.from_pretrained(spiece_dir, model_max_length=512)
    tokenizer.add_tokens(["snorkelwort"])
    tokenizer.add_special_tokens({"additional_special_tokens": ["<extra>"]})
    names = sorted(os.path.basename(p) for p in tokenizer.save_pretrained(tmp_path / "full"))
    assert names == ["special_tokens_map.json", "spiece.model", "tokenizer.json", "tokenizer_config.json"]
    assert sorted(os.listdir(tmp_path / "full")) == names  # no temporary files left behind
    assert (tmp_path / "full" / "spiece.model").read_bytes() == open(os.path.join(spiece_dir, "spiece.model"), "rb").read()
    tokenizer.save_pretrained(tmp_path / "legacy", legacy_format=True)
    assert not (tmp_path / "legacy" / "tokenizer.json").exists()
    texts = CORPUS + ["a snorkelwort <extra> here"]
    expected = tokenizer(texts, padding=True, return_offsets_mapping=True)
    for folder in ("full", "legacy"):
        loaded = XLNetTokenizer.from_pretrained(tmp_path / folder)
        assert loaded(texts, padding=True, return_offsets_mapping=True) == expected, folder
        assert len(loaded) == len(tokenizer) and loaded.model_max_length == 512
        assert loaded.additional_special_tokens == tokenizer.additional_special_tokens == ["<extra>"]


def test_constructors_agree(spiece_dir, ours_dir, xlnet):
    expected = xlnet(CORPUS, return_offsets_mapping=True)
    for tokenizer in (XLNetTokenizer(vocab_file=os.path.join(spiece_dir, "spiece.model")),
                      XLNetTokenizer(tokenizer_file=os.path.join(ours_dir, "tokenizer.json")),
                      XLNetTokenizer(tokenizer_object=Tokenizer.from_file(os.path.join(ours_dir, "tokenizer.json")))):
        assert tokenizer(CORPUS, return_offsets_mapping=True) == expected
        assert tokenizer.get_vocab() == xlnet.get_vocab()


def test_missing_or_damaged_spiece_model_is_explained(spiece_dir, tmp_path):
    with pytest.raises(CheckpointNotFoundError, match=r"spiece\.model") as error:
        XLNetTokenizer.from_pretrained(tmp_path)
    assert "tokenizer.json" in str(error.value)
    with pytest.raises(FileNotFoundError, match=r"nowhere/spiece\.model"):
        XLNetTokenizer(vocab_file=str(tmp_path / "nowhere" / "spiece.model"))
    with pytest.raises(ValueError, match="vocab_file"):
        XLNetTokenizer()
    good = open(os.path.join(spiece_dir, "spiece.model"), "rb").read()
    lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:4a3b...\nsize 798011\n"
    cases = [
        (good[: len(good) // 2], r"not a sentencepiece model \(protobuf cannot parse.*cut off"),
        (b"", r"not a sentencepiece model \(it holds no pieces"),
        (lfs, r"not a sentencepiece model.*git-lfs"),
        (b"\x0a\x05\x0a\x03\xff\xfe\xfd", r"piece 0 is not UTF-8"),
        (json.dumps({"model": {}}).encode(), r"not a sentencepiece model"),
    ]
    for index, (data, message) in enumerate(cases):
        folder = tmp_path / f"bad{index}"
        folder.mkdir()
        (folder / "spiece.model").write_bytes(data)
        with pytest.raises(ValueError, match=message) as error:
            XLNetTokenizer.from_pretrained(folder)
        assert str(folder / "spiece.model") in str(error.value) and "Re-download" in str(error.value)
    bpe = tmp_path / "bpe"
    bpe.mkdir()
    (bpe / "spiece.model").write_bytes(_bpe_model())
    with pytest.raises(ValueError, match=r"spiece\.model: a sentencepiece bpe model; XLNetTokenizer reads unigram"):
        XLNetTokenizer.from_pretrained(bpe)


def _bpe_model() -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(TRAINING), model_writer=model, model_type="bpe",
                                   vocab_size=200, hard_vocab_limit=False, num_threads=1, minloglevel=2)
    return model.getvalue()


def test_tokenizer_json_of_another_model_is_refused(tmp_path):
    from tokenizers.models import WordLevel

    with pytest.raises(ValueError, match="needs a Unigram model.*WordLevel"):
        XLNetTokenizer(tokenizer_object=Tokenizer(WordLevel({"a": 0, "<unk>": 1}, unk_token="<unk>")))


def test_loading_is_quiet(spiece_dir, ours_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        XLNetTokenizer.from_pretrained(spiece_dir)
        XLNetTokenizer.from_pretrained(ours_dir)


def test_tokenizer_survives_pickling(xlnet):
    copy = pickle.loads(pickle.dumps(xlnet))
    assert copy(CORPUS) == xlnet(CORPUS) and copy.padding_side == "left"


def test_import_leaves_torch_out():
    code = ("import sys, plugformers_xlnet.tokenization; "
            "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, 'torch or numpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_autotokenizer_picks_xlnet(spiece_dir, xlnet, tmp_path):
    from plugformers import AutoTokenizer

    with_config = tmp_path / "with-config"
    shutil.copytree(spiece_dir, with_config)
    (with_config / "config.json").write_text(json.dumps({"model_type": "xlnet", "vocab_size": len(xlnet)}))
    tokenizer = AutoTokenizer.from_pretrained(with_config)
    assert type(tokenizer) is XLNetTokenizer and tokenizer(CORPUS) == xlnet(CORPUS)
    xlnet.save_pretrained(tmp_path / "saved")  # no config.json: tokenizer_config.json names the class
    assert type(AutoTokenizer.from_pretrained(tmp_path / "saved")) is XLNetTokenizer
    legacy = tmp_path / "my-xlnet-checkpoint"  # pytorch-transformers 1.x: config.json without model_type
    shutil.copytree(spiece_dir, legacy)
    (legacy / "config.json").write_text(json.dumps({"n_token": len(xlnet), "d_model": 32}))
    assert type(AutoTokenizer.from_pretrained(legacy)) is XLNetTokenizer
