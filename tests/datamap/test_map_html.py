"""The offline HTML export in a real headless Chromium: it renders (its inline script runs), loads
nothing from any network (every request would go through a counting proxy on loopback), and a
sample whose text is markup stays text (its script never runs, its image never loads)."""

from __future__ import annotations

import http.server
import re
import threading

import pytest

from tests.traces.chromium import chromium_or_skip, run_chromium

HOSTILE = "Is this safe? </script><script>document.title='pwned'</script><img src=x onerror=\"document.title='img'\">"


# Chromium's own background services (network time, component updates) also go through the proxy;
# they are the browser's, not the page's.
BROWSER_OWN = re.compile(r"(^|[/.])(google\.com|gstatic\.com|googleapis\.com|gvt1\.com)(:\d+)?(/|$)")


def page_requests(hits: list[str]) -> list[str]:
    return [h for h in hits if not BROWSER_OWN.search(h.split("?")[0])]


@pytest.fixture
def proxy():
    """A loopback HTTP proxy that records every request it is asked for (and answers 200)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_CONNECT = do_GET  # noqa: N815 - https through a proxy

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, hits
    server.shutdown()
    server.server_close()


def test_offline_html_renders_loads_nothing_and_escapes_sample_text(store, tmp_path, proxy):
    from backend.datamap.build import build_map
    from backend.datamap.export import write_html
    from backend.datamap.points import load_points
    from backend.datasets.demo import ensure_demo
    from backend.store import transaction

    chromium = chromium_or_skip()
    ensure_demo(store)
    with transaction(store) as conn:  # the hostile sample, as if imported
        conn.execute("UPDATE samples SET instruction=? WHERE id=(SELECT min(id) FROM samples)", (HOSTILE,))
    build_map(store, engine="pca")
    page = tmp_path / "map.html"
    write_html(store, load_points(store), page)
    source = page.read_text("utf-8")
    assert (
        "default-src 'none'" in source
        and "<img src=x" not in source
        and "document.title='pwned'" in source.replace("\\u003c", "<").replace("\\u003e", ">")
    )
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", source, re.I)

    port, hits = proxy
    flags = (
        f"--proxy-server=http://127.0.0.1:{port}",
        "--proxy-bypass-list=<-loopback>",
        "--virtual-time-budget=3000",
    )
    out = run_chromium(chromium, page, tmp_path / "profile", *flags, "--dump-dom")
    assert out.returncode == 0, out.stderr[-2000:]
    dom = out.stdout
    assert "257 of 257 samples" in dom  # the inline script ran and filled the page
    assert dom.count('<div><span style="background') >= 3 or dom.count("<span style=") >= 3  # the legend
    assert "<title>DeepOnes data map</title>" in dom  # neither 'pwned' nor 'img': no sample markup ran
    assert "<img" not in dom
    assert page_requests(hits) == []  # no request, to any host

    # The control: the same browser flags do route a page's loads through the proxy.
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="http://example.invalid/probe.png"></body></html>', "utf-8")
    run_chromium(chromium, control, tmp_path / "profile2", *flags, "--dump-dom")
    assert any("probe.png" in h for h in page_requests(hits))
