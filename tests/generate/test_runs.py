"""A run in a real store: samples land in Data as 'generated' with provenance, deduplicated; show/resume."""

from __future__ import annotations

from collections import Counter

from backend.datasets.schema import DLPD_CATEGORIES, INSTRUCTION_CATEGORIES
from backend.generate import runner, runs
from backend.generate.model import PaperSource
from backend.generate.pipeline import GenerateOptions
from tests.generate import paper_fixture as fx


def _run(store, sources, dataset="mydata", share=1.0):
    run_id = runs.create_run(
        store,
        sources,
        model=f"replay:{fx.ANSWERS}",
        dataset=dataset,
        options={**GenerateOptions(mcq_share=share).to_dict(), "concurrency": 2},
    )
    return run_id, runner.run(store, run_id)


def test_replayed_run_lands_every_kind_in_data_with_provenance_and_a_second_run_adds_nothing(store, tmp_path):
    record = fx.write_record(tmp_path)
    run_id, summary = _run(store, [PaperSource(str(record))])
    assert summary["status"] == "finished" and summary["papers"] == {"done": 1}
    rows = list(store.query("SELECT s.*, p.* FROM samples s JOIN sample_provenance p ON p.sample_id = s.id"))
    kinds = Counter((r["kind"], r["category"]) for r in rows)
    assert {c for k, c in kinds if k == "instruction"} == set(INSTRUCTION_CATEGORIES)
    assert {c for k, c in kinds if k == "dlpd"} == set(DLPD_CATEGORIES)
    assert {c for k, c in kinds if k == "mcq"} == set(INSTRUCTION_CATEGORIES)
    assert summary["samples_added"] == len(rows) == 18
    assert {r["status"] for r in rows} == {"generated"} and {r["dataset"] for r in rows} == {"mydata"}
    assert {(r["paper_id"], r["paper_title"], r["paper_year"], r["run_id"]) for r in rows} == {
        ("1512.03385", "Deep Residual Learning for Image Recognition", 2015, run_id)
    }
    assert {r["model"] for r in rows} == {f"replay:{fx.ANSWERS}"}
    proposal = next(r for r in rows if r["category"] == "requirement-based proposal")
    assert (proposal["repo_file"], proposal["repo_line"], proposal["prompt_version"]) == (
        "models/resnet.py",
        27,
        "dlpd.v1+pseudocode.v1",
    )
    math = next(r for r in rows if r["kind"] == "instruction" and r["category"] == "mathematical expression")
    assert math["section"] == "Deep Residual Learning" and math["prompt_version"] == "instructions.v1"
    mcq = next(r for r in rows if r["kind"] == "mcq" and r["category"] == "name guessing")
    assert mcq["answer"] == "D" and '"E"' in mcq["options"]
    # Bench's DeepQA reads these MCQs from the store as they are.
    from backend.bench.deepqa import load_store

    assert len(load_store(store, "")) == 7
    # Data's review queue: 'generated' is a status like the others (counted, filtered, changed)
    from backend.datasets import curation
    from backend.datasets.query import SampleFilter
    from backend.datasets.stats import stats

    assert stats(store)["by_status"]["generated"] == 18
    assert stats(store, SampleFilter(statuses=("generated",)))["total"] == 18
    curation.set_status(store, [proposal["sample_id"]], "accepted")
    assert stats(store)["by_status"] == {
        "unreviewed": 0,
        "accepted": 1,
        "rejected": 0,
        "needs-fix": 0,
        "generated": 17,
    }
    # searchable at once (the full-text index took them in)
    assert (
        store.execute("SELECT count(*) FROM samples_fts WHERE samples_fts MATCH 'residual'").fetchone()[0] > 0
    )

    shown = runs.show(store, run_id)
    paper = shown["papers"][0]
    assert paper["title"] == "Deep Residual Learning for Image Recognition"
    assert paper["sections"] == ["Introduction", "Deep Residual Learning", "Experiments"]
    assert {"kind": "class", "name": "ResNet", "file": "models/resnet.py", "line": 27} in paper["code_units"]
    assert [s["status"] for s in paper["steps"]] == ["ok"] * 12
    assert sorted(s["id"] for s in paper["samples"]) == sorted(r["sample_id"] for r in rows)

    again_id, again = _run(store, [PaperSource(str(record))])
    assert again["status"] == "finished" and again["samples_added"] == 0
    assert store.execute("SELECT count(*) FROM samples").fetchone()[0] == 18
    assert store.execute("SELECT count(*) FROM sample_provenance").fetchone()[0] == 18
    # the second run's show still lists the paper's samples (already in the store)
    assert len(runs.show(store, again_id)["papers"][0]["samples"]) == 18


