"""RobertaConfig: the fields of a RoBERTa checkpoint's config.json, typed and validated.

RoBERTa's config has BERT's fields (RobertaModel is BERT's encoder with other embeddings),
so RobertaConfig is BertConfig with RoBERTa's defaults, those of transformers'
RobertaConfig: a 50265-token byte-level BPE vocabulary with ``<s>`` = 0, ``<pad>`` = 1 and
``</s>`` = 2. Checkpoints set max_position_embeddings to 514: positions start after the
padding index (``pad_token_id + 1``), so a sequence holds at most 512 tokens. This module
imports no torch.
"""

from __future__ import annotations

from typing import ClassVar

from plugformers_bert.configuration import BertConfig
from pydantic import Field, model_validator

__all__ = ["RobertaConfig"]


class RobertaConfig(BertConfig):
    """Configuration of a RoBERTa model (RobertaModel and every RoBERTa head)."""

    model_type: ClassVar[str] = "roberta"

    vocab_size: int = Field(50265, description="Number of token ids the word embeddings hold.")
    pad_token_id: int | None = Field(
        1, description="Id of the padding token; also the position index of padding (positions start after it)."
    )
    bos_token_id: int | None = Field(0, description="Id of the beginning-of-sequence token <s>.")
    eos_token_id: int | list[int] | None = Field(2, description="Id(s) of the end-of-sequence token </s>.")

    @model_validator(mode="after")
    def _check_roberta_fields(self) -> RobertaConfig:
        if self.pad_token_id is None:
            raise ValueError(
                "pad_token_id=None: RoBERTa numbers positions from pad_token_id + 1 and gives padding the "
                "position pad_token_id, so it needs one; RoBERTa checkpoints use pad_token_id=1."
            )
        if self.pad_token_id + 1 >= self.max_position_embeddings:
            raise ValueError(
                f"max_position_embeddings={self.max_position_embeddings} leaves no position for a token: positions "
                f"start at pad_token_id + 1 = {self.pad_token_id + 1}. RoBERTa checkpoints use 514 (512 tokens)."
            )
        return self
