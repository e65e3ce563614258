"""JSON text without importing :mod:`json` (which pulls in :mod:`re`: ~5-10 ms of the supervisor's
start-up, on the job's critical path). Writes what ``json.loads`` reads back identically for the
supervisor's data: str, int, float (NaN/Infinity as json writes them), bool, None, lists, dicts.
"""

from __future__ import annotations

_CONTROL = {i: f"\\u{i:04x}" for i in range(32)}
_CONTROL.update({ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r"})


def dumps(obj) -> str:
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(int(obj))
    if isinstance(obj, float):
        if obj != obj:
            return "NaN"
        if obj in (float("inf"), float("-inf")):
            return "Infinity" if obj > 0 else "-Infinity"
        return repr(obj)
    if isinstance(obj, str):
        return '"' + obj.replace("\\", "\\\\").replace('"', '\\"').translate(_CONTROL) + '"'
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{dumps(str(k))}: {dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ", ".join(dumps(v) for v in obj) + "]"
    return dumps(str(obj))
