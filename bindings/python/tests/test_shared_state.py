"""Routers sharing routing state through a real redis-server, built with LiteLLM's Router arguments
(redis_host/port/password, cache_kwargs) and llmux's own Redis knobs."""

from __future__ import annotations

import sys
import warnings
from typing import Any, Iterator

import pytest

import llmux
from support import REPO, Deployment, user, wait_until

# The interop harness's redis-server and RESP client (test support shared by the Python suites).
sys.path.insert(0, str(REPO / "tests" / "interop"))
from interop_support import RedisServer  # noqa: E402

PASSWORD = "s3cret-redis-pass"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer(password=PASSWORD).start()
    yield server
    server.stop()


def _cooling(router: llmux.Router, deployment_id: str) -> Any:
    for entry in router.health():
        if entry.id == deployment_id and entry.state == "cooling_down":
            return entry
    return None


def test_a_cooldown_reaches_another_router_in_litellms_key(make_router: Any, deployment: Deployment,
                                                           redis: RedisServer) -> None:
    model_list = [deployment("chat", "status-429", "dep-bad", order=1),
                  deployment("chat", "ok-good", "dep-good", order=2)]
    shared = {"redis_host": redis.host, "redis_port": redis.port, "redis_password": PASSWORD,
              # A re-read an hour away: the cooldown can only travel by the first router's announcement
              # (read back from its key instead, it would be reported as cooled_by "redis").
              "cache_kwargs": {"db": 2, "namespace": "team1"}, "redis_sync_interval": 3600,
              "redis_max_wait": 0.5, "redis_command_timeout": 5, "num_retries": 0, "cooldown_time": 30}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every argument is one llmux implements: no warning
        first = make_router(model_list, **shared)
        second = make_router(model_list, **shared)
    for router in (first, second):
        wait_until(lambda: "llmux_shared_state_up 1" in router.metrics().splitlines(), "the router's Redis link is up",
                   limit_seconds=10)

    with pytest.raises(llmux.RateLimitError):
        first.completion(model="chat", messages=user())
    assert _cooling(first, "dep-bad") is not None
    wait_until(lambda: _cooling(second, "dep-bad") is not None, "the second router obeys the first's cooldown",
               limit_seconds=10)
    seen = _cooling(second, "dep-bad")
    assert seen.cooled_by not in ("", "redis"), seen.cooled_by  # the first router's replica id
    assert _cooling(first, "dep-bad").cooled_by == ""  # its own
    # The second router no longer tries the cooling deployment: straight to the next tier.
    answer = second.completion(model="chat", messages=user())
    assert answer._hidden_params["model_id"] == "dep-good"

    # LiteLLM's key, in cache_kwargs' db and namespace, with LiteLLM 1.110's JSON value.
    with redis.client() as client:
        client.command("SELECT", "2")
        value = client.command("GET", "team1:deployment:dep-bad:cooldown")
        assert value is not None and '"status_code": "429"' in value
        assert 0 < client.command("PTTL", "team1:deployment:dep-bad:cooldown") <= 30_000
        client.command("SELECT", "0")
        assert client.command("GET", "team1:deployment:dep-bad:cooldown") is None


def test_redis_db_is_read_with_litellms_deprecation_warning(make_router: Any, deployment: Deployment,
                                                            redis: RedisServer) -> None:
    with pytest.warns(llmux.LiteLLMCompatibilityWarning, match="redis_db"):
        router = make_router([deployment("chat", "ok-a", "a")], redis_host=redis.host, redis_port=redis.port,
                             redis_password=PASSWORD, redis_db=3)
    wait_until(lambda: "llmux_shared_state_up 1" in router.metrics().splitlines(), "the router's Redis link is up",
               limit_seconds=10)
    assert router.completion(model="chat", messages=user()).choices[0].message.content == "Hello from ok-a."


def test_bad_redis_knobs_are_invalid_config_errors(make_router: Any, deployment: Deployment) -> None:
    with pytest.raises(llmux.InvalidConfigError, match="redis_max_wait"):
        make_router([deployment("chat", "ok-a", "a")], redis_host="127.0.0.1", redis_port=1, redis_max_wait=-1)
    with pytest.raises(llmux.InvalidConfigError, match="cache_kwargs"):
        make_router([deployment("chat", "ok-a", "a")], redis_host="127.0.0.1", redis_port=1,
                    cache_kwargs={"ssl": True})
