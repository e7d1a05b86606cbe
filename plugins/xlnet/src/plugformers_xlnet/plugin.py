"""Entry module of the XLNet plugin: read at discovery, so it imports no torch and no
modeling code; classes are named as "module:attr" strings and imported on first use."""

from plugformers import ModelType, hookimpl

_M = "plugformers_xlnet.modeling:"


@hookimpl
def register_model_types(register):
    register(ModelType(
        model_type="xlnet",
        config="plugformers_xlnet.configuration:XLNetConfig",
        tokenizer="plugformers_xlnet.tokenization:XLNetTokenizer",
        heads={
            "base": _M + "XLNetModel",
            "causal-lm": _M + "XLNetLMHeadModel",
            "sequence-classification": _M + "XLNetForSequenceClassification",
            "token-classification": _M + "XLNetForTokenClassification",
            "multiple-choice": _M + "XLNetForMultipleChoice",
            "question-answering": _M + "XLNetForQuestionAnsweringSimple",
            # the SQuAD head with beam outputs (top starts / ends, answerable score)
            "question-answering-beam": _M + "XLNetForQuestionAnswering",
        },
        name_patterns=("xlnet",),
        legacy_names={
            "xlnet-base-cased": "xlnet/xlnet-base-cased",
            "xlnet-large-cased": "xlnet/xlnet-large-cased",
        },
        tiny_config={
            "vocab_size": 99, "d_model": 32, "n_layer": 2, "n_head": 4, "d_inner": 37, "mem_len": 16,
        },
    ))
