"""A generated sample's provenance as HTML for the detail pane (plain Python, no Qt: easy to test).

The paper line carries a ``filter-paper:`` link: clicking it narrows Data to that paper's samples.
"""

from __future__ import annotations

import html
from urllib.parse import quote, unquote

PAPER_LINK = "filter-paper:"


def provenance_html(prov: dict | None) -> str:
    """A "Provenance" block: paper (title, id, year), section, repository file:line, model, prompt, run."""
    if not prov:
        return ""
    esc = html.escape
    paper = esc(prov.get("paper_title") or prov.get("paper_id") or "")
    year = f" ({prov['paper_year']})" if prov.get("paper_year") else ""
    link = f"{PAPER_LINK}{quote(str(prov.get('paper_id') or ''), safe='')}"
    code = ""
    if prov.get("repo_file"):
        code = esc(str(prov["repo_file"])) + (f":{prov['repo_line']}" if prov.get("repo_line") else "")
    rows = [
        (
            "Paper",
            f"{paper}{esc(year)}<br><span class='meta'>{esc(str(prov.get('paper_id') or ''))}</span>"
            f" · <a href='{link}'>filter Data by this paper</a>",
        ),
        ("Section", esc(prov.get("section") or "—")),
        ("Code", code or "—"),
        ("Generator", esc(prov.get("model") or "—")),
        ("Prompt", esc(prov.get("prompt_version") or "—")),
        ("Run", esc(f"#{prov['run_id']}") if prov.get("run_id") is not None else "—"),
    ]
    body = "".join(
        f"<tr><td class='meta' valign='top'>{name}</td><td>{value}</td></tr>" for name, value in rows
    )
    return f"<h3>Provenance</h3><table cellspacing='3'>{body}</table>"


def paper_of_link(href: str) -> str | None:
    """The paper id a ``filter-paper:`` link names, or None for any other link."""
    return unquote(href[len(PAPER_LINK) :]) if href.startswith(PAPER_LINK) else None
