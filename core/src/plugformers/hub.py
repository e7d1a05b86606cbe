"""Finding checkpoint files: a local folder first, else the Hub through huggingface_hub.

Everything that reads a checkpoint (configs, weights, tokenizers) asks for its files
here, so local folders, the Hub cache, revisions and offline mode behave the same way
for all of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HubOptions", "resolve_file", "is_local", "CheckpointNotFoundError", "DownloadError"]

# Where the HTTP stack's own errors come from (huggingface_hub talks through httpx).
_NETWORK_MODULES = ("httpx", "httpx2", "httpcore", "requests", "urllib3", "huggingface_hub")


class CheckpointNotFoundError(OSError):
    """A checkpoint, or a file it must have, cannot be found locally or on the Hub."""


class DownloadError(OSError):
    """A Hub download failed on the way (connection lost, server error); nothing partial was kept."""


@dataclass(frozen=True)
class HubOptions:
    """Where and how to look for files; the keyword arguments of every from_pretrained."""

    cache_dir: str | os.PathLike | None = None
    revision: str | None = None
    local_files_only: bool = False
    force_download: bool = False
    token: str | bool | None = None
    subfolder: str = ""

    @classmethod
    def pop_from(cls, kwargs: dict) -> HubOptions:
        """Take the hub keyword arguments out of ``kwargs`` (in place) and return them."""
        fields = ("cache_dir", "revision", "local_files_only", "force_download", "token", "subfolder")
        found = {k: kwargs.pop(k) for k in fields if k in kwargs}
        if "use_auth_token" in kwargs:  # the pytorch-transformers / transformers 4 spelling
            found.setdefault("token", kwargs.pop("use_auth_token"))
        for legacy in ("proxies", "resume_download", "trust_remote_code"):
            if legacy == "trust_remote_code" and kwargs.get(legacy):
                raise ValueError(
                    "trust_remote_code=True: plugformers never runs code downloaded with a checkpoint. "
                    "Install the architecture's plugin instead (see `plugformers plugins`)."
                )
            kwargs.pop(legacy, None)
        if found.get("subfolder") is None:
            found.pop("subfolder", None)
        return cls(**found)


def is_local(name_or_path: str | os.PathLike) -> bool:
    return os.path.isdir(name_or_path)


def _repo_id(name: str) -> str:
    from .registry import registry  # late: the registry maps legacy short names

    return registry.legacy_repo_id(name)


def resolve_file(
    name_or_path: str | os.PathLike,
    filename: str,
    options: HubOptions | None = None,
    *,
    required: bool = True,
) -> str | None:
    """Return a local path to ``filename`` of checkpoint ``name_or_path``.

    ``name_or_path`` is a local folder or a Hub repo id (legacy short names such as
    ``bert-base-uncased`` are mapped to their repo ids). When the file does not exist,
    returns None if ``required`` is False, else raises CheckpointNotFoundError naming
    the checkpoint, the file and what to do.
    """
    options = options or HubOptions()
    name = os.fspath(name_or_path)
    if os.path.isdir(name):
        path = Path(name, options.subfolder, filename)
        if path.is_file():
            return str(path)
        if not required:
            return None
        present = sorted(p.name for p in path.parent.iterdir()) if path.parent.is_dir() else []
        raise CheckpointNotFoundError(
            f"{path.parent}: no file named {filename!r}. The folder holds {present[:12]}"
            f"{' ...' if len(present) > 12 else ''}. Check the path, or save the checkpoint "
            "there with save_pretrained()."
        )
    if os.path.isfile(name):
        raise CheckpointNotFoundError(
            f"{name!r} is a file; from_pretrained takes the folder that holds it "
            f"({os.path.dirname(name) or '.'!r}) or a Hub repo id."
        )
    return _hub_download(_repo_id(name), filename, options, required=required, asked=name)


def _hub_download(repo_id: str, filename: str, options: HubOptions, *, required: bool, asked: str):
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    shown = repo_id if repo_id == asked else f"{asked!r} (Hub repo {repo_id!r})"
    try:
        return hf_hub_download(
            repo_id,
            filename,
            subfolder=options.subfolder or None,
            revision=options.revision,
            cache_dir=options.cache_dir,
            force_download=options.force_download,
            local_files_only=options.local_files_only,
            token=options.token,
            library_name="plugformers",
            endpoint=os.environ.get("HF_ENDPOINT") or None,  # read per call, not once at import
        )
    except HFValidationError as e:
        raise CheckpointNotFoundError(
            f"{asked!r} is neither a local folder nor a valid Hub repo id ({e}). "
            "Pass the path of a folder saved with save_pretrained(), or an id like 'org/name'."
        ) from None
    except GatedRepoError as e:
        raise CheckpointNotFoundError(
            f"{shown} is gated on the Hub: accept its terms and pass token=... ({e})"
        ) from None
    except RepositoryNotFoundError:
        raise CheckpointNotFoundError(
            f"{shown}: no such local folder, and the Hub has no repo by that id (or it is private: "
            "pass token=...). Check the spelling."
        ) from None
    except RevisionNotFoundError:
        raise CheckpointNotFoundError(
            f"{shown}: revision {options.revision!r} does not exist. Use a branch, tag or commit "
            "the repo has."
        ) from None
    except LocalEntryNotFoundError:  # a subclass of EntryNotFoundError: first
        if not required and _cached_repo_exists(repo_id, options):
            return None  # offline or unreachable, the repo is cached: this optional file is not part of it
        why = (
            "local_files_only=True" if options.local_files_only else
            "HF_HUB_OFFLINE=1" if constants.HF_HUB_OFFLINE else
            "the Hub could not be reached"
        )
        raise CheckpointNotFoundError(
            f"{shown}: {filename!r} is not in the cache ({options.cache_dir or constants.HF_HUB_CACHE}) "
            f"and {why}. Download it once while online (`plugformers download {asked}`), or pass a "
            "local folder."
        ) from None
    except EntryNotFoundError:
        if not required:
            return None
        raise CheckpointNotFoundError(
            f"{shown}: the repo has no file {filename!r}"
            + (f" at revision {options.revision!r}" if options.revision else "")
            + "."
        ) from None
    except Exception as e:
        if not isinstance(e, OSError) and type(e).__module__.split(".")[0] not in _NETWORK_MODULES:
            raise  # not a transfer problem: a bug to see as it is
        raise DownloadError(
            f"{shown}: downloading {filename!r} failed ({type(e).__name__}: {e}). huggingface_hub keeps "
            "no partial file as complete; try again (the download resumes), or load what is cached "
            "with local_files_only=True."
        ) from e


def _cached_repo_exists(repo_id: str, options: HubOptions) -> bool:
    from huggingface_hub import constants

    cache = Path(options.cache_dir or constants.HF_HUB_CACHE)
    return (cache / ("models--" + repo_id.replace("/", "--"))).is_dir()
