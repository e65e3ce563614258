"""What a GGUF file is, read from the file header (``gguf`` package tables, no model load).

:func:`read_gguf_info` checks the file first (empty, not a GGUF at all, truncated) and raises
:class:`BadModelFile` with a message fit for the user, so a broken download or a renamed text
file never reaches llama.cpp's loader.

Hostile files are read in the calling process on purpose: the reader is pure Python (``mmap``
slices and ``struct.unpack_from``, which check bounds and raise; ``gguf`` is used only for its
enum tables), so damaged metadata can only *raise*, never crash the process, and every exception
the walk can raise becomes BadModelFile (``tests/worker/test_gguf_fuzz.py`` fuzzes the header).
Nesting depth, counts and the alignment are bounded so a hostile header cannot recurse, divide by
zero or loop for long.
"""

from __future__ import annotations

import collections
import mmap
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

from backend.llm.base import BackendError

GGUF_MAGIC = b"GGUF"


class BadModelFile(BackendError):
    """The file is not a usable GGUF model; ``str(exc)`` says what is wrong with it."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


@dataclass
class GGUFInfo:
    path: str
    size_bytes: int
    name: str = ""
    architecture: str = ""
    parameters: int = 0                 # sum of tensor elements
    quantization: str = ""              # e.g. "Q4_K_M", from general.file_type
    context_length: int = 0             # trained context
    layers: int = 0                     # block_count
    embedding_length: int = 0
    head_count: int = 0
    head_count_kv: int = 0
    key_length: int = 0                 # per-head K size (defaults to embedding_length / head_count)
    value_length: int = 0
    has_chat_template: bool = False
    chat_template: str = ""
    tensor_types: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> GGUFInfo:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def parameters_label(self) -> str:
        n = self.parameters
        for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
            if n >= scale:
                return f"{n / scale:.3g}{unit}"
        return str(n)


def check_header(path: Path) -> int:
    """Size of the file after the cheap checks (exists, non-empty, GGUF magic); raises BadModelFile."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(64)
    except FileNotFoundError:
        raise BadModelFile(f"Model file {path} does not exist.") from None
    except IsADirectoryError:
        raise BadModelFile(f"{path} is a folder, not a GGUF model file.") from None
    except OSError as exc:
        raise BadModelFile(f"Model file {path} cannot be read: {exc.strerror or exc}.") from exc
    if size == 0:
        raise BadModelFile(f"Model file {path.name} is empty (0 bytes): an interrupted download or copy? "
                           "Delete it and download it again.")
    if not head.startswith(GGUF_MAGIC):
        looks_text = all(b in b"\t\n\r" or 32 <= b < 127 for b in head[:32])
        what = "a text file" if looks_text else f"a file starting with bytes {head[:4]!r}"
        raise BadModelFile(f"{path.name} is not a GGUF model file ({what}, not 'GGUF'). "
                           "llama.cpp only loads .gguf models; convert or download a GGUF version.")
    return size


def _quant_name(file_type: int | None, tensor_types: dict[str, int]) -> str:
    import gguf

    if file_type is not None:
        try:
            name = gguf.LlamaFileType(int(file_type)).name
            return name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    # No file_type key: name it after the most common tensor type.
    return max(tensor_types, key=tensor_types.get) if tensor_types else "unknown"


_SCALAR_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                   10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
MAX_ARRAY_NESTING = 8          # real files nest arrays at most once
MAX_DIMS = 8                   # ggml tensors have at most 4 dimensions
MAX_STRINGS = 16_000_000       # entries of one string array (vocabularies have ~32k-260k)
# Anything a hostile header can make the walk raise; each becomes BadModelFile.
_PARSE_ERRORS = (struct.error, ValueError, OverflowError, MemoryError, RecursionError, IndexError, KeyError,
                 TypeError, ZeroDivisionError, UnicodeError)


