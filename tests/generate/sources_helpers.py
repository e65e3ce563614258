"""Helpers for the source-reader tests: the fixture paper, archives built from it, a minimal PDF,
and a loopback HTTP server that records what it was asked (arXiv and GitHub layouts)."""

from __future__ import annotations

import gzip
import io
import tarfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
HCR_PAPER = FIXTURES / "hcrbounds"
CPP_REPO = FIXTURES / "cpp_repo"


def eprint_tar_gz(folder: Path = HCR_PAPER, extra: dict[str, bytes] | None = None) -> bytes:
    """The folder as arXiv serves a multi-file e-print: a gzipped tar of its files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzipped(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"))


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(lines: list[str], *, title: str = "", lines_per_page: int = 50) -> bytes:
    """A PDF of ``lines`` of Helvetica text (``lines_per_page`` a page), written by hand."""
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[]]
    info = f"<< /Title ({_pdf_escape(title)}) /CreationDate (D:20240403120000Z) >>" if title else "<< >>"
    n_pages = len(pages)
    page_ids = [4 + 2 * i for i in range(n_pages)]  # each page is followed by its content stream
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + " ".join(f"{p} 0 R" for p in page_ids).encode()
        + b"] /Count %d >>" % n_pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, page_lines in enumerate(pages):
        ops = (
            ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
            + [f"({_pdf_escape(x)}) Tj T*" for x in page_lines]
            + ["ET"]
        )
        stream = "\n".join(ops).encode("latin-1", "replace")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (page_ids[i] + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(info.encode("latin-1"))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, len(objects), xref)
    )
    return out.getvalue()


def pdf_bomb(streams: int, stream_mb: int = 64) -> bytes:
    """A valid-looking PDF whose one page has ``streams`` content streams, each inflating to
    ``stream_mb`` MiB of spaces (under pypdf's per-stream cap, so only a memory limit stops it)."""
    comp = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    data = b"".join(comp.compress(chunk) for _ in range(stream_mb)) + comp.flush()
    kids = " ".join(f"{4 + i} 0 R" for i in range(streams)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [" + kids + b"] >>",
    ] + [b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"] * streams
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


@dataclass
class Served:
    """What a loopback server serves (path -> bytes) and what it was asked, with times."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[float, str, str]] = field(default_factory=list)  # (monotonic time, path, UA)

    def paths(self) -> list[str]:
        return [p for _t, p, _ua in self.requests]


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving ``Served.files``; 404 for anything else."""

    def __init__(self, served: Served) -> None:
        self.served = served

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.requests.append((time.monotonic(), self.path, self.headers.get("User-Agent", "")))
                body = served.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
