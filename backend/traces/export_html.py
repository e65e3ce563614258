"""A trace (or a filtered set) as one self-contained HTML page for people without the app.

No network: styles are inline, there is no script, and a Content-Security-Policy of
``default-src 'none'`` forbids any load. Everything a model or a program wrote is escaped
(``html.escape``), so a program printing ``<script>`` shows it as text. Traceback lines naming
``program.py`` link to that line of the attempt's code, as in the app.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from html import escape
from pathlib import Path

from backend.pipeline.errors import traceback_frames
from backend.traces.diff import side_by_side
from backend.traces.index import OUTCOME_TITLES
from backend.traces.model import Attempt, Trace

DEBUG_LOG_LINES = 50   # per attempt, the latest of its branch's debug log
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2937;background:#f8fafc}
header{background:#1e293b;color:#f8fafc;padding:14px 24px}header h1{margin:0;font-size:20px}
main{padding:16px 24px;max-width:1400px}
.trace{background:#fff;border:1px solid #e2e8f0;border-radius:8px;margin:0 0 24px;padding:12px 18px}
.meta{color:#475569;font-size:13px}
.tree ul{list-style:none;margin:0;padding-left:18px;border-left:1px dotted #cbd5e1}
.tree>ul{padding-left:0;border:0}.tree li{margin:2px 0}
.badge{display:inline-block;border-radius:9px;padding:0 7px;font-size:12px;margin-left:4px;background:#e2e8f0}
.failed{background:#fee2e2;color:#991b1b}.succeeded,.done{background:#dcfce7;color:#166534}
.label{background:#ede9fe;color:#5b21b6}
.attempt{border-top:1px solid #e2e8f0;margin-top:14px;padding-top:8px}
.attempt:target{background:#fffbeb}
h2{font-size:17px;margin:4px 0}h3{font-size:15px;margin:12px 0 4px}h4{margin:8px 0 2px;font-size:13px;color:#334155}
pre{background:#0f172a;color:#e2e8f0;padding:8px 10px;border-radius:6px;overflow:auto;max-height:480px;
font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;margin:2px 0;white-space:pre-wrap;word-break:break-word}
pre.code span.ln{color:#64748b;display:inline-block;width:3.2em;user-select:none}
pre.code span.hit{background:#7f1d1d}pre .tb{color:#fca5a5}pre a{color:#93c5fd}
table.diff{border-collapse:collapse;width:100%;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
table.diff td{padding:0 6px;white-space:pre-wrap;vertical-align:top;border-bottom:1px solid #f1f5f9}
table.diff td.n{color:#94a3b8;width:3em;text-align:right}
tr.replace td.l,tr.delete td.l{background:#fee2e2}tr.replace td.r,tr.insert td.r{background:#dcfce7}
.note{background:#fefce8;border-left:3px solid #eab308;padding:4px 8px;margin:4px 0}
"""


def _badge(text: str, cls: str = "") -> str:
    return f'<span class="badge {escape(cls)}">{escape(text)}</span>'


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def _anchor(trace: Trace, attempt: Attempt) -> str:
    return f"t{trace.session_id}-a{attempt.id}"


def _status(a: Attempt) -> str:
    parts = [_badge(a.status, a.status)]
    if a.error_type:
        parts.append(_badge(a.error_type, "failed"))
    if a.score is not None:
        parts.append(_badge(f"score {a.score:.4g}", "succeeded"))
    parts += [_badge(lb, "label") for lb in a.labels]
    return "".join(parts)


def _tree(trace: Trace) -> str:
    """Nested lists of the attempts from the root. Iterative, with the children found once: a debug
    chain thousands of attempts deep must not hit Python's recursion limit (or cost n² lookups)."""
    kids: dict[int | None, list[Attempt]] = {}
    for a in trace.attempts:
        kids.setdefault(a.parent_id, []).append(a)
    if not kids.get(None):
        return ""
    out = ["<ul>"]
    stack = [iter(kids[None])]
    while stack:
        a = next(stack[-1], None)
        if a is None:   # this list is done: close it, and the item it hangs from
            stack.pop()
            out.append("</ul>" + ("</li>" if stack else ""))
            continue
        out.append(f'<li><a href="#{_anchor(trace, a)}">{escape(a.title)}</a>{_status(a)}')
        if kids.get(a.id):
            out.append("<ul>")
            stack.append(iter(kids[a.id]))
        else:
            out.append("</li>")
    return "".join(out)


def _code(trace: Trace, a: Attempt, hits: set[int]) -> str:
    lines = []
    for n, line in enumerate(a.code.splitlines(), 1):
        cls = ' class="hit"' if n in hits else ""
        lines.append(f'<span id="{_anchor(trace, a)}-L{n}"{cls}><span class="ln">{n}</span>{escape(line)}</span>')
    return '<pre class="code">' + "\n".join(lines) + "</pre>"