class _HeaderParser:
    """A fast GGUF header walk: reads scalars and strings, *skips* big arrays (token lists).

    ``gguf.GGUFReader`` decodes every vocabulary entry into numpy views, which takes ~5 s for a
    49k-token vocabulary; listing models must be instant, so we walk the header ourselves and use
    the ``gguf`` package for its tables (value types, quantisation block sizes, file types).
    """

    def __init__(self, buf) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str):
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.unpack("<Q")
        if self.pos + n > len(self.buf):
            raise struct.error("string runs past the end of the file")
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def value(self, vtype: int, depth: int = 0):
        if depth > MAX_ARRAY_NESTING:
            raise ValueError("arrays nested too deeply")
        if vtype in _SCALAR_FORMATS:
            return self.unpack(_SCALAR_FORMATS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            item_type = self.unpack("<I")
            count = self.unpack("<Q")
            if item_type == _STRING:
                # Bounded before the walk: each string takes at least its 8-byte length, and a real
                # vocabulary has well under MAX_STRINGS entries; a sparse file claiming 2**63 strings
                # would otherwise walk its zeros 8 bytes at a time for minutes.
                if count > (len(self.buf) - self.pos) // 8 or count > MAX_STRINGS:
                    raise struct.error(f"a string array claims {count:,} entries; the file has no room for them")
                for _ in range(count):
                    self.pos += 8 + struct.unpack_from("<Q", self.buf, self.pos)[0]
            elif item_type in _SCALAR_FORMATS:
                self.pos += count * struct.calcsize(_SCALAR_FORMATS[item_type])
            else:
                if count > len(self.buf) - self.pos:  # every item takes at least one byte
                    raise struct.error("array runs past the end of the file")
                for _ in range(count):
                    self.value(item_type, depth + 1)
            if self.pos > len(self.buf):
                raise struct.error("array runs past the end of the file")
            return None  # arrays are skipped: nothing we show needs them
        raise ValueError(f"unknown GGUF value type {vtype}")


def _parse(path: Path, size: int) -> tuple[dict, list[tuple[str, int, int, int]], int]:
    """(metadata without arrays, [(tensor name, ggml type, n_elements, offset)], data start)."""
    import gguf

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        p = _HeaderParser(buf)
        p.pos = 4
        version = p.unpack("<I")
        if version < 2:
            raise BadModelFile(f"{path.name} is an old GGUF v{version} file that llama.cpp no longer loads; "
                               "download a current GGUF version of the model.")
        n_tensors = p.unpack("<Q")
        n_kv = p.unpack("<Q")
        if n_tensors > 1_000_000 or n_kv > 1_000_000:
            raise struct.error("implausible tensor/metadata counts")
        meta: dict = {}
        for _ in range(n_kv):
            key = p.string()
            meta[key] = p.value(p.unpack("<I"))
        tensors = []
        for _ in range(n_tensors):
            name = p.string()
            n_dims = p.unpack("<I")
            if n_dims > MAX_DIMS:
                raise ValueError(f"tensor {name[:40]!r} claims {n_dims} dimensions")
            n_elements = 1
            for _ in range(n_dims):
                n_elements *= p.unpack("<Q")
            ggml_type = p.unpack("<I")
            offset = p.unpack("<Q")
            tensors.append((name, ggml_type, n_elements, offset))
        alignment = int(meta.get("general.alignment") or gguf.GGUF_DEFAULT_ALIGNMENT)
        if alignment <= 0 or alignment & (alignment - 1):
            raise ValueError(f"alignment {alignment} is not a power of two")
        data_start = (p.pos + alignment - 1) // alignment * alignment
    return meta, tensors, data_start


def _tensor_bytes(ggml_type: int, n_elements: int) -> tuple[str, int]:
    import gguf

    qtype = gguf.GGMLQuantizationType(ggml_type)
    block, type_size = gguf.GGML_QUANT_SIZES[qtype]
    return qtype.name, n_elements // block * type_size


def read_gguf_info(path: Path | str) -> GGUFInfo:
    """Metadata of a GGUF file; raises :class:`BadModelFile` for empty, non-GGUF, truncated or damaged files."""
    path = Path(path)
    size = check_header(path)
    try:
        return _read(path, size)
    except BadModelFile:
        raise
    except _PARSE_ERRORS as exc:
        raise BadModelFile(f"{path.name} has a damaged or truncated GGUF header and cannot be read "
                           f"({type(exc).__name__}: {str(exc)[:120]}). Download it again.") from exc


def _read(path: Path, size: int) -> GGUFInfo:
    meta, tensors, data_start = _parse(path, size)
    if not tensors:
        raise BadModelFile(f"{path.name} is a GGUF file without any tensors: not a usable model.")
    counts: collections.Counter[str] = collections.Counter()
    params = 0
    end = data_start
    for _name, ggml_type, n_elements, offset in tensors:
        try:
            type_name, n_bytes = _tensor_bytes(ggml_type, n_elements)
        except (ValueError, KeyError):
            raise BadModelFile(f"{path.name} uses tensor type {ggml_type}, which this version does not know; "
                               "update llama-cpp-python and gguf.") from None
        params += n_elements
        counts[type_name] += 1
        end = max(end, data_start + offset + n_bytes)
    if end > size:
        raise BadModelFile(
            f"{path.name} is truncated: its tensors need {end:,} bytes but the file has {size:,} "
            f"({100 * size / end:.0f}%). An interrupted download? Download it again."
        )
    arch = str(meta.get("general.architecture") or "")
    heads = int(meta.get(f"{arch}.attention.head_count") or 0)
    embd = int(meta.get(f"{arch}.embedding_length") or 0)
    head_dim = embd // heads if heads else 0
    template = str(meta.get("tokenizer.chat_template") or "")
    return GGUFInfo(
        path=str(path),
        size_bytes=size,
        name=str(meta.get("general.name") or path.stem),
        architecture=arch,
        parameters=params,
        quantization=_quant_name(meta.get("general.file_type"), dict(counts)),
        context_length=int(meta.get(f"{arch}.context_length") or 0),
        layers=int(meta.get(f"{arch}.block_count") or 0),
        embedding_length=embd,
        head_count=heads,
        head_count_kv=int(meta.get(f"{arch}.attention.head_count_kv") or heads),
        key_length=int(meta.get(f"{arch}.attention.key_length") or head_dim),
        value_length=int(meta.get(f"{arch}.attention.value_length") or head_dim),
        has_chat_template=bool(template),
        chat_template=template,
        tensor_types=dict(counts),
    )
