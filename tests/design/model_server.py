"""A tiny OpenAI-compatible model server for tests, run as a real child process.

It streams recorded answers (a replay JSONL, like ``replay:``: only what the model *says* is
recorded) word by word over Server-Sent Events, slowly enough that a test can kill the process
in the middle of an answer, as a crashed or killed model server would end.

    python -m tests.design.model_server PORT_FILE ANSWERS.jsonl [SECONDS_PER_WORD [PORT]]
"""

from __future__ import annotations

import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def serve(port_file: Path, answers: list[str], delay: float, port: int = 0) -> None:
    position = {"next": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "recorded", "object": "model"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            text = answers[min(position["next"], len(answers) - 1)]
            position["next"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in re.findall(r"\S+\s*|\s+", text):
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "recorded",
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                self._send(f"data: {json.dumps(chunk)}\n\n")
                time.sleep(delay)
            self._send("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

        def _send(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    lines = Path(sys.argv[2]).read_text("utf-8").splitlines()
    serve(Path(sys.argv[1]), [json.loads(line)["content"] for line in lines if line.strip()],
          float(sys.argv[3]) if len(sys.argv) > 3 else 0.05, int(sys.argv[4]) if len(sys.argv) > 4 else 0)
