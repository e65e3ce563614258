"""Search with snippets, filters, keyset paging, curation writes and what they return for undo."""

from __future__ import annotations

import pytest

from backend.datasets import curation, query
from backend.datasets.demo import DEMO_DATASET, demo_needed, ensure_demo
from backend.datasets.query import HIGHLIGHT_END, HIGHLIGHT_START, SampleFilter, fts_query
from backend.datasets.stats import stats


@pytest.fixture
def demo(store):
    report = ensure_demo(store)
    assert report is not None and report.imported > 200
    return store


def test_demo_covers_every_kind_and_category_and_imports_once(demo):
    from backend.datasets.schema import CATEGORIES, KINDS

    st = stats(demo)
    assert set(st["by_kind"]) == set(KINDS) - {"text"}  # the demo is DeepData: no pretraining text
    assert set(st["by_category"]) == set(CATEGORIES)
    assert not demo_needed(demo) and ensure_demo(demo) is None
    assert demo.conn.execute("SELECT DISTINCT dataset FROM samples").fetchall() == [(DEMO_DATASET,)]


def test_fts_query_is_always_safe():
    assert fts_query('resid* "unbalanced AND (', prefix=True) == '"resid" "unbalanced" "AND"'
    assert fts_query("residual") == '"residual"'
    assert fts_query("residual", prefix=True) == '"residual"*'
    assert fts_query("residual ", prefix=True) == '"residual"'
    assert fts_query("  ") == ""


def test_prefix_only_for_unfinished_words(demo):
    assert query.is_indexed_term(demo, "Residual") and not query.is_indexed_term(demo, "residua")
    assert query.count(demo, SampleFilter(query="residua")) == 0
    assert query.count(demo, SampleFilter(query="residua", prefix=True)) > 0


def test_ranked_search_window_bounds_the_work(demo):
    full = query.search(demo, "the", limit=5)
    windowed = query.search(demo, "the", limit=5, rank_window=10)
    assert len(full) == len(windowed) == 5
    assert all(h["id"] <= max(r["id"] for r in query.page(demo, SampleFilter(query="the"), limit=10))
               for h in windowed)


def test_search_ranks_and_highlights(demo):
    hits = query.search(demo, "squeeze excitation", limit=5)
    assert hits and all(HIGHLIGHT_START in h["snippet"] and HIGHLIGHT_END in h["snippet"] for h in hits)
    assert "excitation" in hits[0]["snippet"].lower()
    assert query.search(demo, "zzzznothing") == []
    # Quotes and operators are not syntax: the same hits as the bare words, and nothing else happens.
    assert query.search(demo, "') OR 1=1 --") == query.search(demo, "or 1 1")
    assert query.count(demo, SampleFilter()) == 257


def test_filters_combine_and_pages_are_keyset_consistent(demo):
    flt = SampleFilter(kinds=("mcq",))
    n = query.count(demo, flt)
    first = query.page(demo, flt, limit=25)
    second = query.page(demo, flt, after_id=first[-1]["id"], limit=25)
    by_offset = query.page(demo, flt, offset=25, limit=25)
    before = query.page(demo, flt, before_id=second[0]["id"], limit=25)
    assert n == 60 and second == by_offset and before == first
    assert all(r["kind"] == "mcq" for r in first + second)
    searched = query.page(demo, SampleFilter(kinds=("dlpd",), query="learning rate"), limit=50)
    assert searched and all(r["kind"] == "dlpd" and HIGHLIGHT_START in r["snippet"] for r in searched)


