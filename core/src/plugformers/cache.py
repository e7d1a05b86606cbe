"""The key/value cache that causal models share for incremental decoding.

One ``KVCache`` holds every layer's keys and values as (batch, heads, seq, head_dim)
tensors in buffers allocated once (to ``max_length`` when known, as generate() knows
it; else grown by doubling), so a decoding step writes its new position in place
instead of concatenating the whole history again. Without ``max_length`` the first
write of a layer keeps the given tensors as they are (a forward pass that returns its
cache and never decodes further copies nothing); the next write moves them into a
buffer with room to grow.
"""

from __future__ import annotations

from typing import Iterator

import torch

__all__ = ["KVCache"]


class KVCache:
    """Keys and values of every attention layer, for incremental decoding.

    ``update(layer, key, value)`` appends (batch, heads, new, head_dim) tensors for one
    layer and returns that layer's keys and values so far (views, no copy). Layers
    may have different head counts or head sizes.
    """

    def __init__(self, max_length: int | None = None) -> None:
        self.max_length = max_length
        self._keys: list[torch.Tensor] = []
        self._values: list[torch.Tensor] = []
        self._lengths: list[int] = []
        self._owned: list[bool] = []  # False: the layer still holds the caller's tensors, never written into

    # ------------------------------------------------------------------ writing

    def update(self, layer: int, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        new = key.shape[-2]
        if layer == len(self._keys) and self.max_length is None:
            self._keys.append(key)
            self._values.append(value)
            self._lengths.append(new)
            self._owned.append(False)
            return key, value
        if layer == len(self._keys):
            capacity = max(self.max_length or 0, new)
            if self.max_length is None:
                capacity = max(2 * new, 16)
            self._keys.append(key.new_empty(*key.shape[:-2], capacity, key.shape[-1]))
            self._values.append(value.new_empty(*value.shape[:-2], capacity, value.shape[-1]))
            self._lengths.append(0)
            self._owned.append(True)
        elif layer > len(self._keys):
            raise IndexError(f"KVCache.update: layer {layer} before layer {len(self._keys)} was written")
        start = self._lengths[layer]
        end = start + new
        if end > self._keys[layer].shape[-2] or not self._owned[layer]:
            self._grow(layer, end)
        self._keys[layer][..., start:end, :] = key  # (batch, heads, seq, head_dim)
        self._values[layer][..., start:end, :] = value
        self._lengths[layer] = end
        return self._keys[layer][..., :end, :], self._values[layer][..., :end, :]

    def _grow(self, layer: int, needed: int) -> None:
        old_k, old_v = self._keys[layer], self._values[layer]
        capacity = max(needed, 2 * old_k.shape[-2])
        length = self._lengths[layer]
        k = old_k.new_empty(*old_k.shape[:-2], capacity, old_k.shape[-1])
        v = old_v.new_empty(*old_v.shape[:-2], capacity, old_v.shape[-1])
        k[..., :length, :] = old_k[..., :length, :]
        v[..., :length, :] = old_v[..., :length, :]
        self._keys[layer], self._values[layer] = k, v
        self._owned[layer] = True

    # ------------------------------------------------------------------ reading

    def get_seq_length(self, layer: int = 0) -> int:
        """How many positions are cached (0 for an empty cache)."""
        return self._lengths[layer] if layer < len(self._lengths) else 0

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        end = self._lengths[layer]
        return self._keys[layer][..., :end, :], self._values[layer][..., :end, :]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return (self[i] for i in range(len(self)))

    # ------------------------------------------------------------------ search

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (in that order): beam search's reordering."""
        for i in range(len(self._keys)):
            self._keys[i] = self._keys[i].index_select(0, index)
            self._values[i] = self._values[i].index_select(0, index)
            self._owned[i] = True

    def repeat_interleave(self, n: int) -> None:
        """Repeat every batch row n times (one prompt, several beams or samples)."""
        for i in range(len(self._keys)):
            self._keys[i] = self._keys[i].repeat_interleave(n, dim=0)
            self._values[i] = self._values[i].repeat_interleave(n, dim=0)
            self._owned[i] = True

    def crop(self, length: int) -> None:
        """Forget every position from ``length`` on."""
        self._lengths = [min(n, length) for n in self._lengths]

    # ------------------------------------------------------------------ legacy tuples

    def to_legacy(self) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        """((key, value), ...) per layer, as pytorch-transformers returned ``past``."""
        return tuple(self)

    @classmethod
    def from_legacy(cls, past, max_length: int | None = None) -> KVCache:
        """A cache from ((key, value), ...) per layer; a KVCache is returned as is."""
        if past is None:
            return cls(max_length)
        if isinstance(past, KVCache):
            return past
        cache = cls(max_length)
        for layer, (key, value) in enumerate(past):
            cache.update(layer, key, value)
        return cache
