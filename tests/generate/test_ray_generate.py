"""Generate on a real local Ray cluster (the ``ray`` tier, in a private network namespace): 20 papers
with replayed answers give exactly the samples, provenance and steps of the local run; the shards it
leaves re-import to nothing. Shard import itself (idempotent, failures recorded) is tested without Ray."""

from __future__ import annotations

import sys

from backend.generate import ray_run, runner, runs
from backend.generate.model import PaperSource
from backend.generate.pipeline import GenerateOptions
from backend.generate.prompts import load_all
from backend.generate.ray_job import process_item
from backend.generate.ray_wire import decode, encode, prompts_to_dict
from backend.store import open_store
from tests.generate.ray_papers import write_papers

OPTIONS = {**GenerateOptions(mcq_share=0.5).to_dict(), "concurrency": 4}


def _samples(db) -> dict[str, tuple]:
    """hash -> (the sample's fields, its provenance but the paper, the paper id)."""
    return {
        r[0]: (r[1:9], r[9:15], r[15])
        for r in db.execute(
            "SELECT s.content_hash, s.kind, s.category, s.status, s.dataset, s.instruction, s.output, s.options,"
            " s.answer, p.section, p.repo_file, p.repo_line, p.model, p.prompt_version, p.step, p.paper_id"
            " FROM samples s JOIN sample_provenance p ON p.sample_id = s.id"
        ).fetchall()
    }


def _per_paper(db, run_id: int) -> dict[str, list[str]]:
    return {p["paper_id"]: p["sample_hashes"] for p in runs.papers(db, run_id)}


def assert_same_samples(db, run_id: int, local, local_run: int) -> None:
    """The same samples, each paper the same list of them; a sample several papers produced (the same
    answer text) is stored once, with the provenance of whichever paper finished first — the only
    thing concurrency may change."""
    ours, theirs = _samples(db), _samples(local)
    assert ours.keys() == theirs.keys()
    producers: dict[str, set[str]] = {}
    for paper_id, hashes in _per_paper(local, local_run).items():
        for h in hashes:
            producers.setdefault(h, set()).add(paper_id)
    assert _per_paper(db, run_id) == _per_paper(local, local_run)
    for h, (fields, where, paper) in ours.items():
        assert (fields, where) == theirs[h][:2]
        assert paper in producers[h] and theirs[h][2] in producers[h]
        if len(producers[h]) == 1:
            assert paper == theirs[h][2]
    assert sum(len(p) == 1 for p in producers.values()) > 100  # most samples are one paper's own


def _steps(db, run_id: int) -> set[tuple]:
    return {
        tuple(r)
        for r in db.execute(
            "SELECT position, name, status, reason, raw_answer, prompt_version"
            " FROM generate_steps WHERE run_id = ?",
            [run_id],
        ).fetchall()
    }


def test_ray_run_gives_the_same_samples_as_the_local_run(tmp_path, deepones_home, ray_cluster):
    from backend.bench.ray_cluster import RaySettings

    records, answers = write_papers(tmp_path / "papers", 20)
    sources = [PaperSource(str(r)) for r in records]
    local = open_store(tmp_path / "local-home")
    local_run = runs.create_run(local, sources, model=f"replay:{answers}", dataset="mine", options=OPTIONS)
    local_summary = runner.run(local, local_run)
    assert local_summary["status"] == "finished" and local_summary["papers"] == {"done": 20}

    db = open_store(deepones_home)
    run_id = runs.create_run(db, sources, model=f"replay:{answers}", dataset="mine", options=OPTIONS)
    events = []
    settings = RaySettings(address=ray_cluster, python=sys.executable, num_cpus=1, num_gpus=0)
    summary = ray_run.run_on_ray(db, run_id, settings, root=deepones_home, progress=events.append)
    assert summary["status"] == "finished", summary["message"]
    assert summary["papers"] == {"done": 20}
    assert_same_samples(db, run_id, local, local_run)
    assert {fields[0] for fields, _where, _paper in _samples(db).values()} == {"instruction", "dlpd", "mcq"}
    assert _steps(db, run_id) == _steps(local, local_run)
    assert summary["samples_by_kind"] == local_summary["samples_by_kind"]
    papers_done = [e["papers_done"] for e in events if e["event"] == "paper"]
    assert papers_done == list(range(1, 21))  # imported one by one as they arrived
    assert events[-1]["event"] == "end" and events[-1]["samples_added"] == summary["samples_added"]
    shards = sorted(ray_run.shard_dir(run_id, deepones_home).glob("paper-*.jsonl"))
    assert len(shards) == 20
    assert ray_run.import_shards(db, run_id, deepones_home) == 0  # idempotent by content hash
    assert len(_samples(db)) == len(_samples(local))
    local.conn.close()
    db.conn.close()


