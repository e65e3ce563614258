"""A stand-in of the Hugging Face hub's file layout on loopback, for pull tests that never touch the internet.

It answers the two calls a pull makes, as the hub does:
  GET  /api/models/<org>/<name>[/revision/<rev>]   -> {"id", "sha", "siblings": [{"rfilename", "size"}]}
  HEAD/GET /<org>/<name>/resolve/<rev>/<filename>  -> the bytes, with X-Repo-Commit, ETag, Content-Length
(and Range requests, so an interrupted download resumes). Point huggingface_hub at it with ``HF_ENDPOINT``.
Unknown repos answer 404 with the hub's ``X-Error-Code: RepoNotFound``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@contextlib.contextmanager
def hub_standin(repos: dict[str, dict[str, Path]]) -> Iterator[tuple[str, list[str]]]:
    """Serve ``{repo_id: {filename: local file}}`` on 127.0.0.1; yields (endpoint URL, request log)."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args) -> None:  # keep the test output clean
            pass

        def _not_found(self, code: str) -> None:
            self.send_response(404)
            self.send_header("X-Error-Code", code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _model_info(self, repo_id: str) -> None:
            files = repos.get(repo_id)
            if files is None:
                return self._not_found("RepoNotFound")
            body = json.dumps(
                {
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": COMMIT,
                    "private": False,
                    "siblings": [{"rfilename": f, "size": p.stat().st_size} for f, p in files.items()],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _file(self, repo_id: str, filename: str, head: bool) -> None:
            path = repos.get(repo_id, {}).get(filename)
            if path is None:
                return self._not_found("EntryNotFound" if repo_id in repos else "RepoNotFound")
            data = path.read_bytes()
            start = 0
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and not head:
                start = int(rng[6:].split("-")[0] or 0)
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(data) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if not head:
                self.wfile.write(data[start:])

        def _route(self, head: bool) -> None:
            path = unquote(urlparse(self.path).path)
            requests.append(f"{self.command} {path}")
            parts = path.strip("/").split("/")
            if parts[:2] == ["api", "models"] and len(parts) >= 4:
                return self._model_info("/".join(parts[2:4]))
            if len(parts) >= 5 and parts[2] == "resolve":
                return self._file("/".join(parts[:2]), "/".join(parts[4:]), head)
            return self._not_found("RepoNotFound")

        def do_GET(self) -> None:
            self._route(head=False)

        def do_HEAD(self) -> None:
            self._route(head=True)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
