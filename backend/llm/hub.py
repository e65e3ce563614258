"""Pulling GGUF models from the Hugging Face hub into the shared HF cache.

Files land in the standard cache (``hf_hub_download``), so other tools reuse them and they show
up in the model list. Downloads resume from the ``.incomplete`` blob huggingface_hub keeps, report
bytes/speed/ETA through a tqdm class, and are cancelled by raising from that tqdm's ``update``.
The hub token comes from the keyring (``hf-token``) or ``HF_TOKEN``; it is never logged.
"""

from __future__ import annotations

import fnmatch
import io
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backend import secrets
from backend.errors import HubError
from backend.units import format_bytes

TOKEN_NAME = "hf-token"


class PullCancelled(Exception):
    pass


@dataclass
class PullProgress:
    done_bytes: int
    total_bytes: int
    speed_bps: float
    eta_s: float | None
    filename: str

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0

    def text(self) -> str:
        eta = f", {int(self.eta_s) // 60}:{int(self.eta_s) % 60:02d} left" if self.eta_s is not None else ""
        return (f"{self.filename}: {format_bytes(self.done_bytes)} / {format_bytes(self.total_bytes)}, "
                f"{format_bytes(self.speed_bps)}/s{eta}")


def hub_token() -> str | None:
    return secrets.get_secret(TOKEN_NAME, env_fallback="HF_TOKEN")


def hub_endpoint() -> str | None:
    """``HF_ENDPOINT`` read now, not at huggingface_hub's import: a mirror (or a test's loopback
    stand-in of the hub) set after start-up is honoured. None: huggingface_hub's own default."""
    return os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or None


def is_offline() -> bool:
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return env or bool(constants.HF_HUB_OFFLINE)


def _friendly(exc: BaseException, repo_id: str) -> HubError:
    from huggingface_hub import errors

    if isinstance(exc, errors.GatedRepoError):
        return HubError(f"{repo_id} is gated: accept its licence on huggingface.co and set your hub token "
                        "(model manager → Hub token; kept in the OS keyring).", retryable=False)
    if isinstance(exc, errors.RepositoryNotFoundError):
        return HubError(f"{repo_id} was not found, or it is private and your hub token is missing or not "
                        "authorised (401). Check the repo id, or set a hub token.", retryable=False)
    if isinstance(exc, errors.RevisionNotFoundError | errors.EntryNotFoundError):
        return HubError(f"{repo_id} has no such file or revision: {exc}", retryable=False)
    if isinstance(exc, errors.OfflineModeIsEnabled | errors.LocalEntryNotFoundError):
        return HubError(f"Offline: {repo_id} is not in the local cache and the hub cannot be reached "
                        "(HF_HUB_OFFLINE is set or there is no network).")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return HubError(f"The hub refused access to {repo_id} ({status}): set or check your hub token.",
                            retryable=False)
        return HubError(f"The hub answered with an error for {repo_id}: {exc}")
    name = type(exc).__name__
    if "Connect" in name or "Timeout" in name or isinstance(exc, OSError):
        return HubError(f"Cannot reach the Hugging Face hub ({name}): are you offline? {repo_id} was not downloaded.")
    return HubError(f"Downloading {repo_id} failed: {name}: {exc}")


def _cached_matches(repo_id: str, pattern: str, cache_dir: Path | None) -> list[tuple[str, int]]:
    from backend.llm.catalog import hf_cache_models

    out = []
    for m in hf_cache_models(cache_dir):
        rel = m.name.removeprefix(f"{repo_id}/")
        if m.repo_id == repo_id and fnmatch.fnmatch(rel, pattern):
            out.append((rel, m.size_bytes))
    return out


def match_files(repo_id: str, pattern: str, cache_dir: Path | None = None) -> list[tuple[str, int]]:
    """[(filename, size)] in ``repo_id`` matching the glob ``pattern`` (the cache's, when offline)."""
    if is_offline():
        found = _cached_matches(repo_id, pattern, cache_dir)
        if not found:
            raise HubError(f"Offline: no file matching {pattern!r} from {repo_id} is in the local cache, "
                           "and the hub cannot be reached (HF_HUB_OFFLINE is set).")
        return found
    from huggingface_hub import HfApi

    try:
        info = HfApi(endpoint=hub_endpoint()).model_info(repo_id, files_metadata=True, token=hub_token() or None)
    except Exception as exc:
        raise _friendly(exc, repo_id) from exc
    files = [(s.rfilename, int(s.size or 0)) for s in info.siblings or []]
    found = [(f, n) for f, n in files if fnmatch.fnmatch(f, pattern)]
    if not found:
        ggufs = ", ".join(f for f, _ in files if f.endswith(".gguf"))[:400] or "none"
        raise HubError(f"No file in {repo_id} matches {pattern!r}. GGUF files there: {ggufs}", retryable=False)
    return found


def _progress_tqdm(on_bytes: Callable[[int], None], cancel):
    from tqdm.std import tqdm

    class ProgressTqdm(tqdm):
        """huggingface_hub's progress bar, turned into callbacks; raising here cancels the download."""

        def __init__(self, *args, **kwargs):
            kwargs["file"] = io.StringIO()   # draw nothing
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if cancel:
                raise PullCancelled()
            on_bytes(int(n or 0))
            return super().update(n)

    return ProgressTqdm


def pull(repo_id: str, pattern: str, *, cache_dir: Path | None = None,
         progress: Callable[[PullProgress], None] | None = None, cancel=None) -> list[Path]:
    """Download every file of ``repo_id`` matching ``pattern``; returns local paths (cached ones reused)."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    files = match_files(repo_id, pattern, cache_dir)
    missing = [(f, n) for f, n in files if not isinstance(try_to_load_from_cache(repo_id, f, cache_dir=cache_dir), str)]
    need = sum(n for _f, n in missing)
    target_dir = Path(cache_dir) if cache_dir else _default_cache()
    target_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target_dir).free
    if need and free < need * 1.05:
        raise HubError(f"Not enough disk space: {need / 2**30:.1f} GB needed in {target_dir}, "
                       f"{free / 2**30:.1f} GB free.", retryable=False)
    started = time.perf_counter()
    state = {"done": 0, "file": ""}

    def on_bytes(n: int) -> None:
        state["done"] += n
        if progress:
            elapsed = max(time.perf_counter() - started, 1e-6)
            speed = state["done"] / elapsed
            eta = (need - state["done"]) / speed if speed > 0 and need else None
            progress(PullProgress(state["done"], need, speed, eta, state["file"]))

    out = []
    for filename, _size in files:
        state["file"] = filename
        try:
            local = hf_hub_download(repo_id, filename, cache_dir=cache_dir, token=hub_token() or None,
                                    endpoint=hub_endpoint(),
                                    tqdm_class=_progress_tqdm(on_bytes, cancel))
        except PullCancelled:
            raise
        except Exception as exc:
            if cancel:
                raise PullCancelled() from exc
            raise _friendly(exc, repo_id) from exc
        out.append(Path(local))
    return out


def _default_cache() -> Path:
    from backend.llm.catalog import hf_cache_dir

    return hf_cache_dir()
