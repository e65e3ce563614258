"""Sample -> HTML for the detail pane: Markdown, readable LaTeX, MCQ options, conversations.

Plain Python (no Qt) so it is easy to test; ``markdown`` is imported on first use.
"""

from __future__ import annotations

import html
import json
import re

from deepones_gui.workspaces.data.render_provenance import provenance_html
from deepones_gui.workspaces.data.render_rich import rich_html

_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ",
    "sigma": "σ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
_SYMBOLS = {
    "cdot": "·", "times": "×", "odot": "⊙", "otimes": "⊗", "oplus": "⊕", "sum": "∑", "prod": "∏", "int": "∫",
    "in": "∈", "notin": "∉", "sim": "∼", "approx": "≈", "neq": "≠", "ne": "≠", "leq": "≤", "le": "≤",
    "geq": "≥", "ge": "≥", "infty": "∞", "partial": "∂", "nabla": "∇", "leftarrow": "←", "rightarrow": "→",
    "to": "→", "Rightarrow": "⇒", "mapsto": "↦", "top": "⊤", "|": "‖", "dots": "…", "ldots": "…", "cdots": "⋯",
    "forall": "∀", "exists": "∃", "log": "log", "exp": "exp", "max": "max", "min": "min", "cos": "cos",
    "sin": "sin", "quad": "\u2003", "qquad": "\u2003\u2003", ",": "\u2009", ";": "\u2005", "!": "",
    "left": "", "right": "", "big": "", "Big": "", "lVert": "‖", "rVert": "‖", "mid": "|", "circ": "∘",
}
_ACCENTS = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304", "vec": "\u20d7", "dot": "\u0307"}
_BLACKBOARD = {"E": "𝔼", "R": "ℝ", "N": "ℕ", "Z": "ℤ", "P": "ℙ"}
_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<![\\\w$])\$([^$\n]+?)\$(?!\w)", re.S)


def _group(tex: str, start: int) -> tuple[str, int]:
    """The {...} group (or single token) starting at ``start``; returns (content, end)."""
    while start < len(tex) and tex[start] == " ":
        start += 1
    if start >= len(tex):
        return "", start
    if tex[start] != "{":
        if tex[start] == "\\":
            m = re.match(r"\\[A-Za-z]+", tex[start:])
            if m:
                return m.group(0), start + len(m.group(0))
        return tex[start], start + 1
    depth = 0
    for i in range(start, len(tex)):
        if tex[i] == "{":
            depth += 1
        elif tex[i] == "}":
            depth -= 1
            if depth == 0:
                return tex[start + 1:i], i + 1
    return tex[start + 1:], len(tex)


def latex_to_html(tex: str) -> str:
    """Readable (not typeset) LaTeX: Greek and symbols as Unicode, fractions, roots, sub/superscripts."""
    out: list[str] = []
    i = 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name = m.group(1) if m else ""
            i += len(m.group(0)) if m else 1
            if name == "frac":
                num, i = _group(tex, i)
                den, i = _group(tex, i)
                out.append(f"({latex_to_html(num)})⁄({latex_to_html(den)})")
            elif name == "sqrt":
                arg, i = _group(tex, i)
                out.append(f"√({latex_to_html(arg)})")
            elif name in ("mathrm", "text", "operatorname", "mathbf", "mathit", "boldsymbol", "textbf"):
                arg, i = _group(tex, i)
                inner = latex_to_html(arg)
                out.append(f"<b>{inner}</b>" if name in ("mathbf", "boldsymbol", "textbf") else inner)
            elif name in ("mathbb", "mathcal"):
                arg, i = _group(tex, i)
                out.append(_BLACKBOARD.get(arg, arg) if name == "mathbb" else f"<i>{html.escape(arg)}</i>")
            elif name in _ACCENTS:
                arg, i = _group(tex, i)
                out.append(latex_to_html(arg) + _ACCENTS[name])
            elif name in ("tfrac", "dfrac"):
                num, i = _group(tex, i)
                den, i = _group(tex, i)
                out.append(f"({latex_to_html(num)})⁄({latex_to_html(den)})")
            elif name in _GREEK:
                out.append(_GREEK[name])
            elif name in _SYMBOLS:
                out.append(_SYMBOLS[name])
            elif name in "{}":
                out.append(name)
            else:
                out.append(html.escape(name))
        elif ch in "^_":
            arg, i = _group(tex, i + 1)
            tag = "sup" if ch == "^" else "sub"
            out.append(f"<{tag}>{latex_to_html(arg)}</{tag}>")
        elif ch in "{}":
            i += 1
        else:
            out.append(html.escape(ch))
            i += 1
    return "".join(out)


def markdown_html(text: str) -> str:
    """Markdown with math kept out of Markdown's way (underscores in LaTeX are not emphasis)."""
    import markdown  # ~40 ms: only when the first sample is shown

    maths: list[str] = []

    def stash(m: re.Match) -> str:
        display = m.group(1) is not None or m.group(2) is not None
        tex = m.group(1) or m.group(2) or m.group(3) or ""
        body = latex_to_html(tex.strip())
        maths.append(f"<div class='math'>{body}</div>" if display else f"<span class='math'>{body}</span>")
        return f"\x00MATH{len(maths) - 1}\x00"

    protected = _MATH.sub(stash, text)
    rendered = markdown.markdown(protected, extensions=["fenced_code", "tables", "sane_lists"])
    return re.sub(r"\x00MATH(\d+)\x00", lambda m: maths[int(m.group(1))], rendered)


