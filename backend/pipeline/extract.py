"""Reading model answers: the program in a response, its syntax, a debug-log line, hyperparameters.

Models wrap code in several fenced blocks, forget the fences, cut an answer off mid-block or put
prose around the code; extraction copes with each, and never executes anything.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.#-]*)[^\n]*$", re.MULTILINE)
# A hyperparameters answer with no value the parser could read: the step is done (the final run falls
# back to the program's own defaults) but must not look like a clean success with an empty table.
NO_HYPERPARAMETERS = "NoHyperparameters"
PYTHON_LANGS = {"", "python", "py", "python3", "py3", "pytorch", "torch", "ipython"}
_CODE_START = re.compile(
    r"^(import |from \S+ import |def |class |@|#|if __name__|[A-Za-z_][\w.]*\s*(=|\+=|\()|for |while |with |try:|print\()"
)


@dataclass
class CodeBlock:
    lang: str
    text: str
    closed: bool
    start: int = 0   # where the opening fence starts in the answer
    end: int = 0     # just past the closing fence's line (the answer's end for an unclosed block)


def fenced_blocks(text: str) -> list[CodeBlock]:
    """Every fenced block, in order; an unclosed last block (a cut-off answer) runs to the end.

    The one fence reader of the app: the pipeline's code extraction and Chat's Markdown view
    (whose "-> Design" sends a block) both use it, so they agree on what a block is.
    """
    blocks: list[CodeBlock] = []
    pos = 0
    while True:
        opening = _FENCE.search(text, pos)
        if not opening:
            break
        fence, lang = opening.group(1), opening.group(2).lower()
        body_start = opening.end() + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = closing.search(text, body_start)
        if end is not None and lang in PYTHON_LANGS:
            end = _python_block_end(text, body_start, closing, end)
        if end is None:
            blocks.append(CodeBlock(lang, text[body_start:], closed=False, start=opening.start(), end=len(text)))
            break
        stop = end.end() + (1 if text.startswith("\n", end.end()) else 0)
        blocks.append(CodeBlock(lang, text[body_start:end.start()], closed=True, start=opening.start(), end=stop))
        pos = end.end()
    return blocks


def _python_block_end(text: str, body_start: int, closing: re.Pattern, first: re.Match) -> re.Match:
    """The fence that really closes a python block: a program may hold a fence itself (a docstring or
    a string with a Markdown example), which would otherwise cut the program at that line. When the
    text up to the first closing fence does not parse but the text up to a later one does, the later
    one closes it; otherwise the first (a broken program stays broken, for the debug loop)."""
    if parses(text[body_start:first.start()]):
        return first
    for later in closing.finditer(text, first.end()):
        if parses(text[body_start:later.start()]):
            return later
    return first


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _looks_like_code(line: str) -> bool:
    if not line.strip() or line.startswith((" ", "\t")) or line.lstrip().startswith((")", "]", "}")):
        return True
    return bool(_CODE_START.match(line)) or parses(line)


def _strip_prose(text: str) -> str:
    """No fences: drop prose lines before the first code-looking line and after the last one."""
    lines = text.strip("\n").splitlines()
    start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), None)
    if start is None:
        return text.strip() + "\n" if parses(text) and text.strip() else ""
    end = len(lines)
    while end > start + 1 and not _looks_like_code(lines[end - 1]):
        end -= 1
    return "\n".join(lines[start:end]).strip("\n") + "\n"


def extract_code(response: str) -> str:
    """The program in a model response ('' if there is none).

    Picks the python-looking fenced blocks; when there are several, the block that writes
    ``metric.log`` wins (the whole program), else the blocks joined in order if that parses (one
    program split up), else the longest complete one. Without fences, prose is stripped.
    """
    blocks = [b for b in fenced_blocks(response) if b.lang in PYTHON_LANGS and b.text.strip()]
    if not blocks:
        if "```" in response or "~~~" in response:
            # Only non-python blocks (bash, text ...): no program here.
            others = fenced_blocks(response)
            if others:
                return ""
        return _strip_prose(response)
    if len(blocks) == 1:
        return _dedent_block(blocks[0].text)
    texts = [_dedent_block(b.text) for b in blocks]
    # A block that writes metric.log is the whole program; a later "usage" snippet is not.
    writers = [t for t in texts if "metric.log" in t and parses(t)]
    if writers:
        return max(writers, key=len)
    joined = "\n\n".join(t.rstrip("\n") for t in texts) + "\n"
    if parses(joined):
        return joined  # one program split across blocks
    complete = [t for t in texts if parses(t) and re.search(r"^\s*(import|from)\s", t, re.MULTILINE)]
    return max(complete or texts, key=len)


def fenced_program(response: str) -> str:
    """The program in an answer's fenced blocks, picked as :func:`extract_code` does; '' without fences.

    For answers that are mostly prose (a chat reply sent to Design), where unfenced text is not code.
    """
    return extract_code(response) if fenced_blocks(response) else ""


def prose_only(text: str) -> str:
    """The answer without its fenced blocks (e.g. A_I's description when C_R is passed on separately)."""
    out = text
    for block in fenced_blocks(text):
        out = out.replace(block.text, "")
    out = re.sub(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n?", "", out, flags=re.MULTILINE)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


def _dedent_block(text: str) -> str:
    import textwrap

    return textwrap.dedent(text).strip("\n") + "\n"


@dataclass
class SyntaxProblem:
    message: str
    line: int | None
    text: str

    def as_stderr(self, filename: str = "program.py") -> str:
        """The same shape Python prints, so the debug prompt and the traceback view treat it alike."""
        where = f'  File "{filename}", line {self.line}\n' if self.line else ""
        src = f"    {self.text.strip()}\n" if self.text else ""
        return f"Traceback (most recent call last):\n{where}{src}SyntaxError: {self.message}\n"


def check_syntax(code: str) -> SyntaxProblem | None:
    """``ast.parse`` the program: a syntax error goes to the debug loop without spending a run."""
    if not code.strip():
        return SyntaxProblem("the response contains no program", None, "")
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return SyntaxProblem(exc.msg, exc.lineno, exc.text or "")
    except ValueError as exc:  # e.g. null bytes
        return SyntaxProblem(str(exc), None, "")
    return None


_DEBUG_LOG = re.compile(r"^\W*debug(?:ging)?[ _-]?log\W*[:\-]\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def extract_debug_log(response: str, error_type: str | None = None) -> str:
    """The one-line debug log L_i: the "DEBUG LOG:" line, else the first prose sentence."""
    match = _DEBUG_LOG.search(response)
    if match:
        return _one_line(match.group(1))
    outside = response
    for block in fenced_blocks(response):
        outside = outside.replace(block.text, "")
    for line in outside.splitlines():
        line = line.strip().strip("`~").strip()
        if len(line) > 8 and not _CODE_START.match(line):
            return _one_line(line)
    return f"{error_type or 'Error'} -> rewrote the program"


def _one_line(text: str, limit: int = 240) -> str:
    text = " ".join(text.split()).strip("*_ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


_HP_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])?\s*\**([A-Za-z][\w \-/().]*?)\**\s*(?::|=|->|—)\s*(.+?)\s*$")


def _coerce(value: str):
    raw = value.strip().strip(",;").strip("`*").strip()
    raw = re.sub(r"\s*\(.*\)$", "", raw).strip()  # "0.001 (with warmup)" -> "0.001"
    if re.fullmatch(r"[-+]?\d+", raw.replace(",", "").replace("_", "")):
        return int(raw.replace(",", "").replace("_", ""))
    try:
        return float(raw)
    except ValueError:
        pass
    if raw.lower() in ("true", "yes"):
        return True
    if raw.lower() in ("false", "no"):
        return False
    return raw.strip("'\"")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def parse_hyperparameters(text: str) -> dict[str, object]:
    """H_O as named values from "name: value" lines, ``name = value`` code, or a JSON object."""
    for block in [*(b.text for b in fenced_blocks(text)), text]:
        start, end = block.find("{"), block.rfind("}")
        if 0 <= start < end:
            try:
                data = json.loads(block[start : end + 1])
            except ValueError:
                data = None
            if isinstance(data, dict) and data:
                return {_key(str(k)): v for k, v in data.items()}
    found: dict[str, object] = {}
    for line in text.splitlines():
        if line.strip().startswith(("```", "~~~")):
            continue
        match = _HP_LINE.match(line)
        if not match:
            continue
        name, value = match.group(1).strip(), match.group(2).strip()
        if len(name) > 40 or not value or len(value) > 120:
            continue
        found[_key(name)] = _coerce(value)
    return found


def format_hyperparameters(values: dict[str, object]) -> str:
    return "\n".join(f"- {name}: {value}" for name, value in values.items()) or "(none given)"
