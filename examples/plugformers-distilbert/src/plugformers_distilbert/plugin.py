"""Entry module of the DistilBERT plugin, named by the ``plugformers`` entry point.

plugformers imports it at discovery, so it imports no torch and no modeling code: every
class is a "module:attr" string, imported the first time it is used.
"""

from plugformers import ModelType, hookimpl

_M = "plugformers_distilbert.modeling:"


@hookimpl
def register_model_types(register):
    register(ModelType(
        model_type="distilbert",
        config="plugformers_distilbert.configuration:DistilBertConfig",
        tokenizer="plugformers_distilbert.tokenization:DistilBertTokenizer",
        heads={
            "base": _M + "DistilBertModel",
            "masked-lm": _M + "DistilBertForMaskedLM",
            "sequence-classification": _M + "DistilBertForSequenceClassification",
            "token-classification": _M + "DistilBertForTokenClassification",
            "question-answering": _M + "DistilBertForQuestionAnswering",
            "multiple-choice": _M + "DistilBertForMultipleChoice",
        },
        name_patterns=("distilbert",),
        legacy_names={
            "distilbert-base-uncased": "distilbert/distilbert-base-uncased",
            "distilbert-base-cased": "distilbert/distilbert-base-cased",
            "distilbert-base-uncased-distilled-squad": "distilbert/distilbert-base-uncased-distilled-squad",
            "distilbert-base-uncased-finetuned-sst-2-english": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        },
        tiny_config={"vocab_size": 99, "dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 37,
                     "max_position_embeddings": 64},
    ))
