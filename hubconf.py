"""torch.hub entry points: ``torch.hub.load(<this repo>, "model", "bert-base-uncased")``.

Each entry takes what the matching plugformers call takes: a Hub id or a local folder,
then keyword arguments (config overrides such as ``output_attentions=True``,
``return_unused_kwargs=True`` for ``config``, ``config=`` a config object, the hub
options). The classes come from the installed plugins, picked from the checkpoint as
the Auto classes pick them.

    import torch
    model = torch.hub.load("path/to/plugformers", "model", "path/to/checkpoint", source="local")
"""

dependencies = ["torch", "plugformers", "tokenizers", "huggingface_hub", "pydantic", "safetensors"]


def _auto(name):
    import plugformers

    return getattr(plugformers, name)


def config(*args, **kwargs):
    """``AutoConfig.from_pretrained``: the checkpoint's config, with keyword overrides."""
    return _auto("AutoConfig").from_pretrained(*args, **kwargs)


def tokenizer(*args, **kwargs):
    """``AutoTokenizer.from_pretrained``: the checkpoint's tokenizer."""
    return _auto("AutoTokenizer").from_pretrained(*args, **kwargs)


def model(*args, **kwargs):
    """``AutoModel.from_pretrained``: the base model, no head."""
    return _auto("AutoModel").from_pretrained(*args, **kwargs)


def modelForCausalLM(*args, **kwargs):
    """``AutoModelForCausalLM.from_pretrained``: a language model that generates."""
    return _auto("AutoModelForCausalLM").from_pretrained(*args, **kwargs)


def modelForMaskedLM(*args, **kwargs):
    """``AutoModelForMaskedLM.from_pretrained``: the masked-language-model head."""
    return _auto("AutoModelForMaskedLM").from_pretrained(*args, **kwargs)


def modelWithLMHead(*args, **kwargs):
    """``AutoModelWithLMHead.from_pretrained``: the masked-LM head where the type has one, else the causal one."""
    return _auto("AutoModelWithLMHead").from_pretrained(*args, **kwargs)


def modelForSequenceClassification(*args, **kwargs):
    """``AutoModelForSequenceClassification.from_pretrained``: a classifier over the whole sequence."""
    return _auto("AutoModelForSequenceClassification").from_pretrained(*args, **kwargs)


def modelForQuestionAnswering(*args, **kwargs):
    """``AutoModelForQuestionAnswering.from_pretrained``: start and end logits of an answer span."""
    return _auto("AutoModelForQuestionAnswering").from_pretrained(*args, **kwargs)
