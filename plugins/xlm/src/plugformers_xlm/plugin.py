"""Entry module of the XLM plugin: read at discovery, so it imports no torch and no
modeling code; classes are named as "module:attr" strings and imported on first use."""

from plugformers import ModelType, hookimpl

_M = "plugformers_xlm.modeling:"

# The pytorch-transformers XLM checkpoints, now under the FacebookAI organisation of the Hub.
_LEGACY = (
    "xlm-mlm-en-2048", "xlm-mlm-ende-1024", "xlm-mlm-enfr-1024", "xlm-mlm-enro-1024", "xlm-mlm-tlm-xnli15-1024",
    "xlm-mlm-xnli15-1024", "xlm-clm-enfr-1024", "xlm-clm-ende-1024", "xlm-mlm-17-1280", "xlm-mlm-100-1280",
)


@hookimpl
def register_model_types(register):
    register(ModelType(
        model_type="xlm",
        config="plugformers_xlm.configuration:XLMConfig",
        tokenizer="plugformers_xlm.tokenization:XLMTokenizer",
        heads={
            "base": _M + "XLMModel",
            # one LM head for both: an MLM checkpoint predicts masked tokens, a CLM one the next token
            "masked-lm": _M + "XLMWithLMHeadModel",
            "causal-lm": _M + "XLMWithLMHeadModel",
            "sequence-classification": _M + "XLMForSequenceClassification",
            "token-classification": _M + "XLMForTokenClassification",
            "multiple-choice": _M + "XLMForMultipleChoice",
            "question-answering": _M + "XLMForQuestionAnsweringSimple",
            # the SQuAD head with beam outputs (top starts / ends, answerable score)
            "question-answering-beam": _M + "XLMForQuestionAnswering",
        },
        name_patterns=("xlm",),
        # XLM-RoBERTa is another architecture whose names contain "xlm"
        name_excludes=("xlm-roberta", "xlm_roberta", "xlmroberta"),
        legacy_names={name: f"FacebookAI/{name}" for name in _LEGACY},
        tiny_config={
            "vocab_size": 99, "emb_dim": 32, "n_layers": 2, "n_heads": 4, "max_position_embeddings": 64,
            "n_langs": 2,
        },
    ))
