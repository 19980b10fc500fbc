#!/usr/bin/env python3
"""A real ``litellm.Router`` as a long-running process driven by JSON lines, for interop tests.

Run it with the Python of a LiteLLM venv (tests/interop/prepare.sh makes them):

    <build>/interop/venv-litellm-<version>/bin/python tests/interop/litellm_peer.py

and drive it over a pipe from any language: one JSON object per line on stdin, one JSON object per line
on stdout answering it, in order. stdout carries nothing else (whatever LiteLLM prints goes to stderr).
The peer only talks to the Redis it is given and to no provider: deployments answer through LiteLLM's
``mock_response``.

First line, before any request: ``{"event": "ready", "ok": true, "litellm_version": "1.80.0",
"api": "classic" | "router-core", "pid": 1234}``. If LiteLLM cannot be imported: ``{"event": "ready",
"ok": false, "error": "..."}`` and exit status 3.

Requests have ``"cmd"`` and may have ``"id"`` (echoed in the reply). Replies have ``"ok": true`` and the
fields below, or ``"ok": false, "error": "<what is wrong>", "error_type": "<class>"``. A malformed line
gets an ``ok: false`` reply; the peer keeps going.

``create``  builds the router (replacing a previous one, which is discarded first).
    model_list            LiteLLM deployments; every one needs ``model_info.id`` (shared state is keyed by
                          it). ``litellm_params.mock_response``: ``"litellm.RateLimitError"`` raises a 429,
                          ``"litellm.InternalServerError"`` a 500, any other text succeeds with usage.
                          rpm/tpm limits go where LiteLLM reads them (top level, litellm_params, model_info).
    redis                 ``{"host", "port", "password"?}``, or absent/null for none. Checked with a PING
                          first: an unreachable Redis is an error here, not LiteLLM's silent fail-open.
    routing_strategy, cooldown_time, allowed_fails, num_retries (default 0), provider_budget_config:
                          the Router arguments of the same names.
    router_kwargs         any other Router arguments, passed as they are (e.g. ``cache_kwargs``).
    -> ``model_ids``: the router's deployment ids.
``complete``  ``model`` (group), ``n`` (default 1), ``kwargs`` (extra acompletion arguments; ``messages``
    defaults to one user message). Runs n ``acompletion`` calls one after the other.
    -> ``results``: per call ``{"ok": true, "deployment": id, "total_tokens": n}`` or ``{"ok": false,
       "error_type": "RateLimitError", "status_code": 429, "message": "..."}``; ``served``: {id: count};
       ``errors``: how many calls failed.
``cooled_ids``  what this router considers cooling now, through the version's own API
    (1.8x: ``router.cooldown_cache.async_get_active_cooldowns``; router-core, 1.11x:
    ``router.health().cooldowns.async_get_active_cooldowns``), over every deployment id.
    -> ``cooled``: sorted ids; ``values``: {id: the cooldown value LiteLLM returned (a dict, or whatever
    it returned for a value it could not decode)}.
``usage``  ``model`` -> ``tpm``, ``rpm``: ``get_model_group_usage`` (``health().usage`` on router-core).
``inject_cooldown``  ``model_id``, ``status_code`` (default 429), ``message`` (the exception text),
    ``cooldown_time`` (default: the router's): ``add_deployment_to_cooldown`` as LiteLLM calls it.
``spend``  the provider budget limiter's view: ``providers``: {provider: {"key", "spend", "local"}} where
    ``spend`` is what LiteLLM reports (``_get_current_provider_spend``: Redis when configured) and ``local``
    the router's in-memory copy that its budget filter reads; ``deployments`` likewise, keyed by id.
``sleep``  ``seconds``: keeps the event loop running (LiteLLM's background syncs run) and then answers.
``ping``  -> ``litellm_version``.
``discard``  discards the router (``router.retire()``, or ``discard()`` before router-core) and unhooks
    every logger it added to litellm's callback lists (its routing strategy's, the budget limiter), which
    ``discard()`` leaves behind: a later router in the same process would otherwise count twice.
``quit``  discards, answers, exits 0 at once (no interpreter teardown: writes LiteLLM still had queued are
    dropped, as when a worker is stopped; ``sleep`` first to let them land). End of input: the same, unanswered.

Environment: ``LITELLM_LOCAL_MODEL_COST_MAP=True`` is set here (no cost-map download); ``REDIS_*`` variables
are removed, since LiteLLM would merge them under the arguments (``REDIS_URL`` would even override them).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

# Before LiteLLM is imported: no network for the cost map, quiet logs, and no Redis settings from outside.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("LITELLM_LOG", "ERROR")
for _name in [name for name in os.environ if name.startswith("REDIS_")]:
    del os.environ[_name]

# The protocol owns the real stdout; anything else that writes to fd 1 (print, logging) lands on stderr.
from peer_protocol import MESSAGE_LIMIT, RequestError, emit, serve  # noqa: E402


try:
    import litellm
    from litellm import Router
except Exception as import_error:  # noqa: BLE001 - any failure means "this is not a LiteLLM venv"
    emit({"event": "ready", "ok": False, "python": sys.executable,
          "error": f"cannot import litellm with {sys.executable}: {type(import_error).__name__}: {import_error}"})
    sys.exit(3)

litellm.telemetry = False
litellm.suppress_debug_info = True
LITELLM_VERSION = litellm.__version__ if hasattr(litellm, "__version__") else None
if not LITELLM_VERSION:
    import importlib.metadata
    LITELLM_VERSION = importlib.metadata.version("litellm")


class Peer:
    def __init__(self) -> None:
        self.router: Any = None
        self._callbacks_before: dict[str, set[int]] = {}  # ids in litellm's callback lists before create

    # --- version adapters: the classic Router (1.8x) and the router-core facade (1.11x, health()) ---

    def api(self) -> str:
        return "router-core" if callable(getattr(Router, "health", None)) else "classic"

    def _need_router(self) -> Any:
        if self.router is None:
            raise RequestError("no router: send 'create' first")
        return self.router

    def _model_ids(self) -> list[str]:
        router = self._need_router()
        if self.api() == "router-core":
            return list(router.registry().names(kind="ids"))
        return list(router.get_model_ids())

    def _cooldowns(self) -> Any:
        router = self._need_router()
        return router.health().cooldowns if self.api() == "router-core" else router.cooldown_cache

    def _store(self) -> Any:
        router = self._need_router()
        return router.health().store if self.api() == "router-core" else router.cache

    def _budget_limiter(self) -> Any:
        """The RouterBudgetLimiting working for this router: it registers itself in litellm.callbacks."""
        from litellm.router_strategy.budget_limiter import RouterBudgetLimiting
        store = self._store()
        for callback in reversed(list(litellm.callbacks)):
            if isinstance(callback, RouterBudgetLimiting) and callback.dual_cache is store:
                return callback
        return None

    # --- commands ---

    async def create(self, req: dict[str, Any]) -> dict[str, Any]:
        model_list = req.get("model_list")
        if not isinstance(model_list, list) or not model_list:
            raise RequestError("create: model_list must be a non-empty list of deployments")
        for index, deployment in enumerate(model_list):
            info = deployment.get("model_info") if isinstance(deployment, dict) else None
            if not isinstance(info, dict) or not isinstance(info.get("id"), str) or not info["id"]:
                raise RequestError(f"create: model_list[{index}] has no model_info.id (a string): shared "
                                   "state is keyed by it, so every deployment needs an explicit id")
        kwargs: dict[str, Any] = {"model_list": model_list, "num_retries": req.get("num_retries", 0)}
        for name in ("routing_strategy", "cooldown_time", "allowed_fails", "provider_budget_config"):
            if req.get(name) is not None:
                kwargs[name] = req[name]
        redis = req.get("redis")
        if redis is not None:
            if not isinstance(redis, dict) or "host" not in redis or "port" not in redis:
                raise RequestError("create: redis must be {\"host\", \"port\", \"password\"?}")
            await self._check_redis(redis)
            kwargs["redis_host"] = redis["host"]
            kwargs["redis_port"] = int(redis["port"])
            if redis.get("password") is not None:
                kwargs["redis_password"] = redis["password"]
        extra = req.get("router_kwargs") or {}
        if not isinstance(extra, dict):
            raise RequestError("create: router_kwargs must be an object")
        kwargs.update(extra)
        self.discard()
        self._callbacks_before = {name: {id(entry) for entry in entries}
                                  for name, entries in _callback_lists().items()}
        self.router = Router(**kwargs)
        return {"model_ids": self._model_ids(), "api": self.api()}

    @staticmethod
    async def _check_redis(redis: dict[str, Any]) -> None:
        try:
            import redis.asyncio as redis_asyncio
        except ImportError as error:
            raise RequestError(f"redis-py is not installed next to litellm ({sys.executable}): {error}")
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        client = redis_asyncio.Redis(host=redis["host"], port=int(redis["port"]), password=redis.get("password"),
                                     socket_connect_timeout=2, socket_timeout=2, retry=Retry(NoBackoff(), 0))
        try:
            await client.ping()
        except Exception as error:  # noqa: BLE001 - reported, without the password
            raise RequestError(f"redis at {redis['host']}:{redis['port']} did not answer PING: "
                               f"{type(error).__name__}: {error}")
        finally:
            await client.aclose()

    async def complete(self, req: dict[str, Any]) -> dict[str, Any]:
        router = self._need_router()
        model = req.get("model")
        if not isinstance(model, str):
            raise RequestError("complete: model (a group name) is required")
        n = req.get("n", 1)
        if not isinstance(n, int) or n < 0:
            raise RequestError("complete: n must be a non-negative integer")
        call_kwargs = dict(req.get("kwargs") or {})
        call_kwargs.setdefault("messages", [{"role": "user", "content": "hello"}])
        results: list[dict[str, Any]] = []
        served: dict[str, int] = {}
        for _ in range(n):
            try:
                response = await router.acompletion(model=model, **call_kwargs)
            except Exception as error:  # noqa: BLE001 - every failure is a result
                results.append({"ok": False, "error_type": type(error).__name__,
                                "status_code": getattr(error, "status_code", None),
                                "message": str(error)[:MESSAGE_LIMIT]})
                continue
            hidden = getattr(response, "_hidden_params", None) or {}
            deployment = hidden.get("model_id")
            usage = getattr(response, "usage", None)
            results.append({"ok": True, "deployment": deployment,
                            "total_tokens": getattr(usage, "total_tokens", None)})
            served[str(deployment)] = served.get(str(deployment), 0) + 1
        return {"results": results, "served": served, "errors": sum(1 for r in results if not r["ok"])}

    async def cooled_ids(self, req: dict[str, Any]) -> dict[str, Any]:
        ids = req.get("model_ids") or self._model_ids()
        active = await self._cooldowns().async_get_active_cooldowns(ids, None)
        # A value LiteLLM could not decode comes back as it was read (a string): reported as it is.
        values = {model_id: dict(value) if isinstance(value, dict) else value for model_id, value in active}
        return {"cooled": sorted(values), "values": values}

    async def usage(self, req: dict[str, Any]) -> dict[str, Any]:
        router = self._need_router()
        model = req.get("model")
        if not isinstance(model, str):
            raise RequestError("usage: model (a group name) is required")
        if self.api() == "router-core":
            tpm, rpm = await router.health().usage(model)
        else:
            tpm, rpm = await router.get_model_group_usage(model)
        return {"tpm": tpm, "rpm": rpm}

    async def inject_cooldown(self, req: dict[str, Any]) -> dict[str, Any]:
        model_id = req.get("model_id")
        if model_id not in self._model_ids():
            raise RequestError(f"inject_cooldown: model_id {model_id!r} is not a deployment of this router")
        status = int(req.get("status_code", 429))
        message = str(req.get("message", "injected by litellm_peer"))
        self._cooldowns().add_deployment_to_cooldown(model_id, Exception(message), status,
                                                     req.get("cooldown_time"))
        return {}

    async def spend(self, req: dict[str, Any]) -> dict[str, Any]:
        limiter = self._budget_limiter()
        if limiter is None:
            raise RequestError("spend: this router has no budget limiter (give provider_budget_config, or "
                               "max_budget/budget_duration on a deployment)")
        memory = self._store().in_memory_cache
        providers: dict[str, Any] = {}
        for provider, config in (limiter.provider_budget_config or {}).items():
            key = f"provider_spend:{provider}:{config.budget_duration}"
            providers[provider] = {"key": key, "spend": await limiter._get_current_provider_spend(provider),
                                   "local": memory.get_cache(key=key)}
        deployments: dict[str, Any] = {}
        for model_id, config in (getattr(limiter, "deployment_budget_config", None) or {}).items():
            key = f"deployment_spend:{model_id}:{config.budget_duration}"
            deployments[str(model_id)] = {"key": key, "local": memory.get_cache(key=key)}
        return {"providers": providers, "deployments": deployments}

    def discard(self) -> None:
        router, self.router = self.router, None
        if router is None:
            return
        retire = getattr(router, "retire", None)  # router-core's name for discard()
        (retire if callable(retire) else router.discard)()
        # discard() unhooks the router itself but not the loggers it registered (its routing strategy's,
        # the budget limiter): left in place they would count the next router's calls as well.
        for name, entries in _callback_lists().items():
            before = self._callbacks_before.get(name, set())
            added = [entry for entry in entries if not isinstance(entry, str) and id(entry) not in before]
            for entry in added:
                entry_retire = getattr(entry, "retire", None)
                if callable(entry_retire):
                    entry_retire()
            entries[:] = [entry for entry in entries if all(entry is not other for other in added)]


def _callback_lists() -> dict[str, list[Any]]:
    """litellm's global callback lists (callbacks, success_callback, _async_failure_callback, ...)."""
    lists = {}
    for name in dir(litellm):
        if "callback" in name.lower() and not name.startswith("_known"):
            value = getattr(litellm, name, None)
            if isinstance(value, list):
                lists[name] = value
    return lists


def main() -> int:
    peer = Peer()
    commands = {"create": peer.create, "complete": peer.complete, "cooled_ids": peer.cooled_ids,
                "usage": peer.usage, "inject_cooldown": peer.inject_cooldown, "spend": peer.spend}
    ping = {"litellm_version": LITELLM_VERSION, "api": peer.api()}
    asyncio.run(serve(peer, ping, commands, ping))
    return 0


if __name__ == "__main__":
    sys.exit(main())
