"""from_pretrained through huggingface_hub against a Hub-protocol server on 127.0.0.1."""

from __future__ import annotations

import os

import pytest
import torch

from plugformers import AutoConfig, AutoModel, CheckpointNotFoundError
from plugformers.testing import tiny_model
from plugformers.hub import DownloadError
from plugformers.testing.hub_server import HubServer


@pytest.fixture
def checkpoints(tmp_path):
    folders = {}
    for name, seed in (("main", 0), ("v1", 1)):
        torch.manual_seed(seed)
        model = tiny_model("bert", "base").eval()
        folders[name] = tmp_path / name
        model.save_pretrained(folders[name])
    return folders


@pytest.fixture
def hub(checkpoints, monkeypatch, tmp_path):
    with HubServer({"org/tiny-bert": dict(checkpoints), "google-bert/bert-base-uncased": checkpoints["v1"]}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        yield server


def _same(model, folder):
    ref = AutoModel.from_pretrained(folder)
    return all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), ref.state_dict().values()))


def test_download_then_cache_reuse_with_server_down(hub, checkpoints, tmp_path):
    cache = tmp_path / "cache"
    model = AutoModel.from_pretrained("org/tiny-bert", cache_dir=cache)
    assert _same(model, checkpoints["main"])
    assert hub.downloads["org/tiny-bert/main/model.safetensors"] == 1
    assert (cache / "models--org--tiny-bert").is_dir()
    AutoModel.from_pretrained("org/tiny-bert", cache_dir=cache)
    assert hub.downloads["org/tiny-bert/main/model.safetensors"] == 1  # reused, not downloaded again
    hub.stop()
    for offline in (True, False):  # offline, or the server gone: the cache serves
        again = AutoModel.from_pretrained("org/tiny-bert", cache_dir=cache, local_files_only=offline)
        assert _same(again, checkpoints["main"])


def test_revision_and_force_download(hub, checkpoints, tmp_path):
    cache = tmp_path / "cache"
    assert _same(AutoModel.from_pretrained("org/tiny-bert", revision="v1", cache_dir=cache), checkpoints["v1"])
    AutoModel.from_pretrained("org/tiny-bert", revision="v1", cache_dir=cache, force_download=True)
    assert hub.downloads["org/tiny-bert/v1/model.safetensors"] == 2
    with pytest.raises(CheckpointNotFoundError, match=r"org/tiny-bert: revision 'nope' does not exist"):
        AutoModel.from_pretrained("org/tiny-bert", revision="nope", cache_dir=cache)


def test_legacy_short_name_maps_to_repo_id(hub, checkpoints, tmp_path):
    model = AutoModel.from_pretrained("bert-base-uncased", cache_dir=tmp_path / "cache")
    assert _same(model, checkpoints["v1"])


def test_unknown_repo(hub, tmp_path):
    with pytest.raises(CheckpointNotFoundError, match=r"org/does-not-exist: no such local folder, and the Hub has no repo"):
        AutoConfig.from_pretrained("org/does-not-exist", cache_dir=tmp_path / "cache")


def test_offline_without_cache_names_repo_and_setting(hub, tmp_path):
    with pytest.raises(CheckpointNotFoundError, match=r"org/tiny-bert: 'config.json' is not in the cache .*local_files_only=True"):
        AutoModel.from_pretrained("org/tiny-bert", cache_dir=tmp_path / "empty", local_files_only=True)
    assert hub.downloads == {}


