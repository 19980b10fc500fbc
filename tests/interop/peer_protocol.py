"""The line protocol both interop peers speak (litellm_peer.py in a LiteLLM venv, llmux_peer.py with the
llmux binding): one JSON request per stdin line, one JSON reply per stdout line, in order.

Standard library only: each peer runs in its own interpreter and venv. Import this module first — it takes
the real stdout for the protocol and sends anything else written to fd 1 (print, logging) to stderr.

Requests are ``{"cmd": ..., "id"?: ...}``; the peer's own commands come as a ``{name: coroutine(req)}``
table, and every peer also answers ``sleep`` (``seconds``), ``ping``, ``discard`` (drop the router) and
``quit``. A reply is ``{"ok": true, ...}`` or ``{"ok": false, "error", "error_type"}`` (the message cut to
a bounded length, a Redis password of the request never in it), with the request's ``id`` and
``elapsed_s``. End of input discards the router and exits 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
import traceback
from typing import Any, Awaitable, Callable, Protocol

_protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr

MESSAGE_LIMIT = 300  # characters of an error message kept in a reply (twice that for a failed request)

Command = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class RequestError(Exception):
    """A request the peer refuses, with a message naming what is wrong."""


class Discardable(Protocol):
    def discard(self) -> None: ...


def emit(obj: dict[str, Any]) -> None:
    _protocol.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
    _protocol.flush()


def _redis_password(line: str) -> str | None:
    """The Redis password a request carries, kept out of error replies."""
    try:
        redis = json.loads(line).get("redis")
        password = redis.get("password") if isinstance(redis, dict) else None
    except (ValueError, AttributeError):
        return None
    return password if isinstance(password, str) and password else None


async def _answer(peer: Discardable, line: str, commands: dict[str, Command], ping: dict[str, Any],
                  expected_errors: tuple[type[BaseException], ...]) -> tuple[dict[str, Any], bool]:
    """One request line -> (reply, whether to stop)."""
    request_id = None
    stop = False
    try:
        try:
            req = json.loads(line)
        except json.JSONDecodeError as error:
            raise RequestError(f"not a JSON object: {error}")
        if not isinstance(req, dict):
            raise RequestError("a request is a JSON object with \"cmd\"")
        request_id = req.get("id")
        cmd = req.get("cmd")
        if cmd in commands:
            reply = await commands[cmd](req)
        elif cmd == "sleep":
            await asyncio.sleep(float(req.get("seconds", 0)))
            reply = {}
        elif cmd == "ping":
            reply = dict(ping)
        elif cmd in ("discard", "quit"):
            peer.discard()
            reply, stop = {}, cmd == "quit"
        else:
            known = ", ".join([*commands, "sleep", "ping", "discard", "quit"])
            raise RequestError(f"unknown cmd {cmd!r} ({known})")
        reply = {"ok": True, **reply}
    except Exception as error:  # noqa: BLE001 - every failure is answered, the peer keeps going
        if not isinstance(error, (RequestError, *expected_errors)):
            traceback.print_exc(file=sys.stderr)
        message = str(error)[:MESSAGE_LIMIT * 2]
        password = _redis_password(line)
        if password:
            message = message.replace(password, "***")
        reply = {"ok": False, "error": message, "error_type": type(error).__name__}
    if request_id is not None:
        reply["id"] = request_id
    return reply, stop


def exit_now() -> None:
    """Exit 0 without the interpreter's teardown (LiteLLM's atexit work takes seconds). Writes a router still
    had queued in tasks are dropped, as when a worker is stopped: ``sleep`` first to let them land."""
    _protocol.flush()
    sys.stderr.flush()
    os._exit(0)


async def serve(peer: Discardable, ready: dict[str, Any], commands: dict[str, Command], ping: dict[str, Any],
                expected_errors: tuple[type[BaseException], ...] = ()) -> None:
    """Announces ``ready`` and answers requests until ``quit`` or the end of input. Errors of
    ``expected_errors`` (and RequestError) are answered without a traceback on stderr."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    # A thread reads stdin so that the loop keeps running (the routers' background tasks) between requests.
    def read_stdin() -> None:
        for raw in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, raw)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_stdin, name="stdin", daemon=True).start()
    emit({"event": "ready", "ok": True, **ready, "pid": os.getpid(), "python": sys.executable})
    while True:
        line = await lines.get()
        if line is None:
            peer.discard()
            exit_now()
        if not line.strip():
            continue
        started = time.monotonic()
        reply, stop = await _answer(peer, line, commands, ping, expected_errors)
        reply["elapsed_s"] = round(time.monotonic() - started, 4)
        emit(reply)
        if stop:
            exit_now()
