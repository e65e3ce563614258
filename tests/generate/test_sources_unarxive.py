"""unarXive JSONL: records imported with formulas back as LaTeX, bad lines reported by number."""

from __future__ import annotations

import json

import pytest

from backend.generate.sources import SourceError, read_paper, read_papers
from backend.generate.sources.unarxive import read_unarxive

GOOD = {
    "paper_id": "2404.02866",
    "_pdf_hash": None,
    "_source_hash": "0" * 40,
    "_source_name": "2404.02866.gz",
    "metadata": {
        "id": "2404.02866",
        "title": "Guarantees of confidentiality via\n  Hammersley-Chapman-Robbins bounds",
        "authors": "Kamalika Chaudhuri, Chuan Guo, Laurens van der Maaten, Saeed Mahloujifar, Mark Tygert",
        "authors_parsed": [["Chaudhuri", "Kamalika", ""], ["Guo", "Chuan", ""], ["Tygert", "Mark", ""]],
        "abstract": "Protecting privacy during inference with deep neural networks is possible.",
        "categories": "cs.LG cs.CR",
        "license": "http://creativecommons.org/licenses/by/4.0/",
        "versions": [{"version": "v1", "created": "Wed, 3 Apr 2024 16:58:03 GMT"}],
        "update_date": "2024-10-01",
    },
    "discipline": "Computer Science",
    "abstract": {
        "section": "Abstract",
        "text": "Protecting privacy during inference is possible.",
        "cite_spans": [],
        "ref_spans": [],
    },
    "body_text": [
        {
            "section": "Introduction",
            "sec_number": "1",
            "sec_type": "section",
            "content_type": "paragraph",
            "text": "The HCR bounds of {{cite:aaa}} provide guarantees.",
            "cite_spans": [],
            "ref_spans": [],
        },
        {
            "section": "Methods",
            "sec_number": "2",
            "sec_type": "section",
            "content_type": "paragraph",
            "text": "We bound the variance.",
            "cite_spans": [],
            "ref_spans": [],
        },
        {
            "section": "Additive noise",
            "sec_number": "2.1",
            "sec_type": "subsection",
            "content_type": "paragraph",
            "text": "Dithering yields {{formula:f1}} where {{formula:f2}} is the noise (see {{figure:g1}}).",
            "cite_spans": [],
            "ref_spans": [],
        },
        {
            "section": "Additive noise",
            "sec_number": "2.1",
            "sec_type": "subsection",
            "content_type": "paragraph",
            "text": "A second paragraph.",
            "cite_spans": [],
            "ref_spans": [],
        },
    ],
    "bib_entries": {"aaa": {"bib_entry_raw": "J. M. Hammersley, 1950."}},
    "ref_entries": {
        "f1": {"latex": "X = a_{\\theta} + Z", "type": "formula"},
        "f2": {"latex": "Z", "type": "formula"},
        "g1": {"caption": "A figure", "type": "figure"},
    },
}


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "arXiv_src_2404_001.jsonl"
    no_body = {"paper_id": "2404.00002", "metadata": {"title": "No body"}}
    lines = [
        json.dumps(GOOD),
        "{not json",
        "",
        json.dumps(no_body),
        json.dumps(["a", "list"]),
        json.dumps({**GOOD, "paper_id": "2404.00003", "metadata": {"title": "Second"}}),
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_records_are_imported_or_reported_with_line_numbers(corpus):
    papers = read_unarxive(corpus)
    assert [p.paper_id for p in papers] == ["2404.02866", "2404.00003"]
    assert papers.problems == [
        "arXiv_src_2404_001.jsonl:2: not valid JSON (Expecting property name enclosed in double quotes)",
        "arXiv_src_2404_001.jsonl:4: 2404.00002: no body_text list",
        "arXiv_src_2404_001.jsonl:5: not a JSON object",
    ]
    # read_papers on the file is the same import.
    assert [p.paper_id for p in read_papers(str(corpus))] == ["2404.02866", "2404.00003"]


def test_record_fields_sections_and_formulas(corpus):
    paper = read_unarxive(corpus)[0]
    assert paper.title == "Guarantees of confidentiality via Hammersley-Chapman-Robbins bounds"
    assert paper.authors == ("Kamalika Chaudhuri", "Chuan Guo", "Mark Tygert")
    assert paper.year == 2024 and paper.source_kind == "unarxive"
    assert paper.abstract == "Protecting privacy during inference is possible."
    assert paper.source.endswith("arXiv_src_2404_001.jsonl:1")
    assert (
        paper.metadata["categories"] == "cs.LG cs.CR" and paper.metadata["discipline"] == "Computer Science"
    )
    names = [s.name for s in paper.sections]
    assert names == ["Introduction", "Methods", "Methods / Additive noise"]
    assert paper.sections[0].text == "The HCR bounds of provide guarantees."  # the citation marker dropped
    assert paper.sections[2].text == (
        "Dithering yields $X = a_{\\theta} + Z$ where $Z$ is the noise.\n\nA second paragraph."
    )


def test_one_record_by_id_or_line_and_clear_errors(corpus, tmp_path):
    assert read_paper(f"{corpus}#2404.00003").title == "Second"
    assert read_paper(f"{corpus}#1").paper_id == "2404.02866"
    with pytest.raises(SourceError, match="holds 2 papers: name one as arXiv_src_2404_001.jsonl#PAPER_ID"):
        read_paper(str(corpus))
    with pytest.raises(SourceError, match=r"arXiv_src_2404_001.jsonl:4: 2404.00002: no body_text list"):
        read_paper(f"{corpus}#2404.00002")
    with pytest.raises(SourceError, match="no paper '9999.99999' in the file"):
        read_paper(f"{corpus}#9999.99999")
    single = tmp_path / "one.jsonl"
    single.write_text(json.dumps(GOOD) + "\n")
    assert read_paper(str(single)).paper_id == "2404.02866"
