"""A small GPT-2 checkpoint, made here because no GPT-2 weights can be downloaded.

Trains a byte-level BPE vocabulary (the `tokenizers` library) and a 2-layer GPT-2 on a
short text for a few seconds, then saves both as an ordinary checkpoint folder:
config.json, model.safetensors, generation_config.json, vocab.json, merges.txt and
tokenizer.json -- the files a GPT-2 repo on the Hub has. The model learns the text by
heart, so its continuations of a prompt from the text are readable.

    python examples/tiny_gpt2.py FOLDER      # make the checkpoint in FOLDER

Where the Hub is reachable, ``"gpt2"`` (openai-community/gpt2) takes its place.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import torch

TEXT = """\
The library keeps a light core and puts every architecture in a plugin of its own.
A user installs the core and only the plugins they need, and the core never names an architecture.
A third party publishes a new architecture as a package, and the Auto classes find it from the checkpoint.
The checkpoint is a folder with a config, the weights and the files of the tokenizer.
The model reads the prompt once, keeps the keys and values in a cache, and then feeds one token at a time.
Greedy search takes the most likely token at every step, and beam search keeps the best few sequences.
Sampling draws the next token at random, with a temperature, top k and top p to shape the draw.
"""
END = "<|endoftext|>"


def make_checkpoint(folder: str | os.PathLike, *, steps: int = 300, seed: int = 0) -> str:
    """Train the vocabulary and the model on TEXT and save them to ``folder``; returns its path."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    from plugformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer, GenerationConfig

    torch.manual_seed(seed)
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=[END], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    lines = TEXT.splitlines()
    backend.train_from_iterator(lines, trainer)
    tokenizer = GPT2Tokenizer(tokenizer_object=backend)

    end = tokenizer.eos_token_id
    stream = [token for line in lines for token in [*tokenizer.encode(line), end]]
    data = torch.tensor(stream)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=64, n_layer=2, n_head=4,
                        bos_token_id=end, eos_token_id=end)
    model = GPT2LMHeadModel(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    window, batch = 32, 8
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains faster on one thread, far faster on a busy machine
    try:
        model.train()
        for _ in range(steps):
            starts = torch.randint(0, len(data) - window, (batch,))
            ids = torch.stack([data[s:s + window] for s in starts.tolist()])  # (batch, window)
            loss = model(ids, labels=ids).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.generation_config = GenerationConfig(max_new_tokens=24, pad_token_id=end, bos_token_id=end,
                                               eos_token_id=end)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return os.fspath(folder)


def checkpoint() -> str:
    """The checkpoint, made once per process in a temporary folder."""
    global _made
    if _made is None:
        _made = make_checkpoint(Path(tempfile.mkdtemp(prefix="tiny-gpt2-")))
    return _made


_made: str | None = None

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: python {sys.argv[0]} FOLDER")
    start = time.perf_counter()
    print(f"made {make_checkpoint(sys.argv[1])} in {time.perf_counter() - start:.1f} s")
