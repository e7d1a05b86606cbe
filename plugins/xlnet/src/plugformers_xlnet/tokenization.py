"""XLNet's tokenizer: a SentencePiece unigram model (spiece.model), run by the `tokenizers` library.

The pipeline: the normalizer (```` and ``''`` become ``"``; NFKD and accent removal unless
``keep_accents``; lowercase with ``do_lower_case``; then the model's own precompiled character
map, NFKC for XLNet's), the pre-tokenizer (split on whitespace when ``remove_space``, then
"▁" for each space and before each word), the Unigram model (the most likely split into the
model's pieces), then the template ``A <sep> <cls>`` / ``A <sep> B <sep> <cls>``: XLNet puts
its special tokens at the end, with token type 0 on the first sequence, 1 on the second and
2 on ``<cls>``. XLNet pads on the left.

spiece.model is a protobuf message (sentencepiece's ModelProto), read and built with the
``sentencepiece_model_pb2`` module that sentencepiece ships (it needs protobuf), imported only
when a spiece.model is read or written; saving writes the file back unchanged, or builds it
from the vocabulary when the tokenizer came from a tokenizer.json. The pieces' types decide
their role: the unknown piece and the control pieces (``<s> </s> <cls> <sep> <pad> <mask>
<eod>``) are special tokens, the user-defined ones (``<eop>``, ``.``, ``(``, ...) are matched
anywhere in the text before it is split, as sentencepiece matches them.

From a tokenizer.json, the Unigram model, its added tokens and its character map are kept and
the rest of the pipeline is built from the options, as transformers 5 does, so a file made by
an older converter (transformers 4's, on the Hub) tokenizes as a new one does.
"""

from __future__ import annotations

import base64
import json
import os
import warnings
from dataclasses import dataclass
from typing import Any

from plugformers.serialization import atomic_write_bytes
from plugformers.tokenization_utils import PreTrainedTokenizer
from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

__all__ = ["XLNetTokenizer", "XLNetTokenizerFast", "SentencePieceModel", "read_spiece_model"]

VOCAB_FILE = "spiece.model"
SPIECE_UNDERLINE = "▁"
DEFAULT_EXTRA_SPECIAL_TOKENS = ("<eop>", "<eod>")  # end of paragraph, end of document

# ModelProto.SentencePiece.Type's values, here so that importing this module needs no protobuf
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


# ------------------------------------------------------------------ spiece.model (sentencepiece's ModelProto)


def _model_pb2() -> Any:
    """sentencepiece's generated protobuf module, imported on first use (it needs protobuf)."""
    try:
        from sentencepiece import sentencepiece_model_pb2
    except Exception as e:  # ImportError, or protobuf's VersionError when protobuf is older than the module
        raise ImportError(f"XLNetTokenizer reads and writes spiece.model with sentencepiece's protobuf module, "
                          f"which did not import ({type(e).__name__}: {e}). Install it: "
                          "pip install -U 'sentencepiece>=0.2.3' 'protobuf>=7.36.1'. (Loading from a "
                          "tokenizer.json needs neither; save_pretrained(..., legacy_format=False) skips "
                          "spiece.model.)") from e
    return sentencepiece_model_pb2


@dataclass
class SentencePieceModel:
    """What spiece.model holds that tokenizing needs."""

    pieces: list[tuple[str, float, int]]  # (piece, score, type) in id order
    model_type: str = "unigram"
    byte_fallback: bool = False
    precompiled_charsmap: bytes = b""
    normalizer_name: str = ""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True

    @property
    def unk_id(self) -> int | None:
        return next((index for index, (_, _, kind) in enumerate(self.pieces) if kind == UNKNOWN), None)


