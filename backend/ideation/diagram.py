"""The model graph the check returns: collapse it to a depth, lay it out, diff two designs.

The data (built in the job by :mod:`backend.ideation.trace_probe`) is plain JSON::

    {"model": "ResNet18", "traced_with": "fx" | "hooks", "params": N, "input_shape": [...],
     "nodes": [{"id": "layer1.0.conv1", "type": "Conv2d", "parent": "layer1.0", "kind": "module",
                "shape": [64, 8, 8], "params": 36864, "order": 7}, ...],
     "edges": [["layer1.0.conv1", "layer1.0.bn1"], ...]}

Node ids are module paths (``<input>``/``<output>`` for the ends, ``scope.@add_1`` for operations
that merge branches). Edges join the finest nodes (leaf modules, merge ops, the ends); a view at
depth *d* shows every module at depth *d* (or a shallower leaf) as one box, with the edges between
boxes. :func:`coarse_from_text` builds the paper's DeepData view (``<MODEL>``, ``<LAYER>``...) from a
designer's answer, in the same format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INPUT, OUTPUT = "<input>", "<output>"
ENDS = (INPUT, OUTPUT)


def depth_of(node_id: str) -> int:
    if node_id in ENDS:
        return 0
    return node_id.count(".") + 1


def ancestor(node_id: str, depth: int) -> str:
    """The node's ancestor at ``depth`` (itself when it is not deeper)."""
    if node_id in ENDS or depth_of(node_id) <= depth:
        return node_id
    return ".".join(node_id.split(".")[:depth])


def max_depth(diagram: dict) -> int:
    return max((depth_of(n["id"]) for n in diagram.get("nodes", [])), default=1)


@dataclass
class View:
    """The diagram at one depth: boxes in execution order and the edges between them."""

    nodes: list[dict]
    edges: list[tuple[str, str]]
    depth: int
    marks: dict[str, str] = field(default_factory=dict)   # node id -> added | removed | changed (a diff)


def collapse(diagram: dict, depth: int) -> View:
    """The boxes at ``depth``: modules at that depth plus shallower leaves, merge ops and the ends."""
    depth = max(1, int(depth))
    by_id = {n["id"]: n for n in diagram.get("nodes", [])}
    atoms = [a for edge in diagram.get("edges", []) for a in edge] + list(ENDS)

    def box_of(atom: str) -> str:
        box = ancestor(atom, depth)
        return box if box in by_id else atom     # an op in a scope that is no module keeps its own box

    shown = {box_of(a): by_id[box_of(a)] for a in atoms if box_of(a) in by_id}
    edges: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for src, dst in diagram.get("edges", []):
        a, b = box_of(src), box_of(dst)
        if a != b and (a, b) not in seen and a in shown and b in shown:
            seen.add((a, b))
            edges.append((a, b))
    nodes = sorted(shown.values(), key=lambda n: (n.get("order", 0), n["id"]))
    return View(nodes=nodes, edges=edges, depth=depth)


def shape_text(shape: list[int] | None) -> str:
    return "x".join(str(n) for n in shape) if shape else ""


def count_text(n: int | None) -> str:
    if not n:
        return ""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}".replace(".0" + unit, unit)
    return str(n)


def node_label(node: dict) -> tuple[str, str]:
    """Two lines for a box: name (type) and shape · params."""
    nid = node["id"]
    if nid in ENDS:
        title = "input" if nid == INPUT else "output"
    elif node.get("kind") == "op":
        title = node.get("type", "op")
    elif node.get("label"):
        title = f"{node['label']} ({node.get('type', '')})"
    else:
        title = f"{nid} ({node.get('type', '')})"     # the whole path: which block's conv1
    detail = " · ".join(x for x in (shape_text(node.get("shape")), count_text(node.get("params")) and
                                    f"{count_text(node.get('params'))} params") if x)
    return title, detail


# --------------------------------------------------------------------------- layout

BOX_W, BOX_H, OP_W, GAP_X, GAP_Y, MARGIN = 210, 44, 70, 24, 28, 20


@dataclass
class Placed:
    node: dict
    x: float
    y: float
    w: float
    h: float


