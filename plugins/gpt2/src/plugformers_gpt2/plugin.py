"""Entry module of the GPT-2 plugin: read at discovery, so it imports no torch and no
modeling code; classes are named as "module:attr" strings and imported on first use."""

from plugformers import ModelType, hookimpl

_M = "plugformers_gpt2.modeling:"


@hookimpl
def register_model_types(register):
    register(ModelType(
        model_type="gpt2",
        config="plugformers_gpt2.configuration:GPT2Config",
        tokenizer="plugformers_gpt2.tokenization:GPT2Tokenizer",
        heads={
            "base": _M + "GPT2Model",
            "causal-lm": _M + "GPT2LMHeadModel",
            "double-heads": _M + "GPT2DoubleHeadsModel",
            "sequence-classification": _M + "GPT2ForSequenceClassification",
            "token-classification": _M + "GPT2ForTokenClassification",
            "question-answering": _M + "GPT2ForQuestionAnswering",
        },
        # "gpt2" also matches distilgpt2; the longer pattern wins over bert's for "distilbert/distilgpt2".
        name_patterns=("gpt2", "distilgpt2"),
        legacy_names={
            "gpt2": "openai-community/gpt2",
            "gpt2-medium": "openai-community/gpt2-medium",
            "gpt2-large": "openai-community/gpt2-large",
            "gpt2-xl": "openai-community/gpt2-xl",
            "distilgpt2": "distilbert/distilgpt2",
        },
        tiny_config={
            "vocab_size": 99, "n_positions": 64, "n_embd": 32, "n_layer": 2, "n_head": 4,
            # ids inside the tiny vocabulary; a pad token lets sequence classification pool padded batches
            "bos_token_id": 98, "eos_token_id": 98, "pad_token_id": 98,
        },
    ))
