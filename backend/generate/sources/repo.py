"""Repositories -> :class:`CodeUnit` lists: a local folder, a ``.zip``, or a GitHub URL (online).

Python files are read with the standard ``ast`` (classes, functions, methods with their source
and docstring); C++ and CUDA files with tree-sitter grammars (``tree_sitter_cpp``,
``tree_sitter_cuda``) in a child process, since a native parser on a hostile file must not take
the caller down. Vendored folders, huge and binary files are skipped; a file that does not
parse is reported in ``.problems`` and the rest goes on. Every unit has ``file`` (relative to
the repository root) and ``line`` (1-based, the line of its ``def``/``class``).
"""

from __future__ import annotations

import ast
import json
import os
import re
import tempfile
from pathlib import Path

from backend.generate.model import CodeUnit
from backend.generate.sources.archive import extract_zip, remove_tree
from backend.generate.sources.child import run_parser_child
from backend.generate.sources.download import cache_root, fetch_to_cache
from backend.generate.sources.errors import Problems, SourceError

_CPP_CHILD = Path(__file__).with_name("cpp_child.py")
ENV_GITHUB_ZIP_URL = "DEEPONES_GITHUB_ZIP_URL"
DEFAULT_GITHUB_ZIP_URL = "https://codeload.github.com"

PYTHON_SUFFIXES = (".py",)
CPP_SUFFIXES = {
    ".cpp": "cpp",
    ".cc": "cpp",
    ".cxx": "cpp",
    ".h": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".cu": "cuda",
    ".cuh": "cuda",
}
#: Folders that hold other people's code or build output, not the paper's implementation.
SKIPPED_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "vendor",
    "vendors",
    "third_party",
    "third-party",
    "thirdparty",
    "external",
    "externals",
    "extern",
    "deps",
    "build",
    "dist",
    "site-packages",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".eggs",
    ".mypy_cache",
    ".pytest_cache",
}
MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 5000
MAX_UNITS = 20_000
MAX_SOURCE_CHARS = 20_000
MAX_ZIP_BYTES = 512 * 1024 * 1024

_GITHUB = re.compile(
    r"^(?:https?://)?(?:www\.)?github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?(?:/tree/([^?#]+))?/?$"
)


def _skip_dir(name: str) -> bool:
    return name in SKIPPED_DIRS or name.endswith(".egg-info") or (name.startswith(".") and name != ".")


def _looks_binary(path: Path) -> bool:
    with open(path, "rb") as fh:
        return b"\x00" in fh.read(8192)