def test_status_tags_and_undo_information(demo):
    ids = [r["id"] for r in query.page(demo, SampleFilter(), limit=5)]
    curation.set_status(demo, ids[:2], "rejected")
    previous = curation.set_status(demo, ids, "accepted")
    assert {k: sorted(v) for k, v in previous.items()} == {"rejected": ids[:2], "unreviewed": ids[2:]}
    assert query.count(demo, SampleFilter(statuses=("accepted",))) == 5
    curation.restore_status(demo, previous)
    assert query.count(demo, SampleFilter(statuses=("rejected",))) == 2
    added = curation.add_tag(demo, ids, "gold")
    assert curation.add_tag(demo, ids, "gold") == [] and added == ids
    assert query.count(demo, SampleFilter(tags=("gold",))) == 5
    assert curation.remove_tag(demo, ids[:1], "gold") == ids[:1]
    with pytest.raises(curation.CurationError):
        curation.set_status(demo, ids, "maybe")


def test_bulk_status_on_a_filter(demo):
    flt = SampleFilter(kinds=("dlpd",))
    previous = curation.set_status_matching(demo, flt, "needs-fix")
    assert sum(len(v) for v in previous.values()) == query.count(demo, flt) == 26
    assert stats(demo)["by_status"]["needs-fix"] == 26


def test_inline_edit_records_history_updates_hash_and_search(demo):
    sid = query.search(demo, "Describe ResNet")[0]["id"]
    before = query.get_sample(demo, sid)
    old = curation.edit_field(demo, sid, "output", "Rewritten answer about skip connections.")
    after = query.get_sample(demo, sid)
    assert old == before["output"] and after["content_hash"] != before["content_hash"]
    assert query.search(demo, "rewritten skip")[0]["id"] == sid
    history = curation.edit_history(demo, sid)
    assert history[0]["field"] == "output" and history[0]["old"] == before["output"]
    curation.edit_field(demo, sid, "note", "checked")
    assert query.get_sample(demo, sid)["note"] == "checked"
    other = query.get_sample(demo, sid + 1)
    with pytest.raises(curation.CurationError, match="identical to sample"):
        for field in ("kind", "category", "instruction", "input", "output"):
            curation.edit_field(demo, sid, field, other[field])


def test_near_duplicates_are_found(demo):
    from backend.datasets.neardup import find_near_duplicates

    clusters = find_near_duplicates(demo)
    assert clusters
    texts = {tuple(query.get_sample(demo, i)["instruction"] for i in c.ids) for c in clusters}
    assert any({"Describe ResNet.", "Please describe ResNet."} <= set(t) for t in texts), texts


@pytest.mark.parametrize("label, expected", [
    ("mathematical expressions", "mathematical expression"), ("others", "miscellaneous"),
    ("application prediction", "miscellaneous"), ("score", "miscellaneous"),
    ("requirement-based architecture proposal", "requirement-based proposal"),
    ("Property-Based Architecture Improvement", "property-based improvement"),
])
def test_the_papers_own_category_labels_map_to_the_canonical_ones(label, expected):
    from backend.datasets.schema import canonical_category

    assert canonical_category(label) == expected


def test_repeated_words_collapse_and_query_terms_are_capped(demo):
    import time

    assert fts_query("residual Residual RESIDUAL block residual") == '"residual" "block"'
    assert fts_query("resnet res", prefix=True) == '"resnet" "res"*'
    many = " ".join(f"w{i}" for i in range(500))
    assert fts_query(many).count('"') == 2 * query.MAX_QUERY_TERMS
    for text in ("residual " * 1250, " ".join(f"residual{i % 1500}" for i in range(1500))[:10_000]):
        assert len(text) >= 9_000
        started = time.monotonic()
        query.search(demo, text, limit=20)
        query.count(demo, SampleFilter(query=text))
        query.page(demo, SampleFilter(query=text, prefix=True), limit=50)
        assert time.monotonic() - started < 1.0


def test_export_whose_query_sanitises_to_nothing_is_refused(demo, tmp_path):
    from backend.datasets.exporter import ExportRefusedError, export

    with pytest.raises(ExportRefusedError, match="no word to search for"):
        export(demo, tmp_path / "all.jsonl", "alpaca", SampleFilter(query="!!! -- ???"))
    assert not (tmp_path / "all.jsonl").exists()
