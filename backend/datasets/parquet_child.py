"""Read a Parquet file in a child process and stream its rows to stdout as JSON lines.

pyarrow is a C++ parser run on user files: a truncated or hostile file could crash it, and a
crash in the app's own process would take the window with it. Run as a script (it imports
nothing from the app): the first line is ``{"rows": N}``, then one JSON object per row; a file
pyarrow refuses exits 3 with the reason on stderr.
"""

from __future__ import annotations

import sys


def _default(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)   # dates, decimals, ...: their text


def main(path: str) -> int:
    try:
        import orjson

        def dumps(obj) -> bytes:
            return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except ImportError:  # pragma: no cover - orjson is a declared dependency
        import json

        def dumps(obj) -> bytes:
            return json.dumps(obj, default=_default, ensure_ascii=False).encode()

    import pyarrow.parquet as pq

    out = sys.stdout.buffer
    try:
        pf = pq.ParquetFile(path)
        out.write(dumps({"rows": pf.metadata.num_rows}) + b"\n")
        for batch in pf.iter_batches(batch_size=2048):
            out.write(b"".join(dumps(record) + b"\n" for record in batch.to_pylist()))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a bad file
        out.flush()
        print(" ".join(str(exc).split())[:300] or type(exc).__name__, file=sys.stderr)
        return 3
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
