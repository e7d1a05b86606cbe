"""Loading holds the weights once: shard by shard, never more than one shard beyond the
model; bfloat16 halves what stays resident. Measured in fresh processes (VmHWM, VmRSS)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from plugformers.testing import tiny_model

pytestmark = pytest.mark.slow

# bert-shaped, ~170 MB in fp32: large against the allocator's and the interpreter's noise.
BIG = dict(vocab_size=8000, hidden_size=512, num_hidden_layers=12, num_attention_heads=8, intermediate_size=2048,
           max_position_embeddings=128)
SHARD = 20 * 2**20
SLACK = 24 * 2**20  # the interpreter, the allocator's arenas, the small tensors a load creates

PROBE = r"""
import json, sys
import torch
from plugformers import AutoModel
from plugformers.registry import registry

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

registry.head_class("bert", "base")  # modeling code imported before the baseline
dtype = {"fp32": None, "bf16": torch.bfloat16}[sys.argv[2]]
base = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS
model = AutoModel.from_pretrained(sys.argv[1], torch_dtype=dtype)
for p in model.parameters():  # touch every weight: pages mapped from the files count only once read
    p.detach().sum().item()
print(json.dumps({"peak": status("VmHWM:") - base, "resident": status("VmRSS:") - base,
                  "bytes": sum(p.numel() * p.element_size() for p in model.parameters())}))
"""


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big-bert")
    tiny_model("bert", "base", **BIG).save_pretrained(folder, max_shard_size=SHARD)
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) >= 8
    return folder, max((folder / s).stat().st_size for s in shards)


def probe(folder, dtype: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(folder), dtype], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_sharded_load_holds_at_most_one_shard_beyond_the_model(sharded):
    folder, biggest_shard = sharded
    fp32 = probe(folder, "fp32")
    assert fp32["bytes"] > 160 * 2**20
    assert fp32["peak"] <= fp32["bytes"] + biggest_shard + SLACK, fp32
    assert fp32["resident"] <= fp32["bytes"] + SLACK, fp32


def test_bfloat16_halves_the_resident_size(sharded):
    folder, biggest_shard = sharded
    fp32, bf16 = probe(folder, "fp32"), probe(folder, "bf16")
    assert bf16["bytes"] * 2 == fp32["bytes"]
    assert bf16["resident"] <= fp32["resident"] / 2 + SLACK, (bf16, fp32)
    # Converting shard by shard: the fp32 copy of one shard at most, on top of the bf16 model.
    assert bf16["peak"] <= bf16["bytes"] + biggest_shard + SLACK, bf16
