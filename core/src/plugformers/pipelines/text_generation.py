"""text-generation: continue a prompt with a causal language model's generate()."""

from __future__ import annotations

from typing import Any

import torch

from ..generation import GenerationConfig
from .base import Pipeline, PipelineError


class TextGenerationPipeline(Pipeline):
    """Continuations of a prompt, by ``model.generate``.

    One result per input: a list of ``num_return_sequences`` (default 1)
    ``{"generated_text": ...}``, the prompt followed by its continuation, or the
    continuation alone with ``return_full_text=False``; ``return_tensors=True`` gives
    ``{"generated_token_ids": [...]}`` (prompt and new tokens) instead. Every other
    parameter is a generate() option (``max_new_tokens``, ``do_sample``, ``num_beams``,
    ``temperature``, ``top_k``, ``top_p``, ``generation_config``, ...), over the
    checkpoint's generation_config.json, over the pipeline's own defaults: as in
    transformers 5, the pipeline samples (``do_sample=True``, ``temperature=0.7``) up to
    256 new tokens unless the checkpoint or the call says otherwise; pass
    ``do_sample=False`` for greedy search. A batch (``batch_size > 1``) is padded on the
    left, with the tokenizer's pad token, else the model's, else eos.
    """

    defaults = {"do_sample": True, "temperature": 0.7, "max_new_tokens": 256}

    task = "text-generation"
    head = "causal-lm"
    parameters = {"return_full_text": True, "return_tensors": False, "clean_up_tokenization_spaces": None,
                  "add_special_tokens": False}
    _generate = frozenset(GenerationConfig.model_fields) | {"generation_config", "truncate_prompt"}

    def _check_length(self, length: int) -> None:
        """generate() checks prompt and new tokens against the model's positions (and
        truncate_prompt=True keeps the prompt's last tokens)."""

    def _accepted(self) -> set[str]:
        return set(self.parameters) | self._generate

    def _check(self, params: dict[str, Any]) -> None:
        if params.get("return_dict_in_generate"):
            raise PipelineError("return_dict_in_generate=True: the pipeline returns texts; call model.generate() "
                                "for its scores.")

    def _run(self, items: list[str], params: dict[str, Any]) -> list[Any]:
        tokenizer = self.tokenizer
        generate = {k: v for k, v in params.items() if k in self._generate}
        generate["generation_config"] = self._generation_config(generate)
        prompts = tokenizer(items, add_special_tokens=params["add_special_tokens"])["input_ids"]
        for index, ids in enumerate(prompts):
            if not ids:
                raise PipelineError(f"prompt {items[index]!r} makes no tokens; give some text to continue.")
        inputs = self._tensors({"input_ids": prompts}, side="left")
        if len(items) > 1 and "pad_token_id" not in generate and self._model_pad_id() is None:
            generate["pad_token_id"] = self._pad_id()  # finished rows are filled with it
        sequences = self.model.generate(inputs["input_ids"], attention_mask=inputs.get("attention_mask"),
                                        **generate)
        if not isinstance(sequences, torch.Tensor):
            sequences = sequences.sequences
        sequences = sequences.cpu()
        per_prompt = sequences.shape[0] // len(items)
        width = inputs["input_ids"].shape[1]
        decode = {"skip_special_tokens": True, "clean_up_tokenization_spaces": params["clean_up_tokenization_spaces"]}
        results = []
        for index, (text, ids) in enumerate(zip(items, prompts, strict=True)):
            outputs = []
            for row in sequences[index * per_prompt:(index + 1) * per_prompt]:
                full = ids + row[width:].tolist()
                if params["return_tensors"]:
                    outputs.append({"generated_token_ids": full})
                    continue
                # Decode prompt and continuation together (a token may join the two), then
                # cut the prompt's text off: the continuation is what follows it.
                everything = tokenizer.decode(full, **decode)
                new = everything[len(tokenizer.decode(ids, **decode)):]
                outputs.append({"generated_text": text + new if params["return_full_text"] else new})
            results.append(outputs)
        return results

    def _generation_config(self, call: dict[str, Any]) -> GenerationConfig:
        """The pipeline's defaults < the model's generation config < the call's generation_config.
        (The call's other options go to generate() as keyword arguments, over all of them.)"""
        given = call.get("generation_config")
        if given is not None and not isinstance(given, (GenerationConfig, dict)):
            raise PipelineError(f"generation_config={given!r}: give a plugformers GenerationConfig or a dict.")
        model = getattr(self.model, "generation_config", None) or GenerationConfig()
        chosen = {**model.explicit(), **(given.explicit() if isinstance(given, GenerationConfig) else given or {})}
        chosen.update({k: v for k, v in call.items() if k != "generation_config"})
        defaults = dict(self.defaults)
        if "max_length" in chosen:  # a total length asked for: no default count of new tokens
            defaults.pop("max_new_tokens")
        return GenerationConfig(**defaults).merged(model).merged(given)

    def _model_pad_id(self) -> int | None:
        config = getattr(self.model, "generation_config", None)
        return getattr(config, "pad_token_id", None)
