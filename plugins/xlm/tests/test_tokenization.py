"""XLMTokenizer: behaviour, and parity with transformers' XLMTokenizer (the oracle).

The vocabulary is a BPE with "</w>" word ends trained here with `tokenizers` on the Moses words
of TRAINING (deterministic), written as XLM checkpoints have it: the specials at ids 0-13,
merges.txt lines "left right count" without a header. A second folder drops some merge
results from vocab.json, as fastBPE vocabularies do (those pieces become the unknown token).

transformers 5.23's ``tokenizer(text, lang=...)`` does not pass ``lang`` on to the Moses step
(its tokenize() drops the keyword arguments), so it always uses English rules. Ours applies the
language; for other languages the oracle is its ``_tokenize(text, lang=...)``, which does.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plugformers.testing.tokenization import same_outcome
from plugformers_xlm.tokenization import SPECIAL_TOKENS, XLMTokenizer, moses_words
from tokenizers import Tokenizer, pre_tokenizers, trainers
from tokenizers.models import BPE

SPECIALS = ["<s>", "</s>", "<pad>", "<unk>", *SPECIAL_TOKENS]

TRAINING = [
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.",
    "It was the best of times, it was the worst of times, it was the age of wisdom.",
    "Language models predict the next token from the tokens that come before it.",
    "I'll say it again: don't stop, we've got this, they're here, she's ready, I'm done.",
    "Numbers like 3.14159, 2,718 and 1000000 appear in text; so do dates: 2019-02-14.",
    "Mr. Smith and Dr. Jones met at 5 p.m. in the U.S. embassy (see below).",
    "L'homme qu'il a vu hier n'est pas là : c'est un élève de l'école « Jean-Jacques ».",
    "Les enfants mangent des crêpes à la crème ; ils préfèrent le café au thé, n'est-ce pas ?",
    "Où est la forêt ? Là-bas, près du château de Besançon, depuis 1 000 ans déjà.",
    "Die Straße ist groß, die Bäume sind grün und die Vögel singen über den Häusern.",
    "Wir fahren nächste Woche nach München, Köln und Düsseldorf – mit dem Zug, natürlich.",
    "„Das ist schön“, sagte er. Österreich, Zürich, Fußball: 3,5 Millionen Menschen.",
    "Emoji: 👍🏽 😀 🎉 ❤️ and symbols $ % & @ # * + = / | ~ ^ < > [ ] { }",
    "Quotes \"double\" and 'single' and `back` ticks ... and dashes -- - — and ellipses…",
]

CORPUS = [
    "Hello world!",
    "  Hello   world  ",
    "The quick brown fox jumps over the lazy dog.",
    "Mr. Smith went to Washington. He said: \"hi.\"",
    "U.S. citizens pay 3.5% tax on 1,000,000 dollars; e.g. 2019-02-14.",
    "don't won't it's they're I'm we've I'll he'd DON'T 'tis dogs' ",
    "'Quoted at the start' and at the end'",
    ", starts with a comma, 5 and ends with one,",
    ",5 a digit after a leading comma",
    "Punctuation runs!!! ??? ... .... ;;; ::: --- (((nested))) [brackets] {braces}",
    "« Bonjour », dit-il. L'élève n'a qu'à répondre : « Oui ! »",
    "C'est l'été : les forêts, les châteaux, les crêpes à 3,50 € — ça coûte cher.",
    "Über die Straße: Größe, Fußgänger, Äpfel, Öl, „Anführungszeichen“ und ‚einfache‘.",
    "Zürich, Köln, Düsseldorf — 1.000.000 Einwohner?",
    "Smart quotes “like these” and ‘these’, apostrophe’s too, and ellipsis…",
    "Full-width：，。！？（）０１２３ and 【brackets】 and 「quotes」",
    "Emoji 👍🏽 🧑‍💻 🇫🇷 ❤️ 😀😀😀 🎉 and 🫨",
    "Accents: e\u0301 combining vs é, İstanbul, ΣΑΣ σας, Ångström, Øresund",
    "Control\x00chars\x07here\x7f and zero\u200bwidth and nbsp\u00a0here\ttab\nnewline",
    "Special tokens <special1> inside <s> text </s> and <unk> too",
    "<special0>",
    "e-mail: someone@example.com, web: https://example.com/path?q=1&r=2#frag",
    "supercalifragilisticexpialidocious " * 3,
    "",
    "   ",
    "A",
    "QXLMSEPARATORQ is the batching separator, and DOTMULTI a Moses marker.",
]
PAIRS = list(zip(CORPUS, reversed(CORPUS), strict=True))
LANGS = ["en", "fr", "de"]


# ------------------------------------------------------------------------------ fixtures


def _reference_words(text: str, lang: str, lowercase: bool) -> list[str]:
    """The Moses words of one text, with sacremoses and transformers' helper functions, unbatched."""
    from sacremoses import MosesPunctNormalizer, MosesTokenizer
    from transformers.models.xlm import tokenization_xlm as ref

    text = ref.remove_non_printing_char(MosesPunctNormalizer(lang=lang).normalize(ref.replace_unicode_punct(text)))
    if lang == "ro":
        text = ref.romanian_preprocessing(text)
    words = MosesTokenizer(lang=lang).tokenize(text, return_str=False, escape=False)
    if lowercase:
        words = ref.lowercase_and_remove_accent(words)
    return [word for word in words if word]


