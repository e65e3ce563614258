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
