"""The HTML export opened in a real headless Chromium: tree and code render, nothing loads, output is text."""

from __future__ import annotations

import http.server
import re
import threading
from html.parser import HTMLParser

import pytest

from backend.traces import labels as lb
from backend.traces.export_html import write_html
from backend.traces.model import load_trace
from tests.traces.chromium import chromium_or_skip, run_chromium

# The first test of a run records the replayed sessions (real training runs: minutes on a busy box).
pytestmark = pytest.mark.timeout(1200)


class _Elements(HTMLParser):
    """Tags and the attributes that could load something, from Chromium's serialised DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.loads: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data", "poster") and value and not value.startswith("#"):
                self.loads.append(f"{tag}[{name}]={value}")

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def exported(traces_db, recorded, tmp_path):
    lb.add_labels(traces_db, [(recorded.main, recorded.implement)], "shape-mismatch", who="ann")
    lb.add_note(traces_db, recorded.main, recorded.implement, "wrong width <b>not bold</b>", who="ann")
    traces = [load_trace(traces_db, recorded.main), load_trace(traces_db, recorded.syntax)]
    return write_html(traces, tmp_path / "traces.html"), traces


def test_html_export_in_headless_chromium(exported, recorded, tmp_path):
    chromium = chromium_or_skip()
    page, traces = exported
    source = page.read_text("utf-8")
    # The file itself: a CSP that forbids every load, and no URL anywhere it could load from.
    assert "default-src 'none'" in source
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", source, re.I)
    assert not re.search(r"@import|url\(|<link\b|<script\b|<iframe\b|<img\b", source, re.I)
    out = run_chromium(chromium, page, tmp_path / "profile", "--dump-dom")
    assert out.returncode == 0, out.stderr[-2000:]
    dom = _Elements()
    dom.feed(out.stdout)
    text = "".join(dom.text)
    # The tree and the code rendered.
    assert dom.tags.count("section") >= len(traces[0].attempts) and "ul" in dom.tags and "pre" in dom.tags
    assert "Implement" in text and "Debug 1" in text and "Debug 2" in text
    assert "nn.Linear(32, 10)" in text and "mat1 and mat2 shapes cannot be multiplied" in text
    assert "shape-mismatch" in text and "wrong width <b>not bold</b>" in text
    # The program printed a script tag: it is text in the page, and no script element exists.
    assert "<script>alert(1)</script>" in text
    assert "script" not in dom.tags and "b" not in dom.tags
    assert dom.loads == []
    # Traceback frames link into the code of their attempt.
    assert re.search(rf'href="#t{recorded.main}-a{recorded.implement}-L\d+"', out.stdout)
    shot = tmp_path / "page.png"
    run_chromium(chromium, page, tmp_path / "profile2", f"--screenshot={shot}", "--window-size=1280,800")
    assert shot.is_file() and shot.stat().st_size > 20_000   # a real rendering, not a blank page


def test_csp_blocks_a_load_that_would_otherwise_happen(exported, tmp_path):
    """The control: a request the page would make is seen by a local server, and not with our CSP."""
    chromium = chromium_or_skip()
    page, _ = exported
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        probe = f'<img src="http://127.0.0.1:{server.server_port}/probe.png"></main>'
        source = page.read_text("utf-8")
        with_csp = tmp_path / "with_csp.html"
        with_csp.write_text(source.replace("</main>", probe, 1), "utf-8")
        without = tmp_path / "without_csp.html"
        without.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", source)
                           .replace("</main>", probe, 1), "utf-8")
        run_chromium(chromium, with_csp, tmp_path / "p1", "--dump-dom")
        assert hits == []
        run_chromium(chromium, without, tmp_path / "p2", "--dump-dom")
        assert hits == ["/probe.png"]
    finally:
        server.shutdown()
        server.server_close()
