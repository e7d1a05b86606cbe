"""TransfoXLTokenizer: behaviour, safe vocabulary files, pickle opt-in, and parity with
pytorch-transformers 1.2.0's TransfoXLTokenizer (the oracle).

The vocabularies are counted by 1.x itself (count_file / build_vocab) on a small corpus written
here, cased and lowercased, and with a delimiter; one comes from 1.x's ``vocab_file`` option.
1.x's save_pretrained writes them as vocab.bin (torch.save of the tokenizer's attributes);
vocab.pkl is the same dict written with pickle.dump, as transformers 4.x did.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugformers_transfo_xl.tokenization import TransfoXLTokenizer, TransfoXLTokenizerFast, read_vocab_txt

CORPUS = [
    "The quick brown fox jumps over the lazy dog .",
    "the dog barks , and the Fox runs away !",
    "Hello   world  ,  hello again .",
    "A b c d e f the the the",
    "It 's a test : do not panic , you are n't alone ; the end .",
    "@-@ 1 @,@ 000 = = Section = = <unk> words",
    "Zürich café naïve ÉCOLE İstanbul",
]

TEXTS = [
    "The quick brown fox",
    "the  dog   barks",
    "THE Dog BARKS",
    "unknown words here: zyzzyva qwerty",
    "Hello, world! Hello .",
    "a<eos>b <eos> c",
    "<eos> at the start and end <eos>",
    "x <unk>y <unk>",
    "<EOS> in capitals",
    "  leading and trailing  ",
    "",
    "tab\tseparated\nnew line\r\nwindows",
    "nbsp\u00a0and ideographic\u3000space",
    "file\x1cseparator\x1funit",
    "do not , it 's fine . you are n't ?",
    "Zürich café naïve ÉCOLE İstanbul",
    "@-@ 1 @,@ 000 = = Section = =",
]


@pytest.fixture(scope="module", autouse=True)
def _quiet():
    logging.getLogger("pytorch_transformers").setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def oracle_cls():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ptt = pytest.importorskip("pytorch_transformers")
    return ptt.TransfoXLTokenizer


def _counted(oracle_cls, corpus_path, **options):
    tok = oracle_cls(special=["<eos>", "<unk>"], **options)
    tok.count_file(corpus_path, add_eos=True, verbose=False)
    tok.build_vocab()
    return tok


@pytest.fixture(scope="module")
def corpus_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("corpus") / "train.txt"
    path.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    return str(path)


def _legacy_folder(tmp_path_factory, oracle, name: str) -> str:
    """The folder 1.x's save_pretrained writes: vocab.bin, special_tokens_map.json, ..."""
    folder = tmp_path_factory.mktemp(name)
    oracle.save_pretrained(str(folder))
    assert (folder / "vocab.bin").is_file()
    return str(folder)


@pytest.fixture(scope="module", params=["cased", "lower"])
def pair(request, oracle_cls, corpus_path, tmp_path_factory):
    """(ours, the oracle) on a 1.x vocabulary, ours loaded from 1.x's vocab.bin with the opt-in."""
    oracle = _counted(oracle_cls, corpus_path, lower_case=request.param == "lower")
    folder = _legacy_folder(tmp_path_factory, oracle, f"legacy-{request.param}")
    return TransfoXLTokenizer.from_pretrained(folder, allow_pickle=True), oracle


@pytest.fixture(scope="module")
def legacy_dir(oracle_cls, corpus_path, tmp_path_factory) -> str:
    return _legacy_folder(tmp_path_factory, _counted(oracle_cls, corpus_path), "legacy")


@pytest.fixture(scope="module")
def oracle(oracle_cls, corpus_path):
    return _counted(oracle_cls, corpus_path)


# ------------------------------------------------------------------------------ parity


def _check_parity(ours, ref, text):
    assert ours.tokenize(text) == ref.tokenize(text), text
    ids = ours.encode(text)
    assert ids == ref.encode(text), text
    assert ours.convert_tokens_to_ids(ours.tokenize(text)) == ids
    for skip in (False, True):
        assert ours.decode(ids, skip_special_tokens=skip) == ref.decode(ids, skip_special_tokens=skip), text
    assert ours.decode(ids, clean_up_tokenization_spaces=False) == ref.decode(ids, clean_up_tokenization_spaces=False)
    if not text:  # 1.x adds nothing to an empty text; ours still ends the sequence
        assert ours.encode(text, add_eos=True) == [ours.eos_token_id]
        return
    if any(token in text for token in ref.all_special_tokens):
        # 1.x adds them to every piece between special tokens ("a <eos> b" -> a <eos> <eos> b <eos>);
        # ours, once at the end of the sequence
        assert ours.encode(text, add_eos=True) == ids + [ours.eos_token_id]
        return
    for option in ("add_eos", "add_double_eos"):
        assert ours.tokenize(text, **{option: True}) == ref.tokenize(text, **{option: True}), (option, text)
        assert ours.encode(text, **{option: True}) == ref.encode(text, **{option: True}), (option, text)