def list_code_files(root: Path, problems: list[str]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(Python files, [(C++/CUDA file, language)]) under ``root``, vendored/huge/binary ones skipped."""
    py, cpp = [], []
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(d))
        for fname in sorted(filenames):
            suffix = os.path.splitext(fname)[1].lower()
            if suffix not in PYTHON_SUFFIXES and suffix not in CPP_SUFFIXES:
                continue
            path = Path(dirpath) / fname
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                continue
            if path.stat().st_size > MAX_FILE_BYTES:
                problems.append(f"{rel}: skipped, larger than {MAX_FILE_BYTES // 1024} KiB")
                continue
            if _looks_binary(path):
                problems.append(f"{rel}: skipped, binary")
                continue
            count += 1
            if count > MAX_FILES:
                problems.append(f"stopped after {MAX_FILES} source files; the rest is not read")
                return py, cpp
            if suffix in PYTHON_SUFFIXES:
                py.append(path)
            else:
                cpp.append((path, CPP_SUFFIXES[suffix]))
    return py, cpp


def python_units(source: str, rel: str) -> list[CodeUnit]:
    """Classes, top-level functions and methods of one Python file (SyntaxError propagates)."""
    tree = ast.parse(source, filename=rel)
    lines = source.splitlines()
    units: list[CodeUnit] = []

    def unit(kind: str, name: str, node: ast.AST) -> CodeUnit:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "\n".join(lines[first - 1 : node.end_lineno or node.lineno])
        return CodeUnit(
            kind=kind,
            name=name,
            file=rel,
            line=node.lineno,
            language="python",
            source=text[:MAX_SOURCE_CHARS],
            docstring=ast.get_docstring(node) or "",
        )

    def visit(body: list[ast.stmt], scope: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                name = f"{scope}.{node.name}" if scope else node.name
                units.append(unit("class", name, node))
                visit(node.body, name)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                units.append(
                    unit(
                        "method" if scope else "function",
                        f"{scope}.{node.name}" if scope else node.name,
                        node,
                    )
                )
            elif isinstance(node, ast.If | ast.Try):  # definitions under "if TYPE_CHECKING:" / "try: import"
                visit(node.body, scope)
                visit(getattr(node, "orelse", []), scope)

    visit(tree.body, "")
    return units


def scan_folder(root: Path, *, label: str | None = None) -> Problems:
    """Every code unit under ``root`` in file/line order; ``.problems`` for what was skipped."""
    if not root.is_dir():
        raise SourceError(f"{label or root}: not a folder")
    out = Problems()
    py_files, cpp_files = list_code_files(root, out.problems)
    for path in py_files:
        rel = path.relative_to(root).as_posix()
        try:
            out.extend(python_units(path.read_text("utf-8", errors="replace"), rel))
        except SyntaxError as exc:
            out.problems.append(f"{rel}:{exc.lineno or 0}: does not parse as Python ({exc.msg})")
        except (ValueError, RecursionError, MemoryError) as exc:
            out.problems.append(f"{rel}: does not parse as Python ({type(exc).__name__})")
    if cpp_files:
        payload = json.dumps(
            [
                {"path": str(p.resolve()), "file": p.relative_to(root).as_posix(), "language": lang}
                for p, lang in cpp_files
            ]
        )
        try:
            result = run_parser_child(
                _CPP_CHILD,
                [],
                what=f"{label or root.name} (C++/CUDA)",
                stdin=payload,
                timeout_s=30.0 + 0.05 * len(cpp_files),
            )
            out.extend(CodeUnit(**u) for u in result.get("units", []))
            out.problems.extend(result.get("problems", []))
        except SourceError as exc:
            out.problems.append(f"C++/CUDA files not read: {exc}")
    out.sort(key=lambda u: (u.file, u.line))
    if len(out) > MAX_UNITS:
        out.problems.append(f"kept the first {MAX_UNITS} of {len(out)} code units")
        del out[MAX_UNITS:]
    return out


def _single_top_folder(root: Path) -> Path:
    """GitHub zips hold everything under one "repo-ref/" folder: that folder is the repository."""
    entries = [e for e in root.iterdir() if not e.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else root


def scan_zip(zip_path: Path, *, label: str | None = None) -> Problems:
    def keep(name: str, size: int) -> bool:
        # Only the files the scan reads are written out: images and data stay in the zip.
        parts = name.split("/")
        suffix = os.path.splitext(name)[1].lower()
        return (
            (suffix in PYTHON_SUFFIXES or suffix in CPP_SUFFIXES)
            and size <= MAX_FILE_BYTES
            and not any(_skip_dir(p) for p in parts[:-1])
        )

    tmp = Path(tempfile.mkdtemp(prefix="deepones-repo-"))
    try:
        extract_zip(zip_path, tmp, keep=keep, max_total=MAX_ZIP_BYTES)
        return scan_folder(_single_top_folder(tmp), label=label or zip_path.name)
    finally:
        remove_tree(tmp)


def github_zip(
    url: str, *, base_url: str | None = None, cache_dir: Path | None = None, min_interval_s: float = 1.0
) -> Path:
    """The repository zip for a GitHub URL, downloaded once into the cache (codeload layout)."""
    m = _GITHUB.match(url.strip())
    if not m:
        raise SourceError(f"{url}: not a GitHub repository URL (https://github.com/OWNER/REPO)")
    owner, repo, ref = m.group(1), m.group(2), (m.group(3) or "HEAD").strip("/")
    base = (base_url or os.environ.get(ENV_GITHUB_ZIP_URL) or DEFAULT_GITHUB_ZIP_URL).rstrip("/")
    safe_ref = re.sub(r"[^\w.-]", "_", ref)
    dest = (cache_dir or cache_root() / "repos") / owner / repo / f"{safe_ref}.zip"
    return fetch_to_cache(
        f"{base}/{owner}/{repo}/zip/{ref}",
        dest,
        what=f"GitHub {owner}/{repo}@{ref}",
        min_interval_s=min_interval_s,
    )


def is_github_url(source: str) -> bool:
    return bool(_GITHUB.match(source.strip()))


def read_repository(source: str | Path) -> Problems:
    """Code units of a folder, a ``.zip`` or a GitHub URL; ``.problems`` lists what was skipped."""
    text = str(source)
    if is_github_url(text):
        return scan_zip(github_zip(text), label=text)
    path = Path(text).expanduser()
    if path.is_dir():
        return scan_folder(path, label=text)
    if path.is_file() and path.suffix.lower() == ".zip":
        return scan_zip(path, label=text)
    if path.exists():
        raise SourceError(f"{text}: a repository is a folder, a .zip file or a GitHub URL")
    raise SourceError(f"{text}: no such folder or file")
