"""Entry module of the Transformer-XL plugin: read at discovery, so it imports no torch
and no modeling code; classes are named as "module:attr" strings and imported on first use."""

from plugformers import ModelType, hookimpl

_M = "plugformers_transfo_xl.modeling:"


@hookimpl
def register_model_types(register):
    register(ModelType(
        model_type="transfo-xl",
        config="plugformers_transfo_xl.configuration:TransfoXLConfig",
        tokenizer="plugformers_transfo_xl.tokenization:TransfoXLTokenizer",
        heads={
            "base": _M + "TransfoXLModel",
            "causal-lm": _M + "TransfoXLLMHeadModel",
            "sequence-classification": _M + "TransfoXLForSequenceClassification",
        },
        name_patterns=("transfo-xl", "transfo_xl"),
        legacy_names={"transfo-xl-wt103": "transfo-xl/transfo-xl-wt103"},
        # Small but with every path: two tail clusters, div_val 2, d_embed != d_model,
        # pre-norm, shared relative biases; mem_len covers prompt + new tokens of the suite.
        tiny_config={
            "vocab_size": 99, "cutoffs": [20, 60], "div_val": 2, "d_model": 32, "d_embed": 24, "n_head": 4,
            "d_head": 8, "d_inner": 37, "n_layer": 2, "tgt_len": 7, "mem_len": 16, "clamp_len": 10,
            "same_length": True, "pre_lnorm": True, "untie_r": False,
        },
    ))
