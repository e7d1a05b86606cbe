"""DistilBERT's tokenizer: BERT's WordPiece, without token type ids (DistilBERT has no
segment embeddings). The BERT plugin's class does the work; only the inputs differ."""

from __future__ import annotations

from plugformers_bert.tokenization import BertTokenizer

__all__ = ["DistilBertTokenizer", "DistilBertTokenizerFast"]


class DistilBertTokenizer(BertTokenizer):
    """WordPiece over vocab.txt (or a tokenizer.json); returns input_ids and attention_mask."""

    model_input_names = ["input_ids", "attention_mask"]


DistilBertTokenizerFast = DistilBertTokenizer  # transformers' name for the tokenizers-backed class
