"""plugformers.layers.lay_out_for_one_row: which weights it re-lays, and that they keep
their values, keys and gradients."""

from __future__ import annotations

import torch
from torch import nn

from plugformers.layers import Conv1D, lay_out_for_one_row


class OwnForward(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


def initialised(model: nn.Module) -> nn.Module:
    """Conv1D leaves its weight to the model's _init_weights (torch.empty): fill every
    parameter, or the memory's leftovers (inf, NaN) make the outputs incomparable."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.5)
    return model


def strides(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: p.stride() for name, p in model.named_parameters() if p.dim() == 2}


def test_widening_input_major_narrowing_output_major_the_rest_left():
    torch.manual_seed(0)
    model = nn.ModuleDict({
        "wide": nn.Linear(4, 12),  # (out, in) = (12, 4), stored (out, in)
        "narrow": nn.Linear(12, 4),
        "square": nn.Linear(6, 6),
        "conv_wide": Conv1D(4, 12),  # weight (in, out) = (4, 12), stored (in, out): input-major already
        "conv_narrow": Conv1D(12, 4),
        "float64": nn.Linear(4, 12).double(),
        "own": OwnForward(4, 12),
        "embedding": nn.Embedding(12, 4),
        "tied": nn.Linear(4, 12),
    })
    model["tied"].weight = model["embedding"].weight
    initialised(model)
    values = {key: value.clone() for key, value in model.state_dict().items()}
    before = strides(model)
    x = torch.randn(1, 12)
    expected = {name: module(x[:, :module.in_features]) for name, module in model.items()
                if name not in ("embedding", "float64")}

    lay_out_for_one_row(model)
    after = strides(model)
    assert after["wide.weight"] == (1, 12)  # (in, out) in memory
    assert after["narrow.weight"] == (12, 1)  # stays (out, in)
    assert after["conv_narrow.weight"] == (1, 12)  # the (4, 12) Parameter's storage now (out, in)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"wide.weight", "conv_narrow.weight"}
    for key, value in model.state_dict().items():
        assert torch.equal(value, values[key]), key
    for name, out in expected.items():
        torch.testing.assert_close(model[name](x[:, :model[name].in_features]), out, rtol=1e-6, atol=1e-6)

    again = {name: p.data_ptr() for name, p in model.named_parameters()}
    lay_out_for_one_row(model)  # laid out already: no copy
    assert {name: p.data_ptr() for name, p in model.named_parameters()} == again


def test_re_laid_weights_are_ordinary_trainable_parameters():
    torch.manual_seed(0)
    model = initialised(nn.Sequential(nn.Linear(4, 16), nn.ReLU(), Conv1D(16, 4)))
    with torch.inference_mode():  # as generate() calls it
        lay_out_for_one_row(model)
    assert model[0].weight.stride() == (1, 16) and model[2].weight.stride() == (1, 16)
    assert all(isinstance(p, nn.Parameter) and not p.is_inference() for p in model.parameters())
    model(torch.randn(3, 4)).sum().backward()
    assert model[0].weight.grad is not None and model[2].weight.grad is not None
    torch.optim.SGD(model.parameters(), lr=0.1).step()
