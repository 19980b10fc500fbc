"""Model info from the library's model map (get_model_group_info, get_router_model_info,
get_deployment_model_info), get_deployment_credentials, reset, and model_list's values as given."""

from __future__ import annotations

import sys
from typing import Any, Callable

import pytest

import llmux
from support import SECRET_PREFIX, Deployment, user

MakeRouter = Callable[..., llmux.Router]


@pytest.fixture
def mapped(make_router: MakeRouter, deployment: Deployment) -> llmux.Router:
    gpt = deployment("g", "gpt-4o", "gpt")
    claude = deployment("g", "x", "claude", rpm=3, tpm=300)
    claude["litellm_params"]["model"] = "anthropic/claude-haiku-4-5"
    custom = deployment("custom", "gpt-4o", "custom", input_cost_per_token=0.5)
    custom["model_info"].update({"input_cost_per_token": 0.25, "output_cost_per_token": 0.75,
                                 "max_input_tokens": 999, "access_groups": ["team"]})
    azure = deployment("az", "x", "az", api_version="2024-06-01")
    azure["litellm_params"]["model"] = "azure/my-deployment"
    azure["model_info"]["base_model"] = "azure/gpt-4o-mini"
    return make_router([gpt, claude, custom, azure], model_group_alias={
        "alias": "g", "hidden": {"model": "g", "hidden": True}})


def test_router_model_info_reads_the_model_map(mapped: llmux.Router) -> None:
    info = mapped.get_router_model_info(None, "g", id="gpt")
    assert info["key"] == "gpt-4o" and info["litellm_provider"] == "openai" and info["mode"] == "chat"
    assert info["max_input_tokens"] == 128000 and info["max_output_tokens"] == 16384
    assert info["input_cost_per_token"] == pytest.approx(2.5e-6)
    assert info["output_cost_per_token"] == pytest.approx(1e-5)
    assert info["supports_vision"] is True and info["id"] == "gpt"
    # The deployment dict form (what get_model_list returns) answers the same.
    entry = next(e for e in mapped.get_model_list("g") if e["model_info"]["id"] == "gpt")
    assert mapped.get_router_model_info(entry, "g") == info
    # Azure: by its base_model.
    azure = mapped.get_router_model_info(None, "az", id="az")
    assert azure["input_cost_per_token"] == pytest.approx(1.5e-7) and azure["max_input_tokens"] == 128000
    with pytest.raises(ValueError):
        mapped.get_router_model_info(None, "g", id="nope")


def test_model_info_and_custom_prices_override_the_map(mapped: llmux.Router) -> None:
    info = mapped.get_router_model_info(None, "custom", id="custom")
    assert info["max_input_tokens"] == 999  # model_info
    assert info["max_output_tokens"] == 16384  # the map
    assert info["input_cost_per_token"] == 0.5  # litellm_params over model_info, as LiteLLM copies it
    assert info["output_cost_per_token"] == 0.75
    assert info["access_groups"] == ["team"]  # every model_info key is laid over


def test_model_group_info_merges_the_map_values(mapped: llmux.Router) -> None:
    group = mapped.get_model_group_info("g")
    assert group is not None
    assert group.model_group == "g" and group.providers == ["openai", "anthropic"]
    assert group.max_input_tokens == 200000 and group.max_output_tokens == 64000  # the largest
    assert group.input_cost_per_token == pytest.approx(2.5e-6)
    assert group.mode == "chat" and group.rpm == 3 and group.tpm == 300
    assert group.supports_reasoning is True and group.supports_vision is True  # any deployment's
    assert group.supports_url_context is False
    alias = mapped.get_model_group_info("alias")
    assert alias is not None and alias.model_group == "alias" and alias.max_input_tokens == 200000
    assert mapped.get_model_group_info("hidden") is None
    assert mapped.get_model_group_info("nope") is None


@pytest.mark.needs_litellm
def test_model_group_info_is_litellms_type(mapped: llmux.Router) -> None:
    from litellm.types.router import ModelGroupInfo

    assert isinstance(mapped.get_model_group_info("g"), ModelGroupInfo)


