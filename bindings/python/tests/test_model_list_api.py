"""LiteLLM's model-list API: groups, aliases, deployment objects, group info, batches, and the
module-level Router defaults."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Callable

import pytest

import llmux
from support import SECRET_PREFIX, Deployment, user

MakeRouter = Callable[..., llmux.Router]


@pytest.fixture
def aliased(make_router: MakeRouter, deployment: Deployment) -> llmux.Router:
    chat_1 = deployment("chat", "ok-chat-1", "chat-1", rpm=10, tpm=1000)
    chat_1["model_info"].update({"access_groups": ["beta"], "max_input_tokens": 8000, "supports_vision": True})
    chat_2 = deployment("chat", "ok-chat-2", "chat-2", rpm=5, input_cost_per_token=2e-6)
    chat_2["model_info"]["max_input_tokens"] = 16000
    embed = deployment("embed", "ok-embed", "embed-1")
    embed["model_info"].update({"mode": "embedding", "access_groups": ["beta", "internal"]})
    return make_router([chat_1, chat_2, embed], model_group_alias={
        "smart": "chat", "hidden-chat": {"model": "chat", "hidden": True}, "listed": {"model": "embed", "hidden": False}})


def ids(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(entry["model_name"], entry["model_info"]["id"]) for entry in entries]


def test_get_model_list_includes_visible_aliases(aliased: llmux.Router) -> None:
    everything = aliased.get_model_list()
    # LiteLLM's order: the aliases' entries (named by the alias), then the deployments.
    assert ids(everything) == [("smart", "chat-1"), ("smart", "chat-2"), ("listed", "embed-1"),
                               ("chat", "chat-1"), ("chat", "chat-2"), ("embed", "embed-1")]
    assert ids(aliased.get_model_list("smart")) == [("smart", "chat-1"), ("smart", "chat-2")]
    assert aliased.get_model_list("hidden-chat") == []
    assert ids(aliased.get_model_list("chat")) == [("chat", "chat-1"), ("chat", "chat-2")]
    assert aliased.get_model_list("nope") == []
    assert ids(aliased.get_model_list_from_model_alias()) == ids(everything)[:3]
    assert ids(aliased.get_model_list_from_model_alias("listed")) == [("listed", "embed-1")]
    # The values given, api_key included, as LiteLLM; router.model_list has no alias entries.
    assert everything[3]["litellm_params"]["api_key"] == f"{SECRET_PREFIX}-chat-1"
    assert ids(aliased.model_list) == ids(everything)[3:]
    # Hidden aliases still route.
    assert aliased.completion(model="hidden-chat", messages=user())._hidden_params["model_id"] in ("chat-1", "chat-2")


def test_model_names_and_ids(aliased: llmux.Router) -> None:
    assert aliased.get_model_names() == ["smart", "listed", "chat", "embed"]
    assert aliased.get_model_ids() == ["chat-1", "chat-2", "embed-1"]
    assert aliased.get_model_ids("chat") == ["chat-1", "chat-2"]
    assert aliased.get_model_ids("smart") == []  # ids by exact group name, as LiteLLM
    assert aliased.get_model_ids("nope") == []


def test_get_deployment_is_an_object_with_the_values_given(aliased: llmux.Router,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    found = aliased.get_deployment("chat-2")
    assert found is not None
    assert found.model_name == "chat" and found["model_name"] == "chat"
    assert found.litellm_params.model == "openai/ok-chat-2"
    assert found.litellm_params.api_key == f"{SECRET_PREFIX}-chat-2"  # LiteLLM does not redact it
    assert found.litellm_params.input_cost_per_token == 2e-6
    assert found.model_info.id == "chat-2"
    dumped = found.model_dump()
    assert dumped["litellm_params"]["model"] == "openai/ok-chat-2" and dumped["model_info"]["id"] == "chat-2"
    assert aliased.get_deployment("nope") is None
    first = aliased.get_deployment_by_model_group_name("chat")
    assert first is not None and first.model_info.id == "chat-1"
    assert aliased.get_deployment_by_model_group_name("nope") is None


def test_get_deployment_reads_os_environ_values(make_router: MakeRouter, deployment: Deployment,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMUX_TEST_KEY", "sk-from-env")
    entry = deployment("chat", "ok-chat", "env-1")
    entry["litellm_params"]["api_key"] = "os.environ/LLMUX_TEST_KEY"
    router = make_router([entry])
    found = router.get_deployment("env-1")
    assert found is not None and found.litellm_params.api_key == "sk-from-env"


def test_from_config_deployments_are_the_library_view(fake_server: Any) -> None:
    config = (f"model_list:\n  - model_name: chat\n    litellm_params: {{model: openai/ok-chat, "
              f"api_base: '{fake_server.base_url}', api_key: {SECRET_PREFIX}-x}}\n    model_info: {{id: c-1}}\n")
    with llmux.Router.from_config(config) as router:
        found = router.get_deployment("c-1")
        assert found is not None and found.litellm_params.model == "openai/ok-chat"
        assert found.litellm_params.api_key == "***"


def test_model_group_info(aliased: llmux.Router) -> None:
    info = aliased.get_model_group_info("chat")
    assert info is not None
    assert info.model_group == "chat" and info.model_dump()["model_group"] == "chat"
    assert info.providers == ["openai"]
    assert info.max_input_tokens == 16000  # the largest of the group
    assert info.input_cost_per_token == pytest.approx(2e-6)
    assert info.rpm == 15 and info.tpm == 1000  # summed over the deployments that set them
    assert info.supports_vision is True and info.supports_function_calling is False
    assert info.mode is None  # models the map does not know have no mode (as LiteLLM)
    # An alias reports under its own name; a hidden alias and an unknown group are None.
    smart = aliased.get_model_group_info("smart")
    assert smart is not None and smart.model_group == "smart" and smart.rpm == 15
    assert aliased.get_model_group_info("hidden-chat") is None
    assert aliased.get_model_group_info("nope") is None
    embed = aliased.get_model_group_info("embed")
    assert embed is not None and embed.mode == "embedding" and embed.rpm is None
    assert "model_group" in info.model_dump()


def test_router_model_info(aliased: llmux.Router) -> None:
    entry = aliased.get_model_list("chat")[0]
    info = aliased.get_router_model_info(entry, "chat")
    assert info["litellm_provider"] == "openai" and info["key"] == "openai/ok-chat-1"  # unmapped: as LiteLLM
    assert info["max_input_tokens"] == 8000 and info["id"] == "chat-1"
    assert info["supports_vision"] is True  # model_info is laid over the rest
    by_id = aliased.get_router_model_info(None, "chat", id="chat-2")
    assert by_id["input_cost_per_token"] == pytest.approx(2e-6)
    with pytest.raises(ValueError):
        aliased.get_router_model_info(None, "chat", id="nope")


def test_model_access_groups(aliased: llmux.Router) -> None:
    assert aliased.get_model_access_groups() == {"beta": ["smart", "listed", "chat", "embed"],
                                                 "internal": ["listed", "embed"]}
    assert aliased.get_model_access_groups(model_name="embed") == {"beta": ["embed"], "internal": ["embed"]}
    assert aliased.get_model_access_groups(model_access_group="internal") == {"internal": ["listed", "embed"]}


def test_wildcard_group_in_get_model_list(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("openai/*", "ok-any", "wild-1")])
    assert ids(router.get_model_list("openai/gpt-4o")) == [("openai/gpt-4o", "wild-1")]
    assert router.get_model_list("anthropic/claude") == []


def test_set_model_list_replaces_every_deployment(router: llmux.Router, deployment: Deployment) -> None:
    router.set_model_list([deployment("new", "ok-new", "new-1"), deployment("new", "ok-new-2", "new-2")])
    assert router.get_model_ids() == ["new-1", "new-2"]
    assert router.completion(model="new", messages=user())._hidden_params["model_id"] in ("new-1", "new-2")
    with pytest.raises(llmux.BadRequestError):
        router.completion(model="chat", messages=user())
    found = router.get_deployment("new-2")
    assert found is not None and found.litellm_params.api_key == f"{SECRET_PREFIX}-new-2"


def test_set_model_list_rejects_a_bad_entry_before_removing_anything(router: llmux.Router) -> None:
    with pytest.raises(llmux.InvalidConfigError):
        router.set_model_list([object()])
    assert router.get_model_ids() == ["chat-1", "chat-2", "embed-1"]


def test_set_model_list_expands_organization_lists(router: llmux.Router, deployment: Deployment) -> None:
    entry = deployment("org", "ok-org", "unused")
    del entry["model_info"]
    entry["litellm_params"]["organization"] = ["org-a", "org-b"]
    router.set_model_list([entry])
    organizations = [router.get_deployment(i).litellm_params.organization for i in router.get_model_ids("org")]
    assert organizations == ["org-a", "org-b"]


def test_abatch_completion_one_request_to_many_models(router: llmux.Router, make_router: MakeRouter,
                                                      deployment: Deployment) -> None:
    results = asyncio.run(router.abatch_completion(models=["chat", "missing"], messages=user("hi"), max_tokens=5))
    assert len(results) == 2
    assert isinstance(results[0], llmux.ModelResponse)
    assert isinstance(results[1], llmux.BadRequestError)  # returned, not raised


def test_abatch_completion_many_requests_to_many_models(router: llmux.Router) -> None:
    results = asyncio.run(router.abatch_completion(models=["chat", "chat"], messages=[user("a"), user("b"),
                                                                                      user("c")]))
    assert [len(per_request) for per_request in results] == [2, 2, 2]
    assert all(isinstance(result, llmux.ModelResponse) for per_request in results for result in per_request)


def test_abatch_completion_one_model_multiple_requests(router: llmux.Router) -> None:
    results = asyncio.run(router.abatch_completion_one_model_multiple_requests(
        model="chat", messages=[user("a"), user("b")]))
    assert len(results) == 2 and all(isinstance(result, llmux.ModelResponse) for result in results)
    failed = asyncio.run(router.abatch_completion_one_model_multiple_requests(model="missing", messages=[user()]))
    assert isinstance(failed[0], llmux.BadRequestError)


def test_abatch_completion_fastest_response(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("slow", "slow-10000-slow", "slow-1"), deployment("fast", "ok-fast", "fast-1"),
                          deployment("bad", "status-400-bad", "bad-1")], num_retries=0)
    resp = asyncio.run(router.abatch_completion_fastest_response(model="slow, bad, fast", messages=user()))
    assert resp._hidden_params["model_id"] == "fast-1"
    assert resp._hidden_params["fastest_response_batch_completion"] is True
    resp = asyncio.run(router.abatch_completion_fastest_response(model=["bad", "fast"], messages=user()))
    assert resp._hidden_params["model_id"] == "fast-1"
    with pytest.raises(Exception, match="All tasks failed"):
        asyncio.run(router.abatch_completion_fastest_response(model="bad", messages=user()))


@pytest.fixture
def module_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("num_retries", "request_timeout", "max_fallbacks", "fallbacks", "default_fallbacks",
                 "context_window_fallbacks", "content_policy_fallbacks"):
        monkeypatch.setattr(llmux, name, None)


@pytest.mark.usefixtures("module_defaults")
def test_module_level_defaults_are_read_when_the_router_is_made(make_router: MakeRouter,
                                                                 deployment: Deployment) -> None:
    deployments = [deployment("bad", "status-500-bad", "bad-1"), deployment("good", "ok-good", "good-1")]
    llmux.num_retries = 0
    llmux.default_fallbacks = ["good"]
    router = make_router(deployments)
    resp = router.completion(model="bad", messages=user())
    assert resp._hidden_params["model_id"] == "good-1"
    assert resp._hidden_params["max_retries"] == 0 and resp._hidden_params["fallbacks"] == 1
    # Read at creation: a router made before the change keeps what it read.
    llmux.default_fallbacks = None
    assert router.completion(model="bad", messages=user())._hidden_params["model_id"] == "good-1"
    with pytest.raises(llmux.InternalServerError):
        make_router(deployments).completion(model="bad", messages=user())
    # An argument wins over the module's value.
    llmux.num_retries = 3
    assert make_router(deployments, num_retries=1).completion(
        model="good", messages=user())._hidden_params["max_retries"] == 1


@pytest.mark.usefixtures("module_defaults")
def test_module_level_fallbacks_are_copied(make_router: MakeRouter, deployment: Deployment) -> None:
    llmux.fallbacks = [{"bad": ["good"]}]
    deployments = [deployment("bad", "status-500-bad", "bad-1"), deployment("good", "ok-good", "good-1")]
    router = make_router(deployments, num_retries=0)
    assert router.completion(model="bad", messages=user())._hidden_params["model_id"] == "good-1"
    assert llmux.fallbacks == [{"bad": ["good"]}]  # LiteLLM appends to it; llmux leaves it as it was


@pytest.mark.skipif("litellm" not in sys.modules, reason="litellm is not imported in this environment")
@pytest.mark.usefixtures("module_defaults")
def test_litellm_module_defaults(make_router: MakeRouter, deployment: Deployment,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = sys.modules["litellm"]
    monkeypatch.setattr(litellm, "num_retries", 0)
    monkeypatch.setattr(litellm, "default_fallbacks", ["good"])
    router = make_router([deployment("bad", "status-500-bad", "bad-1"), deployment("good", "ok-good", "good-1")])
    resp = router.completion(model="bad", messages=user())
    assert resp._hidden_params["model_id"] == "good-1" and resp._hidden_params["max_retries"] == 0