@pytest.mark.parametrize("text", TEXTS)
def test_parity_with_pytorch_transformers(pair, text):
    ours, ref = pair
    if not text.strip() and text:
        pytest.skip("1.2.0 tokenizes whitespace-only text as ['<formula>'] (a bug); ours gives []")
    _check_parity(ours, ref, text)


def test_vocabulary_and_special_tokens_match(pair):
    ours, ref = pair
    assert ours.get_vocab() == dict(ref.sym2idx)
    assert ours.vocab_size == len(ours) == len(ref) == ref.vocab_size
    assert ours.convert_ids_to_tokens(list(range(len(ref)))) == ref.convert_ids_to_tokens(list(range(len(ref))))
    assert ours.convert_tokens_to_ids(["the", "zyzzyva", "<eos>"]) == ref.convert_tokens_to_ids(["the", "zyzzyva", "<eos>"])
    assert (ours.eos_token, ours.unk_token) == ("<eos>", "<unk>")
    assert (ours.eos_token_id, ours._unk_id()) == (ref.eos_idx, ref.unk_idx)
    assert ours.additional_special_tokens == []  # <formula>, 1.x's default, is not in this vocabulary
    assert ours.lower_case == ref.lower_case and ours.delimiter is None
    assert ours.num_special_tokens_to_add() == 0


def test_added_tokens_match(oracle_cls, corpus_path, tmp_path):
    ref = _counted(oracle_cls, corpus_path)
    ref.add_tokens(["newword", "brandnew"])
    ref.save_pretrained(str(tmp_path))  # the pickled dict carries added_tokens_encoder
    ours = TransfoXLTokenizer.from_pretrained(str(tmp_path), allow_pickle=True)
    assert len(ours) == len(ref)
    for text in ("the newword dog", "brandnew newword zz"):
        assert ours.encode(text) == ref.encode(text)
        assert ours.tokenize(text) == ref.tokenize(text)


words = st.sampled_from(["the", "The", "THE", "dog", "Fox", "fox", ",", ".", "zyzzyva", "<eos>", "<unk>", "café",
                         "İstanbul", "n't", "@-@", "do", "not"])
separators = st.sampled_from([" ", "  ", "\t", "\n", " \u00a0 "])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(words, separators), max_size=12), st.booleans())
def test_parity_on_random_texts(pair, parts, lead):
    ours, ref = pair
    text = ("x " if lead else "") + "".join(word + sep for word, sep in parts)
    if not text.strip():
        return
    _check_parity(ours, ref, text)


def test_delimiter_parity(oracle_cls, tmp_path):
    corpus = tmp_path / "fields.txt"
    corpus.write_text("red|green|blue\nGreen|red|big cat\nblue|blue\n", encoding="utf-8")
    ref = oracle_cls(special=["<unk>"], delimiter="|")
    ref.count_file(str(corpus), verbose=False)
    ref.build_vocab()
    ref.save_pretrained(str(tmp_path))
    ours = TransfoXLTokenizer.from_pretrained(str(tmp_path), allow_pickle=True)
    assert ours.delimiter == "|"
    for text in ("red|green", " blue|big cat|purple ", "big cat|red", "Green"):
        assert ours.tokenize(text) == ref.tokenize(text), text
        assert ours.encode(text) == ref.encode(text), text
    # 1.x keeps the empty string between two delimiters as a word; we drop it
    assert ref.tokenize("red||blue") == ["red", "", "blue"]
    assert ours.tokenize("red||blue") == ["red", "blue"]
    with pytest.warns(UserWarning, match="vocab.txt is not written"):  # 'big cat' holds a space
        files = ours.save_pretrained(str(tmp_path / "saved"))
    assert not any(f.endswith("vocab.txt") for f in files)
    again = TransfoXLTokenizer.from_pretrained(str(tmp_path / "saved"))
    assert again.delimiter == "|" and again.encode("big cat|red|x") == ref.encode("big cat|red|x")