def _write_xlm_files(folder, vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
    """vocab.json and merges.txt as XLM checkpoints have them (fastBPE codes with counts)."""
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = [f"{a} {b} {1000 + len(merges) - rank}\n" for rank, (a, b) in enumerate(merges)]
    (folder / "merges.txt").write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> tuple[dict[str, int], list[tuple[str, str]]]:
    backend = Tokenizer(BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIALS, end_of_word_suffix="</w>",
                                  show_progress=False)
    texts = [w for lang in LANGS for lower in (True, False) for w in moses_words(TRAINING, lang, lower)]
    backend.train_from_iterator(texts, trainer)
    state = json.loads(backend.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
    return state["vocab"], merges


@pytest.fixture(scope="session")
def vocab_dir(trained, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("xlm-vocab")
    _write_xlm_files(folder, *trained)
    return str(folder)


@pytest.fixture(scope="session")
def gappy_dir(trained, tmp_path_factory) -> str:
    """Some intermediate merge results (used by later merges) missing from vocab.json."""
    vocab, merges = trained
    parts = {piece for a, b in merges for piece in (a, b)}
    dropped = [a + b for a, b in merges if a + b in parts and not (a + b).endswith("</w>")][:12]
    assert dropped
    kept = [token for token, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if token not in dropped]
    folder = tmp_path_factory.mktemp("xlm-gappy")
    _write_xlm_files(folder, {token: index for index, token in enumerate(kept)}, merges)
    return str(folder)


@pytest.fixture(scope="session")
def oracle():
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    return transformers.XLMTokenizer


@pytest.fixture(scope="session", params=[True, False], ids=["lowercase", "cased"])
def both(request, vocab_dir, oracle):
    options = {"do_lowercase_and_remove_accent": request.param}
    return XLMTokenizer.from_pretrained(vocab_dir, **options), oracle.from_pretrained(vocab_dir, **options)


@pytest.fixture(scope="session")
def xlm(vocab_dir) -> XLMTokenizer:
    return XLMTokenizer.from_pretrained(vocab_dir)


def _oracle_ids(ref, text: str, lang: str, **options) -> list[int]:
    """transformers' ids with ``lang`` honoured: its _tokenize per added-token piece, as its tokenize does."""
    tokens = []
    for piece in ref.tokens_trie.split(text):
        if piece in ref.all_special_tokens:
            tokens.append(piece)
        elif piece:
            tokens.extend(ref._tokenize(piece, lang=lang, **options))
    return ref.build_inputs_with_special_tokens(ref.convert_tokens_to_ids(tokens))


# ------------------------------------------------------------------------------ Moses batching


@pytest.mark.parametrize("lang", ["en", "fr", "de", "ro", "cs"])
def test_batched_moses_matches_unbatched_sacremoses(lang):
    texts = CORPUS + TRAINING
    for lowercase in (False, True):
        got = [words.split() for words in moses_words(texts, lang, lowercase)]
        assert got == [_reference_words(text, lang, lowercase) for text in texts]


_PIECES = list("aAzé '',,..\"()<>«»‘’“”–—…!?;:%-509\u00a0\t\n´`$&@#/|") + [
    "Mr.", "U.S.", "etc.", "No.", "n°", "l'", "qu'", "don't", "'s", "``", "12,5", "QXLMSEPARATORQ", "DOTMULTI",
    "Σ", "İ", "a\u0301", "\u0301", "😀", "，", "。 ", "．", "（", "\u200b", "\x00", "\ue000", "ș",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=10).map("".join), min_size=2, max_size=12),
       st.sampled_from(["en", "fr", "de"]), st.booleans())
def test_batched_moses_fuzz(texts, lang, lowercase):
    got = [words.split() for words in moses_words(texts, lang, lowercase)]
    assert got == [_reference_words(text, lang, lowercase) for text in texts]


# ------------------------------------------------------------------------------ parity


def test_ids_match_transformers(both):
    ours, ref = both
    for text in CORPUS:
        assert ours(text) == ref(text), text
        assert ours(text, return_token_type_ids=True, return_special_tokens_mask=True) == \
            ref(text, return_token_type_ids=True, return_special_tokens_mask=True), text
    assert ours(CORPUS)["input_ids"] == ref(CORPUS)["input_ids"]
    assert [ours.tokenize(text) for text in CORPUS] == [_in_vocab(ref, ref.tokenize(text)) for text in CORPUS]
    assert ours.encode(CORPUS[10]) == ref.encode(CORPUS[10])


@pytest.mark.parametrize("lang", LANGS)
def test_languages_match_transformers_tokenize(both, lang):
    ours, ref = both
    rows = ours(CORPUS, lang=lang)["input_ids"]
    assert rows == [_oracle_ids(ref, text, lang) for text in CORPUS]


def test_pairs_match_transformers(both):
    ours, ref = both
    options = {"return_token_type_ids": True, "return_special_tokens_mask": True}
    for a, b in PAIRS:
        assert ours(a, b, **options) == ref(a, b, **options), (a, b)
    batch_a, batch_b = map(list, zip(*PAIRS, strict=True))
    got = ours(batch_a, batch_b, padding=True, return_tensors="pt", **options)
    expected = ref(batch_a, batch_b, padding=True, return_tensors="pt", **options)
    # (the same keys; transformers puts special_tokens_mask before attention_mask)
    assert {k: (v.dtype, v.tolist()) for k, v in got.items()} == {k: (v.dtype, v.tolist()) for k, v in expected.items()}


@pytest.mark.filterwarnings("ignore:.?max_length.? is ignored")  # padding=True with max_length: both warn
@pytest.mark.parametrize("truncation", [True, "longest_first", "only_first", "only_second", False])
def test_truncation_and_padding_match_transformers(both, truncation):
    ours, ref = both
    batch_a, batch_b = map(list, zip(*PAIRS[:10], strict=True))
    for max_length in (3, 4, 9, 16, 25):
        for padding in (False, True, "max_length"):
            kwargs = {"truncation": truncation, "max_length": max_length, "padding": padding,
                      "return_token_type_ids": True}
            for a, b in PAIRS[:10]:
                same_outcome(ours, ref, a, b, **kwargs)
            same_outcome(ours, ref, batch_a, batch_b, **kwargs)
            same_outcome(ours, ref, CORPUS[4], **kwargs)
            same_outcome(ours, ref, batch_a, **kwargs)
    same_outcome(ours, ref, batch_a, batch_b, padding=True, truncation=True, max_length=12, return_tensors="pt")
    same_outcome(ours, ref, batch_a, padding=True, pad_to_multiple_of=8, return_tensors="np")
    same_outcome(ours, ref, batch_a, padding="max_length", max_length=40, padding_side="left")


def test_split_into_words_and_split_special_tokens_match_transformers(both):
    ours, ref = both
    words = ["L'homme", "Mr.", "café,", "<special1>", "dogs'", "3,5"]
    assert ours(words, is_split_into_words=True) == ref(words, is_split_into_words=True)
    text = CORPUS[19]
    assert ours(text, split_special_tokens=True) == ref(text, split_special_tokens=True)


def _in_vocab(ref, tokens: list[str]) -> list[str]:
    """transformers' tokens with those outside the vocabulary as the unknown token: its tokenize()
    returns such BPE pieces as they are (their id is the unknown one), ours returns '<unk>'."""
    vocab = ref.get_vocab()
    return [token if token in vocab else ref.unk_token for token in tokens]


def test_bypass_tokenizer_matches_transformers(both):
    ours, ref = both
    text = "already tokenized text , with Capitals and café ."
    tokens = ref._tokenize(text, bypass_tokenizer=True)
    assert ours.tokenize(text, bypass_tokenizer=True) == _in_vocab(ref, tokens)
    assert ours(text, bypass_tokenizer=True)["input_ids"] == ref.build_inputs_with_special_tokens(
        ref.convert_tokens_to_ids(tokens))


def test_decode_matches_transformers(both):
    ours, ref = both
    rows = ref(CORPUS)["input_ids"]
    for row in rows:
        for skip in (False, True):
            assert ours.decode(row, skip_special_tokens=skip) == ref.decode(row, skip_special_tokens=skip)
    assert ours.batch_decode(rows, skip_special_tokens=True) == ref.batch_decode(rows, skip_special_tokens=True)
    assert ours.decode([5, 30, 4, 31, 0]) == ref.decode([5, 30, 4, 31, 0])


def test_vocabulary_matches_transformers(both):
    ours, ref = both
    assert ours.get_vocab() == ref.get_vocab()
    assert ours.vocab_size == ref.vocab_size and len(ours) == len(ref)
    tokens = ["the</w>", "<special3>", "not-a-token", "é"]
    assert ours.convert_tokens_to_ids(tokens) == ref.convert_tokens_to_ids(tokens)
    ids = list(range(0, ours.vocab_size, 37))
    assert ours.convert_ids_to_tokens(ids) == ref.convert_ids_to_tokens(ids)
    assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == \
        ref.convert_ids_to_tokens(ids, skip_special_tokens=True)
    named = {key: value for key, value in ours.special_tokens_map.items() if key != "additional_special_tokens"}
    assert named == ref.special_tokens_map  # (transformers 5 lists the additional ones apart)
    assert ours.additional_special_tokens == ref.extra_special_tokens
    assert ours.all_special_ids == ref.all_special_ids
    assert (ours.mask_token, ours.mask_token_id, ours.pad_token_id, ours.bos_token_id, ours.sep_token_id) == \
        (ref.mask_token, ref.mask_token_id, ref.pad_token_id, ref.bos_token_id, ref.sep_token_id)
    assert ours.convert_tokens_to_string(["hel", "lo</w>", "wor", "ld</w>"]) == \
        ref.convert_tokens_to_string(["hel", "lo</w>", "wor", "ld</w>"])


def test_missing_merge_pieces_are_unknown_like_transformers(gappy_dir, oracle):
    ours, ref = XLMTokenizer.from_pretrained(gappy_dir), oracle.from_pretrained(gappy_dir)
    texts = CORPUS + TRAINING
    assert ours(texts)["input_ids"] == ref(texts)["input_ids"]
    assert ours(texts, padding=True, return_tensors="pt")["input_ids"].tolist() == \
        ref(texts, padding=True, return_tensors="pt")["input_ids"].tolist()
    assert [ours.tokenize(t) for t in texts] == [_in_vocab(ref, ref.tokenize(t)) for t in texts]
    assert ours.get_vocab() == ref.get_vocab() and ours.vocab_size == ref.vocab_size and len(ours) == len(ref)
    full = XLMTokenizer.from_pretrained(gappy_dir.replace("xlm-gappy", "xlm-vocab"))
    unknown = [row.count(ours.unk_token_id) for row in ours(texts)["input_ids"]]
    assert sum(unknown) > sum(row.count(full.unk_token_id) for row in full(texts)["input_ids"])  # the gap is hit


# ------------------------------------------------------------------------------ saving and loading


def test_save_load_both_ways(vocab_dir, oracle, tmp_path):
    lang2id, id2lang = {"de": 0, "en": 1}, {0: "de", 1: "en"}
    ours = XLMTokenizer.from_pretrained(vocab_dir, do_lowercase_and_remove_accent=False, lang2id=lang2id,
                                        id2lang=id2lang, model_max_length=512)
    written = ours.save_pretrained(tmp_path / "ours")
    assert sorted(os.path.basename(p) for p in written) == [
        "merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]
    theirs = oracle.from_pretrained(tmp_path / "ours")
    assert theirs.do_lowercase_and_remove_accent is False and theirs.model_max_length == 512
    assert theirs(CORPUS)["input_ids"] == ours(CORPUS)["input_ids"]
    assert theirs.get_vocab() == ours.get_vocab()

    theirs.save_pretrained(tmp_path / "theirs")
    again = XLMTokenizer.from_pretrained(tmp_path / "theirs")
    assert again.do_lowercase_and_remove_accent is False and again.lang2id == lang2id
    assert again(CORPUS)["input_ids"] == theirs(CORPUS)["input_ids"]
    assert again.additional_special_tokens == list(SPECIAL_TOKENS)
    reloaded = XLMTokenizer.from_pretrained(tmp_path / "ours")
    assert reloaded(PAIRS[:5]) == ours(PAIRS[:5])
    with pytest.raises(ValueError, match="tokenizer.json"):
        ours.save_pretrained(tmp_path / "json", legacy_format=False)


def test_pickle_round_trip(xlm):
    copy = pickle.loads(pickle.dumps(xlm))
    assert copy(CORPUS) == xlm(CORPUS)


def test_bad_files_name_the_file_and_the_fix(vocab_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-vocab.json"):
        XLMTokenizer(vocab_file=str(tmp_path / "no-such-vocab.json"), merges_file=os.path.join(vocab_dir, "merges.txt"))
    with pytest.raises(Exception, match="merges.txt"):
        XLMTokenizer.from_pretrained(_copy_without(vocab_dir, tmp_path / "no-merges", "merges.txt"))
    folder = tmp_path / "bad-merges"
    shutil.copytree(vocab_dir, folder)
    lines = (folder / "merges.txt").read_text(encoding="utf-8").split("\n")
    lines[3] = "three parts here extra"
    (folder / "merges.txt").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValueError, match=r"merges.txt, line 4: 'three parts here extra' is not a merge"):
        XLMTokenizer.from_pretrained(folder)
    (folder / "vocab.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="vocab.json: not valid UTF-8 JSON"):
        XLMTokenizer.from_pretrained(folder)


def _copy_without(source: str, target, name: str) -> str:
    shutil.copytree(source, target)
    os.remove(os.path.join(target, name))
    return str(target)


def test_merges_with_header_and_without_counts(trained, tmp_path):
    vocab, merges = trained
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    plain = XLMTokenizer.from_pretrained(tmp_path)
    assert plain._merges == merges


# ------------------------------------------------------------------------------ behaviour


def test_special_tokens_and_languages(vocab_dir, recwarn):
    xlm = XLMTokenizer.from_pretrained(vocab_dir, lang2id={"en": 0, "fr": 1}, id2lang={0: "en", 1: "fr"})
    assert (xlm.bos_token, xlm.sep_token, xlm.cls_token, xlm.pad_token, xlm.unk_token, xlm.mask_token) == \
        ("<s>", "</s>", "</s>", "<pad>", "<unk>", "<special1>")
    assert xlm.convert_ids_to_tokens(list(range(14))) == SPECIALS
    ids = xlm("a <special1> b")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 1 and xlm.mask_token_id in ids
    assert xlm.lang2id["fr"] == 1 and xlm.id2lang[1] == "fr"
    with pytest.warns(UserWarning, match="lang='de' is not one of this checkpoint's languages"):
        xlm("Hallo", lang="de")
    with pytest.raises(ValueError, match="lang2id has 2 languages but id2lang has 1"):
        XLMTokenizer.from_pretrained(vocab_dir, lang2id={"en": 0, "fr": 1}, id2lang={0: "en"})


@pytest.mark.parametrize("lang, package", [("zh", "rjieba"), ("th", "pythainlp"), ("ja", "Mykytea")])
def test_languages_needing_a_segmenter_name_the_package(xlm, lang, package):
    try:
        __import__(package)
    except ImportError:
        pass
    else:
        pytest.skip(f"{package} is installed")
    with pytest.raises(ImportError, match=rf"lang='{lang}' is segmented into words with {package}.*pip install"):
        xlm("some text", lang=lang)


def test_offsets_are_refused_word_ids_given(xlm):
    with pytest.raises(NotImplementedError, match="offsets"):
        xlm("Hello world", return_offsets_mapping=True)
    batch = xlm("L'homme, ici.", lang="fr")
    words = batch.word_ids()
    assert words[0] is None and words[-1] is None and words[1] == 0
    assert max(w for w in words if w is not None) == 4  # l' homme , ici .


def test_batches_of_any_size_are_the_same_as_single_calls(xlm):
    rng = random.Random(0)
    texts = CORPUS + TRAINING
    singles = [xlm(text, lang="fr")["input_ids"] for text in texts]
    for size in (1, 2, 7, len(texts)):
        order = rng.sample(range(len(texts)), len(texts))
        for start in range(0, len(order), size):
            part = order[start:start + size]
            assert xlm([texts[i] for i in part], lang="fr")["input_ids"] == [singles[i] for i in part]


def test_added_tokens_are_cut_out_before_moses(vocab_dir):
    xlm = XLMTokenizer.from_pretrained(vocab_dir)
    xlm.add_tokens(["snorkelwort"])
    ids = xlm("a snorkelwort, b")["input_ids"]
    assert xlm.convert_tokens_to_ids("snorkelwort") in ids
    assert xlm.decode(ids, skip_special_tokens=True).startswith("a snorkelwort")


def test_auto_tokenizer_picks_xlm(xlm, tmp_path):
    from plugformers import AutoTokenizer

    xlm.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(loaded) is XLMTokenizer and loaded(CORPUS) == xlm(CORPUS)
