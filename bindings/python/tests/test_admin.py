"""Health, the deployment list, adding and removing deployments, metrics."""

from __future__ import annotations

import json
from typing import Callable

import pytest

import llmux
from support import SECRET_PREFIX, Deployment, FakeServer, user

MakeRouter = Callable[..., llmux.Router]


def test_health(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "status-429-h", "h-bad"), deployment("g", "ok-h", "h-good"),
                          deployment("other", "ok-o", "o-1")], cooldown_time=60, num_retries=0)
    for _ in range(40):  # until the failing deployment has been picked once (shuffle: 2**-40 to miss it)
        try:
            router.completion(model="g", messages=user())
        except llmux.RateLimitError:
            break
    states = {entry.id: entry for entry in router.health("g")}
    assert set(states) == {"h-bad", "h-good"}
    bad, good = states["h-bad"], states["h-good"]
    assert isinstance(bad, llmux.DeploymentHealth)
    assert bad.state == "cooling_down" and not bad.healthy and bad.status == 429
    assert 0 < bad.cooldown_remaining_seconds <= 60 and bad["reason"]
    assert good.state == "healthy" and good.healthy and good.in_flight == 0
    assert good.model_group == "g" and good.api_base.startswith("http://127.0.0.1:")
    assert {entry.id for entry in router.health()} == {"h-bad", "h-good", "o-1"}
    assert router.get_cooldown_deployments() == ["h-bad"]
    assert router.health("no-such-group") == []
    assert SECRET_PREFIX not in json.dumps([entry.model_dump() for entry in router.health()])


def test_model_list_returns_the_values_given(router: llmux.Router) -> None:
    deployments = router.get_model_list()
    assert [d["model_info"]["id"] for d in deployments] == ["chat-1", "chat-2", "embed-1"]
    assert [d["model_name"] for d in deployments] == ["chat", "chat", "embed"]
    assert deployments[0]["litellm_params"]["model"] == "openai/ok-chat-1"
    # As LiteLLM: the model_list it was given, api_key included (from_config's view is redacted).
    assert [d["litellm_params"]["api_key"] for d in deployments] == [
        f"{SECRET_PREFIX}-chat-1", f"{SECRET_PREFIX}-chat-2", f"{SECRET_PREFIX}-embed-1"]
    assert [d["model_info"]["id"] for d in router.get_model_list("embed")] == ["embed-1"]
    assert router.model_list == deployments
    assert router.get_model_names() == ["chat", "embed"]
    chat_2 = router.get_deployment("chat-2")
    assert chat_2 is not None and chat_2["model_name"] == "chat" and chat_2.model_info.id == "chat-2"
    assert router.get_deployment("nope") is None


def test_add_and_delete_deployment(router: llmux.Router, deployment: Deployment) -> None:
    with pytest.raises(llmux.BadRequestError):
        router.completion(model="added", messages=user())
    router.add_deployment(deployment("added", "ok-added", "added-1"))
    resp = router.completion(model="added", messages=user())
    assert resp.choices[0].message.content == "Hello from ok-added."
    assert resp._hidden_params["model_id"] == "added-1"
    added = router.get_deployment("added-1")
    # As LiteLLM's get_deployment: the entry as it was given, key included.
    assert added is not None and added.litellm_params.api_key == f"{SECRET_PREFIX}-added-1"

    removed = router.delete_deployment("added-1")
    assert removed is not None and removed["model_info"]["id"] == "added-1"
    assert SECRET_PREFIX not in json.dumps(removed)
    with pytest.raises(llmux.BadRequestError):
        router.completion(model="added", messages=user())
    assert router.delete_deployment("added-1") is None  # LiteLLM: None when there is no such deployment


def test_add_deployment_as_yaml_text(router: llmux.Router, fake_server: FakeServer) -> None:
    router.add_deployment(f"""
model_name: yaml-added
litellm_params: {{model: openai/ok-yaml-added, api_base: {fake_server.base_url}}}
model_info: {{id: yaml-added-1}}
""")
    assert router.completion(model="yaml-added", messages=user()).choices[0].message.content == \
        "Hello from ok-yaml-added."


def test_add_invalid_deployment(router: llmux.Router) -> None:
    with pytest.raises(llmux.InvalidConfigError):
        router.add_deployment({"model_name": "broken"})


def test_metrics(router: llmux.Router) -> None:
    for _ in range(3):
        router.completion(model="chat", messages=user())
    text = router.metrics()
    assert "llmux_calls_total" in text
    samples = [line for line in text.splitlines() if line.startswith("llmux_calls_total")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in samples) >= 3
    assert SECRET_PREFIX not in text


def test_register_model(make_router: MakeRouter, deployment: Deployment) -> None:
    entries = [deployment("g", "ok-cheap", "cheap"), deployment("g", "ok-dear", "dear")]
    router = make_router(entries, routing_strategy="cost-based-routing")

    def served() -> set[str]:
        return {router.completion(model="g", messages=user())._hidden_params["model_id"] for _ in range(4)}

    # Unknown to the model map, both cost 5.0 + 5.0 per token pair until prices are registered.
    router.register_model({"openai/ok-cheap": {"input_cost_per_token": 1e-6, "output_cost_per_token": 1e-6}})
    assert served() == {"cheap"}
    with pytest.raises(llmux.InvalidConfigError, match="ok-dear.max_input_tokens"):
        router.register_model('{"openai/ok-dear": {"max_input_tokens": "lots"}}')
    try:
        # Module level (litellm.register_model): open routers and the ones made afterwards.
        llmux.register_model({"openai/ok-dear": {"input_cost_per_token": 1e-9, "output_cost_per_token": 1e-9}})
        assert served() == {"dear"}
        first, router = router, make_router(entries, routing_strategy="cost-based-routing")
        assert served() == {"dear"}
        with pytest.raises(llmux.InvalidConfigError):
            llmux.register_model({"x": {"input_cost_per_token": "free"}})
        first.close()
        router.close()
        with pytest.raises(llmux.InvalidConfigError):  # checked even with no router open
            llmux.register_model({"x": {"input_cost_per_token": "free"}})
        assert len(llmux.router._registered_models) == 1
    finally:
        llmux.router._registered_models.clear()
