"""Generated samples with provenance written the way the pipeline writes them (samples row with status
'generated' + a sample_provenance row), for tests of how Data reads them."""

from __future__ import annotations

import time

from backend.datasets.importer import insert_samples
from backend.datasets.rows import sample_values
from backend.datasets.schema import Sample
from backend.store import transaction

PAPERS = (
    ("1706.03762", "Attention Is All You Need", 2017),
    ("1512.03385", "Deep Residual Learning for Image Recognition", 2015),
)


def add_generated(db, n_per_paper: int = 3, model: str = "replay:designer.jsonl") -> list[int]:
    """``n_per_paper`` instruction samples per paper of :data:`PAPERS`; returns their ids."""
    ids = []
    now = time.time()
    with transaction(db) as conn:
        for paper_id, title, year in PAPERS:
            for i in range(n_per_paper):
                sample = Sample(kind="instruction", category="description generation",
                                instruction=f"Describe contribution {i} of {title}.",
                                output=f"Contribution {i} of {title} is a building block number {i}.")
                added = insert_samples(conn, [sample_values(sample, "my-deepdata", "", 0, now)])
                sid = conn.execute("SELECT id FROM samples WHERE content_hash=?", (sample.content_hash(),)).fetchone()[0]
                ids.append(sid)
                if not added:
                    continue   # already in the store: it keeps the provenance of its first copy
                conn.execute("UPDATE samples SET status='generated' WHERE id=?", (sid,))
                conn.execute(
                    "INSERT INTO sample_provenance (sample_id, run_id, paper_id, paper_title, paper_year, section,"
                    " repo_file, repo_line, model, prompt_version, step, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (sid, 1, paper_id, title, year, "3 Model Architecture", "model/layers.py", 10 + i, model,
                     "instructions.v1", "instructions", now))
    return ids
