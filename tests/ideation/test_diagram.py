"""The diagram pieces on their own (fast tier): the tracer on models written here (trusted, so run in
this process), collapse by depth, the diff of two designs, the SVG writer and the DeepData view."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import torch
from torch import nn

from backend.ideation import trace_probe
from backend.ideation.diagram import INPUT, OUTPUT, coarse_from_text, collapse, diff, diff_summary
from backend.ideation.svg import diagram_to_svg


class Gate(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it symbolically."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 4)

    def forward(self, x):
        x = self.a(x)
        if x.sum() > 0:
            x = torch.relu(x)
        return self.b(x)


class Twin(nn.Module):
    """Two branches joined by an add, one of them a shared module used twice."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Linear(4, width)
        self.act = nn.ReLU()
        self.left = nn.Sequential(nn.Linear(width, width), nn.Tanh())
        self.right = nn.Linear(width, width)
        self.head = nn.Linear(width, 2)

    def forward(self, x):
        x = self.act(self.stem(x))
        return self.head(self.act(self.left(x) + self.right(x)))


def _trace(model: nn.Module, shape: tuple[int, ...]) -> dict:
    recorder = trace_probe.ShapeRecorder(model)
    with torch.no_grad():
        model(torch.randn(3, *shape))
    recorder.remove()
    return trace_probe.trace_model(model, recorder, list(shape), type(model).__name__)


def test_a_model_fx_cannot_trace_falls_back_to_module_order():
    diagram = _trace(Gate(), (8,))
    assert diagram["traced_with"] == "hooks"
    assert diagram["edges"] == [[INPUT, "a"], ["a", "b"], ["b", OUTPUT]]
    shapes = {n["id"]: n["shape"] for n in diagram["nodes"]}
    assert shapes == {INPUT: [8], "a": [8], "b": [4], OUTPUT: [4]}


def test_branches_shared_modules_depth_and_diff():
    diagram = _trace(Twin(), (4,))
    assert diagram["traced_with"] == "fx" and diagram["params"] == sum(p.numel() for p in Twin().parameters())
    full = collapse(diagram, 2)
    ids = [n["id"] for n in full.nodes]
    # The shared ReLU is one box per call; the add joins the two branches.
    assert "act" in ids and "act#2" in ids and "@add" in ids
    assert {a for a, b in full.edges if b == "@add"} == {"left.1", "right"}
    assert ("@add", "act#2") in full.edges and ("act", "left.0") in full.edges and ("act", "right") in full.edges
    top = collapse(diagram, 1)
    assert {a for a, b in top.edges if b == "@add"} == {"left", "right"}
    assert next(n for n in top.nodes if n["id"] == "left")["shape"] == [8]
    wider = _trace(Twin(width=16), (4,))
    va, vb = diff(diagram, wider, 1)
    # Wider layers: their parameters change, and so does the ReLUs' output shape (8 -> 16).
    assert diff_summary(va, vb) == {"added": [], "removed": [],
                                    "changed": ["stem", "act", "left", "right", "act#2", "head"]}
    assert "@add" not in vb.marks and INPUT not in vb.marks
    smaller = {**diagram, "nodes": [n for n in diagram["nodes"] if not n["id"].startswith("right")],
               "edges": [e for e in diagram["edges"] if "right" not in e]}
    va, vb = diff(diagram, smaller, 1)
    assert va.marks == {"right": "removed"} and vb.marks == {}
    assert diff(smaller, diagram, 1)[1].marks == {"right": "added"}


def test_svg_is_well_formed_and_marks_differences():
    diagram = _trace(Twin(), (4,))
    va, vb = diff(diagram, _trace(Twin(width=16), (4,)), 1)
    from backend.ideation.svg import view_to_svg

    root = ET.fromstring(view_to_svg(vb, title="B <wider> & co"))
    ns = {"s": "http://www.w3.org/2000/svg"}
    nodes = root.findall(".//s:g[@class='node']", ns)
    assert {g.get("data-id") for g in nodes} == {n["id"] for n in vb.nodes}
    assert {g.get("data-id") for g in nodes if g.get("data-mark") == "changed"} == set(vb.marks)
    assert "head" in vb.marks
    assert len(root.findall(".//s:path[@class='edge']", ns)) == len(vb.edges)
    assert root.find("s:text", ns).text == "B <wider> & co"
    ET.fromstring(diagram_to_svg(diagram, 2))


def test_deepdata_coarse_view_from_a_designer_answer():
    answer = ("One possible model is <MODEL>ResNet. Its stem is <LAYER>Conv3x3 -> <LAYER>BatchNorm -> "
              "<BLOCK>Residual block, then\n<BLOCK>Residual block -> <LAYER>Linear head.")
    coarse = coarse_from_text(answer)
    assert coarse["model"] == "ResNet" and coarse["traced_with"] == "deepdata"
    view = collapse(coarse, 1)
    assert [n["id"] for n in view.nodes] == [INPUT, "Conv3x3", "BatchNorm", "Residual_block", "Linear_head", OUTPUT]
    assert ("Residual_block", "Linear_head") in view.edges and (INPUT, "Conv3x3") in view.edges
    ET.fromstring(diagram_to_svg(coarse))
    assert coarse_from_text("One possible model is a plain MLP.") is None
