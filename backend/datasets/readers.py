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
_LONE_SURROGATE = re.compile("[\udc80-\udcff]")   # undecodable bytes, as surrogateescape keeps them
LONE_SURROGATE_REASON = "invalid text: a lone UTF-16 surrogate escape (\\ud800-\\udfff)"


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
    return LONE_SURROGATE_REASON if _SURROGATE_ESCAPE.search(text) else "invalid JSON"


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
        value = _fast_loads(raw)
    except (ValueError, RecursionError):
        pass
    else:
        if _SURROGATE_ESCAPE_BYTES.search(raw) and has_lone_surrogate(value):  # the stdlib fallback accepts them
            return RecordError(LONE_SURROGATE_REASON)
        return value
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


class RestUnreadable(RecordError):
    """The rest of a file from one broken record on, which cannot be split into records with certainty;
    ``records`` is how many records it appears to hold (each counted as rejected)."""

    def __init__(self, message: str, records: int) -> None:
        super().__init__(message)
        self.records = records


_PAIRS = {"}": "{", "]": "["}
_OUTSIDE = re.compile(r'[\[\]{}"]')
_INSIDE = re.compile(r'["\\\x00-\x1f]')          # a string ends at '"'; raw control characters are not JSON
_TOKEN_END = re.compile(r"[\s,\]}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: object) -> bool:
    """True when a string in ``value`` (keys too) holds a UTF-16 surrogate that is not half of a pair:
    such text cannot be stored as UTF-8. Iterative, so any nesting is fine."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class JsonStreamReader(RecordReader):
    """A JSON array of records, or records written one after another (pretty-printed ones too).

    Good records decode at C speed. After a broken one the reader resynchronises only where it can prove
    the broken record ended: its brackets pair up ('}' closes '{', ']' closes '['), none of its strings runs
    over a line break (JSON forbids raw line breaks in strings, so one would mean its quotes are off), and
    what follows is what the container expects next (',' or ']' in an array; a new record or the end in a
    stream). Otherwise the rest of the file is rejected as one line that says about how many records it
    held, so nothing vanishes silently and nothing inside a broken record is imported as a record.
    """

    unit = "line"
    _WS = re.compile(r"[\s,]*")
    _SPACE = re.compile(r"\s*")

    def __iter__(self) -> Iterator[tuple[int, object]]:
        self._decoder = json.JSONDecoder()
        self._incremental = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        with open(self.path, "rb") as fh:
            self._fh = fh
            self.buf, self.pos, self.line, self.eof, self._first = "", 0, 1, False, True
            in_array = False
            self._fill(0)
            while True:
                self.pos = self._WS.match(self.buf, self.pos).end()
                if self.pos >= len(self.buf):
                    if self.eof:
                        return
                    self._fill(self.pos)
                    continue
                ch = self.buf[self.pos]
                if ch == "[" and not in_array:
                    in_array = True
                    self.pos += 1
                    continue
                if ch == "]" and in_array:
                    in_array = False
                    self.pos += 1
                    continue
                start_line = self.line + self.buf.count("\n", 0, self.pos)
                value, end = self._decode()
                if end is None:  # not a complete value here: find where the element ends by its structure
                    kind, detail = self._extent()
                    if kind == "end":
                        value, end = self._decode(complete=True)
                        if end is None or end != detail:
                            value = self._reason(detail)
                            proven, end = self._followed_by_boundary(detail, in_array)
                            if not proven:
                                yield start_line, self._rest(start_line, "its end cannot be told apart")
                                return
                    elif kind == "large":
                        yield start_line, RecordError(
                            f"record is longer than {MAX_ELEMENT_CHARS // 2**20} MB; skipped")
                        self.pos = detail
                        continue
                    else:
                        yield start_line, self._rest(start_line, detail)
                        return
                if isinstance(value, RecordError):
                    yield start_line, value
                elif _LONE_SURROGATE.search(self.buf, self.pos, end):
                    yield start_line, RecordError("invalid UTF-8 inside this record")
                elif _SURROGATE_ESCAPE.search(self.buf, self.pos, end) and has_lone_surrogate(value):
                    yield start_line, RecordError(LONE_SURROGATE_REASON)
                else:
                    yield start_line, value
                self.pos = end

    # -- buffer ---------------------------------------------------------------------------------------
    def _fill(self, keep_from: int) -> int:
        """Drop the buffer before ``keep_from``, read one more chunk; returns how far indices moved."""
        self.line += self.buf.count("\n", 0, keep_from)
        self.buf = self.buf[keep_from:]
        self.pos = max(0, self.pos - keep_from)
        chunk = self._fh.read(CHUNK)
        self.bytes_done = self._fh.tell()
        if self._first and chunk.startswith(BOM):
            chunk = chunk[len(BOM):]
        self._first = False
        if not chunk:
            self.eof = True
        self.buf += self._incremental.decode(chunk, final=not chunk)
        return keep_from

    def _decode(self, complete: bool = False) -> tuple[object, int | None]:
        """The value at ``pos`` and its end, or (None, None) when it does not decode (yet)."""
        try:
            value, end = self._decoder.raw_decode(self.buf, self.pos)
        except (json.JSONDecodeError, RecursionError):
            return None, None
        if end >= len(self.buf) and not self.eof and not complete:   # a number cut by the chunk boundary
            return None, None
        return value, end

    def _reason(self, end: int) -> RecordError:
        text = self.buf[self.pos:end]
        reason = json_error_reason(text)
        return RecordError(reason if reason != "invalid JSON" else "invalid JSON: not a single value")

    # -- structure ------------------------------------------------------------------------------------
    def _extent(self) -> tuple[str, object]:
        """Where the element at ``pos`` ends, judged by brackets and strings alone: ("end", index),
        ("large", index) for one over MAX_ELEMENT_CHARS (its text is dropped while scanning, so memory
        stays bounded), or ("broken", why its end cannot be proven)."""
        i, start, large = self.pos, self.pos, False
        if self.buf[i] not in '{["':
            if self.buf[i] in "}]":
                return "broken", f"an unexpected '{self.buf[i]}'"
            while True:   # a bare token (a misspelt literal, a number): up to the next delimiter
                m = _TOKEN_END.search(self.buf, i)
                if m:
                    return "end", m.start()
                if self.eof:
                    return "end", len(self.buf)
                if len(self.buf) - start > MAX_ELEMENT_CHARS:
                    return "broken", "an over-long bare token"
                i -= self._fill(self.pos)
                start = self.pos
        stack: list[str] = []
        in_string = False
        while True:
            m = (_INSIDE if in_string else _OUTSIDE).search(self.buf, i)
            if m is None or (in_string and m.group() == "\\" and m.end() >= len(self.buf)):
                if self.eof:
                    return "broken", "the file ends inside this record"
                if not large and len(self.buf) - start > MAX_ELEMENT_CHARS:
                    large = True   # from here on the scanned text is dropped at each read
                keep = (m.start() if m else len(self.buf)) if large else self.pos
                i = max(0, i - self._fill(keep))
                if not large:
                    start = self.pos
                continue
            c = m.group()
            i = m.end()
            if in_string:
                if c == '"':
                    in_string = False
                elif c == "\\":
                    i += 1   # the escaped character, whatever it is
                else:
                    return "broken", "a string runs over a line break"
            elif c == '"':
                in_string = True
            elif c in "{[":
                stack.append(c)
            elif not stack or stack.pop() != _PAIRS[c]:
                return "broken", f"a '{c}' that closes nothing"
            if not in_string and not stack:
                return ("large" if large else "end"), i
            if not large and i - start > MAX_ELEMENT_CHARS:
                large = True   # from here on the scanned text is dropped at each read

    def _followed_by_boundary(self, end: int, in_array: bool) -> tuple[bool, int]:
        """Whether what follows a broken element is what its container expects next; and the element's
        end (indices move when more is read)."""
        while True:
            j = self._SPACE.match(self.buf, end).end()
            if j < len(self.buf):
                return self.buf[j] in (",]" if in_array else ",{["), end
            if self.eof:
                return True, end
            end -= self._fill(self.pos)

    def _rest(self, start_line: int, why: str) -> RecordError:
        """Reject everything from ``pos`` on, counting the records it seems to hold: lines that open an
        object at the broken record's own indentation (how pretty-printers and JSONL lay records out),
        or, for records sharing one line, each '{' after a ','."""
        line_start = self.buf.rfind("\n", 0, self.pos) + 1
        indent = self.buf[line_start:self.pos]
        own_line = indent.strip() == ""
        pattern = re.compile("\n" + re.escape(indent) + r"\{") if own_line else re.compile(r",\s*\{")
        overlap = len(indent) + 2 if own_line else 256
        count, scan_from = 1, self.pos + 1
        while True:
            last_end = scan_from
            for m in pattern.finditer(self.buf, scan_from):
                count += 1
                last_end = m.end()
            if self.eof:
                break
            # a match cut by the read boundary is counted next time; whole ones never twice
            keep = max(last_end, len(self.buf) - overlap)
            self._fill(keep)
            scan_from = 0
        if count == 1 and why == "the file ends inside this record":
            return RecordError("invalid JSON (truncated record?): the file ends inside this record")
        return RestUnreadable(
            f"the rest of the file from line {start_line:,} could not be read ({why}): "
            f"{count:,} record{'s' if count != 1 else ''} not imported", count)


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
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return JsonLinesReader(path)  # one record a line, even when the first line is an array
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
