import torch

from plugformers.cache import KVCache


def test_cache_appends_in_place_and_grows():
    for max_length in (None, 50):
        cache = KVCache(max_length)
        keys, values = [], []
        for step in range(40):
            k = torch.randn(2, 3, 5 if step == 0 else 1, 4)
            v = torch.randn_like(k)
            keys.append(k)
            values.append(v)
            for layer in range(2):
                got_k, got_v = cache.update(layer, k, v)
        assert torch.equal(got_k, torch.cat(keys, -2)) and torch.equal(got_v, torch.cat(values, -2))
        assert cache.get_seq_length() == 44 and len(cache) == 2
    assert cache._keys[0].shape[-2] == 50  # preallocated once to max_length


def test_reorder_crop_and_legacy():
    cache = KVCache.from_legacy(((torch.arange(6.).view(3, 1, 2, 1), torch.zeros(3, 1, 2, 1)),))
    cache.reorder(torch.tensor([2, 2, 0]))
    assert cache[0][0][:, 0, :, 0].tolist() == [[4, 5], [4, 5], [0, 1]]
    cache.crop(1)
    assert cache.get_seq_length() == 1 and cache.to_legacy()[0][0].shape == (3, 1, 1, 1)


def test_first_write_without_max_length_copies_nothing_and_never_writes_into_it():
    cache = KVCache()
    k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 5, 4)
    got_k, got_v = cache.update(0, k, v)
    assert got_k is k and got_v is v  # a forward pass that never decodes further pays no copy
    kept_k = k.clone()
    cache.crop(3)
    new_k, new_v = torch.randn(2, 3, 1, 4), torch.randn(2, 3, 1, 4)
    got_k, _ = cache.update(0, new_k, new_v)  # the next write moves into an own buffer first
    assert torch.equal(k, kept_k), "the caller's tensor was written into"
    assert torch.equal(got_k, torch.cat([kept_k[..., :3, :], new_k], -2))
    assert cache._keys[0].shape[-2] >= 10 and cache.get_seq_length() == 4
