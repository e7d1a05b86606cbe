"""The RoBERTa plugin's entry module. plugformers imports it while discovering plugins, so
it names every class as a "module:attr" string (imported on first use) and imports no
torch, no plugformers_bert and no modeling code."""

from plugformers import ModelType, hookimpl

_M = "plugformers_roberta.modeling:"


@hookimpl
def register_model_types(register):
    register(ModelType(
        model_type="roberta",
        config="plugformers_roberta.configuration:RobertaConfig",
        tokenizer="plugformers_roberta.tokenization:RobertaTokenizer",
        heads={
            "base": _M + "RobertaModel",
            "masked-lm": _M + "RobertaForMaskedLM",
            "causal-lm": _M + "RobertaForCausalLM",
            "sequence-classification": _M + "RobertaForSequenceClassification",
            "multiple-choice": _M + "RobertaForMultipleChoice",
            "token-classification": _M + "RobertaForTokenClassification",
            "question-answering": _M + "RobertaForQuestionAnswering",
        },
        # "roberta" wins over bert's shorter "bert"; "distilroberta" (a RoBERTa checkpoint) also
        # over "distilbert", which its Hub id distilbert/distilroberta-base holds. XLM-RoBERTa
        # is another model type: its names are not claimed.
        name_patterns=("roberta", "distilroberta"),
        name_excludes=("xlm-roberta", "xlm_roberta", "xlmroberta"),
        legacy_names={
            "roberta-base": "FacebookAI/roberta-base",
            "roberta-large": "FacebookAI/roberta-large",
            "roberta-large-mnli": "FacebookAI/roberta-large-mnli",
            "distilroberta-base": "distilbert/distilroberta-base",
        },
        tiny_config={
            "vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 37, "max_position_embeddings": 64, "type_vocab_size": 1,
        },
    ))
