"""Reading and writing weights and checkpoint folders.

Weights are read from model.safetensors, pytorch_model.bin (torch.load with
weights_only=True unless pickle is allowed explicitly) and sharded ``*.index.json``
of either. Saves are atomic: a checkpoint folder is written to a temporary folder
beside it and swapped into place, so an interrupted save leaves the previous
checkpoint as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

__all__ = [
    "WeightsError",
    "SAFE_WEIGHTS_NAME",
    "SAFE_WEIGHTS_INDEX_NAME",
    "WEIGHTS_NAME",
    "WEIGHTS_INDEX_NAME",
    "atomic_write_text",
    "atomic_folder",
    "parse_size",
    "WeightsFile",
]

SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
WEIGHTS_NAME = "pytorch_model.bin"
WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"
# What counts as a weights file of a checkpoint folder (stale ones are not carried over
# when a new save replaces the folder).
_WEIGHT_FILE_RE = re.compile(
    r"^(model(-\d{5}-of-\d{5})?\.safetensors|pytorch_model(-\d{5}-of-\d{5})?\.bin|.*\.index\.json)$"
)


class WeightsError(OSError):
    """A weights file that is missing, damaged, or not loadable without opt-in."""


# ---------------------------------------------------------------------- atomic writes


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file through a temporary file in the same folder and os.replace."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write a file through a temporary file in the same folder and os.replace: an
    interrupted write leaves the old file (or none), never half of the new one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike, *, keep_weights: bool = False) -> Iterator[Path]:
    """Yield a temporary folder to write a checkpoint into; on success it replaces
    ``target`` in one step. Files already in ``target`` that are not rewritten (a
    tokenizer saved there earlier, say) are carried over, except stale weight files
    unless ``keep_weights``. On an exception the temporary folder is removed and
    ``target`` is untouched."""
    target = Path(target).absolute()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file; save_pretrained needs a folder path")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
        if target.is_dir():
            for old in target.iterdir():
                if (tmp / old.name).exists() or (not keep_weights and _WEIGHT_FILE_RE.match(old.name)):
                    continue
                if old.is_dir():
                    shutil.copytree(old, tmp / old.name)
                else:
                    try:
                        os.link(old, tmp / old.name)
                    except OSError:
                        shutil.copy2(old, tmp / old.name)
            if _exchange(tmp, target):
                shutil.rmtree(tmp)  # tmp now holds the previous checkpoint
                return
            backup = target.with_name(f".{target.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.rename(target, backup)
            os.rename(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ---------------------------------------------------------------------- sizes


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(size: int | str) -> int:
    """'5GB' -> 5_000_000_000, '200MiB' -> 209_715_200, ints pass through."""
    if isinstance(size, int) and not isinstance(size, bool):
        if size <= 0:
            raise ValueError(f"max_shard_size must be positive, got {size}")
        return size
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(size))
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"max_shard_size {size!r} is not a size; use bytes (int) or e.g. '500MB', '5GB'")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


# ---------------------------------------------------------------------- reading


@dataclass
class WeightsFile:
    """One weights file of a checkpoint, read lazily."""

    path: str
    allow_pickle: bool = False

    @property
    def is_safetensors(self) -> bool:
        return self.path.endswith(".safetensors")

    def keys(self) -> list[str]:
        if self.is_safetensors:
            return list(self._safe_header())
        return list(self.load())

    def _safe_header(self) -> dict:
        try:
            with open(self.path, "rb") as f:
                head = f.read(8)
                if len(head) < 8:
                    raise ValueError("file shorter than the 8-byte header length")
                n = int.from_bytes(head, "little")
                if n > 100_000_000:
                    raise ValueError(f"header length {n} is implausible")
                header = json.loads(f.read(n))
            size = os.path.getsize(self.path)
            header.pop("__metadata__", None)
            end = max((v["data_offsets"][1] for v in header.values()), default=0)
            if 8 + n + end > size:
                raise ValueError(f"the header describes {8 + n + end} bytes but the file has {size}")
            return header
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise self._damaged(e) from None

    def _damaged(self, e: Exception) -> WeightsError:
        return WeightsError(
            f"{self.path}: not a complete safetensors file ({e}). It was probably cut short by an "
            "interrupted download or save: delete it and download or save the checkpoint again "
            "(from_pretrained(..., force_download=True) for a Hub checkpoint)."
        )

    def load(self) -> dict:
        """All tensors of the file, on the CPU."""
        import torch

        if self.is_safetensors:
            from safetensors import SafetensorError, safe_open

            self._safe_header()  # a clear error for truncated files before the library's own
            try:
                with safe_open(self.path, framework="pt", device="cpu") as f:
                    return {k: f.get_tensor(k) for k in f.keys()}
            except SafetensorError as e:
                raise self._damaged(e) from None
        try:
            return torch.load(self.path, map_location="cpu", weights_only=not self.allow_pickle, mmap=True)
        except RuntimeError as e:
            if "mmap" in str(e) or "zipfile" in str(e).lower():
                return self._load_without_mmap()
            raise WeightsError(f"{self.path}: cannot be read as PyTorch weights ({e}).") from None
        except Exception as e:  # pickle.UnpicklingError and friends
            raise self._pickle_error(e) from None

    def _load_without_mmap(self) -> dict:
        import torch

        try:
            return torch.load(self.path, map_location="cpu", weights_only=not self.allow_pickle)
        except Exception as e:
            raise self._pickle_error(e) from None

    def _pickle_error(self, e: Exception) -> WeightsError:
        if self.allow_pickle:
            return WeightsError(f"{self.path}: cannot be read as PyTorch weights ({type(e).__name__}: {e}).")
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return WeightsError(
            f"{self.path}: this .bin file holds more than plain tensors and would need full unpickling, "
            f"which can run arbitrary code ({first[:200]}). If you trust its source, pass "
            "allow_pickle=True to from_pretrained; better, convert it once to safetensors."
        )


def read_index(path: str) -> dict[str, str]:
    """The ``weight_map`` (key -> shard file name) of a sharded checkpoint's index."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        weight_map = data["weight_map"]
        if not isinstance(weight_map, dict):
            raise TypeError("weight_map is not an object")
        return weight_map
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise WeightsError(
            f"{path}: not a valid shard index ({type(e).__name__}: {e}); it must be JSON with a "
            "'weight_map' object of key -> shard file."
        ) from None


