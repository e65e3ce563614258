"""A PDF-only paper goes through the same pipeline as its LaTeX source: the real fixture paper printed
to PDF by headless chromium, then ``deepones generate run paper.pdf`` with the same replayed answers."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from tests.generate.test_cli_generate import ANSWERS, REPO, deepones, last_json
from tests.generate.test_sources_pdf import (
    NUMBERED,
    hcr_pdf,  # noqa: F401 - the fixture: the paper as a PDF
)

pytestmark = pytest.mark.slow   # chromium prints the paper (seconds); the PDF reader's own tests stay fast


def test_pdf_only_paper_lands_the_same_kinds_of_samples_with_provenance(hcr_pdf, deepones_home):  # noqa: F811
    paper, pdf = hcr_pdf
    run = ("generate", "run", str(pdf), "--repo", str(REPO), "--model", f"replay:{ANSWERS}",
           "--dataset", "hcr-pdf", "--mcq-share", "1", "--json")
    summary = last_json(deepones(*run, home=deepones_home))
    assert summary["status"] == "finished" and summary["papers"] == {"done": 1}
    assert summary["samples_by_kind"] == {"instruction": 7, "dlpd": 4, "mcq": 7}

    shown = last_json(deepones("generate", "show", str(summary["run_id"]), "--json", home=deepones_home))
    (listed,) = shown["papers"]
    assert listed["title"] == paper.title
    # The numbered sections come back from the PDF's headings, in order, as the LaTeX reader names them.
    assert [name for name in listed["sections"] if name in NUMBERED] == [s.name for s in paper.sections
                                                                        if s.name in NUMBERED]
    assert len(NUMBERED) >= 4
    assert all(status == "ok" for status in (s["status"] for s in listed["steps"]))
    assert Counter(s["kind"] for s in listed["samples"]) == {"instruction": 7, "dlpd": 4, "mcq": 7}

    db = sqlite3.connect(deepones_home / "deepones.db")
    rows = db.execute("SELECT s.status, s.dataset, p.paper_title, p.run_id FROM samples s "
                      "JOIN sample_provenance p ON p.sample_id = s.id").fetchall()
    db.close()
    assert len(rows) == 18 and set(rows) == {("generated", "hcr-pdf", paper.title, summary["run_id"])}
