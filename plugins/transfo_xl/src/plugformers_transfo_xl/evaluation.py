"""Perplexity of long texts, the way Transformer-XL is evaluated (wikitext-103 and the like):
the token stream is laid out as ``batch_size`` parallel streams, cut into consecutive
segments of ``tgt_len`` tokens, and the segments are fed in order with the mems of the
previous one, each position predicting the next token.

    from plugformers_transfo_xl.evaluation import perplexity
    result = perplexity(model, ids, batch_size=1, tgt_len=128)   # ids: a 1-D token stream
    result.perplexity, result.nll, result.tokens
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

__all__ = ["segments", "perplexity", "Perplexity"]


def segments(stream: torch.Tensor | Sequence[int], batch_size: int = 1,
             tgt_len: int = 128) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(input_ids, labels), each (batch_size, <= tgt_len), over a 1-D token stream.

    The stream is cut into ``batch_size`` consecutive rows of equal length (the tokens
    that do not fill a row are dropped); row j continues row j's previous segment, so
    mems carry over. ``labels`` are the same positions one token later; the last segment
    may be shorter."""
    if batch_size < 1 or tgt_len < 1:
        raise ValueError(f"segments(): batch_size={batch_size} and tgt_len={tgt_len} must be positive")
    stream = torch.as_tensor(stream, dtype=torch.long).reshape(-1)
    steps = stream.numel() // batch_size
    if steps < 2:
        raise ValueError(f"segments(): {stream.numel()} tokens in {batch_size} rows leave nothing to predict; "
                         "pass a longer stream or a smaller batch_size")
    rows = stream[:steps * batch_size].view(batch_size, steps)  # (batch, steps)
    for start in range(0, steps - 1, tgt_len):
        n = min(tgt_len, steps - 1 - start)
        yield rows[:, start:start + n], rows[:, start + 1:start + 1 + n]


@dataclass
class Perplexity:
    perplexity: float
    nll: float  # mean negative log-likelihood per predicted token (nats)
    tokens: int  # tokens predicted


def perplexity(model: torch.nn.Module, stream: torch.Tensor | Sequence[int], *, batch_size: int = 1,
               tgt_len: int | None = None) -> Perplexity:
    """The perplexity of ``model`` (a TransfoXLLMHeadModel) on ``stream``: the segments
    of ``segments(stream, batch_size, tgt_len)`` (tgt_len defaults to config.tgt_len) fed
    in order with mems (the first from model's mems=None start), in eval mode, no grad."""
    tgt_len = tgt_len or model.config.tgt_len
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count, mems = 0.0, 0, None
    try:
        with torch.no_grad():
            for input_ids, labels in segments(stream, batch_size, tgt_len):
                out = model(input_ids.to(device), labels=labels.to(device), mems=mems, return_dict=True)
                mems = out.mems
                total += float(out.losses.double().sum())
                count += labels.numel()
    finally:
        model.train(was_training)
    nll = total / count
    return Perplexity(perplexity=math.exp(nll) if nll < 700 else math.inf, nll=nll, tokens=count)
