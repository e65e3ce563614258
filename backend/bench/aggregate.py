"""The paper's tables from a sweep's rows: Table 2 (scores), Table 3 (names), Figure 7 (error shares).

Pure functions over the row dicts of :func:`backend.bench.records.results`, so tests can check
them against numbers computed by hand.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

from backend.bench.records import FINISHED


@dataclass
class Table2Row:
    task: str
    designer: str
    variant: str
    direction: str          # higher | lower is better
    runs: int               # finished runs
    succeeded: int
    success_rate: float | None
    mean: float | None      # over successful runs
    best: float | None
    worst: float | None
    best_exec_s: float | None
    best_session_id: int | None
    gain: float | None = None   # "+" rows: mean minus base mean, signed so that > 0 is better

    def to_dict(self) -> dict:
        return asdict(self)


def task_direction(task: str) -> str:
    try:
        from backend.pipeline import get_task

        return get_task(task).direction
    except Exception:  # noqa: BLE001 - a task whose plugin is gone: assume the common case
        return "higher"


def _group(rows: list[dict], *keys: str) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in keys)].append(row)
    return groups


def table2(rows: list[dict], directions: dict[str, str] | None = None) -> list[Table2Row]:
    """One row per (task, designer, variant) with the paper's Table 2 columns."""
    directions = dict(directions or {})
    out: list[Table2Row] = []
    for (task, designer, variant), group in sorted(_group(rows, "task", "designer", "variant").items()):
        direction = directions.setdefault(task, task_direction(task))
        finished = [r for r in group if r["status"] in FINISHED]
        ok = [r for r in finished if r["success"] and r["score"] is not None]
        higher = direction == "higher"
        ranked = sorted(ok, key=lambda r: r["score"], reverse=higher)
        best = ranked[0] if ranked else None
        out.append(Table2Row(
            task=task, designer=designer, variant=variant, direction=direction, runs=len(finished),
            succeeded=len(ok), success_rate=len(ok) / len(finished) if finished else None,
            mean=sum(r["score"] for r in ok) / len(ok) if ok else None,
            best=best["score"] if best else None, worst=ranked[-1]["score"] if ranked else None,
            best_exec_s=best["exec_s"] if best else None, best_session_id=best["session_id"] if best else None,
        ))
    base = {(r.task, r.designer): r for r in out if r.variant == "base"}
    for row in out:
        ref = base.get((row.task, row.designer))
        if row.variant == "plus" and ref is not None and row.mean is not None and ref.mean is not None:
            diff = row.mean - ref.mean
            row.gain = diff if row.direction == "higher" else -diff
    return out


@dataclass
class Table3Row:
    task: str
    designer: str
    backbone: str | None
    backbone_count: int
    improvement: str | None
    improvement_count: int
    best_case: str | None      # "backbone + improvement (score)" of the best run
    best_score: float | None
    best_session_id: int | None

    def to_dict(self) -> dict:
        return asdict(self)


def _most_common(values: list[str | None]) -> tuple[str | None, int]:
    # Names differ in case between answers ("ResNet-18" vs "resnet-18"): count them case-blind,
    # show the spelling seen first.
    seen: dict[str, str] = {}
    counts: Counter = Counter()
    for v in values:
        if v:
            key = v.lower()
            seen.setdefault(key, v)
            counts[key] += 1
    if not counts:
        return None, 0
    key, n = counts.most_common(1)[0]
    return seen[key], n


def table3(rows: list[dict], directions: dict[str, str] | None = None) -> list[Table3Row]:
    """Per (task, designer): most common backbone and improvement, and the best case."""
    directions = dict(directions or {})
    out = []
    for (task, designer), group in sorted(_group(rows, "task", "designer").items()):
        direction = directions.setdefault(task, task_direction(task))
        finished = [r for r in group if r["status"] in FINISHED]
        backbone, nb = _most_common([r["backbone"] for r in finished])
        improvement, ni = _most_common([r["improvement"] for r in finished if r["variant"] == "plus"])
        ok = sorted((r for r in finished if r["success"] and r["score"] is not None),
                    key=lambda r: r["score"], reverse=direction == "higher")
        best = ok[0] if ok else None
        case = None
        if best:
            case = best["backbone"] or "?"
            if best["improvement"]:
                case += f" + {best['improvement']}"
        out.append(Table3Row(task, designer, backbone, nb, improvement, ni, case,
                             best["score"] if best else None, best["session_id"] if best else None))
    return out


def error_counts(rows: list[dict]) -> dict[str, dict[str, dict[str, int]]]:
    """{designer: {variant: {error type: count}}} over every debug step of the finished runs."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for row in rows:
        if row["status"] not in FINISHED:
            continue
        bucket = out.setdefault(row["designer"], {}).setdefault(row["variant"], {})
        for err in row["error_types"]:
            bucket[err] = bucket.get(err, 0) + 1
    return out


def error_shares(counts: dict[str, dict[str, dict[str, int]]]) -> dict[str, dict[str, dict[str, float]]]:
    """The same as shares of each (designer, variant)'s errors (Figure 7)."""
    return {d: {v: ({k: n / sum(c.values()) for k, n in c.items()} if sum(c.values()) else {})
                for v, c in by_variant.items()} for d, by_variant in counts.items()}


def summary_json(sweep_id: int, rows: list[dict]) -> dict:
    """The CLI's ``--json`` line."""
    t2 = table2(rows)
    return {
        "sweep_id": sweep_id,
        "rows": [{"task": r.task, "designer": r.designer, "variant": r.variant, "runs": r.runs,
                  "succeeded": r.succeeded, "success_rate": r.success_rate, "mean": r.mean, "best": r.best,
                  "worst": r.worst, "best_exec_s": r.best_exec_s} for r in t2],
        "error_types": error_counts(rows),
    }