def test_vocab_file_parity(oracle_cls, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the\n<unk>\ndog 5\nthe\n<eos>\nFox\n", encoding="utf-8")  # counts and repeats, as 1.x reads
    for lower_case in (False, True):
        ref = oracle_cls(vocab_file=str(vocab), lower_case=lower_case)
        ours = TransfoXLTokenizer(vocab_file=str(vocab), lower_case=lower_case)
        assert ours.get_vocab() == dict(ref.sym2idx)
        for text in ("the dog zz <eos> Fox", "FOX dog", "<unk> the"):
            assert ours.encode(text) == ref.encode(text)
            assert ours.tokenize(text) == ref.tokenize(text)
    assert read_vocab_txt(vocab) == {"the": 0, "<unk>": 1, "dog": 2, "<eos>": 3, "Fox": 4}


# ------------------------------------------------------------------------------ pickles


def test_pickles_need_the_opt_in(legacy_dir, tmp_path):
    with pytest.raises(ValueError) as info:
        TransfoXLTokenizer.from_pretrained(legacy_dir)
    message = str(info.value)
    assert os.path.join(legacy_dir, "vocab.bin") in message
    assert "pickle" in message and "arbitrary code" in message
    assert "allow_pickle=True" in message
    assert f"plugformers convert-vocab {legacy_dir} --allow-pickle" in message
    with pytest.raises(ValueError, match="allow_pickle=True"):
        TransfoXLTokenizer(pretrained_vocab_file=os.path.join(legacy_dir, "vocab.bin"))


def test_vocab_pkl_of_transformers_4(oracle, legacy_dir, tmp_path):
    with open(tmp_path / "vocab.pkl", "wb") as f:
        pickle.dump(dict(oracle.__dict__), f)
    with pytest.raises(ValueError, match=r"vocab\.pkl.*pickle"):
        TransfoXLTokenizer.from_pretrained(str(tmp_path))
    ours = TransfoXLTokenizer.from_pretrained(str(tmp_path), allow_pickle=True)
    assert ours.get_vocab() == dict(oracle.sym2idx)
    assert ours.encode("The quick zz fox") == oracle.encode("The quick zz fox")


def test_vocab_pkl_with_classes_this_python_lacks(oracle, tmp_path):
    """transformers 4.x pickled its sacremoses normalizers with the vocabulary."""
    data = pickle.dumps({**oracle.__dict__, "moses_punct_normalizer": _Marker()})
    assert b"_Marker" in data
    data = data.replace(b"test_tokenization", b"gone_tokenization")  # same length: the pickle stays valid
    (tmp_path / "vocab.pkl").write_bytes(data)
    ours = TransfoXLTokenizer.from_pretrained(str(tmp_path), allow_pickle=True)
    assert ours.get_vocab() == dict(oracle.sym2idx)


class _Marker:
    pass


class _Exploit:
    def __reduce__(self):
        return (os.mkdir, (os.environ["TXL_EXPLOIT_MARKER"],))


def test_a_pickle_is_never_run_without_the_opt_in(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    monkeypatch.setenv("TXL_EXPLOIT_MARKER", str(marker))
    (tmp_path / "vocab.pkl").write_bytes(pickle.dumps({"idx2sym": ["<unk>"], "x": _Exploit()}))
    with pytest.raises(ValueError, match="pickle"):
        TransfoXLTokenizer.from_pretrained(str(tmp_path))
    assert not marker.exists()


def test_safe_files_win_over_a_pickle(legacy_dir, oracle, tmp_path):
    folder = tmp_path / "both"
    folder.mkdir()
    (folder / "vocab.bin").write_bytes(b"not even a pickle")
    (folder / "vocab.txt").write_text("".join(s + "\n" for s in oracle.idx2sym), encoding="utf-8")
    ours = TransfoXLTokenizer.from_pretrained(str(folder))  # no opt-in needed, the pickle is not read
    assert ours.encode("The quick zz fox") == oracle.encode("The quick zz fox")


# ------------------------------------------------------------------------------ safe files


def test_save_pretrained_writes_the_safe_format(pair, tmp_path):
    ours, ref = pair
    files = sorted(os.path.basename(p) for p in ours.save_pretrained(str(tmp_path)))
    assert files == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
    assert sorted(os.listdir(tmp_path)) == files  # no pickle
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "TransfoXLTokenizer" and config["lower_case"] == ref.lower_case
    assert "allow_pickle" not in config
    state = json.loads((tmp_path / "tokenizer.json").read_text())
    assert state["model"]["type"] == "WordLevel" and state["pre_tokenizer"]["type"] == "WhitespaceSplit"
    assert (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines() == list(ref.idx2sym)
    reloaded = TransfoXLTokenizer.from_pretrained(str(tmp_path))
    (tmp_path / "tokenizer.json").unlink()
    from_txt = TransfoXLTokenizer.from_pretrained(str(tmp_path))
    for text in TEXTS[:-3]:
        assert reloaded.encode(text) == from_txt.encode(text) == ref.encode(text), text
        assert reloaded.tokenize(text) == from_txt.tokenize(text) == ref.tokenize(text), text


def test_tokenizer_json_alone_and_option_overrides(pair, tmp_path):
    ours, _ = pair
    ours.save_pretrained(str(tmp_path), legacy_format=False)
    assert not (tmp_path / "vocab.txt").exists()
    for lower_case in (False, True):
        loaded = TransfoXLTokenizer(tokenizer_file=str(tmp_path / "tokenizer.json"), lower_case=lower_case)
        assert loaded.lower_case is lower_case
        assert loaded.tokenize("THE Dog") == (["the", "dog"] if lower_case else ["THE", "Dog"])
        assert loaded.convert_tokens_to_ids(["the", "dog"]) == ours.convert_tokens_to_ids(["the", "dog"])


def test_vocabulary_errors(tmp_path):
    (tmp_path / "no-unk.txt").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown token"):
        TransfoXLTokenizer(vocab_file=str(tmp_path / "no-unk.txt"))
    (tmp_path / "blank.txt").write_text("<unk>\n\nb\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2 is blank"):
        TransfoXLTokenizer(vocab_file=str(tmp_path / "blank.txt"))
    with pytest.raises(ValueError, match="delimiter"):
        TransfoXLTokenizer(vocab_file=str(tmp_path / "no-unk.txt"), delimiter="")
    (tmp_path / "UNK.txt").write_text("<UNK>\nthe\n", encoding="utf-8")
    upper = TransfoXLTokenizer(vocab_file=str(tmp_path / "UNK.txt"))  # 1.x takes <UNK> too
    assert upper.unk_token == "<UNK>" and upper.encode("the cat") == [1, 0]
    assert TransfoXLTokenizerFast is TransfoXLTokenizer


# ------------------------------------------------------------------------------ calls


def test_call_padding_truncation_and_tensors(pair):
    ours, ref = pair
    texts = ["the dog barks", "the fox", "zyzzyva"]
    assert ours(texts)["input_ids"] == [ref.encode(t) for t in texts]
    assert list(ours("the dog")) == ["input_ids"]
    with pytest.raises(ValueError, match="pad_token"):
        ours(texts, padding=True)
    padded = TransfoXLTokenizer.from_pretrained(ours.name_or_path, allow_pickle=True, pad_token="<eos>")
    eos = padded.eos_token_id
    batch = padded(texts, padding=True, return_tensors="pt", return_attention_mask=True)
    assert batch["input_ids"].tolist() == [ref.encode(t) + [eos] * (3 - len(ref.encode(t))) for t in texts]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0], [1, 0, 0]]
    with_eos = padded(texts, add_eos=True, padding="max_length", max_length=5, return_tensors="np")
    assert with_eos["input_ids"].tolist() == [(ref.encode(t, add_eos=True) + [eos] * 5)[:5] for t in texts]
    assert "offset_mapping" not in with_eos
    cut = padded("the quick brown fox jumps", add_eos=True, truncation=True, max_length=3)
    assert cut["input_ids"] == ref.encode("the quick", add_eos=True)  # room is kept for <eos>
    assert padded("the dog", add_eos=True).tokens() == ["the", "dog", "<eos>"]
    assert padded("the dog", "a fox", add_eos=True)["input_ids"] == (
        ref.encode("the dog", add_eos=True) + ref.encode("a fox", add_eos=True))
    assert padded("the dog")["input_ids"] == ref.encode("the dog")  # the template is gone again
    assert padded.decode(batch["input_ids"][1], skip_special_tokens=True) == "the fox"
    assert padded.batch_decode(batch["input_ids"].tolist()) == [ref.decode(r) for r in batch["input_ids"].tolist()]