def _stderr(trace: Trace, a: Attempt) -> tuple[str, set[int]]:
    """The error output with traceback lines marked and program.py frames linked into the code."""
    frames = {f.text_line: f for f in traceback_frames(a.stderr) if f.file.endswith("program.py")}
    out, hits = [], set()
    in_tb = False
    for i, line in enumerate(a.stderr.splitlines()):
        in_tb = in_tb or line.startswith("Traceback (most recent call last)")
        text = escape(line)
        if i in frames:
            hits.add(frames[i].line)
            text = f'<a href="#{_anchor(trace, a)}-L{frames[i].line}">{text}</a>'
        out.append(f'<span class="tb">{text}</span>' if in_tb else text)
    return "<pre>" + "\n".join(out) + "</pre>", hits


def _diff(trace: Trace, a: Attempt) -> str:
    prev = trace.previous_run(a.id)
    if prev is None or not a.code:
        return ""
    rows = side_by_side(prev.code, a.code)
    if all(r.kind == "equal" for r in rows):
        return f"<h4>Code diff against {escape(prev.title)}: no change</h4>"
    body = "".join(
        f'<tr class="{r.kind}"><td class="n">{r.left_no or ""}</td><td class="l">{escape(r.left)}</td>'
        f'<td class="n">{r.right_no or ""}</td><td class="r">{escape(r.right)}</td></tr>'
        for r in rows)
    return (f'<h4>Code diff: <a href="#{_anchor(trace, prev)}">{escape(prev.title)}</a> → {escape(a.title)}</h4>'
            f'<table class="diff">{body}</table>')


def _notes(notes: list[dict]) -> str:
    return "".join(f'<div class="note">{escape(n["text"])} <span class="meta">— {escape(n.get("author") or "")}'
                   f' {_when(n.get("created_at"))}</span></div>' for n in notes)


def _attempt(trace: Trace, a: Attempt) -> str:
    parts = [f'<section class="attempt" id="{_anchor(trace, a)}"><h3>{escape(a.title)} {_status(a)}</h3>',
             f'<div class="meta">model {escape(a.model or "")} · {_when(a.created_at)}'
             + (f" · job {escape(a.job_id)}" if a.job_id else "") + "</div>", _notes(a.notes)]
    logs = trace.debug_log_so_far(a.id)
    if logs:   # the latest lines only: a long chain would repeat every line at every attempt (n² output)
        shown = logs[-DEBUG_LOG_LINES:]
        start = len(logs) - len(shown) + 1
        earlier = f'<div class="meta">{start - 1} earlier line(s) not repeated</div>' if start > 1 else ""
        parts.append(f'<h4>Debug log so far</h4>{earlier}<ol start="{start}">'
                     + "".join(f"<li>{escape(x)}</li>" for x in shown) + "</ol>")
    hits: set[int] = set()
    stderr_html = ""
    if a.stderr:
        stderr_html, hits = _stderr(trace, a)
    if a.code:
        parts.append("<h4>Code</h4>" + _code(trace, a, hits))
    if stderr_html:
        parts.append("<h4>stderr</h4>" + stderr_html)
    if a.stdout:
        parts.append(f"<h4>stdout</h4><pre>{escape(a.stdout)}</pre>")
    if not a.code and a.response:
        parts.append(f"<h4>Response</h4><pre>{escape(a.response)}</pre>")
    parts.append(_diff(trace, a))
    return "".join(parts) + "</section>"


def trace_section(trace: Trace) -> str:
    head = (f'<section class="trace" id="t{trace.session_id}"><h2>#{trace.session_id} {escape(trace.title)}'
            f' {_badge(OUTCOME_TITLES.get(trace.outcome, trace.outcome), "failed" if trace.outcome == "failed" else "")}'
            + "".join(_badge(lb, "label") for lb in trace.labels) + "</h2>"
            f'<div class="meta">task {escape(trace.task)} · designer {escape(trace.designer)} · programmer'
            f' {escape(trace.programmer)} · {_when(trace.created_at)}</div>{_notes(trace.notes)}')
    return head + f'<h3>Attempts</h3><div class="tree">{_tree(trace)}</div>' + "".join(
        _attempt(trace, a) for a in trace.attempts) + "</section>"


def render(traces: Iterable[Trace], title: str = "DeepOnes traces") -> str:
    traces = list(traces)
    toc = ""
    if len(traces) > 1:
        toc = '<section class="trace"><h2>Traces</h2><ul>' + "".join(
            f'<li><a href="#t{t.session_id}">#{t.session_id} {escape(t.title)}</a>'
            f'{_badge(OUTCOME_TITLES.get(t.outcome, t.outcome))}</li>' for t in traces) + "</ul></section>"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{escape(title)}</h1><div>{len(traces)} trace(s), exported {_when(time.time())}"
            f" from DeepOnes Studio</div></header><main>{toc}{''.join(trace_section(t) for t in traces)}</main>"
            f"</body></html>\n")


def write_html(traces: Iterable[Trace], out: Path, title: str = "DeepOnes traces") -> Path:
    from backend.traces.export_json import atomic_write

    out = Path(out)
    atomic_write(out, render(traces, title))
    return out
