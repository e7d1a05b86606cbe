"""Entry module of the BERT plugin: read at discovery, so it imports no torch and no
modeling code; classes are named as "module:attr" strings and imported on first use."""

from plugformers import ModelType, hookimpl

_M = "plugformers_bert.modeling:"


@hookimpl
def register_model_types(register):
    register(ModelType(
        model_type="bert",
        config="plugformers_bert.configuration:BertConfig",
        tokenizer="plugformers_bert.tokenization:BertTokenizer",
        heads={
            "base": _M + "BertModel",
            "pretraining": _M + "BertForPreTraining",
            "masked-lm": _M + "BertForMaskedLM",
            "causal-lm": _M + "BertLMHeadModel",
            "next-sentence-prediction": _M + "BertForNextSentencePrediction",
            "sequence-classification": _M + "BertForSequenceClassification",
            "multiple-choice": _M + "BertForMultipleChoice",
            "token-classification": _M + "BertForTokenClassification",
            "question-answering": _M + "BertForQuestionAnswering",
        },
        name_patterns=("bert",),
        # "bert" occurs in RoBERTa names too; XLM-RoBERTa is an architecture of its own
        # (plain RoBERTa names go to the longer "roberta" pattern when that plugin is installed).
        name_excludes=("xlm-roberta", "xlm_roberta", "xlmroberta"),
        legacy_names={
            name: f"google-bert/{name}"
            for name in (
                "bert-base-uncased", "bert-large-uncased", "bert-base-cased", "bert-large-cased",
                "bert-base-multilingual-uncased", "bert-base-multilingual-cased", "bert-base-chinese",
                "bert-base-german-cased", "bert-large-uncased-whole-word-masking",
                "bert-large-cased-whole-word-masking",
                "bert-large-uncased-whole-word-masking-finetuned-squad",
                "bert-large-cased-whole-word-masking-finetuned-squad",
                "bert-base-cased-finetuned-mrpc",
            )
        },
        tiny_config={
            "vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 37, "max_position_embeddings": 64, "type_vocab_size": 2,
        },
    ))
