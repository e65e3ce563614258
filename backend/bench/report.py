"""Exporting a sweep's tables: Markdown, CSV and LaTeX (booktabs), one writer per format.

A table is built once as a header plus rows of cell strings (:func:`table_cells`); the writers
only lay them out, so the three formats always agree.
"""

from __future__ import annotations

import csv
import io

from backend.bench import aggregate

FORMATS = ("md", "csv", "latex")
TABLES = ("2", "3", "errors")


def model_label(spec: str) -> str:
    """A short model name for a column: the file name of a path or replay file, the spec otherwise."""
    from backend.llm.model_spec import ModelSpec

    return ModelSpec.parse(spec).label()


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def table_cells(rows: list[dict], table: str) -> tuple[list[str], list[list[str]]]:
    if table == "2":
        header = ["Task", "Designer", "Variant", "Mean", "Best", "Worst", "Best exec (s)", "Success", "Gain"]
        body = [[r.task, model_label(r.designer), "+" if r.variant == "plus" else "base", _num(r.mean), _num(r.best),
                 _num(r.worst), _num(r.best_exec_s, 3), f"{r.succeeded}/{r.runs} ({_pct(r.success_rate)})",
                 "" if r.gain is None else f"{r.gain:+.4g}"] for r in aggregate.table2(rows)]
        return header, body
    if table == "3":
        header = ["Task", "Designer", "Most common model", "Most common improvement", "Best case", "Best score"]
        body = [[r.task, model_label(r.designer), f"{r.backbone} ({r.backbone_count})" if r.backbone else "-",
                 f"{r.improvement} ({r.improvement_count})" if r.improvement else "-", r.best_case or "-",
                 _num(r.best_score)] for r in aggregate.table3(rows)]
        return header, body
    if table == "errors":
        counts = aggregate.error_counts(rows)
        shares = aggregate.error_shares(counts)
        header = ["Designer", "Variant", "Error type", "Count", "Share"]
        body = []
        for designer in sorted(counts):
            for variant in sorted(counts[designer]):
                for err, n in sorted(counts[designer][variant].items(), key=lambda kv: (-kv[1], kv[0])):
                    body.append([model_label(designer), "+" if variant == "plus" else "base", err, str(n),
                                 _pct(shares[designer][variant][err])])
        return header, body
    raise ValueError(f"unknown table {table!r}; use one of {', '.join(TABLES)}")


def to_markdown(header: list[str], body: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in body]
    return "\n".join(lines) + "\n"


def to_csv(header: list[str], body: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return buf.getvalue()


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def to_latex(header: list[str], body: list[list[str]]) -> str:
    cols = "l" * len(header)
    lines = [f"\\begin{{tabular}}{{{cols}}}", "\\toprule",
             " & ".join(latex_escape(h) for h in header) + r" \\", "\\midrule"]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in body]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def render(rows: list[dict], table: str = "2", fmt: str = "md") -> str:
    header, body = table_cells(rows, table)
    writer = {"md": to_markdown, "csv": to_csv, "latex": to_latex}.get(fmt)
    if writer is None:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return writer(header, body)
