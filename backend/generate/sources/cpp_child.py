"""Child process: classes, structs and functions of C++/CUDA files through tree-sitter.

Run as ``python -I cpp_child.py MEMORY_MB CPU_S`` by :mod:`.repo` with a JSON list of
``{"path", "file", "language"}`` on stdin; prints ``{"units": [...], "problems": [...]}``. The
grammars are native code, so a hostile file can at worst take this process down.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_limits import apply_limits

MAX_SOURCE_CHARS = 20_000
_CLASS_TYPES = ("class_specifier", "struct_specifier")
_WRAPPERS = (
    "pointer_declarator",
    "reference_declarator",
    "function_declarator",
    "parenthesized_declarator",
    "attributed_declarator",
)


def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _function_name(node):
    """The node naming a function definition (identifier, ``A::f``, ``~A``, ``operator+``)."""
    decl = node.child_by_field_name("declarator")
    while decl is not None and decl.type in _WRAPPERS:
        decl = decl.child_by_field_name("declarator")
    return decl


def _comment_before(node) -> str:
    lines = []
    prev = node.prev_sibling
    while (
        prev is not None
        and prev.type == "comment"
        and node.start_point[0] - prev.end_point[0] <= 1 + len(lines)
    ):
        lines.insert(0, _text(prev))
        prev = prev.prev_sibling
    out = []
    for block in lines:
        for line in block.splitlines():
            line = (
                line.strip().removeprefix("/**").removeprefix("/*").removesuffix("*/").lstrip("/").lstrip("*")
            )
            out.append(line.strip())
    return "\n".join(x for x in out if x)


def units_of(tree, file: str, language: str) -> list:
    units = []

    def visit(node, scope: list) -> None:
        for child in node.children:
            kind = child.type
            target = child.children[-1] if kind == "template_declaration" and child.children else child
            # The unit's source starts at "template <...>"; its line is the line of its name.
            if target.type in _CLASS_TYPES:
                name_node = target.child_by_field_name("name")
                body = target.child_by_field_name("body")
                if name_node is not None and body is not None:
                    name = "::".join([*scope, _text(name_node)])
                    units.append(("class", name, child, name_node))
                    visit(body, [*scope, _text(name_node)])
                    continue
            if target.type == "function_definition":
                name_node = _function_name(target)
                if name_node is not None:
                    name = _text(name_node)
                    in_class = node.type == "field_declaration_list"
                    full = "::".join([*scope, name]) if in_class else name
                    units.append(
                        ("method" if in_class or "::" in name else "function", full, child, name_node)
                    )
                continue
            if kind in (
                "namespace_definition",
                "linkage_specification",
                "declaration_list",
                "preproc_if",
                "preproc_ifdef",
                "preproc_else",
                "preproc_elif",
                "template_declaration",
            ):
                visit(child, scope)

    visit(tree.root_node, [])
    out = []
    for kind, name, node, name_node in units:
        out.append(
            {
                "kind": kind,
                "name": name,
                "file": file,
                "line": name_node.start_point[0] + 1,
                "language": language,
                "source": _text(node)[:MAX_SOURCE_CHARS],
                "docstring": _comment_before(node),
            }
        )
    return out


def main() -> int:
    apply_limits(int(sys.argv[1]), int(sys.argv[2]))
    try:
        import tree_sitter_cpp
        import tree_sitter_cuda
        from tree_sitter import Language, Parser
    except ImportError as exc:
        print(json.dumps({"error": f"tree-sitter is not installed ({exc.name})"}))
        return 0
    parsers = {
        "cpp": Parser(Language(tree_sitter_cpp.language())),
        "cuda": Parser(Language(tree_sitter_cuda.language())),
    }
    units, problems = [], []
    for item in json.load(sys.stdin):
        try:
            with open(item["path"], "rb") as fh:
                data = fh.read()
            tree = parsers[item["language"]].parse(data)
            found = units_of(tree, item["file"], item["language"])
            if tree.root_node.has_error:
                problems.append(
                    f"{item['file']}: syntax errors, {len(found)} units read from the parts that parse"
                )
            units.extend(found)
        except Exception as exc:  # noqa: BLE001 - one file's failure is reported, the rest goes on
            problems.append(f"{item['file']}: not parsed ({type(exc).__name__}: {str(exc)[:120]})")
    print(json.dumps({"units": units, "problems": problems}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
