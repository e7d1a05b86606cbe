"""The conformance suite: checks every registered (model type, head) must pass.

A plugin gets it by being installed: the repository's tests/test_conformance.py runs
``check_head`` for every case of ``conformance_cases()``. A third-party plugin can run
it in its own tests:

    import pytest
    from plugformers.testing import check_head, conformance_cases

    @pytest.mark.parametrize("model_type, head", conformance_cases("my-type"))
    def test_conformance(model_type, head, tmp_path):
        check_head(model_type, head, tmp_path)

Each case builds a tiny model from ``ModelType.tiny_config``, runs a forward pass with
a padded batch, checks the output shapes of the shared head keys, runs a backward pass,
and checks that save_pretrained / from_pretrained give identical outputs. A head with
an output projection (``get_output_embeddings()``) is also built with
``tie_word_embeddings`` true and false (``check_tied_embeddings``): tied, every key of
``tied_weights()`` is its source's very tensor, stored once; untied, each keeps and
saves values of its own. A head that can generate (``check_generation``) gives the same
greedy and beam tokens with its cache as without, on a left-padded batch: whatever the
model's class does per step (``generation_inputs`` and friends, see
plugformers.generation), it must agree with scoring the whole sequence each time. After
a batch-1 generate(), which re-lays its linear weights for one-row products
(``check_one_row_layout``, plugformers.layers.lay_out_for_one_row), it computes, saves
and trains as before.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from ..registry import registry

__all__ = ["conformance_cases", "check_head", "check_tied_embeddings", "check_generation", "check_one_row_layout",
           "tiny_model", "head_inputs"]

BATCH, SEQ, CHOICES = 2, 7, 3


def conformance_cases(*model_types: str) -> list[tuple[str, str]]:
    """(model_type, head) for every registered type (or those named) and head."""
    wanted = model_types or tuple(registry.model_types())
    return [(t, h) for t in wanted for h in registry.get(t).heads]


def tiny_model(model_type: str, head: str, **overrides):
    import torch

    spec = registry.get(model_type)
    config = registry.config_class(model_type)(**{**spec.tiny_config, **overrides})
    torch.manual_seed(0)
    return registry.head_class(model_type, head)(config)


def head_inputs(model, head: str, *, labels: bool):
    """A padded batch for ``head``, with the labels its loss needs when ``labels``."""
    import torch

    config = model.config
    g = torch.Generator().manual_seed(1)
    vocab = config.vocab_size
    shape = (BATCH, CHOICES, SEQ) if head == "multiple-choice" else (BATCH, SEQ)
    input_ids = torch.randint(3, vocab, shape, generator=g)
    mask = torch.ones(shape, dtype=torch.long)
    mask[..., -2:] = 0 if shape[0] > 1 else 1
    mask[0, ...] = 1  # first row unpadded, second padded
    inputs = {"input_ids": input_ids, "attention_mask": mask}
    params = inspect.signature(model.forward).parameters
    if not labels:
        return {k: v for k, v in inputs.items() if k in params}
    n = config.num_labels
    if head in ("masked-lm", "causal-lm"):
        inputs["labels"] = input_ids.clone()
    elif head == "sequence-classification":
        inputs["labels"] = torch.randint(0, n, (BATCH,), generator=g)
    elif head == "token-classification":
        inputs["labels"] = torch.randint(0, n, (BATCH, SEQ), generator=g)
    elif head == "multiple-choice":
        inputs["labels"] = torch.randint(0, CHOICES, (BATCH,), generator=g)
    elif head == "question-answering":
        inputs["start_positions"] = torch.randint(0, SEQ, (BATCH,), generator=g)
        inputs["end_positions"] = torch.randint(0, SEQ, (BATCH,), generator=g)
    elif head == "next-sentence-prediction":
        inputs["labels" if "labels" in params else "next_sentence_label"] = torch.randint(0, 2, (BATCH,), generator=g)
    return {k: v for k, v in inputs.items() if k in params}


def _expected_shapes(config, head: str) -> dict[str, tuple[int, ...]]:
    n = config.num_labels
    return {
        "base": {"last_hidden_state": (BATCH, SEQ, config.hidden_size)},
        "masked-lm": {"logits": (BATCH, SEQ, config.vocab_size)},
        "causal-lm": {"logits": (BATCH, SEQ, config.vocab_size)},
        "sequence-classification": {"logits": (BATCH, n)},
        "token-classification": {"logits": (BATCH, SEQ, n)},
        "question-answering": {"start_logits": (BATCH, SEQ), "end_logits": (BATCH, SEQ)},
        "multiple-choice": {"logits": (BATCH, CHOICES)},
        "next-sentence-prediction": {"logits": (BATCH, 2)},
    }.get(head, {})


def _first_tensor(out):
    import torch

    for value in out.values():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value
    raise AssertionError(f"output {type(out).__name__} holds no floating-point tensor")


def check_head(model_type: str, head: str, tmp_path: str | Path) -> None:
    """Run every conformance check for one (model type, head); raises AssertionError."""
    import torch

    from ..modeling_outputs import ModelOutput

    model = tiny_model(model_type, head)
    name = f"{model_type}/{head} ({type(model).__name__})"
    model.eval()
    inputs = head_inputs(model, head, labels=False)
    with torch.no_grad():
        out = model(**inputs)
    assert isinstance(out, ModelOutput), f"{name}: forward returned {type(out).__name__}, not a ModelOutput"
    for field, shape in _expected_shapes(model.config, head).items():
        assert tuple(out[field].shape) == shape, f"{name}: {field} has shape {tuple(out[field].shape)}, expected {shape}"
    params = inspect.signature(model.forward).parameters
    if "return_dict" in params:
        with torch.no_grad():
            as_tuple = model(**inputs, return_dict=False)
        assert isinstance(as_tuple, tuple) and len(as_tuple) == len(out.to_tuple()), f"{name}: return_dict=False"
        for a, b in zip(as_tuple, out.to_tuple()):
            if isinstance(a, torch.Tensor):
                torch.testing.assert_close(a, b, rtol=0, atol=0)
    if "output_hidden_states" in params:
        with torch.no_grad():
            full = model(**inputs, output_hidden_states=True)
        assert full.hidden_states is not None and len(full.hidden_states) >= 2, f"{name}: no hidden_states"

    # backward: the loss when the head has one, else the first output
    model.train()
    torch.manual_seed(0)
    labelled = head_inputs(model, head, labels=True)
    out = model(**labelled)
    loss = out.loss if getattr(out, "loss", None) is not None else _first_tensor(out).float().pow(2).mean()
    if set(labelled) - set(inputs):
        assert getattr(out, "loss", None) is not None, f"{name}: labels given but no loss returned"
        assert loss.dim() == 0 and torch.isfinite(loss), f"{name}: loss is {loss}"
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads), f"{name}: no gradient reached the parameters"
    model.zero_grad()

    check_tied_embeddings(model_type, head, tmp_path)
    check_generation(model_type, head)
    check_one_row_layout(model_type, head, tmp_path)

    # save / load round trip
    model.eval()
    folder = Path(tmp_path) / f"{model_type}-{head}"
    model.save_pretrained(folder)
    loaded, info = type(model).from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], f"{name}: round trip lost keys {info}"
    with torch.no_grad():
        a, b = model(**inputs), loaded(**inputs)
    for key in a.keys():
        if isinstance(a[key], torch.Tensor):
            torch.testing.assert_close(b[key], a[key], rtol=1e-6, atol=1e-6, msg=f"{name}: {key} differs after reload")


def _saved_keys(folder: Path) -> set[str]:
    from safetensors import safe_open

    keys: set[str] = set()
    for file in folder.glob("*.safetensors"):
        with safe_open(str(file), framework="pt") as f:
            keys.update(f.keys())
    return keys


def check_tied_embeddings(model_type: str, head: str, tmp_path: str | Path) -> None:
    """For a head with an output projection: tied (``tie_word_embeddings=True``) its
    tied keys are their sources' tensors, before and after a round trip, and are not
    stored; untied, each is a tensor of its own whose (perturbed) values survive
    save_pretrained / from_pretrained, under its own key, with the same outputs."""
    import torch

    if tiny_model(model_type, head).get_output_embeddings() is None:
        return
    for tie in (True, False):
        model = tiny_model(model_type, head, tie_word_embeddings=tie).eval()
        name = f"{model_type}/{head} ({type(model).__name__}, tie_word_embeddings={tie})"
        tied = model.tied_weights()
        assert tied, f"{name}: an output projection but no tied_weights() (set _tied_weights_keys)"
        inp, out = model.get_input_embeddings(), model.get_output_embeddings()
        # One table on each side (nn.Embedding / nn.Linear): the very same weight when tied.
        # Embeddings split in several tables (Transformer-XL's adaptive input and softmax)
        # state their ties through tied_weights() alone, checked key by key below.
        if isinstance(getattr(inp, "weight", None), torch.Tensor) and isinstance(getattr(out, "weight", None),
                                                                               torch.Tensor):
            assert (out.weight is inp.weight) == tie, f"{name}: output embeddings weight tied={out.weight is inp.weight}"
        g = torch.Generator().manual_seed(2)
        with torch.no_grad():
            for p in model.parameters():  # no two parameters alike, not even zero biases
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
        for key, source in tied.items():
            same = model.get_parameter(key) is model.get_parameter(source)
            assert same == tie, f"{name}: {key} {'is not' if tie else 'is'} the tensor of {source}"
            if not tie:
                assert not torch.equal(model.get_parameter(key), model.get_parameter(source)), name
        folder = Path(tmp_path) / f"{model_type}-{head}-tie-{tie}"
        model.save_pretrained(folder)
        stored = _saved_keys(folder)
        for key in tied:
            assert (key in stored) != tie, f"{name}: {key} {'stored although tied' if tie else 'not stored'}"
        loaded, info = type(model).from_pretrained(folder, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"], f"{name}: round trip lost keys {info}"
        for key, source in tied.items():
            assert (loaded.get_parameter(key) is loaded.get_parameter(source)) == tie, f"{name}: {key} after reload"
            torch.testing.assert_close(loaded.get_parameter(key), model.get_parameter(key), rtol=0, atol=0,
                                       msg=f"{name}: {key} differs after reload")
        inputs = head_inputs(model, head, labels=False)
        with torch.no_grad():
            a, b = model(**inputs), loaded(**inputs)
        for key in a.keys():
            if isinstance(a[key], torch.Tensor):
                torch.testing.assert_close(b[key], a[key], rtol=1e-6, atol=1e-6, msg=f"{name}: {key} after reload")


def check_generation(model_type: str, head: str) -> None:
    """For a head that can generate: greedy and beam search on a left-padded batch give
    the same tokens with the cache as with ``use_cache=False``, and the asked length."""
    import torch

    model = tiny_model(model_type, head).eval()
    if not type(model).can_generate():
        return
    name = f"{model_type}/{head} ({type(model).__name__})"
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(3, model.config.vocab_size, (BATCH, SEQ), generator=g)
    mask = torch.ones_like(ids)
    mask[1, :2] = 0  # second row left-padded
    new = 5
    for options in (dict(do_sample=False), dict(num_beams=3)):
        cached = model.generate(ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new, pad_token_id=0,
                                **options)
        uncached = model.generate(ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new, pad_token_id=0,
                                  use_cache=False, **options)
        assert tuple(cached.shape) == (BATCH, SEQ + new), f"{name} {options}: generated shape {tuple(cached.shape)}"
        assert torch.equal(cached[:, :SEQ], ids), f"{name} {options}: the prompt is not kept"
        assert torch.equal(cached, uncached), f"{name} {options}: cached decoding differs from uncached:\n{cached}\n{uncached}"


def check_one_row_layout(model_type: str, head: str, tmp_path: str | Path) -> None:
    """For a head that can generate: a batch-1 generate() lays out every unshared linear
    weight for one-row products (widening maps input-major, narrowing ones
    output-major), and the model is the same model afterwards: the same state dict, the
    same outputs, a save that reloads to the same tensors, gradients in training."""
    import torch

    from ..layers import linear_maps

    model = tiny_model(model_type, head).eval()
    if not type(model).can_generate():
        return
    name = f"{model_type}/{head} ({type(model).__name__})"
    before = {key: value.clone() for key, value in model.state_dict().items()}
    inputs = head_inputs(model, head, labels=False)
    with torch.no_grad():
        expected = _first_tensor(model(**inputs))
    prompt = inputs["input_ids"][:1]
    model.generate(prompt, max_new_tokens=2, min_new_tokens=2, pad_token_id=0)

    laid: dict[str, torch.Tensor] = {}
    for module_name, weight, matrix in linear_maps(model):  # matrix: the (out, in) view
        out_features, in_features = matrix.shape
        if out_features > in_features:
            assert matrix.stride() == (1, out_features), f"{name}: {module_name} (widening) is not input-major"
        elif out_features < in_features:
            assert matrix.stride() == (in_features, 1), f"{name}: {module_name} (narrowing) is not output-major"
        else:
            continue
        laid[module_name] = weight
    assert laid, f"{name}: no linear map with more outputs than inputs, or fewer, to lay out"

    after = model.state_dict()
    assert set(after) == set(before), f"{name}: the state dict's keys changed"
    for key, value in before.items():
        assert torch.equal(after[key], value), f"{name}: {key} changed value"
    with torch.no_grad():
        torch.testing.assert_close(_first_tensor(model(**inputs)), expected, rtol=1e-5, atol=1e-5,
                                   msg=f"{name}: outputs changed after the layout")
    folder = Path(tmp_path) / f"{model_type}-{head}-one-row"
    model.save_pretrained(folder)
    reloaded = type(model).from_pretrained(folder).state_dict()
    for key, value in before.items():
        if key in reloaded:
            assert torch.equal(reloaded[key], value), f"{name}: {key} saved differently after the layout"
    model.train()
    out = model(**head_inputs(model, head, labels=True))
    loss = out.loss if getattr(out, "loss", None) is not None else _first_tensor(out).float().pow(2).mean()
    loss.backward()
    missing = [module_name for module_name, weight in laid.items() if weight.grad is None]
    assert not missing, f"{name}: no gradient reached the re-laid weights of {missing}"
