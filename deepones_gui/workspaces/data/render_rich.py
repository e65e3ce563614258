"""HTML for what a sample carries beyond one exchange: the whole conversation with tool calls
(name + pretty-printed arguments) and tool results, the tool definitions, a preference pair side
by side, a KTO label and unknown fields. Plain Python (no Qt), like ``render``."""

from __future__ import annotations

import html
import json
from collections.abc import Callable

ROLE_TITLES = {"system": "System", "developer": "Developer", "user": "User", "assistant": "Assistant",
               "tool": "Tool result"}
RICH_STYLE = """
<style>
 .call { background: #ede7f6; padding: 6px; }
 .toolres { background: #eceff1; padding: 6px; }
 .tooldef { background: #f3f3f3; padding: 4px; }
 td.side { vertical-align: top; padding: 6px; width: 50%; }
 .chosen { background: #e8f5e9; }
 .rejected { background: #ffebee; }
</style>
"""


def pretty_json(value) -> str:
    """Arguments and results are often JSON inside a string: indent them when they parse."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return html.escape(value)
    return html.escape(json.dumps(value, indent=2, ensure_ascii=False))


def _content(content, md: Callable[[str], str]) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return md(content)
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(md(part))
        elif isinstance(part, dict) and part.get("type", "text") in ("text", "input_text", "output_text"):
            parts.append(md(next((part[k] for k in ("text", "value", "content") if isinstance(part.get(k), str)), "")))
        else:
            kind = part.get("type", "part") if isinstance(part, dict) else type(part).__name__
            parts.append(f"<p class='meta'>[{html.escape(str(kind))} part]</p>")
    return "".join(parts)


def side_html(message: dict, md: Callable[[str], str]) -> str:
    """One preference side: its text (no role label: both sides are the assistant's answer)."""
    if message.get("tool_calls") or message.get("role") == "tool":
        return message_html(message, md)
    return _content(message.get("content"), md)


def message_html(message: dict, md: Callable[[str], str]) -> str:
    role = message.get("role", "?")
    title = ROLE_TITLES.get(role, role)
    out = []
    text = _content(message.get("content"), md)
    if role == "tool":
        ident = f" <span class='meta'>({html.escape(str(message['tool_call_id']))})</span>" \
            if message.get("tool_call_id") else ""
        body = pretty_json(message.get("content")) if isinstance(message.get("content"), str) else text
        return f"<div class='toolres'><b>{title}</b>{ident}<pre>{body}</pre></div>"
    if text:
        css = role if role in ("user", "assistant", "system") else "user"
        out.append(f"<div class='{css}'><b>{html.escape(title)}:</b> {text}</div>")
    for call in message.get("tool_calls") or ():
        fn = call.get("function", {})
        ident = f" <span class='meta'>({html.escape(str(call['id']))})</span>" if call.get("id") else ""
        out.append(f"<div class='call'><b>→ Calls {html.escape(str(fn.get('name', '?')))}</b>{ident}"
                   f"<pre>{pretty_json(fn.get('arguments', ''))}</pre></div>")
    return "".join(out)


def tools_html(tools: list) -> str:
    rows = []
    for tool in tools:
        fn = tool.get("function", tool) if isinstance(tool, dict) else {}
        name = html.escape(str(fn.get("name", "?")))
        desc = html.escape(str(fn.get("description", "")))
        params = fn.get("parameters")
        rows.append(f"<div class='tooldef'><b>{name}</b> — {desc}"
                    + (f"<pre>{pretty_json(params)}</pre>" if params else "") + "</div>")
    return "<h3>Tools</h3>" + "".join(rows)


def preference_html(pref: dict, md: Callable[[str], str]) -> str:
    if "kto_tag" in pref:
        label = "desirable (kto_tag true)" if pref["kto_tag"] else "undesirable (kto_tag false)"
        return f"<h3>KTO label</h3><p><b>{label}</b></p>"
    return ("<h3>Preference</h3><table width='100%' cellspacing='4'><tr>"
            f"<td class='side chosen'><b>✔ Chosen</b>{side_html(pref['chosen'], md)}</td>"
            f"<td class='side rejected'><b>✘ Rejected</b>{side_html(pref['rejected'], md)}</td>"
            "</tr></table>")


def rich_html(record: dict, md: Callable[[str], str]) -> tuple[str, bool]:
    """(HTML, whether it shows the conversation itself) for a sample's decoded ``record``."""
    parts = []
    messages = record.get("messages")
    if messages:
        parts.append("<h3>Conversation</h3>" + "".join(message_html(m, md) for m in messages))
    if record.get("preference"):
        parts.append(preference_html(record["preference"], md))
    if record.get("tools"):
        parts.append(tools_html(record["tools"]))
    if record.get("extra"):
        parts.append("<h3>Other fields (kept as they came)</h3>"
                     f"<pre>{pretty_json(record['extra'])}</pre>")
    return (RICH_STYLE + "".join(parts)) if parts else "", bool(messages)