STYLE = """
<style>
 body { font-size: 10.5pt; }
 .meta { color: #666; }
 .chip { background: #eef1f6; color: #334; padding: 1px 6px; }
 .math { font-family: 'DejaVu Serif', 'Cambria Math', serif; font-style: italic; color: #1a237e; }
 div.math { margin: 6px 18px; font-size: 11.5pt; }
 h3 { margin: 12px 0 4px 0; color: #37474f; }
 .user { background: #f1f5fb; padding: 6px; }
 .assistant { background: #f6f8f3; padding: 6px; }
 .system { background: #fff8e1; padding: 6px; color: #5d4037; }
 .correct { color: #1b5e20; font-weight: bold; }
 .option { color: #333; }
 pre { background: #f5f5f5; padding: 6px; }
</style>
"""

STATUS_COLOURS = {"accepted": "#2e7d32", "rejected": "#c62828", "needs-fix": "#b26a00", "unreviewed": "#607d8b",
                  "generated": "#5e35b1"}


_TAG = re.compile(r"(<[^>]+>)")


def highlight_words(html_text: str, words: list[str]) -> str:
    """Mark search words (and words they prefix) in rendered HTML, touching text only, never tags."""
    words = [w for w in words if w]
    if not words:
        return html_text
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*", re.I)
    parts = _TAG.split(html_text)
    for i in range(0, len(parts), 2):  # even items are text between tags
        parts[i] = pattern.sub(lambda m: f"<span style='background:#fff176'>{m.group(0)}</span>", parts[i])
    return "".join(parts)


def sample_html(s: dict, highlight: list[str] | None = None) -> str:
    esc = html.escape
    status = s.get("status", "unreviewed")
    chips = " ".join(f"<span class='chip'>{esc(v)}</span>" for v in (s["kind"], s["category"] or "no category") if v)
    source = f"{esc(s.get('source_file') or '')}:{s.get('source_line') or ''}" if s.get("source_file") else "—"
    parts = [
        STYLE,
        f"<p>{chips} &nbsp; <b style='color:{STATUS_COLOURS.get(status, '#333')}'>{esc(status)}</b>"
        f" &nbsp; <span class='meta'>#{s['id']} · {esc(s.get('dataset') or '')}</span></p>",
    ]
    record = json.loads(s["record"]) if s.get("record") else {}
    rich, shows_conversation = rich_html(record, markdown_html)
    pref = record.get("preference") or {}
    if s.get("system") and (not shows_conversation or record.get("layout", {}).get("system_field")):
        parts.append(f"<h3>System</h3><div class='system'>{esc(s['system'])}</div>")
    history = json.loads(s["history"]) if s.get("history") and not shows_conversation else []
    if history:
        parts.append("<h3>Conversation so far</h3>")
        for user, assistant in history:
            parts.append(f"<p class='user'><b>User:</b> {markdown_html(user)}</p>")
            parts.append(f"<p class='assistant'><b>Assistant:</b> {markdown_html(assistant)}</p>")
    if s["kind"] == "text":
        parts.append(f"<h3>Text</h3>{markdown_html(s['output'])}")
    elif not shows_conversation:
        parts.append(f"<h3>{'Question' if s['kind'] == 'mcq' else 'Instruction'}</h3>{markdown_html(s['instruction'])}")
    if s["kind"] == "mcq" and s.get("options"):
        options = json.loads(s["options"])
        parts.append("<h3>Options</h3><table cellspacing='4'>")
        for letter, text in options.items():
            if letter == s.get("answer"):
                parts.append(f"<tr><td class='correct'>✔ {letter}.</td><td class='correct'>{markdown_html(text)}</td>"
                             "<td class='correct'>correct</td></tr>")
            else:
                parts.append(f"<tr><td class='option'>&nbsp;&nbsp;{letter}.</td><td>{markdown_html(text)}</td><td></td></tr>")
        parts.append("</table>")
    elif s["kind"] != "text" and not shows_conversation:
        if s.get("input"):
            parts.append(f"<h3>Input</h3>{markdown_html(s['input'])}")
        if "chosen" not in pref:
            parts.append(f"<h3>Answer</h3>{markdown_html(s['output'])}")
    parts.append(rich)
    if s.get("tags"):
        parts.append("<p><b>Tags:</b> " + " ".join(f"<span class='chip'>{esc(t)}</span>" for t in s["tags"]) + "</p>")
    if s.get("note"):
        parts.append(f"<p><b>Note:</b> {esc(s['note'])}</p>")
    parts.append(provenance_html(s.get("provenance")))
    parts.append(f"<p class='meta'>Source: {source} · hash {esc((s.get('content_hash') or '')[:12])}</p>")
    body = "".join(parts[1:])
    return parts[0] + (highlight_words(body, highlight) if highlight else body)
