"""arXiv ids: a polite client against a loopback server with arXiv's URL layout."""

from __future__ import annotations

import socket

import pytest

from backend.generate.sources import SourceError, read_paper
from backend.generate.sources.arxiv import ArxivClient, parse_arxiv_id
from tests.generate.sources_helpers import LoopbackServer, Served, eprint_tar_gz, gzipped, minimal_pdf

SINGLE_TEX = r"""\documentclass{article}\title{One File}\begin{document}
\begin{abstract}A gzipped single file.\end{abstract}\section{Only}Text with $x^2$.\end{document}"""
PDF_LINES = [
    "A PDF-only paper",
    "Abstract",
    "Nothing but a PDF.",
    "1 Introduction",
    "Intro text.",
    "2 Model",
    "Model text.",
]


@pytest.fixture
def arxiv():
    served = Served(
        {
            "/e-print/2404.02866": eprint_tar_gz(),
            "/e-print/2501.00001": gzipped(SINGLE_TEX),
            "/pdf/2502.00002": minimal_pdf(PDF_LINES, title="A PDF-only paper"),  # no /e-print: 404
            "/e-print/2503.00003": minimal_pdf(PDF_LINES, title="Served as PDF"),  # arXiv's PDF-only e-print
        }
    )
    with LoopbackServer(served) as server:
        yield served, server.url


def test_ids_are_recognised():
    assert parse_arxiv_id("2404.02866") == "2404.02866"
    assert parse_arxiv_id("arXiv:2404.02866v2") == "2404.02866v2"
    assert parse_arxiv_id("https://arxiv.org/abs/2404.02866") == "2404.02866"
    assert parse_arxiv_id("https://arxiv.org/pdf/2404.02866.pdf") == "2404.02866"
    assert parse_arxiv_id("cs/0112017") == "cs/0112017"
    assert parse_arxiv_id("paper.tex") is None and parse_arxiv_id("12345") is None


def test_sources_are_fetched_politely_and_read(arxiv, tmp_path):
    served, url = arxiv
    client = ArxivClient(base_url=url, cache_dir=tmp_path, min_interval_s=0.4)
    hcr = client.read("2404.02866")
    single = client.read("arXiv:2501.00001")
    assert hcr.paper_id == "2404.02866" and hcr.source_kind == "arxiv" and hcr.source == "arxiv:2404.02866"
    assert hcr.year == 2024 and hcr.title.startswith("Guarantees of confidentiality")
    assert "Methods / Additive noise" in [s.name for s in hcr.sections]
    assert (
        single.title == "One File" and single.sections[0].text == "Text with $x^2$." and single.year == 2025
    )
    assert served.paths() == ["/e-print/2404.02866", "/e-print/2501.00001"]
    (t1, _, ua1), (t2, _, ua2) = served.requests
    assert t2 - t1 >= 0.39  # one request per interval
    assert ua1 == ua2 and ua1.startswith("DeepOnes-Studio/")


def test_cache_hit_makes_no_request(arxiv, tmp_path):
    served, url = arxiv
    first = ArxivClient(base_url=url, cache_dir=tmp_path, min_interval_s=0).read("2501.00001")
    second = ArxivClient(base_url=url, cache_dir=tmp_path, min_interval_s=0).read("2501.00001")
    assert first == second
    assert served.paths() == ["/e-print/2501.00001"]
    assert (tmp_path / "2501.00001" / "e-print").is_file()


def test_pdf_fallback_and_pdf_served_as_eprint(arxiv, tmp_path):
    served, url = arxiv
    client = ArxivClient(base_url=url, cache_dir=tmp_path, min_interval_s=0)
    fallback = client.read("2502.00002")
    assert served.paths() == ["/e-print/2502.00002", "/pdf/2502.00002"]
    assert fallback.paper_id == "2502.00002" and fallback.year == 2025 and fallback.metadata["from"] == "pdf"
    assert [s.name for s in fallback.sections] == ["Introduction", "Model"]
    as_eprint = client.read("2503.00003")
    assert as_eprint.title == "Served as PDF" and as_eprint.source_kind == "arxiv"
    many = client.read_many(["2503.00003", "2599.99999", "not-an-id"])
    assert [p.paper_id for p in many] == ["2503.00003"]
    assert many.problems[0].startswith("2599.99999: arXiv 2599.99999 (PDF) was not found at 127.0.0.1:")
    assert many.problems[1] == "not-an-id: 'not-an-id' is not an arXiv id (like 2104.09864 or cs/0112017)"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_is_one_clear_line(tmp_path, monkeypatch):
    client = ArxivClient(base_url=f"http://127.0.0.1:{_closed_port()}", cache_dir=tmp_path, min_interval_s=0)
    with pytest.raises(SourceError) as err:
        client.read("2404.02866")
    message = str(err.value)
    assert message.startswith("Offline: cannot reach 127.0.0.1:") and "\n" not in message
    assert message.endswith("arXiv 2404.02866 (source) is not in the local cache.")
    monkeypatch.setenv("DEEPONES_OFFLINE", "1")
    with pytest.raises(
        SourceError,
        match=r"^Offline: arXiv 2404.02866 \(source\) is not in the local cache "
        r"and downloads are off \(DEEPONES_OFFLINE is set\)\.$",
    ):
        client.read("2404.02866")


def test_read_paper_takes_an_arxiv_id(arxiv, monkeypatch):
    served, url = arxiv
    monkeypatch.setenv("DEEPONES_ARXIV_URL", url)
    paper = read_paper("arXiv:2501.00001")  # default client: the app's cache dir, 3 s spacing
    assert paper.title == "One File" and served.paths() == ["/e-print/2501.00001"]