def test_shards_import_once_and_a_failed_paper_keeps_its_reason(store, tmp_path, deepones_home):
    records, answers = write_papers(tmp_path / "papers", 2)
    run_id = runs.create_run(
        store, [PaperSource(str(r)) for r in records], model=f"replay:{answers}", dataset="d", options=OPTIONS
    )
    # The worker's side, without a cluster: the same per-paper function, its log line, the app's shard.
    item = ray_run._read_pending(
        store, run_id, runner.default_reader, runner._Progress(store, run_id, None), False, None
    )[0]
    payload = process_item(item, f"replay:{answers}", OPTIONS, prompts_to_dict(load_all()))
    position, back = decode(encode(item["position"], payload))
    assert position == 0 and back == payload and "result" in back
    folder = ray_run.shard_dir(run_id, deepones_home)
    row = runs.run_row(store, run_id)
    added, result = ray_run.import_shard(store, run_id, ray_run.write_shard(folder, 0, back), row)
    assert added == len(result.samples) > 10
    assert ray_run.import_shard(store, run_id, folder / "paper-000000.jsonl", row)[0] == 0
    ray_run.write_shard(folder, 1, {"error": "ValueError: the worker had no model"})
    assert ray_run.import_shards(store, run_id, deepones_home) == 0
    papers = runs.papers(store, run_id)
    assert papers[0]["status"] == "done" and papers[0]["samples_added"] == added
    assert papers[1]["status"] == "failed" and "the worker had no model" in papers[1]["reason"]


def test_cli_run_with_ray_on_a_real_paper_and_repository(deepones_home, ray_cluster):
    """``deepones generate run ... --ray --json``: the real LaTeX paper and its repository, read here,
    processed on the cluster, land in Data as the local run's test expects (18 samples, provenance)."""
    import sqlite3

    from backend.bench.ray_cluster import RaySettings
    from tests.generate.test_cli_generate import ANSWERS, PAPER, REPO, deepones, last_json

    RaySettings(address=ray_cluster, python=sys.executable, num_cpus=1, num_gpus=0).save(deepones_home)
    run = (
        "generate",
        "run",
        str(PAPER),
        "--repo",
        str(REPO),
        "--model",
        f"replay:{ANSWERS}",
        "--dataset",
        "hcr",
        "--mcq-share",
        "1",
        "--ray",
        "--json",
    )
    summary = last_json(deepones(*run, home=deepones_home, timeout=300))
    assert summary["status"] == "finished" and summary["papers"] == {"done": 1}
    assert (
        summary["samples_by_kind"] == {"instruction": 7, "dlpd": 4, "mcq": 7}
        and summary["samples_added"] == 18
    )
    with sqlite3.connect(deepones_home / "deepones.db") as conn:
        files = {
            r[0] for r in conn.execute("SELECT repo_file FROM sample_provenance WHERE repo_file IS NOT NULL")
        }
    assert files and all(not f.startswith("/") for f in files)  # file:line relative to the repository
    again = last_json(deepones(*run, home=deepones_home, timeout=300))
    assert again["status"] == "finished" and again["samples_added"] == 0
