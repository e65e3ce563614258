"""The model diagram as a standalone SVG document (pure Python; opens in any browser or QSvgRenderer)."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from backend.ideation.diagram import BOX_H, Placed, View, collapse, layout, node_label

FILL = {"input": "#e8f0fe", "output": "#e8f0fe", "op": "#fff4e0", "module": "#f6f8fa"}
MARK = {"added": "#2da44e", "removed": "#cf222e", "changed": "#bf8700"}
FONT = "font-family=\"DejaVu Sans, Arial, sans-serif\""


def _edge_path(a: Placed, b: Placed) -> str:
    x1, y1 = a.x + a.w / 2, a.y + a.h
    x2, y2 = b.x + b.w / 2, b.y
    if y2 <= y1:     # a backward or same-row edge: loop around on the right
        right = max(a.x + a.w, b.x + b.w) + 16
        return f"M{x1:.1f},{y1:.1f} C{right:.1f},{y1 + 20:.1f} {right:.1f},{y2 - 20:.1f} {x2:.1f},{y2:.1f}"
    if y2 - y1 > BOX_H:   # skips at least one row (a shortcut): bend out to the right, clear of the chain
        right = max(a.x + a.w, b.x + b.w) + 28
        ya, yb = a.y + a.h / 2, b.y + b.h / 2
        return (f"M{a.x + a.w:.1f},{ya:.1f} C{right:.1f},{ya:.1f} {right:.1f},{yb:.1f} "
                f"{b.x + b.w:.1f},{yb:.1f}")
    mid = (y1 + y2) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"


def view_to_svg(view: View, *, title: str = "") -> str:
    placed, width, height = layout(view)
    top = 28 if title else 0
    width = max(width + 36, 7.6 * len(title) + 40)   # room for shortcut bends; the title must fit too
    at = {p.node["id"]: p for p in placed}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height + top:.0f}" '
           f'viewBox="0 0 {width:.0f} {height + top:.0f}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>',
           # Absolute sizes: QtSvg reads a percentage here against a 100 px default, not the canvas.
           f'<rect width="{width:.0f}" height="{height + top:.0f}" fill="white"/>']
    if title:
        out.append(f'<text x="{20}" y="20" {FONT} font-size="14" font-weight="bold">{escape(title)}</text>')
    out.append(f'<g transform="translate(0,{top})">')
    for a, b in view.edges:
        if a in at and b in at:
            out.append(f'<path class="edge" d="{_edge_path(at[a], at[b])}" fill="none" stroke="#57606a" '
                       f'stroke-width="1.2" marker-end="url(#arrow)" data-from="{escape(a)}" data-to="{escape(b)}"/>')
    for p in placed:
        node = p.node
        kind = node.get("kind", "module")
        mark = view.marks.get(node["id"])
        stroke = MARK.get(mark, "#8c959f")
        first, second = node_label(node)
        attrs = f'class="node" data-id="{escape(node["id"])}"' + (f' data-mark="{mark}"' if mark else "")
        out.append(f"<g {attrs}>")
        out.append(f'<title>{escape(node["id"])}{" (" + mark + ")" if mark else ""}</title>')
        radius = 18 if kind == "op" else 6
        out.append(f'<rect x="{p.x:.1f}" y="{p.y:.1f}" width="{p.w:.1f}" height="{p.h:.1f}" rx="{radius}" '
                   f'fill="{FILL.get(kind, FILL["module"])}" stroke="{stroke}" '
                   f'stroke-width="{2.5 if mark else 1}"/>')
        cx = p.x + p.w / 2
        max_chars = int(p.w / 6.6)
        first = first if len(first) <= max_chars else first[: max_chars - 1] + "…"
        out.append(f'<text x="{cx:.1f}" y="{p.y + (18 if second else 27):.1f}" {FONT} font-size="12" '
                   f'text-anchor="middle">{escape(first)}</text>')
        if second:
            out.append(f'<text x="{cx:.1f}" y="{p.y + 34:.1f}" {FONT} font-size="10.5" fill="#57606a" '
                       f'text-anchor="middle">{escape(second[:max_chars + 4])}</text>')
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out)


def diagram_to_svg(diagram: dict, depth: int = 1, *, title: str | None = None) -> str:
    view = collapse(diagram, depth)
    if title is None:
        title = f"{diagram.get('model', 'model')} (depth {view.depth}, traced with {diagram.get('traced_with', '?')})"
    return view_to_svg(view, title=title)


def write_svg(diagram: dict, path: Path | str, depth: int = 1) -> Path:
    path = Path(path)
    path.write_text(diagram_to_svg(diagram, depth), "utf-8")
    return path
