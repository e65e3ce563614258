"""Manifests pairing papers with repositories, and finding the papers in a folder."""

from __future__ import annotations

import json

import pytest

from backend.generate.model import PaperSource
from backend.generate.sources import SourceError, discover_papers, read_manifest, read_papers
from tests.generate.sources_helpers import HCR_PAPER, minimal_pdf


def test_jsonl_manifest_rows_and_bad_rows_by_line(tmp_path):
    (tmp_path / "paper").mkdir()
    (tmp_path / "code.zip").write_bytes(b"")
    lines = [
        json.dumps({"paper": "paper", "repo": "code.zip"}),
        json.dumps({"paper": "2404.02866", "repo": "https://github.com/facebookresearch/hcrbounds"}),
        "",
        json.dumps({"repo": "x"}),
        "[1, 2",
        json.dumps({"paper": "corpus.jsonl#2404.02866"}),
        json.dumps("just a string"),
    ]
    manifest = tmp_path / "runs.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    rows = read_manifest(str(manifest))
    assert rows == [
        PaperSource(str(tmp_path / "paper"), str(tmp_path / "code.zip")),  # relative to the manifest
        PaperSource("2404.02866", "https://github.com/facebookresearch/hcrbounds"),
        PaperSource("corpus.jsonl#2404.02866", None),  # not next to the manifest: kept as given
    ]
    assert rows.problems == [
        'runs.jsonl:4: no "paper"',
        "runs.jsonl:5: not valid JSON (Expecting ',' delimiter)",
        'runs.jsonl:7: expected an object with "paper" and "repo"',
    ]


def test_csv_manifest(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    manifest = tmp_path / "runs.csv"
    manifest.write_text('Paper,Repo\na.pdf,./repos/a\n"2404.02866",\n,missing-paper\nb.tex,x,extra\n')
    rows = read_manifest(str(manifest))
    assert rows == [PaperSource(str(tmp_path / "a.pdf"), "./repos/a"), PaperSource("2404.02866", None)]
    assert rows.problems == ['runs.csv:4: no "paper"', "runs.csv:5: more cells than header columns"]
    bad = tmp_path / "bad.csv"
    bad.write_text("title,url\nx,y\n")
    with pytest.raises(SourceError, match='bad.csv: a CSV manifest needs a header with a "paper" column'):
        read_manifest(str(bad))


def test_a_folder_of_papers_is_discovered_and_read(tmp_path):
    import shutil

    shutil.copytree(HCR_PAPER, tmp_path / "hcr")
    (tmp_path / "note.pdf").write_bytes(
        minimal_pdf(["1 Idea", "An idea.", "2 Plan", "A plan."], title="Note")
    )
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (tmp_path / "readme.txt").write_text("not a paper")
    assert discover_papers(tmp_path) == [
        str(tmp_path / "broken.pdf"),
        str(tmp_path / "hcr"),
        str(tmp_path / "note.pdf"),
    ]
    assert discover_papers(tmp_path / "hcr") == [str(tmp_path / "hcr")]  # a LaTeX folder is one paper
    papers = read_papers(str(tmp_path))
    assert [p.title for p in papers] == [
        "Guarantees of confidentiality via Hammersley-Chapman-Robbins bounds",
        "Note",
    ]
    assert len(papers.problems) == 1 and papers.problems[0].startswith("broken.pdf: not a readable PDF")
