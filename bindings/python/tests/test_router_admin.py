"""LiteLLM's Router API around routing decisions and settings: get_available_deployment,
get_model_group_usage / get_remaining_model_group_usage (and the x-ratelimit-* headers on
responses), update_settings / get_settings and the settings attributes."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

import llmux
from support import SECRET_PREFIX, Deployment, user

MakeRouter = Callable[..., llmux.Router]


def test_get_available_deployment_returns_the_deployment_dict(make_router: MakeRouter,
                                                             deployment: Deployment) -> None:
    router = make_router([deployment("chat", "ok-a", "chat-a"), deployment("chat", "ok-b", "chat-b")])
    for _ in range(10):
        picked = router.get_available_deployment(model="chat", messages=user())
        assert picked["model_name"] == "chat"
        assert picked["model_info"]["id"] in ("chat-a", "chat-b")
        assert picked["litellm_params"]["model"] in ("openai/ok-a", "openai/ok-b")
        # As LiteLLM: the deployment as given, credentials included.
        assert picked["litellm_params"]["api_key"].startswith(SECRET_PREFIX)
    # No messages needed; a pick is not a call.
    assert router.get_available_deployment("chat")["model_name"] == "chat"
    # Nothing recorded this minute: None, as LiteLLM.
    assert asyncio.run(router.get_model_group_usage("chat")) == (None, None)
    picked = asyncio.run(router.async_get_available_deployment("chat", {"metadata": {}}, messages=user()))
    assert picked["model_info"]["id"] in ("chat-a", "chat-b")


def test_get_available_deployment_specific_and_unknown(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("chat", "ok-a", "chat-a"), deployment("chat", "ok-b", "chat-b")])
    # A deployment id names that deployment; specific_deployment routes among a litellm_params.model's.
    assert router.get_available_deployment("chat-b")["model_info"]["id"] == "chat-b"
    assert router.get_available_deployment("openai/ok-a", specific_deployment=True)["model_info"]["id"] == "chat-a"
    with pytest.raises(llmux.BadRequestError):
        router.get_available_deployment("nope", messages=user())
    with pytest.raises(llmux.BadRequestError):
        asyncio.run(router.async_get_available_deployment("nope", {}))


def test_get_available_deployment_honours_cooldown_and_tags(make_router: MakeRouter, deployment: Deployment) -> None:
    # The fake server answers 429 for a model named status-429-*.
    router = make_router([deployment("chat", "status-429-a", "chat-a"), deployment("chat", "ok-b", "chat-b")],
                         num_retries=2, cooldown_time=600)
    for _ in range(20):
        if any(h.id == "chat-a" and h.state == "cooling_down" for h in router.health("chat")):
            break
        router.completion(model="chat", messages=user())
    assert any(h.id == "chat-a" and h.state == "cooling_down" for h in router.health("chat"))
    for _ in range(10):
        assert router.get_available_deployment("chat", messages=user())["model_info"]["id"] == "chat-b"

    tagged = make_router([deployment("chat", "ok-a", "tag-a", tags=["fast"]),
                          deployment("chat", "ok-b", "tag-b", tags=["slow"])], enable_tag_filtering=True)
    for _ in range(10):
        picked = tagged.get_available_deployment("chat", messages=user(),
                                                 request_kwargs={"metadata": {"tags": ["slow"]}})
        assert picked["model_info"]["id"] == "tag-b"


def test_no_available_deployment_is_a_router_rate_limit_error(make_router: MakeRouter,
                                                            deployment: Deployment) -> None:
    router = make_router([deployment("chat", "status-429-a", "only-a"),
                          deployment("chat", "status-429-b", "only-b")], num_retries=3, cooldown_time=600)
    for _ in range(5):
        with pytest.raises(Exception):
            router.completion(model="chat", messages=user())
    with pytest.raises(llmux.RouterRateLimitError):
        router.get_available_deployment("chat", messages=user())


def test_model_group_usage_and_rate_limit_headers(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("chat", "ok-a", "chat-a", rpm=100, tpm=10000),
                          deployment("chat", "ok-b", "chat-b", rpm=50)])
    tokens = 0
    for _ in range(3):
        resp = router.completion(model="chat", messages=user())
        tokens += resp.usage.total_tokens
    tpm, rpm = asyncio.run(router.get_model_group_usage("chat"))
    assert (tpm, rpm) == (tokens, 3)
    remaining = asyncio.run(router.get_remaining_model_group_usage("chat"))
    assert remaining == {"x-ratelimit-remaining-tokens": 10000 - tokens, "x-ratelimit-limit-tokens": 10000,
                         "x-ratelimit-remaining-requests": 147, "x-ratelimit-limit-requests": 150}
    headers = resp._hidden_params["additional_headers"]
    assert int(headers["x-ratelimit-remaining-requests"]) == 147
    assert int(headers["x-ratelimit-limit-requests"]) == 150
    assert "x-ratelimit-remaining-tokens" in headers
    assert asyncio.run(router.get_model_group_usage("nope")) == (None, None)
    assert asyncio.run(router.get_remaining_model_group_usage("nope")) == {}


def test_no_rate_limit_headers_without_limits(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("chat", "ok-a", "chat-a")])
    resp = router.completion(model="chat", messages=user())
    assert "x-ratelimit-remaining-requests" not in resp._hidden_params["additional_headers"]
    assert asyncio.run(router.get_remaining_model_group_usage("chat")) == {}
    assert asyncio.run(router.get_model_group_usage("chat")) == (resp.usage.total_tokens, 1)


def test_settings_attributes_read_live_and_assign_through_update_settings(make_router: MakeRouter,
                                                                         deployment: Deployment) -> None:
    router = make_router([deployment("chat", "ok-a", "ok-a"), deployment("other", "ok-o", "ok-o")], num_retries=0,
                         default_fallbacks=["chat"], fallbacks=[{"chat": ["other"]}], timeout=30)
    assert router.num_retries == 0
    assert router.timeout == 30
    assert router.routing_strategy == "simple-shuffle"
    assert router.fallbacks == [{"chat": ["other"]}, {"*": ["chat"]}]
    assert router.default_fallbacks == ["chat"]
    router.num_retries = 2
    assert router.num_retries == 2
    assert router.get_settings()["num_retries"] == 2
    router.routing_strategy = "least-busy"
    router.cooldown_time = 7
    router.enable_pre_call_checks = True
    router.disable_cooldowns = True
    router.retry_policy = {"RateLimitErrorRetries": 4}
    assert router.routing_strategy == "least-busy"
    assert router.cooldown_time == 7
    assert router.enable_pre_call_checks is True
    assert router.disable_cooldowns is True
    assert router.retry_policy == {"RateLimitErrorRetries": 4}
    settings = router.get_settings()
    assert set(settings) == {"routing_strategy_args", "routing_strategy", "allowed_fails", "cooldown_time",
                             "num_retries", "timeout", "max_retries", "retry_after", "fallbacks",
                             "context_window_fallbacks", "model_group_retry_policy", "retry_policy",
                             "model_group_alias"}


def test_update_settings_changes_the_next_call(make_router: MakeRouter, deployment: Deployment) -> None:
    # The fake server answers 500 for a model named status-500-*.
    router = make_router([deployment("chat", "status-500-x", "err-x")], num_retries=0, retry_after=0)
    with pytest.raises(llmux.InternalServerError) as first:
        router.completion(model="chat", messages=user())
    assert first.value.llmux_metadata["attempts"] == 1
    router.update_settings(num_retries=2)
    with pytest.raises(llmux.InternalServerError) as second:
        router.completion(model="chat", messages=user())
    assert second.value.llmux_metadata["attempts"] == 3


def test_update_settings_validation_and_lenience(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("chat", "ok-a", "chat-a")], num_retries=1)
    # A wrong value: typed, names the key, nothing applied.
    with pytest.raises(llmux.InvalidArgumentError, match="cooldown_time"):
        router.update_settings(num_retries=5, cooldown_time="soon")
    assert router.num_retries == 1
    with pytest.raises(ValueError, match="routing_strategy"):
        router.routing_strategy = "fastest"
    assert router.routing_strategy == "simple-shuffle"
    # Keys LiteLLM's update_settings does not allow are ignored, as LiteLLM does.
    router.update_settings(redis_host="elsewhere", num_retries=3)
    assert router.num_retries == 3
    # update_settings casts as LiteLLM does; attribute assignment does not.
    router.update_settings(timeout=12.7)
    assert router.timeout == 12
    router.timeout = 12.5
    assert router.timeout == 12.5


def test_model_group_alias_is_live_for_get_model_list(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("chat", "ok-a", "chat-a"), deployment("embed", "ok-e", "embed-a")],
                         model_group_alias={"smart": "chat"})
    assert [e["model_name"] for e in router.get_model_list("smart")] == ["smart"]
    with pytest.raises(llmux.BadRequestError):
        router.get_available_deployment("quick")
    router.model_group_alias = {"quick": "embed", "smart": "chat"}
    assert router.get_available_deployment("quick")["model_info"]["id"] == "embed-a"
    assert [e["model_name"] for e in router.get_model_list("quick")] == ["quick"]
    assert list(router.model_group_alias) == ["quick", "smart"]
    assert router.get_model_names()[:2] == ["quick", "smart"]


def test_from_config_aliases_are_live(deployment: Deployment, fake_server: Any) -> None:
    yaml = f"""
model_list:
  - model_name: chat
    litellm_params: {{model: openai/ok-a, api_base: "{fake_server.base_url}", api_key: {SECRET_PREFIX}-1}}
    model_info: {{id: chat-a}}
router_settings:
  model_group_alias: {{nick: chat}}
"""
    with llmux.Router.from_config(yaml) as router:
        assert [e["model_name"] for e in router.get_model_list("nick")] == ["nick"]
        router.update_settings(model_group_alias={"other": "chat"})
        assert router.get_model_list("nick") == []
        assert [e["model_name"] for e in router.get_model_list("other")] == ["other"]
