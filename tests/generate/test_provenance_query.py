"""How Data reads generated samples: 'generated' as a review status, provenance facets (paper, year,
generator model), filters by them, and a sample's provenance record — on the real store."""

from __future__ import annotations

from backend.datasets import curation, query
from backend.datasets.query import SampleFilter
from backend.datasets.stats import stats
from backend.generate import provenance
from tests.generate.provenance_rows import PAPERS, add_generated


def test_generated_samples_are_a_status_and_facets_of_their_own(store):
    ids = add_generated(store, 3)
    add_generated_other = add_generated(
        store, 1, model="http://127.0.0.1:9/v1#big"
    )  # same text: deduplicated
    assert add_generated_other == ids[:1] + ids[3:4]  # INSERT OR IGNORE kept the first copy
    st = stats(store, facets=True)
    assert st["by_status"]["generated"] == 6
    assert st["by_paper"] == {"1706.03762": 3, "1512.03385": 3}
    assert list(st["by_paper"]) == ["1706.03762", "1512.03385"]  # ordered by title
    assert st["paper_titles"]["1512.03385"] == "Deep Residual Learning for Image Recognition"
    assert st["by_year"] == {"2015": 3, "2017": 3}
    assert sum(st["by_generator"].values()) == 6


def test_filters_by_paper_year_and_generator_and_status(store):
    add_generated(store, 2)
    assert query.count(store, SampleFilter(papers=("1706.03762",))) == 2
    assert query.count(store, SampleFilter(years=(2015, 2017))) == 4
    assert query.count(store, SampleFilter(years=(2016,))) == 0
    assert (
        query.count(store, SampleFilter(generators=("replay:designer.jsonl",), papers=("1512.03385",))) == 2
    )
    assert query.count(store, SampleFilter(statuses=("generated",))) == 4
    rows = query.page(store, SampleFilter(papers=("1512.03385",)))
    assert {r["status"] for r in rows} == {"generated"} and "Residual" in rows[0]["instruction"]
    # Facet counts follow a search: only matching samples are counted.
    st = stats(store, SampleFilter(papers=("1512.03385",)), facets=True)
    assert st["by_paper"] == {"1512.03385": 2} and st["by_year"] == {"2015": 2}


def test_a_sample_carries_its_provenance_and_review_leaves_the_queue(store):
    ids = add_generated(store, 1)
    sample = query.get_sample(store, ids[1])
    prov = sample["provenance"]
    assert prov["paper_id"] == PAPERS[1][0] and prov["paper_year"] == PAPERS[1][2]
    assert (prov["repo_file"], prov["repo_line"]) == ("model/layers.py", 10)
    assert prov["model"] == "replay:designer.jsonl" and prov["prompt_version"] == "instructions.v1"
    assert prov["run_id"] is not None and prov["section"] == "3 Model Architecture"
    assert provenance.paper_title(store, PAPERS[0][0]) == PAPERS[0][1]
    previous = curation.set_status(store, [ids[0]], "accepted")
    assert {k: list(v) for k, v in previous.items()} == {"generated": [ids[0]]}
    assert query.count(store, SampleFilter(statuses=("generated",))) == 1
    curation.restore_status(store, previous)  # undo puts it back in the queue
    assert query.count(store, SampleFilter(statuses=("generated",))) == 2


def test_imported_samples_have_no_provenance(store):
    from backend.datasets.demo import ensure_demo

    ensure_demo(store)
    first = query.first_ids(store, 1)[0][0]
    assert query.get_sample(store, first)["provenance"] is None
    st = stats(store, facets=True)
    assert st["by_paper"] == {} and st["by_status"]["generated"] == 0


def test_paper_labels_fit_the_facet_column():
    assert provenance.paper_label("x", "Short") == "Short"
    long = provenance.paper_label("x", "Deep Residual Learning for Image Recognition")
    assert len(long) <= provenance.PAPER_LABEL_CHARS and long.endswith("…")
    assert provenance.paper_label("2101.00001", "") == "2101.00001"
    assert provenance.generator_label("replay:/tmp/x/answers.jsonl") == "replay: answers.jsonl"
    assert provenance.generator_label("/models/deepllama-8b.Q4_K_M.gguf") == "deepllama-8b.Q4_K_M.gguf"
    assert provenance.generator_label("http://127.0.0.1:8000/v1#m") == "http://127.0.0.1:8000/v1#m"