def read_spiece_model(path: str | os.PathLike) -> tuple[SentencePieceModel, bytes]:
    """Read and check a sentencepiece model file; returns it and the file's bytes."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    fix = ("Re-download it (a Hub checkout without git-lfs holds a small text pointer instead of the "
           "file), or load the tokenizer from a tokenizer.json instead.")
    if data.startswith(b"version https://git-lfs"):
        raise ValueError(f"{path}: not a sentencepiece model (it is a git-lfs pointer, {len(data)} bytes). {fix}")
    pb2 = _model_pb2()
    from google.protobuf.message import DecodeError

    proto = pb2.ModelProto()
    try:
        proto.ParseFromString(data)
    except (DecodeError, UnicodeDecodeError) as e:  # protobuf's pure-Python parser checks UTF-8 itself
        raise ValueError(f"{path}: not a sentencepiece model (protobuf cannot parse its {len(data)} bytes: {e}; "
                         f"the file is cut off or damaged, or another kind of file). {fix}") from None
    for index, entry in enumerate(proto.pieces):
        if isinstance(entry.piece, bytes):  # upb hands back a proto2 string that is not UTF-8 as bytes
            raise ValueError(f"{path}: not a sentencepiece model (piece {index} is not UTF-8). {fix}")
    trainer, spec = proto.trainer_spec, proto.normalizer_spec
    model = SentencePieceModel(
        pieces=[(entry.piece, entry.score, entry.type) for entry in proto.pieces],
        model_type=pb2.TrainerSpec.ModelType.Name(trainer.model_type).lower(),
        byte_fallback=trainer.byte_fallback, precompiled_charsmap=spec.precompiled_charsmap,
        normalizer_name=spec.name, add_dummy_prefix=spec.add_dummy_prefix,
        remove_extra_whitespaces=spec.remove_extra_whitespaces)
    if not model.pieces:
        raise ValueError(f"{path}: not a sentencepiece model (it holds no pieces; {len(data)} bytes). {fix}")
    if model.model_type != "unigram":
        raise ValueError(f"{path}: a sentencepiece {model.model_type} model; XLNetTokenizer reads unigram models "
                         "(the kind XLNet's spiece.model is).")
    if model.unk_id is None:
        raise ValueError(f"{path}: the sentencepiece model has no unknown piece (type UNKNOWN), which every "
                         f"model has. {fix}")
    return model, data


def _serialize_model(model: SentencePieceModel, unk_id: int) -> bytes:
    """spiece.model for a unigram vocabulary (what _build_backend reads back)."""
    proto = _model_pb2().ModelProto()
    for piece, score, kind in model.pieces:
        entry = proto.pieces.add(piece=piece, score=score)
        if kind != NORMAL:
            entry.type = kind
    proto.trainer_spec.model_type = proto.trainer_spec.UNIGRAM
    proto.trainer_spec.vocab_size = len(model.pieces)
    proto.trainer_spec.unk_id = unk_id
    spec = proto.normalizer_spec
    spec.name = model.normalizer_name or ("nmt_nfkc" if model.precompiled_charsmap else "identity")
    if model.precompiled_charsmap:
        spec.precompiled_charsmap = model.precompiled_charsmap
    spec.add_dummy_prefix, spec.remove_extra_whitespaces = model.add_dummy_prefix, model.remove_extra_whitespaces
    return proto.SerializeToString()


# --------------------------------------------------------------------------------- the tokenizer


def _walk(component: dict | None, key: str) -> list[dict]:
    """The parts of a (possibly Sequence) normalizer or pre-tokenizer, from tokenizer.json."""
    if not component:
        return []
    if component.get("type") == "Sequence":
        return [part for child in component.get(key, []) for part in _walk(child, key)]
    return [component]


class XLNetTokenizer(PreTrainedTokenizer):
    """XLNet's SentencePiece (unigram) tokenizer.

    Args:
        vocab_file: spiece.model. Not needed when a tokenizer.json is given (``tokenizer_file=``)
            or loaded by from_pretrained.
        do_lower_case: lowercase the text. None: as the tokenizer.json's normalizer says, else False.
        remove_space: drop the spaces around the text and collapse runs of whitespace, so they
            give no tokens. None: True (XLNet's setting).
        keep_accents: keep accents (else NFKD, then combining marks removed). None: as the
            tokenizer.json's normalizer says, else False.
        bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token: XLNet's
            special tokens (``<s> </s> <unk> <sep> <pad> <cls> <mask>``).
        additional_special_tokens: by default ``<eop>`` and ``<eod>`` (end of paragraph, of document),
            those of them that the vocabulary has.

    Other keyword arguments are those of `PreTrainedTokenizer` (model_max_length, ...).

    transformers 5.23 removes accents even with ``keep_accents=True``; this tokenizer keeps
    them, as the option says and as XLNet's original preprocessing did.
    """

    vocab_files_names = {"vocab_file": VOCAB_FILE}
    # transformers 5's XLNetTokenizer returns no token_type_ids unless asked (return_token_type_ids=True)
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "left"

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        do_lower_case: bool | None = None,
        remove_space: bool | None = None,
        keep_accents: bool | None = None,
        bos_token: Any = "<s>",
        eos_token: Any = "</s>",
        unk_token: Any = "<unk>",
        sep_token: Any = "<sep>",
        pad_token: Any = "<pad>",
        cls_token: Any = "<cls>",
        mask_token: Any = "<mask>",
        additional_special_tokens: list | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("unk_id", None)  # transformers writes it; the model's unknown piece decides
        kwargs.pop("_spm_precompiled_charsmap", None)
        # XLNet's <eop> and <eod>, by default those of them the vocabulary has (adding one would
        # give an id the model has no embedding for)
        self._default_extras = additional_special_tokens is None and kwargs.get("extra_special_tokens") is None
        if self._default_extras:
            additional_special_tokens = list(DEFAULT_EXTRA_SPECIAL_TOKENS)
        self.do_lower_case = do_lower_case
        self.remove_space = remove_space
        self.keep_accents = keep_accents
        self.vocab_file = None if vocab_file is None else os.fspath(vocab_file)
        self._spiece_bytes: bytes | None = None  # the file read, written back unchanged on save
        self._normalizer_name = ""
        super().__init__(
            vocab_file=vocab_file, bos_token=bos_token, eos_token=eos_token, unk_token=unk_token,
            sep_token=sep_token, pad_token=pad_token, cls_token=cls_token, mask_token=mask_token,
            additional_special_tokens=additional_special_tokens, **kwargs,
        )

    # -- the pipeline around the Unigram model
    def _set_pipeline(self, backend: Tokenizer, charsmap: bytes) -> None:
        steps = [normalizers.Replace("``", '"'), normalizers.Replace("''", '"')]
        if not self.keep_accents:
            steps += [normalizers.NFKD(), normalizers.StripAccents()]
        if self.do_lower_case:
            steps.append(normalizers.Lowercase())
        if charsmap:
            steps.append(normalizers.Precompiled(charsmap))
        backend.normalizer = normalizers.Sequence(steps)
        metaspace = pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme="always")
        backend.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), metaspace])
                                 if self.remove_space else metaspace)
        backend.decoder = decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme="always")
        self._set_post_processor(backend)

    def _set_post_processor(self, backend: Tokenizer) -> None:
        self._layouts = {}
        sep, cls = self.sep_token, self.cls_token
        if sep is None or cls is None:
            raise ValueError("XLNetTokenizer needs sep_token and cls_token: every sequence ends with them.")
        for token in (sep, cls):
            if backend.token_to_id(token) is None:
                backend.add_special_tokens([AddedToken(token, special=True, normalized=False)])
        backend.post_processor = processors.TemplateProcessing(
            single=f"$A:0 {sep}:0 {cls}:2",
            pair=f"$A:0 {sep}:0 $B:1 {sep}:1 {cls}:2",
            special_tokens=[(sep, backend.token_to_id(sep)), (cls, backend.token_to_id(cls))],
        )

    def _fill_defaults(self, backend: Tokenizer) -> None:
        if self._default_extras:
            self._additional_special_tokens = [token for token in self._additional_special_tokens
                                               if backend.token_to_id(str(token)) is not None]
        self.do_lower_case = bool(self.do_lower_case)
        self.keep_accents = bool(self.keep_accents)
        self.remove_space = True if self.remove_space is None else bool(self.remove_space)

    # -- the hooks of PreTrainedTokenizer
    def _build_backend(self, vocab_file: str) -> Tokenizer:
        model, data = read_spiece_model(vocab_file)
        self._spiece_bytes, self._normalizer_name = data, model.normalizer_name
        if model.byte_fallback:
            warnings.warn(f"{vocab_file}: the model falls back to bytes for unknown characters; XLNetTokenizer "
                          "gives them the unknown token instead (as transformers does).", stacklevel=5)
        backend = Tokenizer(Unigram([(piece, score) for piece, score, _ in model.pieces], unk_id=model.unk_id,
                                    byte_fallback=False))
        # unknown and control pieces are special tokens; user-defined ones are matched before splitting
        backend.add_tokens([AddedToken(piece, special=kind != USER_DEFINED, normalized=False)
                            for piece, _, kind in model.pieces if kind in (UNKNOWN, CONTROL, USER_DEFINED)])
        self._fill_defaults(backend)
        self._set_pipeline(backend, model.precompiled_charsmap)
        return backend

    def _adapt_backend(self, backend: Tokenizer) -> None:
        state = json.loads(backend.to_str())
        if state["model"].get("type") != "Unigram":
            raise ValueError(f"XLNetTokenizer needs a Unigram model; this tokenizer.json holds a "
                             f"{state['model'].get('type')} model. Load it with the tokenizer class it was made for.")
        steps = _walk(state.get("normalizer"), "normalizers")
        kinds = {step.get("type") for step in steps}
        if self.do_lower_case is None:
            self.do_lower_case = "Lowercase" in kinds
        if self.keep_accents is None:
            self.keep_accents = "StripAccents" not in kinds
        self._fill_defaults(backend)
        charsmap = next((base64.b64decode(step["precompiled_charsmap"]) for step in steps
                         if step.get("type") == "Precompiled" and step.get("precompiled_charsmap")), b"")
        # the file gives the vocabulary and its added tokens; the options give the rest, so
        # do_lower_case, remove_space and keep_accents mean the same whatever file was loaded
        self._set_pipeline(backend, charsmap)

    def _config_options(self) -> dict[str, Any]:
        return {"do_lower_case": self.do_lower_case, "remove_space": self.remove_space,
                "keep_accents": self.keep_accents}

    # -- saving
    def _spiece_model_bytes(self) -> bytes | None:
        """spiece.model: the file read, or one built from the Unigram vocabulary."""
        if self._spiece_bytes is not None:
            return self._spiece_bytes
        state = json.loads(self._backend.to_str())
        if state["model"].get("type") != "Unigram":
            return None
        vocab, unk_id = state["model"]["vocab"], state["model"].get("unk_id")
        added = {index: token for index, token in self._backend.get_added_tokens_decoder().items()
                 if index < len(vocab)}
        pieces = []
        for index, (piece, score) in enumerate(vocab):
            kind = NORMAL
            if index == unk_id:
                kind = UNKNOWN
            elif index in added and added[index].content == piece:
                kind = CONTROL if added[index].special else USER_DEFINED
            pieces.append((piece, float(score), kind))
        steps = _walk(state.get("normalizer"), "normalizers")
        charsmap = next((base64.b64decode(step["precompiled_charsmap"]) for step in steps
                         if step.get("type") == "Precompiled" and step.get("precompiled_charsmap")), b"")
        model = SentencePieceModel(pieces=pieces, precompiled_charsmap=charsmap,
                                   normalizer_name=self._normalizer_name,
                                   remove_extra_whitespaces=bool(self.remove_space))
        return _serialize_model(model, 0 if unk_id is None else unk_id)

    def save_vocabulary(self, save_directory: str | os.PathLike, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write spiece.model (the file loaded, or one built from the vocabulary of a tokenizer.json)."""
        data = self._spiece_model_bytes()
        if data is None:
            return ()
        path = os.path.join(os.fspath(save_directory), (f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILE)
        atomic_write_bytes(path, data)
        return (path,)


XLNetTokenizerFast = XLNetTokenizer  # transformers' name for the tokenizers-backed class
