"""Training under torch.distributed (gloo, 2 CPU processes) ends with the parameters of
one-process training on the combined batch: DistributedDataParallel and FSDP (fully_shard)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from plugformers.testing import tiny_model

SCRIPT = Path(__file__).with_name("distributed_train.py")
NO_DROPOUT = {
    "bert": dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=3),
    "gpt2": dict(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0),
}
HEADS = {"bert": "sequence-classification", "gpt2": "causal-lm"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["bert", "gpt2"])
def checkpoint(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    tiny_model(request.param, HEADS[request.param], **NO_DROPOUT[request.param]).save_pretrained(folder)
    single = folder / "single"
    run([sys.executable, str(SCRIPT), "single", str(folder), str(single)])
    trained = torch.load(single / "params.pt")
    initial = load_file(folder / "model.safetensors")
    changed = [key for key in initial if not torch.equal(initial[key], trained[key])]
    assert len(changed) > len(initial) // 2, "a few steps of training should move most parameters"
    return folder, trained


def run(command):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-8000:]


@pytest.mark.parametrize("mode", ["ddp", "fsdp"])
def test_two_processes_train_like_one(checkpoint, mode, tmp_path):
    folder, expected = checkpoint
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "--tee", "3", str(SCRIPT), mode, str(folder), str(tmp_path)])  # each line names its rank
    got = torch.load(tmp_path / "params.pt")
    assert list(got) == list(expected)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=1e-6, msg=f"{mode}: {key} differs")
