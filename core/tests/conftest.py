"""A toy architecture for testing the core without any plugin: registered at run
time for the duration of a test, unregistered after."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from torch import nn

import plugformers
from plugformers import ModelType
from plugformers.configuration_utils import PretrainedConfig
from plugformers.layers import sequence_classification_loss
from plugformers.modeling_outputs import BaseModelOutput, MaskedLMOutput, SequenceClassifierOutput
from plugformers.modeling_utils import PreTrainedModel


class ToyConfig(PretrainedConfig):
    model_type: ClassVar[str] = "toy"
    vocab_size: int = 50
    hidden_size: int = 8
    initializer_range: float = 0.02


class ToyPreTrainedModel(PreTrainedModel):
    config_class = ToyConfig
    base_model_prefix = "toy"


class ToyModel(ToyPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size)
        self.register_buffer("position_ids", torch.arange(16), persistent=False)
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings

    def set_input_embeddings(self, value):
        self.embeddings = value

    def forward(self, input_ids, return_dict=None):
        h = self.LayerNorm(torch.tanh(self.dense(self.embeddings(input_ids))))
        out = BaseModelOutput(last_hidden_state=h)
        return out if (return_dict if return_dict is not None else self.config.return_dict) else out.to_tuple()


class ToyForMaskedLM(ToyPreTrainedModel):
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config):
        super().__init__(config)
        self.toy = ToyModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids, labels=None):
        logits = self.lm_head(self.toy(input_ids).last_hidden_state)
        loss = None if labels is None else nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten())
        return MaskedLMOutput(loss=loss, logits=logits)


class ToyForSequenceClassification(ToyPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.toy = ToyModel(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids, labels=None):
        logits = self.classifier(self.toy(input_ids).last_hidden_state[:, 0])
        loss = None if labels is None else sequence_classification_loss(logits, labels, self.config)
        return SequenceClassifierOutput(loss=loss, logits=logits)


TOY = ModelType(
    model_type="toy",
    config=ToyConfig,
    heads={"base": ToyModel, "masked-lm": ToyForMaskedLM, "sequence-classification": ToyForSequenceClassification},
    name_patterns=("toy",),
    tiny_config={"vocab_size": 30, "hidden_size": 8},
)


@pytest.fixture
def toy():
    plugformers.register(TOY)
    try:
        yield TOY
    finally:
        plugformers.unregister("toy")
