"""The Data workspace's session (the state and rules the page views), without Qt, on a real store."""

from __future__ import annotations

import pytest

from backend.datasets import curation, query
from backend.datasets.demo import ensure_demo
from backend.datasets.indexing import Coverage
from backend.datasets.query import SampleFilter
from backend.paths import db_path
from backend.store import connection
from deepones_gui.workspaces.data.session import DataSession


@pytest.fixture
def session(store, deepones_home):
    ensure_demo(store)
    return DataSession(store, db_path(deepones_home))


def test_a_first_run_needs_the_demo_set_until_it_is_in(store, deepones_home):
    fresh = DataSession(store, db_path(deepones_home))
    assert not fresh.first_import_done and fresh.needs_demo()
    ensure_demo(store)
    assert DataSession(store, db_path(deepones_home)).first_import_done


def test_the_filter_is_the_checks_the_search_and_the_cluster(session):
    checked = {"kind": ("mcq",), "status": ("accepted", "rejected"), "year": ("2016",), "trait": ("has tools",)}
    flt = session.filter_for(checked, "  residual  ")
    assert flt == SampleFilter(kinds=("mcq",), statuses=("accepted", "rejected"), years=(2016,),
                               traits=("has tools",), query="residual", prefix=False)
    session.narrow_to((3, 1, 2), "map selection")
    assert session.filter_for({}, "").ids == (3, 1, 2)
    assert session.stats_filter("resid") == SampleFilter(ids=(3, 1, 2), query="resid", prefix=True)
    session.clear_narrowing()
    assert session.filter_for({}, "").ids == ()


def test_a_word_being_typed_matches_longer_words_unless_it_is_whole_or_short(session):
    assert session.search_terms("residua")["prefix"]           # still typing: residual, residuals...
    assert not session.search_terms("Residual")["prefix"]      # a whole indexed term: no expansion
    assert not session.search_terms("res")["prefix"]           # too short: thousands of terms
    assert not session.search_terms("residua ")["prefix"]      # a space ends the word


def test_the_count_line_says_what_the_rows_are(session):
    assert session.count_line(1, True, selected=0, searching=False, query_text="").text == "1 sample"
    assert session.count_line(500, False, selected=3, searching=False, query_text="").text == "500+ samples · 3 selected"
    session.narrow_to((1, 2), "cluster")
    assert session.count_line(2, True, selected=0, searching=True, query_text="x").text == "cluster: searching…"
    session.coverage = Coverage(indexed_upto=10, max_id=20, pending=10, total=20)
    line = session.count_line(2, True, selected=0, searching=False, query_text="conv")
    assert line.text == "cluster: 2 samples · still indexing" and "10 of 20" in line.tooltip
    assert session.count_line(2, True, selected=0, searching=False, query_text="").tooltip == ""


def test_writes_elsewhere_are_noticed_once_and_our_own_are_not(session, store):
    assert not session.changed_elsewhere()
    first = query.first_ids(store, 1)[0][0]
    with connection(session.db_path) as other:          # another process (the CLI, a worker)
        curation.set_status(other, [first], "accepted")
    assert session.changed_elsewhere() and not session.changed_elsewhere()
    assert session.edit_field(first, "note", "checked") in ("", None)
    session.mark_seen()
    assert not session.changed_elsewhere()
    sample, history = session.sample_with_history(first)
    assert sample["note"] == "checked" and [h["field"] for h in history] == ["note"]


def test_bad_edits_raise_the_one_line_error_and_export_counts_accepted(session, store):
    first = query.first_ids(store, 1)[0][0]
    with pytest.raises(curation.CurationError):
        session.edit_field(first, "no-such-field", "x")
    curation.set_status(store, [first], "accepted")
    everything = SampleFilter()
    assert session.accepted_only(everything).statuses == ("accepted",)
    assert session.accepted_count(everything, shown=257) == 1
    assert session.accepted_count(everything, shown=10_000_000) is None   # too many to count first
    assert session.paper_of(first) is None                                  # the demo set is not generated
