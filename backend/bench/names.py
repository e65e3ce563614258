"""Backbone and improvement names for Table 3, found in a designer's answer.

The designer is asked for one line each (``Backbone: ...``, ``Improvement: ...``); the paper's
prompts phrase it "One possible model is X." / "One possible improvement is X.". When an answer
has neither, the first name from a shipped, editable list that occurs in it is used. The result
says which way the name was found ("line", "phrase", "list", or "none").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SHIPPED_LIST = Path(__file__).with_name("techniques.txt")
_LINE = {"backbone": re.compile(r"^\s*[*_#>\s-]*(?:backbone|model)\s*[*_]*\s*:\s*[*_]*\s*(.+?)\s*$", re.I | re.M),
         "improvement": re.compile(r"^\s*[*_#>\s-]*improvement\s*[*_]*\s*:\s*[*_]*\s*(.+?)\s*$", re.I | re.M)}
_PHRASE = {"backbone": re.compile(r"one possible (?:model|backbone|architecture) is (?:an? |the )?([^.\n]+)", re.I),
           "improvement": re.compile(r"one possible (?:improvement|block) is (?:an? |the )?([^.\n]+)", re.I)}
MAX_NAME = 80


@dataclass(frozen=True)
class FoundName:
    name: str | None
    source: str        # line | phrase | list | none


def user_list_path(root: Path) -> Path:
    return Path(root) / "bench" / "techniques.txt"


@lru_cache(maxsize=8)
def _parse_list(text: str) -> dict[str, list[tuple[str, re.Pattern]]]:
    """``{kind: [(canonical name, pattern of its aliases)]}``, longest alias first."""
    sections: dict[str, list[tuple[str, list[str]]]] = {"backbone": [], "improvement": []}
    kind = "backbone"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            kind = line[1:-1].strip().lower()
            sections.setdefault(kind, [])
            continue
        aliases = [a.strip() for a in line.split("|") if a.strip()]
        sections[kind].append((aliases[0], aliases))
    out: dict[str, list[tuple[str, re.Pattern]]] = {}
    for kind, entries in sections.items():
        # Longer aliases first, so "DistilBERT" wins over "BERT" and "Vision Transformer" over "Transformer".
        flat = sorted(((name, alias) for name, aliases in entries for alias in aliases), key=lambda e: -len(e[1]))
        out[kind] = [(name, re.compile(r"(?<![\w-])" + re.escape(alias) + r"(?![\w-])", re.I)) for name, alias in flat]
    return out


def technique_list(root: Path | None = None) -> str:
    """The list's text: the user's copy in the data dir when there is one, else the shipped one."""
    if root is not None:
        user = user_list_path(root)
        if user.is_file():
            return user.read_text("utf-8")
    return SHIPPED_LIST.read_text("utf-8")


def _clean(name: str) -> str:
    name = re.sub(r"[*_`]+", "", name).strip().rstrip(".:;,")
    return name[:MAX_NAME].strip()


def find_name(text: str, kind: str, names_text: str | None = None) -> FoundName:
    """The backbone (``kind="backbone"``) or improvement named in ``text``, and how it was found."""
    if not text or not text.strip():
        return FoundName(None, "none")
    line = _LINE[kind].search(text)
    if line and _clean(line.group(1)):
        return FoundName(_clean(line.group(1)), "line")
    phrase = _PHRASE[kind].search(text)
    if phrase and _clean(phrase.group(1)):
        return FoundName(_clean(phrase.group(1)), "phrase")
    patterns = _parse_list(names_text if names_text is not None else technique_list())
    best: tuple[int, str] | None = None
    for name, pattern in patterns.get(kind, []):
        hit = pattern.search(text)
        if hit and (best is None or hit.start() < best[0]):
            best = (hit.start(), name)   # the name mentioned first is the one the answer is about
    return FoundName(best[1], "list") if best else FoundName(None, "none")
