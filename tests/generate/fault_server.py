"""An OpenAI-compatible chat endpoint on loopback that answers Generate's steps from a keyed replay
file, with faults on request: 429s, 5xx, garbage JSON, hangs, a refused ``response_format`` form.

The step comes from the system prompt's ``Step: <stage>`` line and the paper from its
``Paper: ...`` line; with ``tag_by_title`` the answers' questions and model names get
the title appended, so every paper makes samples of its own. Runs in a thread (``start``/``stop``)
or as a process (``python -m tests.generate.fault_server ANSWERS PORTFILE [DELAY]``).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TAGGED_KEYS = ("question", "purpose", "improves", "model")


def _tag(value, tag: str):
    if isinstance(value, dict):
        return {
            k: (f"{v} [{tag}]" if k in TAGGED_KEYS and isinstance(v, str) else _tag(v, tag))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_tag(v, tag) for v in value]
    return value


class FaultServer:
    def __init__(
        self,
        answers: Path,
        *,
        delay_s: float = 0.0,
        tag_by_title: bool = False,
        refuse_json_schema: bool = False,
    ) -> None:
        self.answers: dict[str, str] = {}
        for line in Path(answers).read_text("utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                self.answers.setdefault(record["step"], record["content"])
        self.delay_s, self.tag_by_title, self.refuse_json_schema = delay_s, tag_by_title, refuse_json_schema
        # stage -> list of faults to play, one per request of that stage: "429", "500", "garbage", "hang", "ok"
        self.faults: dict[str, list[str]] = {}
        self.hang_s = 5.0
        self.requests: Counter = Counter()  # (title, step, prompt) -> requests answered with content
        self.seen: list[tuple[str, str, str]] = []  # (title, step, what was done)
        self.formats: Counter = Counter()
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    # -- what to answer ----------------------------------------------------------------------------
    def respond(self, body: dict) -> tuple[int, dict, dict]:
        messages = body.get("messages", [])
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        user = next((m["content"] for m in messages if m["role"] == "user"), "")
        step = (re.search(r"^Step: (\S+)", system, re.M) or [None, "?"])[1]
        title = (re.search(r"^Paper: (.+)$", system, re.M) or [None, ""])[1].strip()
        fmt = (body.get("response_format") or {}).get("type", "none")
        if fmt == "json_schema" and self.refuse_json_schema:
            return 400, {"error": {"message": "response_format type json_schema is not supported"}}, {}
        with self.lock:
            self.formats[fmt] += 1
            plan = self.faults.get(step)
            fault = plan.pop(0) if plan else "ok"
            self.seen.append((title, step, fault))
        if fault == "429":
            return 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}
        if fault == "500":
            return 500, {"error": {"message": "server error"}}, {}
        if fault == "hang":
            time.sleep(self.hang_s)
        if self.delay_s:
            time.sleep(self.delay_s)
        if fault == "garbage":
            content = '{"this is": not json'
        else:
            # "pseudocode" answers are recorded per unit ("pseudocode:<file>:<name>"): any fits
            content = self.answers.get(step) or next(
                (v for k, v in self.answers.items() if k.startswith(step + ":")), "{}"
            )
            if self.tag_by_title and title:
                content = json.dumps(_tag(json.loads(content), title))
            with self.lock:
                # per request text: the two pseudocode steps of a paper are different requests
                self.requests[(title, step, hash(user))] += 1
        return (
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "m"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {
                    "prompt_tokens": len(user) // 4,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": (len(user) + len(content)) // 4,
                },
            },
            {},
        )

    # -- HTTP --------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, code: int, payload: dict, headers: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout): nothing to tell it

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "fault-model", "object": "model"}]}, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self._send(*server.respond(body))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1#fault-model"

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


if __name__ == "__main__":
    srv = FaultServer(
        Path(sys.argv[1]), delay_s=float(sys.argv[3]) if len(sys.argv) > 3 else 0.0, tag_by_title=True
    )
    url = srv.start()
    Path(sys.argv[2]).write_text(url)
    threading.Event().wait()
