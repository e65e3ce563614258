"""Containers: stream plain records out of JSONL, JSON arrays (or concatenated JSON) and Parquet.

Each reader yields ``(location, record_or_error)`` one at a time, so memory stays constant
whatever the file size; ``location`` is a 1-based line number (JSON) or row number (Parquet).
A file that cannot be read at all raises :class:`FileUnreadable` before anything is yielded.
"""

from __future__ import annotations

import codecs
import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from backend.children import python_argv
from backend.datasets.schema import RecordError

try:  # orjson is ~3x faster on the hot path; the stdlib gives the readable error messages
    import orjson

    _fast_loads = orjson.loads
except ImportError:  # pragma: no cover - optional speed-up
    _fast_loads = json.loads

BOM = codecs.BOM_UTF8
SNIFF_BYTES = 64 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024      # one JSONL line; longer ones are skipped with a reason
MAX_ELEMENT_CHARS = 16 * 1024 * 1024   # one element of a JSON array
CHUNK = 1024 * 1024
_LONE_SURROGATE = re.compile("[\udc80-\udcff]")


class FileUnreadable(Exception):
    """The file cannot be read at all; ``str(exc)`` is a one-line message for the user."""


def json_error_reason(text: str) -> str:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (truncated record?)" if exc.pos >= len(text.rstrip()) - 1 or "Unterminated" in exc.msg else ""
        return f"invalid JSON{hint}: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    return "invalid JSON"


class RecordReader:
    unit = "line"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total_bytes = path.stat().st_size
        self.bytes_done = 0

    def __iter__(self) -> Iterator[tuple[int, object]]:
        raise NotImplementedError


def decode_line(raw: bytes, first: bool = False) -> object:
    """One JSONL line as a record, a RecordError with the reason, or None for a blank line."""
    if first and raw.startswith(BOM):
        raw = raw[len(BOM):]
    raw = raw.strip()  # CR of CRLF and surrounding blanks
    if not raw:
        return None  # blank lines separate nothing: not a record, not an error
    try:
        return _fast_loads(raw)
    except (ValueError, RecursionError):
        pass
    try:  # orjson refuses invalid UTF-8 and bad JSON alike: the stdlib says which, and where
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RecordError(f"invalid UTF-8 at byte {exc.start + 1} of the line")
    return RecordError(json_error_reason(text))


class JsonLinesReader(RecordReader):
    def raw_lines(self) -> Iterator[tuple[int, bytes | RecordError]]:
        """(line number, raw line) without decoding it: the parallel importer decodes in its workers."""
        with open(self.path, "rb") as fh:
            line_no = 0
            while True:
                raw = fh.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    break
                line_no += 1
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    while True:  # drain the rest of the over-long line without holding it
                        more = fh.readline(CHUNK)
                        if not more or more.endswith(b"\n"):
                            break
                    self.bytes_done = fh.tell()
                    yield line_no, RecordError(f"line is longer than {MAX_LINE_BYTES // 2**20} MB; skipped")
                    continue
                self.bytes_done += len(raw)
                yield line_no, raw

    def line_blocks(self, block_bytes: int) -> Iterator[tuple[int, bytes | RecordError]]:
        """Whole lines in blocks of about ``block_bytes``: (number of the block's first line, its bytes),
        or a RecordError in place of one line longer than MAX_LINE_BYTES (drained, never held).

        The parallel importer's reading: a few large reads and one newline count per block instead of
        a readline per record; its workers split the lines (and skip over-long ones the same way).
        """
        with open(self.path, "rb") as fh:
            line_no, rest = 1, b""
            while True:
                data = fh.read(block_bytes)
                if not data:
                    if rest:   # a last line without its newline
                        self.bytes_done += len(rest)
                        yield line_no, rest
                    return
                buf = rest + data if rest else data
                cut = buf.rfind(b"\n") + 1
                if cut == 0:
                    rest = buf
                    if len(buf) > MAX_LINE_BYTES:   # no newline in sight: skip the line as raw_lines does
                        while True:
                            more = fh.readline(CHUNK)
                            if not more or more.endswith(b"\n"):
                                break
                        self.bytes_done = fh.tell()
                        rest = b""
                        yield line_no, RecordError(f"line is longer than {MAX_LINE_BYTES // 2**20} MB; skipped")
                        line_no += 1
                    continue
                block, rest = (buf, b"") if cut == len(buf) else (buf[:cut], buf[cut:])
                self.bytes_done += len(block)
                yield line_no, block
                line_no += block.count(b"\n")

    def __iter__(self) -> Iterator[tuple[int, object]]:
        for line_no, raw in self.raw_lines():
            value = raw if isinstance(raw, RecordError) else decode_line(raw, line_no == 1)
            if value is not None:
                yield line_no, value


