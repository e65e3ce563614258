"""LaTeX papers: the real fixture paper (folder, main file, arXiv-style e-prints) and edge cases."""

from __future__ import annotations

import gzip
import io
import re
import tarfile

import pytest

from backend.generate.sources import SourceError, read_paper
from backend.generate.sources.latex import read_latex
from tests.generate.sources_helpers import HCR_PAPER, eprint_tar_gz, gzipped

EXPECTED_SECTIONS = [
    "Introduction",
    "Methods",
    "Methods / Hammersley-Chapman-Robbins bounds",
    "Methods / Additive noise",
    "Results",
    "Results / MNIST",
    "Conclusion",
    "Acknowledgements",
    "Appendix: Normally distributed noise",
]


@pytest.fixture(scope="module")
def hcr():
    return read_paper(str(HCR_PAPER))


def _section(paper, name):
    return next(s for s in paper.sections if s.name == name)


def test_real_paper_splits_into_its_sections_with_front_matter(hcr):
    assert [s.name for s in hcr.sections] == EXPECTED_SECTIONS
    assert hcr.title == "Guarantees of confidentiality via Hammersley-Chapman-Robbins bounds"
    assert hcr.authors == (
        "Kamalika Chaudhuri",
        "Chuan Guo",
        "Laurens van der Maaten",
        "Saeed Mahloujifar",
        "Mark Tygert",
    )
    assert hcr.abstract.startswith(
        "Protecting privacy during inference with deep neural networks is possible"
    )
    assert hcr.source_kind == "latex" and hcr.paper_id.startswith("sha256-")
    # Each section holds its own text, none of the others'.
    assert "LSQR" not in _section(hcr, "Conclusion").text
    assert "Awni Hannun and Edward Suh" in _section(hcr, "Acknowledgements").text


def test_maths_stays_latex_and_noise_is_dropped(hcr):
    hcr_bounds = _section(hcr, "Methods / Hammersley-Chapman-Robbins bounds").text
    assert "$f_{\\theta}(x)$" in hcr_bounds  # inline maths with its delimiters
    assert "\\begin{equation}" in hcr_bounds and "\\end{equation}" in hcr_bounds
    assert "\\frac{(g_k(\\theta + \\varepsilon) - g_k(\\theta))^2}" in hcr_bounds
    everything = "\n".join(s.text for s in hcr.sections) + hcr.abstract
    for noise in (
        "\\cite",
        "<cit.>",
        "<ref>",
        "\\label",
        "\\ref{",
        "Copyright (c) Meta",  # a % comment
        "Histograms of the HCR bounds",  # a figure's caption
        "MNIST_unfiltered.jpg",
        "authordate1",
        "\\bibliography",
        "\\maketitle",
    ):
        assert noise not in everything, noise
    # The one display of the appendix sits on lines of its own.
    appendix = _section(hcr, "Appendix: Normally distributed noise").text
    assert re.search(
        r"^\\begin\{equation\} f\(z\) = \\frac\{1\}\{\(2 \\pi \\sigma\^2\)\^\{n/2\}\}", appendix, re.M
    )


def test_inputs_are_followed_with_and_without_suffix(hcr):
    # methods.tex \inputs sections/hcr_bounds (no suffix, path from the main file's folder) and
    # sections/additive_noise.tex; main.tex \includes conclusion (no suffix).
    assert (
        "We consider a family of probability density functions"
        in _section(hcr, "Methods / Hammersley-Chapman-Robbins bounds").text
    )
    assert (
        "Dithering yields the observed noisy vector of features"
        in _section(hcr, "Methods / Additive noise").text
    )
    assert "HCR approach appears to be ineffectual on its own" in _section(hcr, "Conclusion").text
    assert "missing_inputs" not in hcr.metadata
    assert hcr.metadata["main_file"] == "main.tex"


def test_preamble_macros_are_expanded(hcr):
    text = "\n".join(s.text for s in hcr.sections)
    # \renewcommand{\epsilon}{\varepsilon}, \DeclareMathOperator{\E}{...}, \DeclareMathOperator{\var}{...}
    assert "\\varepsilon" in text and not re.search(r"\\epsilon(?![a-z])", text)
    assert "\\operatorname{\\mathop{}\\mathbb{E}}_{\\theta}" in text and not re.search(
        r"\\E(?![A-Za-z])", text
    )
    assert "\\operatorname{\\mathop{}{Var}}_{\\theta}" in text
    assert {"E", "Id", "var", "epsilon"} <= set(hcr.metadata["macros_expanded"])


def test_main_file_given_alone_and_tar_gz_eprint_read_the_same(hcr, tmp_path):
    alone = read_latex(HCR_PAPER / "main.tex")
    assert [s.name for s in alone.sections] == EXPECTED_SECTIONS
    # arXiv serves multi-file sources as a tar.gz, here with a figure and a stray .tex next to them.
    eprint = tmp_path / "2404.02866"
    eprint.write_bytes(
        eprint_tar_gz(extra={"figs/plot.pdf": b"%PDF-1.4 not read", "notes.tex": b"stray notes"})
    )
    from_tar = read_paper(str(eprint))
    assert [s.name for s in from_tar.sections] == EXPECTED_SECTIONS
    assert from_tar.sections == hcr.sections and from_tar.abstract == hcr.abstract