def test_unreadable_paper_fails_alone_with_a_reason(store, tmp_path):
    bad = tmp_path / "broken.paper.json"
    bad.write_text("{not json")
    good = fx.write_record(tmp_path)
    run_id, summary = _run(store, [PaperSource(str(bad)), PaperSource(str(good))], share=0.0)
    assert summary["status"] == "finished" and summary["papers"] == {"failed": 1, "done": 1}
    failed = runs.papers(store, run_id)[0]
    assert failed["status"] == "failed" and "not a paper record" in failed["reason"]
    assert summary["samples_by_kind"] == {"instruction": 7, "dlpd": 4}


def test_resume_reuses_committed_steps(store, tmp_path):
    """A run whose process died after some steps: resume asks only for the rest."""
    from backend.generate.answerers import KeyedReplay

    record = fx.write_record(tmp_path)
    run_id = runs.create_run(
        store,
        [PaperSource(str(record))],
        model=f"replay:{fx.ANSWERS}",
        dataset="d",
        options=GenerateOptions(mcq_share=1.0).to_dict(),
    )
    first = KeyedReplay(fx.ANSWERS)
    calls = []

    class Dies:
        model = first.model

        async def ask(self, request):
            calls.append(request.step)
            if request.step == "instructions":
                raise KeyboardInterrupt  # stands for the kill: nothing after this is committed
            return await first.ask(request)

    try:
        runner.run(store, run_id, answerer=Dies())
    except KeyboardInterrupt:
        pass
    committed = {s.name for s in runs.steps(store, run_id, 0)}
    assert "code_map" in committed and "instructions" not in committed
    asked = []

    class Counting(KeyedReplay):
        async def ask(self, request):
            asked.append(request.step)
            return await super().ask(request)

    summary = runner.run(store, run_id, answerer=Counting(fx.ANSWERS))
    assert summary["status"] == "finished" and summary["samples_added"] == 18
    assert set(asked) == {"instructions", "dlpd", "mcq"}


def test_cancel_from_another_process_stops_the_run_and_resume_finishes_it(store, tmp_path):
    """`deepones generate cancel` sets a flag in the store; the run stops within a poll and stays resumable."""
    import asyncio

    from backend.generate.answerers import KeyedReplay

    records = [fx.write_record(tmp_path, f"2402.{n:05d}", f"Paper {n}") for n in range(3)]
    run_id = runs.create_run(
        store,
        [PaperSource(str(r)) for r in records],
        model=f"replay:{fx.ANSWERS}",
        dataset="c",
        options={**GenerateOptions(mcq_share=0).to_dict(), "concurrency": 1},
    )
    replay = KeyedReplay(fx.ANSWERS)

    class CancelledMidway:
        model = replay.model

        async def ask(self, request):
            if request.step == "instructions" and request.paper_id == "2402.00001":
                assert runs.request_cancel(store, run_id) == "running"
                await asyncio.sleep(30)  # in flight when the cancel lands: abandoned, not waited for
            return await replay.ask(request)

    summary = runner.run(store, run_id, answerer=CancelledMidway())
    assert summary["status"] == "cancelled" and "deepones generate resume" in summary["message"]
    assert summary["papers"] == {"done": 1, "running": 1, "pending": 1}
    resumed = runner.run(store, run_id, answerer=KeyedReplay(fx.ANSWERS))
    assert resumed["status"] == "finished" and resumed["papers"] == {"done": 3}
    assert store.execute("SELECT count(*) FROM generate_steps WHERE run_id = ?", [run_id]).fetchone()[0] == 36