def layout(view: View) -> tuple[list[Placed], float, float]:
    """Layers by longest path from the input (top to bottom), side by side within a layer."""
    order = {n["id"]: i for i, n in enumerate(view.nodes)}
    incoming: dict[str, list[str]] = {n["id"]: [] for n in view.nodes}
    for a, b in view.edges:
        if a in order and b in order and order[a] < order[b]:
            incoming[b].append(a)
    layer: dict[str, int] = {}
    for n in view.nodes:     # execution order is a topological order of the forward edges
        layer[n["id"]] = max((layer[a] + 1 for a in incoming[n["id"]] if a in layer), default=0)
    if view.nodes and OUTPUT in layer:
        layer[OUTPUT] = max(layer.values()) + (0 if incoming[OUTPUT] else 1)
    rows: dict[int, list[dict]] = {}
    for n in view.nodes:
        rows.setdefault(layer[n["id"]], []).append(n)

    def width(n: dict) -> float:
        return OP_W if n.get("kind") == "op" else BOX_W

    widest = max((sum(width(n) for n in row) + GAP_X * (len(row) - 1) for row in rows.values()), default=BOX_W)
    placed: list[Placed] = []
    for index, row_key in enumerate(sorted(rows)):
        row = rows[row_key]
        total = sum(width(n) for n in row) + GAP_X * (len(row) - 1)
        x = MARGIN + (widest - total) / 2
        y = MARGIN + index * (BOX_H + GAP_Y)
        for n in row:
            placed.append(Placed(n, x, y, width(n), BOX_H))
            x += width(n) + GAP_X
    return placed, widest + 2 * MARGIN, MARGIN * 2 + len(rows) * (BOX_H + GAP_Y) - GAP_Y


# --------------------------------------------------------------------------- diff

def _signature(node: dict) -> tuple:
    return (node.get("type"), tuple(node.get("shape") or ()), node.get("params"))


def diff(a: dict, b: dict, depth: int) -> tuple[View, View]:
    """Views of ``a`` and ``b`` at ``depth`` with differences marked: in ``a`` the nodes ``b`` lacks
    are "removed"; in ``b`` the nodes ``a`` lacks are "added"; nodes in both whose type, shape or
    parameter count differ are "changed" in both."""
    va, vb = collapse(a, depth), collapse(b, depth)
    na, nb = {n["id"]: n for n in va.nodes}, {n["id"]: n for n in vb.nodes}
    for nid, node in na.items():
        if nid not in nb:
            va.marks[nid] = "removed"
        elif _signature(node) != _signature(nb[nid]):
            va.marks[nid] = vb.marks[nid] = "changed"
    for nid in nb:
        if nid not in na:
            vb.marks[nid] = "added"
    return va, vb


def diff_summary(va: View, vb: View) -> dict[str, list[str]]:
    """Node ids per mark, for a card or a test."""
    out: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    for view in (va, vb):
        for nid, mark in view.marks.items():
            if nid not in out[mark]:
                out[mark].append(nid)
    return out


# --------------------------------------------------------------------------- DeepData coarse view

_TAG = re.compile(r"<([A-Z][A-Z_]{1,20})>\s*([^<>\n,;:(]+?)(?=\s*(?:->|→|<|,|;|:|\(|\.\s|\.$|\n|$))")


def coarse_from_text(text: str) -> dict | None:
    """The paper's DeepData diagram view from a designer's answer that names nodes like
    ``<MODEL>ResNet``, ``<LAYER>Conv3x3 -> <LAYER>BatchNorm``: a ``<MODEL>`` node holds the others;
    arrows (``->``) give edges, otherwise nodes on one line follow each other. None when the answer
    names fewer than two nodes."""
    nodes: list[dict] = []
    edges: list[list[str]] = []
    ids: dict[str, str] = {}
    model_id = ""
    for line in text.splitlines():
        previous = None
        for match in _TAG.finditer(line):
            kind, name = match.group(1), match.group(2).strip()
            key = f"{kind}:{name}"
            if key not in ids:
                nid = re.sub(r"[^A-Za-z0-9_]+", "_", name) or kind.lower()
                while nid in ids.values():
                    nid += "_"
                if kind == "MODEL" and not model_id:
                    model_id = nid
                ids[key] = nid
                nodes.append({"id": nid, "type": f"<{kind}>", "label": name, "kind": "module",
                              "parent": "", "shape": None, "params": 0, "order": len(nodes)})
            nid = ids[key]
            if previous is not None and previous != nid and kind != "MODEL" and [previous, nid] not in edges:
                edges.append([previous, nid])
            if kind != "MODEL":
                previous = nid
    if len(nodes) < 2:
        return None
    inner = [n for n in nodes if n["id"] != model_id]
    if inner:
        targets = {b for _, b in edges}
        sources = {a for a, _ in edges}
        edges += [[INPUT, n["id"]] for n in inner if n["id"] not in targets][:1]
        edges += [[n["id"], OUTPUT] for n in inner if n["id"] not in sources][-1:]
    ends = [{"id": INPUT, "type": "input", "kind": "input", "parent": "", "shape": None, "params": 0, "order": -1},
            {"id": OUTPUT, "type": "output", "kind": "output", "parent": "", "shape": None, "params": 0,
             "order": 10**9}]
    return {"model": next((n["label"] for n in nodes if n["id"] == model_id), "design"), "traced_with": "deepdata",
            "params": 0, "input_shape": [], "nodes": ends + inner, "edges": edges}