def test_registered_prices_show_in_model_info(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("mine", "my-model", "mine")])
    assert router.get_router_model_info(None, "mine", id="mine")["max_input_tokens"] is None
    router.register_model({"openai/my-model": {"max_input_tokens": 4096, "input_cost_per_token": 1e-3,
                                               "litellm_provider": "openai", "mode": "chat"}})
    info = router.get_router_model_info(None, "mine", id="mine")
    assert info["max_input_tokens"] == 4096 and info["input_cost_per_token"] == 1e-3
    group = router.get_model_group_info("mine")
    assert group is not None and group.max_input_tokens == 4096 and group.mode == "chat"


def test_deployment_model_info(mapped: llmux.Router) -> None:
    info = mapped.get_deployment_model_info("custom", "openai/gpt-4o")
    assert info is not None and info["max_input_tokens"] == 999 and info["input_cost_per_token"] == 0.5
    by_name = mapped.get_deployment_model_info("not-an-id", "gpt-4o")
    assert by_name is not None and by_name["max_input_tokens"] == 128000
    assert mapped.get_deployment_model_info("not-an-id", "openai/not-a-real-model") is None


def test_deployment_credentials(mapped: llmux.Router, fake_server: Any) -> None:
    assert mapped.get_deployment_credentials("az") == {
        "api_key": f"{SECRET_PREFIX}-az", "api_base": fake_server.base_url, "api_version": "2024-06-01"}
    assert mapped.get_deployment_credentials("nope") is None


def test_model_list_holds_the_values_given(mapped: llmux.Router) -> None:
    entries = mapped.model_list
    assert [e["model_info"]["id"] for e in entries] == ["gpt", "claude", "custom", "az"]
    assert entries[0]["litellm_params"]["api_key"] == f"{SECRET_PREFIX}-gpt"
    assert mapped.get_model_list("custom")[0]["litellm_params"]["input_cost_per_token"] == 0.5


def test_from_config_model_list_keeps_secrets_redacted(fake_server: Any) -> None:
    config = (f"model_list:\n  - model_name: c\n    litellm_params: {{model: openai/gpt-4o, "
              f"api_base: '{fake_server.base_url}', api_key: {SECRET_PREFIX}-y}}\n    model_info: {{id: y}}\n")
    with llmux.Router.from_config(config) as router:
        assert router.model_list[0]["litellm_params"]["api_key"] == "***"
        assert router.get_deployment_credentials("y") == {"api_key": "***", "api_base": fake_server.base_url}
        # Model info does not depend on the Python-side list.
        assert router.get_router_model_info(None, "c", id="y")["max_input_tokens"] == 128000


def test_reset_ends_cooldowns_and_empties_the_module_callbacks(make_router: MakeRouter, deployment: Deployment,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    router = make_router([deployment("auth", "status-401", "bad")], cooldown_time=600, num_retries=0)
    with pytest.raises(llmux.AuthenticationError):
        router.completion(model="auth", messages=user())
    assert router.get_cooldown_deployments() == ["bad"]
    with pytest.raises(llmux.RateLimitError):  # NoDeploymentsAvailable: nothing left to route to
        router.completion(model="auth", messages=user())
    seen: list[Any] = []
    monkeypatch.setattr(llmux, "success_callback", [lambda *args: seen.append(args)])
    monkeypatch.setattr(llmux, "failure_callback", [lambda *args: seen.append(args)])
    module_callbacks = [object()]
    monkeypatch.setattr(llmux, "callbacks", module_callbacks)
    litellm = sys.modules.get("litellm")
    if litellm is not None:
        monkeypatch.setattr(litellm, "success_callback", [lambda *args: None])
    router.reset()
    assert router.get_cooldown_deployments() == []
    assert llmux.success_callback == [] and llmux.failure_callback == []
    assert llmux.callbacks is module_callbacks  # LiteLLM's reset leaves litellm.callbacks alone
    if litellm is not None:
        assert litellm.success_callback == []
    # Routed to again at once: the provider's own error, not "no deployments".
    with pytest.raises(llmux.AuthenticationError):
        router.completion(model="auth", messages=user())
    assert seen == []
