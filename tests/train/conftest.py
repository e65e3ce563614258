"""Train tests: one converter install and one float copy of the embedded GGUF per session.

Both are what the app does on first use (``<data dir>/tools/convert`` and
``<data dir>/train/base-cache``); sharing them across the session's throwaway data dirs keeps the
suite fast without changing what runs.
"""

from __future__ import annotations

import os
import tempfile

import pytest

_shared = tempfile.mkdtemp(prefix="deepones-train-shared-")
os.environ.setdefault("DEEPONES_CONVERTER_DIR", os.path.join(_shared, "convert"))
os.environ.setdefault("DEEPONES_TRAIN_CACHE", os.path.join(_shared, "base-cache"))


def _have(*modules: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in modules)


needs_training = pytest.mark.skipif(not _have("torch", "transformers", "peft"),
                                    reason="the [train] extra (transformers, peft) is not installed")


@pytest.fixture
def demo_store(store):
    from backend.datasets.demo import ensure_demo

    ensure_demo(store)
    return store
