"""Train a plugformers model for a few steps, in one process or under torchrun.

    python tests/distributed_train.py single FOLDER OUT            # the whole batch in one process
    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        tests/distributed_train.py ddp|fsdp FOLDER OUT              # each rank takes its share

FOLDER is a checkpoint saved with save_pretrained (a sequence classifier or a causal LM,
dropout off); OUT receives the trained parameters (``params.pt``, from rank 0) as a
state dict of full tensors. The batch of every step is the same in every mode, drawn
from a fixed seed, so one-process training on the whole batch and 2-process training
on its halves must end with the same parameters.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from pathlib import Path

import torch

STEPS, BATCH, SEQ, LR = 4, 8, 12, 0.5


def batches(config, head: str):
    g = torch.Generator().manual_seed(1234)
    for _ in range(STEPS):
        ids = torch.randint(0, config.vocab_size, (BATCH, SEQ), generator=g)  # (batch, seq)
        if head == "causal-lm":
            yield {"input_ids": ids, "labels": ids}
        else:
            yield {"input_ids": ids, "labels": torch.randint(0, config.num_labels, (BATCH,), generator=g)}


def main(mode: str, folder: str, out: str) -> None:
    import plugformers

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = plugformers.AutoConfig.from_pretrained(folder)
    causal = "LMHead" in config.architectures[0]
    head = "causal-lm" if causal else "sequence-classification"
    auto = plugformers.AutoModelForCausalLM if causal else plugformers.AutoModelForSequenceClassification
    model = auto.from_pretrained(folder)
    model.train()
    rank, world = 0, 1
    if mode != "single":
        import torch.distributed as dist

        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if mode == "ddp":
            model = torch.nn.parallel.DistributedDataParallel(model)
        else:
            from torch.distributed.fsdp import fully_shard

            for layer in _layers(model):
                fully_shard(layer)
            fully_shard(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    share = BATCH // world
    for batch in batches(config, head):
        mine = {k: v[rank * share:(rank + 1) * share] for k, v in batch.items()}  # this rank's rows
        loss = model(**mine).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    state = _full_state_dict(model, mode)
    if rank == 0:
        Path(out).mkdir(parents=True, exist_ok=True)
        torch.save(state, Path(out, "params.pt"))
    if mode != "single":
        import torch.distributed as dist

        # No rank tears its process group down while another still works (rank 0 saves
        # after the last collective).
        dist.barrier()
        dist.destroy_process_group()
        # Everything is written and torn down: leave without the interpreter's exit
        # teardown. CI once saw rank 1 of both FSDP runs abort with "terminate called
        # without an active exception" and no Python traceback; should an abort come
        # before this point, faulthandler prints where.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _layers(model):
    """The repeated blocks (encoder layers, decoder blocks): one FSDP unit each."""
    return [block for blocks in model.modules() if isinstance(blocks, torch.nn.ModuleList) for block in blocks]


def _full_state_dict(model, mode: str) -> dict[str, torch.Tensor]:
    if mode == "ddp":
        model = model.module
    if mode == "fsdp":
        from torch.distributed.tensor import DTensor

        return {k: (v.full_tensor() if isinstance(v, DTensor) else v).detach().clone()
                for k, v in model.state_dict().items()}
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("single", "ddp", "fsdp"):
        sys.exit(__doc__)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    faulthandler.enable()  # a rank that aborts prints where it was
    main(*sys.argv[1:])
