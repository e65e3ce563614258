"""Generated samples stored through the pipeline's own write path (``runs.record_paper_result``: status
'generated', deduplicated by content hash, a sample_provenance row each), for tests of how Data reads them."""

from __future__ import annotations

from backend.generate import runs
from backend.generate.model import PaperSource
from backend.generate.records import GeneratedSample, PaperResult

PAPERS = (
    ("1706.03762", "Attention Is All You Need", 2017),
    ("1512.03385", "Deep Residual Learning for Image Recognition", 2015),
)


def add_generated(db, n_per_paper: int = 3, model: str = "replay:designer.jsonl") -> list[int]:
    """``n_per_paper`` instruction samples per paper of :data:`PAPERS` in one run; returns their ids
    (a sample already in the store gives the id of that copy)."""
    run_id = runs.create_run(
        db, [PaperSource(f"{p[0]}.tex") for p in PAPERS], model=model, dataset="my-deepdata", options={}
    )
    ids = []
    for position, (paper_id, title, year) in enumerate(PAPERS):
        samples = [
            GeneratedSample(
                "instruction",
                "description generation",
                f"Describe contribution {i} of {title}.",
                f"Contribution {i} of {title} is a building block number {i}.",
                section="3 Model Architecture",
                repo_file="model/layers.py",
                repo_line=10 + i,
                step="instructions",
                prompt_version="instructions.v1",
            )
            for i in range(n_per_paper)
        ]
        result = PaperResult(paper_id, title, year, "done", samples=samples)
        runs.record_paper_result(db, run_id, position, result, model=model, dataset="my-deepdata")
        for s in samples:
            ids.append(
                db.execute("SELECT id FROM samples WHERE content_hash=?", [s.content_hash()]).fetchone()[0]
            )
    return ids
