"""Local HTTP servers for what cannot run here (Slack, Grafana), speaking their real wire formats."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devstack.procs import free_port


class Recorder:
    """Records every request; answers like Slack's Web API, Grafana's annotations API, or a plain 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                with recorder.lock:
                    recorder.requests.append({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers), "body": body})
                status, answer = recorder.answer(self.command, self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, method: str, path: str, body) -> tuple[int, dict]:
        if path.endswith("/chat.postMessage"):
            return 200, {"ok": True, "channel": "C0AIOPS", "ts": "1800000000.000100",
                         "message": {"text": body.get("text", "")}}
        if path.endswith("/chat.update"):
            return 200, {"ok": True, "channel": "C0AIOPS", "ts": body.get("ts"), "text": body.get("text", "")}
        if path == "/api/annotations" and method == "POST":
            return 200, {"id": 17, "message": "Annotation added"}
        if path.startswith("/api/annotations/") and method == "PATCH":
            return 200, {"message": "Annotation patched"}
        return 200, {"ok": True}

    def calls(self, suffix: str = "") -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].endswith(suffix)]

    def close(self):
        self.server.shutdown()
