"""PDF papers: the fixture paper printed to PDF by headless chromium, and hostile PDFs."""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

import pytest

from backend.generate.sources import SourceError, read_paper
from backend.generate.sources.child import run_parser_child
from backend.generate.sources.pdf import read_pdf
from tests.generate.sources_helpers import HCR_PAPER, minimal_pdf, pdf_bomb

SOURCES_DIR = Path(run_parser_child.__code__.co_filename).parent
NUMBERED = [
    "Introduction",
    "Methods",
    "Methods / Hammersley-Chapman-Robbins bounds",
    "Methods / Additive noise",
    "Results",
    "Results / MNIST",
    "Conclusion",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless chromium is needed to print the fixture paper to PDF (apt-get install chromium)")


@pytest.fixture(scope="module")
def hcr_pdf(tmp_path_factory):
    """The fixture paper as a PDF-only paper: its text laid out in HTML with numbered headings
    (as a typeset paper has), printed by headless chromium."""
    paper = read_paper(str(HCR_PAPER))
    parts = [
        f"<h1>{html.escape(paper.title)}</h1><p>{html.escape(', '.join(paper.authors))}</p>",
        f"<h3>Abstract</h3><p>{html.escape(paper.abstract)}</p>",
    ]
    top = sub = 0
    for section in paper.sections:
        parent, _, child = section.name.partition(" / ")
        if section.name in NUMBERED and child:
            sub += 1
            heading = f"<h3>{top}.{sub} {html.escape(child)}</h3>"
        elif section.name in NUMBERED:
            top, sub = top + 1, 0
            heading = f"<h2>{top} {html.escape(parent)}</h2>"
        else:
            heading = f"<h2>{html.escape(section.name)}</h2>"
        paras = "".join(f"<p>{html.escape(p)}</p>" for p in section.text.split("\n\n"))
        parts.append(heading + paras)
    parts.append("<h2>References</h2><p>J. M. Hammersley. On estimating restricted parameters. 1950.</p>")
    folder = tmp_path_factory.mktemp("pdf")
    page = folder / "paper.html"
    page.write_text(
        f"<html><head><meta charset='utf-8'><title>{html.escape(paper.title)}</title></head>"
        f"<body style='font-family: sans-serif'>{''.join(parts)}</body></html>",
        "utf-8",
    )
    out = folder / "paper.pdf"
    subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={folder / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return paper, out


def test_pdf_only_paper_splits_into_the_same_sections(hcr_pdf):
    latex, path = hcr_pdf
    paper = read_paper(str(path))
    assert paper.source_kind == "pdf" and paper.paper_id.startswith("sha256-")
    assert paper.title == latex.title  # from the PDF's metadata (the HTML title)
    assert [s.name for s in paper.sections] == NUMBERED
    assert paper.abstract.startswith("Protecting privacy during inference with deep neural networks")
    methods = {s.name: s.text for s in paper.sections}
    assert "probability density functions" in methods["Methods / Hammersley-Chapman-Robbins bounds"]
    # The references are not body text; the unnumbered tail stays with the last section.
    assert "On estimating restricted parameters" not in methods["Conclusion"]
    assert "Awni Hannun" in methods["Conclusion"]
    assert paper.metadata["page_count"] >= 2


def test_ieee_style_headings_and_hyphenated_line_ends(tmp_path):
    path = tmp_path / "ieee.pdf"
    lines = [
        "A Conference Paper",
        "I. INTRODUCTION",
        "Deep convolu-",
        "tional networks.",
        "II. METHOD",
        "A. Datasets",
        "We use 3 sets.",
        "B. Training",
        "We train.",
        "III. RESULTS",
        "It works.",
    ]
    path.write_bytes(minimal_pdf(lines))
    paper = read_pdf(path)
    assert [s.name for s in paper.sections] == [
        "Introduction",
        "Method / Datasets",
        "Method / Training",
        "Results",
    ]
    assert paper.sections[0].text == "Deep convolutional networks."


def test_pdf_without_numbered_headings_gives_one_section_per_page(tmp_path):
    path = tmp_path / "plain.pdf"
    path.write_bytes(minimal_pdf(["A note with no headings.", "Just text."], title="A plain note"))
    paper = read_pdf(path)
    assert paper.title == "A plain note" and paper.year == 2024
    assert [(s.name, s.text) for s in paper.sections] == [("Page 1", "A note with no headings.\nJust text.")]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"%PDF-1.4\n" + bytes(range(256)) * 40, "not a readable PDF"),
        (b"GIF89a not a pdf at all", "not a PDF file"),
    ],
)
def test_garbage_pdf_is_a_one_line_rejection(tmp_path, content, message):
    path = tmp_path / "hostile.pdf"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as err:
        read_pdf(path)
    assert "\n" not in str(err.value) and str(err.value).startswith("hostile.pdf")


def test_decompression_bomb_is_a_one_line_rejection_and_the_caller_survives(tmp_path):
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(pdf_bomb(streams=2, stream_mb=40))  # 80 MiB of content behind ~80 KiB
    with pytest.raises(SourceError) as err:
        read_pdf(bomb, memory_mb=300)
    assert "\n" not in str(err.value) and str(err.value).startswith("bomb.pdf:")
    # The caller goes on: the next paper reads fine.
    good = tmp_path / "good.pdf"
    good.write_bytes(minimal_pdf(["1 Introduction", "Fine.", "2 Method", "Also fine."]))
    assert [s.name for s in read_pdf(good).sections] == ["Introduction", "Method"]


_CHILD_PRELUDE = f"""
import sys
sys.path.insert(0, {str(SOURCES_DIR)!r})
from child_limits import apply_limits
apply_limits(int(sys.argv[1]), int(sys.argv[2]))
"""


def test_parser_child_over_its_memory_cap_or_crashing_costs_one_line(tmp_path):
    hog = tmp_path / "hog.py"
    hog.write_text(
        _CHILD_PRELUDE + "block = bytearray(int(sys.argv[3]) * 1024 * 1024)\nprint('{\"ok\": true}')\n"
    )
    assert run_parser_child(hog, ["50"], what="hog", memory_mb=400) == {"ok": True}
    with pytest.raises(SourceError, match=r"^hog: the parser failed \(MemoryError\)$"):
        run_parser_child(hog, ["600"], what="hog", memory_mb=400)
    crash = tmp_path / "crash.py"
    crash.write_text(_CHILD_PRELUDE + "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    with pytest.raises(SourceError, match=r"^crash: the parser was killed \(signal 11\)"):
        run_parser_child(crash, [], what="crash")


def test_a_parser_that_does_not_finish_is_stopped(tmp_path):
    path = tmp_path / "slow.pdf"
    path.write_bytes(minimal_pdf(["1 Introduction", "text", "2 End", "text"]))
    with pytest.raises(SourceError, match="took longer than 0.01 s and was stopped"):
        read_pdf(path, timeout_s=0.01)
