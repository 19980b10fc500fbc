"""An OpenAI-compatible provider on loopback that records what it receives (path, headers, body)
and answers the endpoints the endpoint tests need: ``/chat/completions``, ``/completions``,
``/moderations`` and ``/responses``. A request whose ``model`` starts with ``fail429`` is answered
429 (rate limited). The Authorization header is echoed in the answer's ``system_fingerprint`` so a
test can see which key a call used."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from recording_provider import LoopbackProvider


def _answer(path: str, body: dict[str, Any], auth: str) -> tuple[int, dict[str, Any]]:
    model = str(body.get("model", ""))
    if model.startswith("fail429"):
        return 429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": None}}
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    if path.endswith("/chat/completions"):
        return 200, {"id": "chatcmpl-ep", "object": "chat.completion", "created": 1, "model": model,
                     "system_fingerprint": auth,
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "chat ok"},
                                  "finish_reason": "stop"}], "usage": usage}
    if path.endswith("/completions"):
        return 200, {"id": "cmpl-ep", "object": "text_completion", "created": 1, "model": model,
                     "system_fingerprint": auth,
                     "choices": [{"index": 0, "text": f"echo: {body.get('prompt')}", "logprobs": None,
                                  "finish_reason": "stop"}], "usage": usage}
    if path.endswith("/moderations"):
        return 200, {"id": "modr-ep", "model": model or "omni-moderation-latest",
                     "results": [{"flagged": False, "categories": {"violence": False},
                                  "category_scores": {"violence": 0.01},
                                  "category_applied_input_types": {"violence": ["text"]}}]}
    if path.endswith("/responses"):
        return 200, {"id": "resp-ep", "object": "response", "created_at": 1, "status": "completed",
                     "model": model, "output": [{"type": "message", "id": "msg-ep", "status": "completed",
                                                 "role": "assistant",
                                                 "content": [{"type": "output_text", "text": "responses ok",
                                                              "annotations": []}]}],
                     "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}
    return 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error", "code": None}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the base class's name
        pass

    def do_POST(self) -> None:  # http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        auth = self.headers.get("Authorization", "")
        self.server.owner.requests.append({"path": self.path, "authorization": auth, "body": body})
        status, answer = _answer(self.path, body, auth)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class EndpointProvider(LoopbackProvider):
    """The provider, serving on 127.0.0.1 while used as a context manager; :attr:`requests` holds
    ``{"path", "authorization", "body"}`` of each request."""

    def __init__(self) -> None:
        super().__init__(_Handler)