def test_a_causal_lm_takes_generation_config_json_from_the_revision_it_loads(tmp_path, monkeypatch):
    from plugformers import AutoModelForCausalLM
    from plugformers.generation import GenerationConfig

    folders = {}
    for revision, new_tokens in (("main", 3), ("v1", 5)):
        torch.manual_seed(0)
        folders[revision] = tmp_path / revision
        tiny_model("gpt2", "causal-lm").save_pretrained(folders[revision])
        # min_new_tokens too: the random model may pick eos early
        GenerationConfig(max_new_tokens=new_tokens, min_new_tokens=new_tokens).save_pretrained(folders[revision])
    with HubServer({"org/tiny-gpt2": folders}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        cache = tmp_path / "cache"
        prompt = torch.tensor([[1, 2, 3]])
        for revision, new_tokens in (("main", 3), ("v1", 5)):
            model = AutoModelForCausalLM.from_pretrained("org/tiny-gpt2", revision=revision, cache_dir=cache)
            assert model.generation_config.max_new_tokens == new_tokens
            assert model.generate(prompt).shape == (1, 3 + new_tokens)
        assert server.downloads["org/tiny-gpt2/v1/generation_config.json"] == 1
        # A head that cannot generate does not ask for the file.
        AutoModel.from_pretrained("org/tiny-gpt2", cache_dir=cache)
        assert server.downloads["org/tiny-gpt2/main/generation_config.json"] == 1


# --------------------------------------------------------------------------- failures and concurrency

LOAD_AND_SUM = r"""
import sys, torch
from plugformers import AutoModel
model = AutoModel.from_pretrained("org/tiny-bert", cache_dir=sys.argv[1])
print(sum(float(p.detach().double().sum()) for p in model.parameters()))
"""


def test_four_processes_load_one_repo_at_once(hub, checkpoints, tmp_path):
    import subprocess
    import sys

    cache = tmp_path / "cache"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", LOAD_AND_SUM, str(cache)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in results]
    sums = {out.strip().splitlines()[-1] for out, _ in results}
    reference = AutoModel.from_pretrained(checkpoints["main"])
    expected = sum(float(p.detach().double().sum()) for p in reference.parameters())
    assert len(sums) == 1 and abs(float(sums.pop()) - expected) < 1e-6
    assert hub.downloads["org/tiny-bert/main/model.safetensors"] == 1  # one download, the others waited
    assert hub.downloads["org/tiny-bert/main/config.json"] == 1
    blobs = list((cache / "models--org--tiny-bert" / "blobs").iterdir())
    assert not [b for b in blobs if b.name.endswith(".incomplete")]


def test_a_download_cut_short_is_resumed_or_refused_never_taken_as_complete(hub, checkpoints, tmp_path):
    cache = tmp_path / "cache"
    key = "org/tiny-bert/main/model.safetensors"
    hub.cut_downloads(key, times=1)  # one cut: huggingface_hub resumes from where it stopped
    assert _same(AutoModel.from_pretrained("org/tiny-bert", cache_dir=cache), checkpoints["main"])
    assert hub.downloads[key] == 2

    other = tmp_path / "other-cache"
    hub.cut_downloads(key, times=100)  # the server keeps dying: an error, and nothing half-written is kept
    with pytest.raises(DownloadError, match=r"org/tiny-bert: downloading 'model.safetensors' failed .*try again"):
        AutoModel.from_pretrained("org/tiny-bert", cache_dir=other)
    snapshot = other / "models--org--tiny-bert" / "snapshots"
    assert not list(snapshot.glob("*/model.safetensors"))
    hub.cuts.clear()  # the server recovers: the next load completes and is right
    assert _same(AutoModel.from_pretrained("org/tiny-bert", cache_dir=other), checkpoints["main"])


def test_safetensors_preferred_and_shards_fetched_one_by_one(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = tiny_model("bert", "base").eval()
    folder = tmp_path / "both"
    model.save_pretrained(folder, max_shard_size="20KB")
    model.save_pretrained(tmp_path / "bin", safe_serialization=False)
    (folder / "pytorch_model.bin").write_bytes((tmp_path / "bin" / "pytorch_model.bin").read_bytes())
    shards = sorted(p.name for p in folder.glob("model-*.safetensors"))
    assert len(shards) > 2
    with HubServer({"org/sharded": folder}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # the default cache follows HF_HOME
        monkeypatch.delenv("HF_HUB_CACHE", raising=False)
        import huggingface_hub.constants as constants

        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
        loaded = AutoModel.from_pretrained("org/sharded")
        assert _same(loaded, folder)
        got = [path.rsplit("/", 1)[-1] for method, path in server.requests if method == "GET"]
        assert sorted(name for name in got if name.startswith("model-")) == shards  # each shard, once
        assert "pytorch_model.bin" not in got
        assert (tmp_path / "hf-home" / "hub" / "models--org--sharded").is_dir()


def test_token_is_sent_to_the_hub(hub, tmp_path):
    def file_requests():  # huggingface_hub makes calls of its own (api/...); these are the checkpoint's
        return [auth for (_, path), auth in zip(hub.requests, hub.authorizations) if "/resolve/" in path]

    AutoConfig.from_pretrained("org/tiny-bert", cache_dir=tmp_path / "cache", token="hf_test_secret")
    assert file_requests() and set(file_requests()) == {"Bearer hf_test_secret"}
    seen = len(file_requests())
    AutoConfig.from_pretrained("org/tiny-bert", cache_dir=tmp_path / "other", token=False)  # token=False: none sent
    assert file_requests()[seen:] and set(file_requests()[seen:]) == {None}