SMALL_PAPER = r"""\documentclass{article}
\usepackage{iclr2025_conference}
\newcommand{\R}{\mathbb{R}}
\newcommand{\norm}[1]{\left\lVert #1 \right\rVert}
\newcommand{\pair}[2][0]{(#1, #2)}
\def\model{TinyNet}
\def\inner#1#2{\langle #1, #2 \rangle}
\title{\model: a small test paper}
\author{Ada Lovelace \and Alan Turing}
\begin{document}
\begin{abstract}\model{} maps $x \in \R^d$ to $\norm{x}$.\end{abstract}
\section{Method}
We compute $\inner{q}{k}$ and $\pair{a}$ and $\pair[b]{c}$ with \model. % a comment \section{Fake}
\subsection*{Loss}
\begin{align} L &= \norm{y - \hat y}^2 \\ g &= \nabla L \end{align}
\input{missing_file}
\end{document}
"""


def test_gzipped_single_tex_with_numbered_and_optional_macro_arguments(tmp_path):
    eprint = tmp_path / "2501.00001.gz"
    eprint.write_bytes(gzipped(SMALL_PAPER))
    paper = read_paper(str(eprint))
    assert paper.title == "TinyNet: a small test paper"
    assert paper.authors == ("Ada Lovelace", "Alan Turing")
    assert paper.year == 2025
    assert paper.abstract == "TinyNet maps $x \\in \\mathbb{R}^d$ to $\\left\\lVert x \\right\\rVert$."
    assert [s.name for s in paper.sections] == ["Method", "Method / Loss"]
    method, loss = paper.sections
    assert "$\\langle q, k \\rangle$" in method.text
    assert "$(0, a)$" in method.text and "$(b, c)$" in method.text
    assert "with TinyNet." in method.text and "Fake" not in method.text
    assert "L &= \\left\\lVert y - \\hat y \\right\\rVert^2" in loss.text
    assert paper.metadata["missing_inputs"] == ["missing_file"]


def test_prose_set_aside_for_speed_keeps_every_word_and_macro_argument():
    from backend.generate.sources.latex_text import to_text

    latex = (
        "\\textbf xand then a long run of plain words that the parser need not read, "
        "\\begin{itemize}\\item First item with quite a lot of words in it "
        "\\item[b] Second one with a label and many more words \\end{itemize} "
        "and \\emph{an emphasised run of plain words long enough} with $a_1$ maths."
    )
    assert to_text(latex) == (
        "xand then a long run of plain words that the parser need not read, * First item with quite a lot of "
        "words in it b Second one with a label and many more words and an emphasised run of plain words long "
        "enough with $a_1$ maths."
    )


def test_nested_inputs_resolve_relative_paths_and_cycles_end(tmp_path):
    (tmp_path / "tex" / "parts").mkdir(parents=True)
    (tmp_path / "tex" / "paper.tex").write_text(
        "\\documentclass{article}\\begin{document}\\section{A}\\input{parts/one}\\end{document}"
    )
    (tmp_path / "tex" / "parts" / "one.tex").write_text("One says hi. \\input{parts/two}")
    (tmp_path / "tex" / "parts" / "two.tex").write_text("Two says hi. \\input{parts/one}")
    paper = read_paper(str(tmp_path))
    assert paper.sections[0].text == "One says hi. Two says hi."


def test_an_exponential_include_tree_is_refused(tmp_path):
    (tmp_path / "main.tex").write_text("\\documentclass{article}\\begin{document}\\input{a0}\\end{document}")
    for i in range(12):  # each file \\inputs the next one twice: 2^12 copies of 200 KB
        (tmp_path / f"a{i}.tex").write_text("x" * 200_000 + f"\\input{{a{i + 1}}}\\input{{a{i + 1}}}")
    with pytest.raises(SourceError, match=r"refused, its \\input files expand to more than 8 MiB"):
        read_paper(str(tmp_path))


def test_tar_with_path_traversal_is_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("main.tex", SMALL_PAPER.encode()), ("../../evil.tex", b"pwned")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(buf.getvalue())
    with pytest.raises(SourceError, match="path traversal") as err:
        read_paper(str(bad))
    assert "\n" not in str(err.value)
    assert not (tmp_path.parent / "evil.tex").exists()


def test_tar_links_are_skipped(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("main.tex")
        info.size = len(SMALL_PAPER)
        tar.addfile(info, io.BytesIO(SMALL_PAPER.encode()))
        link = tarfile.TarInfo("secret.tex")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    eprint = tmp_path / "linked.tar.gz"
    eprint.write_bytes(buf.getvalue())
    paper = read_paper(str(eprint))
    assert paper.metadata["tex_files"] == ["main.tex"]


def test_gzip_bomb_and_garbage_are_one_line_errors(tmp_path):
    from backend.generate.sources.archive import gunzip_capped

    with pytest.raises(SourceError, match="more than 1 MiB"):
        gunzip_capped(gzip.compress(b"\0" * (3 << 20)), "bomb.gz", max_bytes=1 << 20)
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    with pytest.raises(SourceError) as err:
        read_paper(str(garbage))
    assert str(err.value).startswith(str(garbage)) and "\n" not in str(err.value)
    with pytest.raises(SourceError, match="no such file or folder, and not an arXiv id"):
        read_paper(str(tmp_path / "nope.tex"))