class JsonStreamReader(RecordReader):
    """A JSON array of records, or records written one after another (pretty-printed ones too)."""

    unit = "line"
    _WS = re.compile(r"[\s,]*")
    _RESYNC = re.compile(r",\s*(?=\{)")

    def __iter__(self) -> Iterator[tuple[int, object]]:
        decoder = json.JSONDecoder()
        incremental = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        with open(self.path, "rb") as fh:
            buf, pos, line, eof = "", 0, 1, False
            first = True
            in_array = False

            def fill() -> None:
                nonlocal buf, pos, line, eof, first
                line += buf.count("\n", 0, pos)
                buf = buf[pos:]
                pos = 0
                chunk = fh.read(CHUNK)
                self.bytes_done = fh.tell()
                if first and chunk.startswith(BOM):
                    chunk = chunk[len(BOM):]
                first = False
                if not chunk:
                    eof = True
                buf += incremental.decode(chunk, final=not chunk)

            fill()
            while True:
                pos = self._WS.match(buf, pos).end()
                if pos >= len(buf):
                    if eof:
                        return
                    fill()
                    continue
                if buf[pos] == "[" and not in_array:
                    in_array = True
                    pos += 1
                    continue
                if buf[pos] == "]" and in_array:
                    pos += 1
                    in_array = False
                    continue
                start_line = line + buf.count("\n", 0, pos)
                try:
                    value, end = decoder.raw_decode(buf, pos)
                except (json.JSONDecodeError, RecursionError) as exc:
                    if not eof and len(buf) - pos < MAX_ELEMENT_CHARS:
                        fill()  # probably just cut by the chunk boundary
                        continue
                    reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                    at_end = isinstance(exc, json.JSONDecodeError) and (
                        exc.pos >= len(buf.rstrip()) - 1 or "Unterminated" in exc.msg)
                    hint = " (truncated record?)" if eof and at_end else ""
                    yield start_line, RecordError(f"invalid JSON{hint}: {reason}")
                    if not self._resync(fill, lambda: (buf, pos, eof)):  # noqa: B023 - reads live state
                        return
                    pos = self._resync_pos
                    continue
                if _LONE_SURROGATE.search(buf, pos, end):
                    yield start_line, RecordError("invalid UTF-8 inside this record")
                else:
                    yield start_line, value
                pos = end

    def _resync(self, fill, state) -> bool:
        """Skip to the next element that starts an object after a comma; False at end of file."""
        buf, pos, eof = state()
        search_from = pos + 1
        while True:
            match = self._RESYNC.search(buf, search_from)
            if match:
                self._resync_pos = match.end()
                return True
            if eof:
                return False
            keep = len(buf) - pos
            fill()
            buf, pos, eof = state()
            search_from = max(pos, keep - 1)


def parquet_child_command(path: Path) -> list[str]:
    """The child that reads a Parquet file (a module-level function so tests can make it crash)."""
    return python_argv("-m", "backend.datasets.parquet_child", str(path))


class ParquetReader(RecordReader):
    """Rows of a Parquet file, decoded by pyarrow in a child process (see ``parquet_child``): a
    crash there costs this file a one-line error, never the app."""

    unit = "row"

    def __iter__(self) -> Iterator[tuple[int, object]]:
        proc = subprocess.Popen(parquet_child_command(self.path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        try:
            header = proc.stdout.readline()
            try:
                total_rows = max(1, int(_fast_loads(header)["rows"]))
            except (ValueError, KeyError, TypeError):
                raise FileUnreadable(self._failure(proc, "is not a readable Parquet file")) from None
            row = 0
            for line in proc.stdout:
                row += 1
                self.bytes_done = int(self.total_bytes * min(row, total_rows) / total_rows)
                try:
                    yield row, _fast_loads(line)
                except ValueError:
                    yield row, RecordError("row could not be decoded")
            if proc.wait() != 0:
                raise FileUnreadable(self._failure(proc, f"could not be read past row {row:,}"))
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def _failure(self, proc: subprocess.Popen, what: str) -> str:
        code = proc.wait()
        reason = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"{self.path} {what}: the Parquet reader crashed ({name}); the file is damaged or hostile"
        detail = reason[-1] if reason else f"exit code {code}"
        return f"{self.path} {what} ({detail})"


def open_reader(path: Path | str, container: str = "auto") -> RecordReader:
    """The right reader for ``path``, or FileUnreadable with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise FileUnreadable(f"{path}: no such file")
    if path.is_dir():
        raise FileUnreadable(f"{path} is a folder, not a data file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise FileUnreadable(f"{path} cannot be read ({exc.strerror or exc})") from exc
    if not head:
        raise FileUnreadable(f"{path} is empty")
    if container == "parquet" or head.startswith(b"PAR1") or path.suffix.lower() == ".parquet":
        return ParquetReader(path)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileUnreadable(f"{path} is UTF-16 text; save it as UTF-8")
    body = head[len(BOM):] if head.startswith(BOM) else head
    if b"\x00" in body or _mostly_undecodable(body):
        raise FileUnreadable(f"{path} is not a text file (binary data)")
    stripped = body.lstrip()
    if not stripped:
        raise FileUnreadable(f"{path} contains only blank space, no records")
    if stripped[:1] == b"[":
        return JsonStreamReader(path)
    if path.suffix.lower() == ".json" and not _first_line_is_json(stripped):
        return JsonStreamReader(path)  # pretty-printed records one after another
    return JsonLinesReader(path)


def _mostly_undecodable(data: bytes) -> bool:
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\r\n\t\f")
    return bad > max(8, len(text) // 10) or controls > max(8, min(len(text), 4096) // 10)


def _first_line_is_json(data: bytes) -> bool:
    line = data.split(b"\n", 1)[0].strip()
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True
