"""torch.compile: every base model and causal-LM head compiles as one graph
(fullgraph=True) and gives its eager outputs within 1e-5, on a padded batch."""

from __future__ import annotations

import pytest
import torch

from plugformers.registry import registry
from plugformers.testing import head_inputs, tiny_model

pytestmark = pytest.mark.slow

CASES = [(t, h) for t in registry.model_types() for h in ("base", "causal-lm") if h in registry.get(t).heads]
# Heads that cannot run standalone on the type's tiny config get the options they need.
OVERRIDES = {("bert", "causal-lm"): {"is_decoder": True}}


@pytest.fixture(scope="module", autouse=True)
def _one_thread_one_compile_worker():
    import torch._inductor.config as inductor

    threads, workers = torch.get_num_threads(), inductor.compile_threads
    torch.set_num_threads(1)
    inductor.compile_threads = 1  # no pool of compile workers on a 2-core machine
    yield
    torch.set_num_threads(threads)
    inductor.compile_threads = workers


def tensors(output) -> list[torch.Tensor]:
    values = output.to_tuple() if hasattr(output, "to_tuple") else output
    flat = []
    for value in values:
        if isinstance(value, torch.Tensor):
            flat.append(value)
        elif isinstance(value, (tuple, list)):
            flat.extend(tensors(value))
    return flat


@pytest.mark.parametrize("model_type, head", CASES, ids=[f"{t}-{h}" for t, h in CASES])
def test_compiles_as_one_graph_and_matches_eager(model_type, head):
    torch._dynamo.reset()
    model = tiny_model(model_type, head, **OVERRIDES.get((model_type, head), {})).eval()
    inputs = head_inputs(model, head, labels=False)
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad():
        expected = tensors(model(**inputs, use_cache=False) if head == "causal-lm" else model(**inputs))
        got = tensors(compiled(**inputs, use_cache=False) if head == "causal-lm" else compiled(**inputs))
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_generate_with_a_compiled_forward_gives_the_eager_tokens():
    """The compiled path of generation: compile the forward (dynamic shapes, since the
    cache grows by one position a step); generate() then runs it, prefill and steps."""
    torch._dynamo.reset()
    model = tiny_model("gpt2", "causal-lm").eval()
    prompt = torch.tensor([[5, 17, 42, 8, 3], [0, 0, 9, 30, 77]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])
    expected = model.generate(prompt, attention_mask=mask, max_new_tokens=6, min_new_tokens=6)
    model.forward = torch.compile(model.forward, dynamic=True, fullgraph=True)
    try:
        got = model.generate(prompt, attention_mask=mask, max_new_tokens=6, min_new_tokens=6)
        beams = model.generate(prompt, attention_mask=mask, max_new_tokens=6, num_beams=3)
    finally:
        del model.forward
    assert torch.equal(got, expected)
    assert torch.equal(beams, model.generate(prompt, attention_mask=mask, max_new_tokens=6, num_beams=3))
