"""A small OpenAI-compatible provider on loopback for the few behaviours llmux_fake_server does not
script. It answers POST .../chat/completions by the request's "model":

- ``stall*``: a stream that sends one content chunk and then stays silent until the client
  disconnects — proves that stopping a stream early really cancels the HTTP call (the model then
  appears in :attr:`RecordingProvider.disconnects`);
- ``cut*``: a stream that sends one content chunk and then resets the connection (a failure after
  content was delivered);
- anything else: a completion "Hello from <model>.".

Every request body is recorded (:attr:`RecordingProvider.requests`) so tests can check what llmux
forwarded.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional


def _chunk_event(model: str, content: str) -> bytes:
    chunk = {"id": "chatcmpl-rec", "object": "chat.completion.chunk", "created": 1, "model": model,
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": None}]}
    return f"data: {json.dumps(chunk)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # the base class's name
        pass  # quiet

    def do_POST(self) -> None:  # http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.owner.requests.append(body)
        model = str(body.get("model", ""))
        if model.startswith("stall"):
            self._stream_then_stall(model)
        elif model.startswith("cut"):
            self._stream_then_reset(model)
        else:
            self._complete(model)

    def _complete(self, model: str) -> None:
        payload = json.dumps({
            "id": "chatcmpl-rec", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"Hello from {model}."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _start_stream(self, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        event = _chunk_event(model, "Hel")
        self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.flush()

    def _stream_then_stall(self, model: str) -> None:
        self._start_stream(model)
        owner = self.server.owner
        while not owner.stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and not self.connection.recv(1024):
                owner.disconnects.append(model)
                break
        self.close_connection = True

    def _stream_then_reset(self, model: str) -> None:
        self._start_stream(model)
        # SO_LINGER 0: close() sends a RST, so the client sees a failure, not a clean end.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: "LoopbackProvider"


class LoopbackProvider:
    """A provider serving ``handler`` on 127.0.0.1 while used as a context manager; the handler
    reaches this object as ``self.server.owner`` and records into :attr:`requests`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.requests: list[Any] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.owner = self
        self._thread: Optional[threading.Thread] = None

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``http://127.0.0.1:<port>/v1``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "LoopbackProvider":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


class RecordingProvider(LoopbackProvider):
    """The provider of the behaviours above; :attr:`disconnects` lists the models of streams the
    client abandoned."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.disconnects: list[str] = []
