"""Entry module of the OpenAI GPT plugin: read at discovery, so it imports no torch and no
modeling code; classes are named as "module:attr" strings and imported on first use."""

from plugformers import ModelType, hookimpl

_M = "plugformers_openai_gpt.modeling:"


@hookimpl
def register_model_types(register):
    register(ModelType(
        model_type="openai-gpt",
        config="plugformers_openai_gpt.configuration:OpenAIGPTConfig",
        tokenizer="plugformers_openai_gpt.tokenization:OpenAIGPTTokenizer",
        heads={
            "base": _M + "OpenAIGPTModel",
            "causal-lm": _M + "OpenAIGPTLMHeadModel",
            # language modelling plus a multiple-choice score per choice (RocStories, SWAG)
            "double-heads": _M + "OpenAIGPTDoubleHeadsModel",
            "sequence-classification": _M + "OpenAIGPTForSequenceClassification",
        },
        name_patterns=("openai-gpt",),
        legacy_names={"openai-gpt": "openai-community/openai-gpt"},
        tiny_config={
            "vocab_size": 99, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 4,
            # a pad token inside the tiny vocabulary lets sequence classification pool padded batches
            "pad_token_id": 98,
        },
    ))
