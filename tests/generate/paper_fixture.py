"""A paper and its repository as the pipeline receives them, built directly (the readers are tested apart).

The text is a short excerpt in the shape of arXiv 1512.03385 (ResNet), maths kept as LaTeX; the
code units point into ``tests/generate/repo/`` (a small real Python repository whose classes are
at the lines given). ``answers/resnet.jsonl`` holds the recorded model answers for it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from backend.generate.model import CodeUnit, Paper, Section

HERE = Path(__file__).resolve().parent
REPO = HERE / "repo"
ANSWERS = HERE / "answers" / "resnet.jsonl"

SECTIONS = (
    Section(
        "Introduction",
        "Deeper neural networks are more difficult to train. When deeper networks start converging, "
        "a degradation problem is exposed: with the network depth increasing, accuracy gets "
        "saturated and then degrades rapidly.",
    ),
    Section(
        "Deep Residual Learning",
        "Let us consider $\\mathcal{H}(x)$ as an underlying mapping to be fit by a few "
        "stacked layers. We let the stacked nonlinear layers fit another mapping "
        "$\\mathcal{F}(x) := \\mathcal{H}(x) - x$. The original mapping is recast into "
        "$\\mathcal{F}(x) + x$, realised by feedforward networks with shortcut "
        "connections: $y = \\mathcal{F}(x, \\{W_i\\}) + x$.",
    ),
    Section(
        "Experiments",
        "We train with SGD with a mini-batch size of 256. The learning rate starts from 0.1 and is "
        "divided by 10 when the error plateaus; weight decay 0.0001 and momentum 0.9. On ImageNet "
        "the 152-layer residual net has 3.57% top-5 error.",
    ),
)


def paper(paper_id: str = "1512.03385", title: str = "Deep Residual Learning for Image Recognition") -> Paper:
    return Paper(
        paper_id=paper_id,
        title=title,
        abstract="Deeper neural networks are more difficult to train. We present a residual learning framework to "
        "ease the training of networks that are substantially deeper than those used previously. We "
        "reformulate the layers as learning residual functions with reference to the layer inputs.",
        sections=SECTIONS,
        year=2015,
        authors=("Kaiming He", "Xiangyu Zhang", "Shaoqing Ren", "Jian Sun"),
        source=f"arxiv:{paper_id}",
        source_kind="latex",
    )


def code_units() -> list[CodeUnit]:
    """Every class and function of the fixture repository, with file:line (read by ``ast``)."""
    units = []
    for path in sorted(REPO.rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        text = path.read_text("utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef | ast.FunctionDef):
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                units.append(
                    CodeUnit(
                        kind,
                        node.name,
                        rel,
                        node.lineno,
                        "python",
                        ast.get_source_segment(text, node) or "",
                        ast.get_docstring(node) or "",
                    )
                )
    return sorted(units, key=lambda u: (u.file, u.line))


def write_record(folder: Path, paper_id: str = "1512.03385", title: str | None = None) -> Path:
    """The fixture paper and its code units as a ``.paper.json`` record file (what the runner reads)."""
    import json

    p = paper(paper_id, title) if title else paper(paper_id)
    data = p.to_dict()
    data["code_units"] = [u.to_dict() for u in code_units()]
    path = folder / f"{paper_id.replace('/', '_')}.paper.json"
    path.write_text(json.dumps(data), "utf-8")
    return path
