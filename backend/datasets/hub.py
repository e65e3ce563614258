"""Hugging Face dataset repos: read from the local hub cache (offline) or download; push an export.

The token comes from the keyring (``backend.secrets``), never from settings or the DB.
"""

from __future__ import annotations

import os
from pathlib import Path

from backend.errors import HubError

DATA_SUFFIXES = (".jsonl", ".json", ".parquet")
SKIP_NAMES = {"dataset_info.json", "dataset_infos.json", "config.json", "state.json"}


def _token() -> str | None:
    from backend.llm.hub import TOKEN_NAME  # one hub token for models and data sets
    from backend.secrets import get_secret

    return get_secret(TOKEN_NAME, env_fallback="HF_TOKEN")


def dataset_files(repo_id: str) -> list[Path]:
    """The data files of dataset ``repo_id``, from the cache if present (works offline), else downloaded."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise HubError("huggingface-hub is not installed") from exc
    patterns = [f"*{s}" for s in DATA_SUFFIXES] + [f"**/*{s}" for s in DATA_SUFFIXES]
    try:
        folder = snapshot_download(repo_id, repo_type="dataset", local_files_only=True, allow_patterns=patterns)
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
            raise HubError(f"dataset {repo_id} is not in the local Hugging Face cache and the hub is offline "
                           "(HF_HUB_OFFLINE is set)") from None
        try:
            folder = snapshot_download(repo_id, repo_type="dataset", allow_patterns=patterns, token=_token())
        except Exception as exc:
            raise HubError(f"could not download dataset {repo_id} from the hub: {_short(exc)}") from exc
    files = sorted(p for p in Path(folder).rglob("*")
                   if p.is_file() and p.suffix.lower() in DATA_SUFFIXES and p.name not in SKIP_NAMES)
    if not files:
        raise HubError(f"dataset {repo_id} has no .jsonl, .json or .parquet files")
    return files


def push_file(path: Path, repo_id: str, *, private: bool = True) -> str:
    """Upload an exported file (and dataset_info.json beside it) to dataset ``repo_id``; returns its URL."""
    token = _token()
    if not token:
        raise HubError("no Hugging Face token: add one in Preferences (kept in the OS keyring) or set HF_TOKEN")
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
        raise HubError("the hub is offline (HF_HUB_OFFLINE is set); nothing was uploaded")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.upload_file(path_or_fileobj=str(path), path_in_repo=path.name, repo_id=repo_id, repo_type="dataset")
        info = path.parent / "dataset_info.json"
        if info.exists():
            api.upload_file(path_or_fileobj=str(info), path_in_repo=info.name, repo_id=repo_id,
                            repo_type="dataset")
    except Exception as exc:
        raise HubError(f"could not push to {repo_id}: {_short(exc)}") from exc
    return f"https://huggingface.co/datasets/{repo_id}"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