# ---------------------------------------------------------------------- writing


def shard_state_dict(state_dict: dict, max_shard_size: int) -> list[dict]:
    """Split a state dict into shards of at most max_shard_size bytes (a tensor larger
    than that gets a shard of its own), keeping key order."""
    shards: list[dict] = [{}]
    size = 0
    for key, tensor in state_dict.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > max_shard_size:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes
    return shards


def write_weights(folder: Path, state_dict: dict, *, safe: bool, max_shard_size: int | str) -> list[str]:
    """Write a state dict (already free of shared tensors) as one file or shards plus an
    index; returns the file names written."""
    import torch

    limit = parse_size(max_shard_size)
    shards = shard_state_dict(state_dict, limit)
    base, ext = ("model", "safetensors") if safe else ("pytorch_model", "bin")
    names = [f"{base}.{ext}"] if len(shards) == 1 else [
        f"{base}-{i + 1:05d}-of-{len(shards):05d}.{ext}" for i in range(len(shards))
    ]
    for name, shard in zip(names, shards):
        shard = {k: v.contiguous() for k, v in shard.items()}
        if safe:
            from safetensors.torch import save_file

            save_file(shard, str(folder / name), metadata={"format": "pt"})
        else:
            torch.save(shard, folder / name)
    if len(shards) > 1:
        index = {
            "metadata": {"total_size": sum(t.numel() * t.element_size() for t in state_dict.values())},
            "weight_map": {k: name for name, shard in zip(names, shards) for k in shard},
        }
        index_name = SAFE_WEIGHTS_INDEX_NAME if safe else WEIGHTS_INDEX_NAME
        (folder / index_name).write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        names.append(index_name)
    return names
