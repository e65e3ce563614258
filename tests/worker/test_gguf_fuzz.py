"""Hostile GGUF metadata can only make the header reader raise BadModelFile, never crash or hang the caller.

The reader is pure Python over mmap/struct (bounds-checked), so it runs in the calling process;
this fuzzes real headers (the embedded SmolLM2's and a small one written by ``gguf``) and hand-made
hostile ones.
"""

from __future__ import annotations

import ast
import random
import struct
import time
from pathlib import Path

import pytest

from backend.llm import gguf_info
from backend.llm.gguf_info import BadModelFile, GGUFInfo, read_gguf_info
from tests.chat.conftest import write_tiny_gguf

HEADER = struct.Struct("<4sIQQ")


def _kv_string(key: str, value: bytes) -> bytes:
    k = key.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<I", 8) + struct.pack("<Q", len(value)) + value


def _kv_u32(key: str, value: int) -> bytes:
    k = key.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<II", 4, value)


def _read_or_bad(path: Path) -> str:
    """'ok' or 'bad'; anything else (another exception type) fails the test."""
    try:
        assert isinstance(read_gguf_info(path), GGUFInfo)
        return "ok"
    except BadModelFile as exc:
        assert str(exc) and "\n" not in str(exc)
        return "bad"


def test_the_reader_is_pure_python():
    """What makes it safe in-process: no ctypes, no llama_cpp, nothing native beyond mmap/struct."""
    tree = ast.parse(Path(gguf_info.__file__).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "collections", "mmap", "struct", "dataclasses", "pathlib", "gguf", "backend"}


@pytest.mark.parametrize("source", ["tiny", "smollm2"])
def test_random_damage_to_real_headers_only_raises_bad_model_file(tmp_path, smollm2, source):
    if source == "tiny":
        data = write_tiny_gguf(tmp_path / "tiny.gguf").read_bytes()
        header_len = len(data) - 32 * 16 * 4 - 16 * 4   # metadata + tensor infos, before the tensor data
    else:
        header_len = 2_000_000   # the vocabulary arrays make SmolLM2's header ~1.9 MB
        with open(smollm2, "rb") as fh:
            data = fh.read(header_len + 4096)   # the rest is tensor data: a sparse tail stands in for it
    full_size = len(data) if source == "tiny" else smollm2.stat().st_size
    rng = random.Random(20261130)
    target = tmp_path / "fuzzed.gguf"
    outcomes = {"ok": 0, "bad": 0}
    slowest = 0.0
    for i in range(150 if source == "tiny" else 40):
        buf = bytearray(data)
        kind = i % 3
        if kind == 0:       # flip a few bytes anywhere in the header
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(4, header_len)] = rng.randrange(256)
        elif kind == 1:     # overwrite a 64-bit length or count with something huge or odd
            pos = rng.randrange(4, header_len - 8)
            buf[pos:pos + 8] = struct.pack("<Q", rng.choice([0, 1, 2**31, 2**63 - 1, 2**64 - 1, rng.getrandbits(64)]))
        else:               # cut the file inside the header
            buf = buf[:rng.randrange(4, header_len)]
        with open(target, "wb") as fh:
            fh.write(bytes(buf))
            if kind != 2:
                fh.truncate(full_size)   # sparse: same size as the real file, no 100 MB write per case
        started = time.monotonic()
        outcomes[_read_or_bad(target)] += 1
        slowest = max(slowest, time.monotonic() - started)
    assert outcomes["bad"] > 0
    assert slowest < 10, f"hostile headers must not make the reader crawl ({slowest:.1f} s)"


def test_hand_made_hostile_headers(tmp_path):
    cases = {
        # arrays of arrays nested far deeper than any real file: no RecursionError
        "nested": HEADER.pack(b"GGUF", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 9)
        + b"".join(struct.pack("<IQ", 9, 1) for _ in range(5000)) + struct.pack("<IQ", 4, 1) + b"\0" * 4,
        # a string that claims to be 2^63 bytes long
        "huge string": HEADER.pack(b"GGUF", 3, 0, 1) + struct.pack("<Q", 2**63) + b"key",
        # 2^64-1 metadata entries
        "kv count": HEADER.pack(b"GGUF", 3, 0, 2**64 - 1),
        # zero alignment (a division by zero in a naive reader)
        "alignment 0": HEADER.pack(b"GGUF", 3, 1, 1) + _kv_u32("general.alignment", 0)
        + struct.pack("<Q", 1) + b"t" + struct.pack("<I", 1) + struct.pack("<Q", 4) + struct.pack("<IQ", 0, 0),
        # a tensor claiming 2^32-1 dimensions
        "dims": HEADER.pack(b"GGUF", 3, 1, 0) + struct.pack("<Q", 1) + b"t" + struct.pack("<I", 2**32 - 1)
        + struct.pack("<Q", 7) * 64,
        # metadata of the wrong type where numbers are expected
        "types": HEADER.pack(b"GGUF", 3, 1, 2) + _kv_string("general.architecture", b"llama")
        + _kv_string("llama.context_length", b"not a number")
        + struct.pack("<Q", 1) + b"t" + struct.pack("<I", 1) + struct.pack("<Q", 4) + struct.pack("<IQ", 0, 0)
        + b"\0" * 64,
        # an unknown value type
        "vtype": HEADER.pack(b"GGUF", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 99),
        # invalid UTF-8 in keys and values
        "utf8": HEADER.pack(b"GGUF", 3, 0, 1) + struct.pack("<Q", 3) + b"\xff\xfe\xfd" + struct.pack("<IQ", 8, 3)
        + b"\xff\xfe\xfd",
    }
    for name, data in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.gguf"
        path.write_bytes(data)
        started = time.monotonic()
        assert _read_or_bad(path) == "bad", name
        assert time.monotonic() - started < 2, name


def test_sparse_gigabyte_claiming_2_to_63_strings_is_rejected_at_once(tmp_path):
    """Bounded by the file's real size: a sparse 1 GiB file of zeros after a string array header claiming
    2^63 entries used to be walked 8 bytes at a time (minutes)."""
    path = tmp_path / "sparse.gguf"
    with open(path, "wb") as fh:
        fh.write(HEADER.pack(b"GGUF", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 9)
                 + struct.pack("<IQ", 8, 2**63))
        fh.truncate(2**30)   # sparse: no disk space, and reading it yields zeros (empty strings)
    started = time.monotonic()
    assert _read_or_bad(path) == "bad"
    assert time.monotonic() - started < 1
