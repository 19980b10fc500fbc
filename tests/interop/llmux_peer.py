#!/usr/bin/env python3
"""An llmux Router (the Python binding over libllmux) as a long-running process driven by JSON lines: the
llmux side of the LiteLLM differential test, and one replica of an llmux fleet.

It speaks litellm_peer.py's protocol (one JSON request per line on stdin, one JSON reply per line on stdout,
in order; ``{"event": "ready", ...}`` first), so a test drives a LiteLLM router and an llmux router alike:

    LLMUX_LIBRARY=<build>/lib/libllmux.so python3 tests/interop/llmux_peer.py

The binding is imported from this checkout (``bindings/python/src``), the library from ``LLMUX_LIBRARY``
(else the binding's own discovery). stdout carries nothing but the protocol.

Ready line: ``{"event": "ready", "ok": true, "api": "llmux", "llmux_version": "0.1.0", "library": "...",
"pid": 1234}``; when the binding or the library cannot be loaded: ``ok: false`` with the reason, exit 3.

Commands shared with litellm_peer.py (same fields, same replies):
``create``   model_list (every deployment needs ``model_info.id``), redis ``{"host", "port", "password"?}``,
             routing_strategy, cooldown_time, allowed_fails, num_retries (default 0), provider_budget_config,
             router_kwargs (any other router_settings, e.g. ``redis_sync_interval``, ``enable_pre_call_checks``).
             Built with ``Router.from_config`` from ``{"model_list", "router_settings"}``. With redis, waits
             (5 s at most) until the router's shared state is up (``llmux_shared_state_up 1``); a Redis that
             never answers is an error naming it (never its password). -> ``model_ids``.
``complete`` model, n (default 1), kwargs (request fields; ``messages`` defaults to one user message), and
             llmux's ``concurrency`` (default 1: one call after the other; k: k calls in flight at a time).
             -> ``results`` (per call ``{"ok": true, "deployment", "total_tokens", "cost"}`` or ``{"ok": false,
             "error_type", "status_code", "message"}``, each with ``t0``/``t1``: time.monotonic() when it
             started and ended), ``served`` {id: count}, ``errors``.
``cooled_ids`` -> ``cooled``: the ids whose state is ``cooling_down`` (``model_ids`` to restrict);
             ``values``: {id: {"status", "reason", "cooled_by", "cooldown_remaining_seconds"}}; ``states``:
             every deployment's state (healthy, cooling_down, half_open, probing).
``usage``    model -> ``tpm``, ``rpm``: the group's tokens_this_minute / requests_this_minute from health()
             (the fleet's counts once Redis answered).
``sleep``, ``ping``, ``discard``, ``quit``: as litellm_peer.py.
``inject_cooldown``, ``spend``: refused (llmux has no API to inject a cooldown; budgets are not shared).

llmux's own:
``wait_state``  model_id, cooled (true: wait until cooling_down; false: until it is not), timeout (s,
             default 10), interval (s between health() polls, default 0.0005) -> ``seen``, ``at`` (monotonic
             time it was first seen), ``since`` (monotonic time polling began), ``polls``, ``state``.
``health``   model (optional group) -> ``deployments``: health() as dicts.
``metrics``  -> ``text``: the Prometheus exposition.

Times are ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process of the machine), so a test can
compare them across peers.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from peer_protocol import MESSAGE_LIMIT, RequestError, emit, serve  # first: it takes stdout

REPO = Path(__file__).resolve().parent.parent.parent

sys.path.insert(0, str(REPO / "bindings" / "python" / "src"))
try:
    import warnings

    import llmux
    from llmux import _ffi

    _ffi.library()  # load it now: a missing or broken library is a ready failure, not a first-call one
    warnings.simplefilter("ignore", llmux.LiteLLMCompatibilityWarning)
except Exception as load_error:  # noqa: BLE001 - any failure means "no usable llmux here"
    emit({"event": "ready", "ok": False, "python": sys.executable,
          "error": f"cannot load llmux ({REPO / 'bindings/python/src'}, LLMUX_LIBRARY="
                   f"{os.environ.get('LLMUX_LIBRARY')!r}): {type(load_error).__name__}: {load_error}"})
    sys.exit(3)

SHARED_STATE_WAIT_S = 5.0


class Peer:
    def __init__(self) -> None:
        self.router: Any = None

    def _need_router(self) -> Any:
        if self.router is None:
            raise RequestError("no router: send 'create' first")
        return self.router

    def _health(self, group: str | None = None) -> list[Any]:
        return self._need_router().health(group)

    async def create(self, req: dict[str, Any]) -> dict[str, Any]:
        model_list = req.get("model_list")
        if not isinstance(model_list, list) or not model_list:
            raise RequestError("create: model_list must be a non-empty list of deployments")
        for index, deployment in enumerate(model_list):
            info = deployment.get("model_info") if isinstance(deployment, dict) else None
            if not isinstance(info, dict) or not isinstance(info.get("id"), str) or not info["id"]:
                raise RequestError(f"create: model_list[{index}] has no model_info.id (a string): shared "
                                   "state is keyed by it, so every deployment needs an explicit id")
        settings: dict[str, Any] = {"num_retries": req.get("num_retries", 0)}
        for name in ("routing_strategy", "cooldown_time", "allowed_fails", "provider_budget_config"):
            if req.get(name) is not None:
                settings[name] = req[name]
        redis = req.get("redis")
        if redis is not None:
            if not isinstance(redis, dict) or "host" not in redis or "port" not in redis:
                raise RequestError("create: redis must be {\"host\", \"port\", \"password\"?}")
            settings["redis_host"] = redis["host"]
            settings["redis_port"] = int(redis["port"])
            if redis.get("password") is not None:
                settings["redis_password"] = redis["password"]
        extra = req.get("router_kwargs") or {}
        if not isinstance(extra, dict):
            raise RequestError("create: router_kwargs must be an object")
        settings.update(extra)
        self.discard()
        router = llmux.Router.from_config(json.dumps({"model_list": model_list, "router_settings": settings}))
        if redis is not None:
            deadline = time.monotonic() + SHARED_STATE_WAIT_S
            # The gauge's own line: its HELP text also starts "llmux_shared_state_up 1 while ...", so a
            # substring test passed at once and the fleet's calls raced the link's first connection.
            while "llmux_shared_state_up 1" not in router.metrics().splitlines():
                if time.monotonic() > deadline:
                    router.close()
                    raise RequestError(f"redis at {redis['host']}:{redis['port']}: the router's shared state "
                                       f"was not up after {SHARED_STATE_WAIT_S:g} s")
                await asyncio.sleep(0.005)
        self.router = router
        return {"model_ids": [entry.id for entry in router.health()], "api": "llmux"}

    async def complete(self, req: dict[str, Any]) -> dict[str, Any]:
        router = self._need_router()
        model = req.get("model")
        if not isinstance(model, str):
            raise RequestError("complete: model (a group name) is required")
        n = req.get("n", 1)
        concurrency = req.get("concurrency", 1)
        if not isinstance(n, int) or n < 0:
            raise RequestError("complete: n must be a non-negative integer")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise RequestError("complete: concurrency must be a positive integer")
        call_kwargs = dict(req.get("kwargs") or {})
        call_kwargs.setdefault("messages", [{"role": "user", "content": "hello"}])
        slots = asyncio.Semaphore(concurrency)

        async def one() -> dict[str, Any]:
            async with slots:
                started = time.monotonic()
                try:
                    response = await router.acompletion(model=model, **call_kwargs)
                except llmux.LLMuxError as error:
                    return {"ok": False, "error_type": type(error).__name__,
                            "status_code": getattr(error, "status_code", None),
                            "message": str(error)[:MESSAGE_LIMIT], "t0": started, "t1": time.monotonic()}
                ended = time.monotonic()
                usage = getattr(response, "usage", None)
                return {"ok": True, "deployment": response._hidden_params.get("model_id"),
                        "total_tokens": getattr(usage, "total_tokens", None),
                        "cost": response._hidden_params.get("response_cost"), "t0": started, "t1": ended}

        results = list(await asyncio.gather(*(one() for _ in range(n))))
        served: dict[str, int] = {}
        for result in results:
            if result["ok"]:
                served[str(result["deployment"])] = served.get(str(result["deployment"]), 0) + 1
        return {"results": results, "served": served, "errors": sum(1 for r in results if not r["ok"])}

    async def cooled_ids(self, req: dict[str, Any]) -> dict[str, Any]:
        wanted = req.get("model_ids")
        health = [h for h in self._health() if wanted is None or h.id in wanted]
        values = {h.id: {"status": h.status, "reason": h.reason, "cooled_by": h.cooled_by,
                         "cooldown_remaining_seconds": h.cooldown_remaining_seconds}
                  for h in health if h.state == "cooling_down"}
        return {"cooled": sorted(values), "values": values, "states": {h.id: h.state for h in health}}

    async def usage(self, req: dict[str, Any]) -> dict[str, Any]:
        model = req.get("model")
        if not isinstance(model, str):
            raise RequestError("usage: model (a group name) is required")
        health = self._health(model)
        return {"tpm": sum(h.tokens_this_minute or 0 for h in health),
                "rpm": sum(h.requests_this_minute or 0 for h in health)}

    async def wait_state(self, req: dict[str, Any]) -> dict[str, Any]:
        router = self._need_router()
        model_id = req.get("model_id")
        if not isinstance(model_id, str):
            raise RequestError("wait_state: model_id is required")
        want_cooled = bool(req.get("cooled", True))
        timeout = float(req.get("timeout", 10))
        interval = float(req.get("interval", 0.0005))
        group = next((h.model_group for h in router.health() if h.id == model_id), None)
        if group is None:
            raise RequestError(f"wait_state: {model_id!r} is not a deployment of this router")
        since = time.monotonic()
        polls = 0
        state = None
        while True:
            polls += 1
            state = next((h.state for h in router.health(group) if h.id == model_id), None)
            now = time.monotonic()
            if (state == "cooling_down") == want_cooled:
                return {"seen": True, "at": now, "since": since, "polls": polls, "state": state}
            if now - since > timeout:
                return {"seen": False, "at": None, "since": since, "polls": polls, "state": state}
            # A blocking sleep: polling is all this peer does meanwhile, and asyncio's timer resolution
            # (about 1 ms) would blur the measurement.
            time.sleep(interval)

    async def health(self, req: dict[str, Any]) -> dict[str, Any]:
        return {"deployments": [dict(h.items()) if hasattr(h, "items") else h.__dict__
                                for h in self._health(req.get("model"))]}

    async def metrics(self, req: dict[str, Any]) -> dict[str, Any]:
        return {"text": self._need_router().metrics()}

    def discard(self) -> None:
        router, self.router = self.router, None
        if router is not None:
            router.close()


def main() -> int:
    peer = Peer()
    commands = {"create": peer.create, "complete": peer.complete, "cooled_ids": peer.cooled_ids,
                "usage": peer.usage, "wait_state": peer.wait_state, "health": peer.health,
                "metrics": peer.metrics}
    ping = {"llmux_version": llmux.__version__, "api": "llmux"}
    asyncio.run(serve(peer, {**ping, "library": os.environ.get("LLMUX_LIBRARY")}, commands, ping,
                      expected_errors=(llmux.LLMuxError,)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
