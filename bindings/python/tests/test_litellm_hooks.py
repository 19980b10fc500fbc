"""LiteLLM's CustomLogger hooks per attempt and per fallback, litellm's module callback lists, and
the lenient config inputs LiteLLM accepts (Router(...) and from_config)."""

from __future__ import annotations

import asyncio
import json
import sys
import warnings
from typing import Any, Callable

import pytest

import llmux
from support import Deployment, user

MakeRouter = Callable[..., llmux.Router]

if "litellm" in sys.modules:  # the real base class when the environment has litellm imported
    from litellm.integrations.custom_logger import CustomLogger as _Base
else:
    _Base = object


class StateLogger(_Base):  # type: ignore[misc, valid-type]
    """Records LiteLLM's hook names in order, with the kwargs each got."""

    def __init__(self) -> None:
        self.states: list[tuple[str, Any]] = []

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: dict[str, Any]) -> None:
        self.states.append(("pre", kwargs))

    def log_post_api_call(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.states.append(("post", kwargs))

    def log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.states.append(("sync_success", kwargs))

    def log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.states.append(("sync_failure", kwargs))

    async def async_log_success_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self.states.append(("async_success", kwargs))

    async def async_log_failure_event(self, kwargs: dict[str, Any], response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self.states.append(("async_failure", kwargs))

    async def log_success_fallback_event(self, original_model_group: str, kwargs: dict[str, Any],
                                         original_exception: Exception) -> None:
        self.states.append(("fallback_success", {"original": original_model_group, **kwargs}))

    async def log_failure_fallback_event(self, original_model_group: str, kwargs: dict[str, Any],
                                         original_exception: Exception) -> None:
        self.states.append(("fallback_failure", {"original": original_model_group, **kwargs}))

    def names(self) -> list[str]:
        return [name for name, _ in self.states]


def test_one_attempt_is_pre_post_success(make_router: MakeRouter, deployment: Deployment) -> None:
    logger = StateLogger()
    router = make_router([deployment("chat", "ok-chat", "chat-1")], callbacks=[logger])
    asyncio.run(router.acompletion(model="chat", messages=user(), temperature=0))
    assert logger.names() == ["pre", "post", "async_success"]
    pre = logger.states[0][1]
    assert pre["litellm_params"]["metadata"]["model_group"] == "chat"
    assert pre["litellm_params"]["model_info"]["id"] == "chat-1"
    assert pre["optional_params"] == {"temperature": 0} and pre["log_event_type"] == "pre_api_call"
    success = logger.states[2][1]
    assert isinstance(success["litellm_params"]["stream_response"], dict)
    assert success["litellm_params"]["proxy_server_request"] is None and success["cache_hit"] is None
    assert isinstance(success["response_cost"], float) and success["start_time"] <= success["end_time"]


def test_a_fallback_is_pre_post_failure_then_pre_post_success(make_router: MakeRouter,
                                                               deployment: Deployment) -> None:
    logger = StateLogger()
    router = make_router([deployment("bad", "status-500-bad", "bad-1"), deployment("chat", "ok-chat", "chat-1")],
                         num_retries=0, fallbacks=[{"bad": ["chat"]}], callbacks=[logger])
    asyncio.run(router.acompletion(model="bad", messages=user()))
    assert logger.names() == ["pre", "post", "async_failure", "pre", "post", "fallback_success", "async_success"]
    failure = logger.states[2][1]
    assert failure["litellm_params"]["model_info"]["id"] == "bad-1"
    assert isinstance(failure["exception"], llmux.InternalServerError) and failure["exception"].status_code == 500
    fallback = logger.states[5][1]
    assert fallback["original"] == "bad" and fallback["litellm_params"]["metadata"]["model_group"] == "chat"
    # Sync calls get the sync hooks (no fallback hooks: LiteLLM runs those on its async path only).
    logger.states.clear()
    router.completion(model="bad", messages=user())
    assert logger.names() == ["pre", "post", "sync_failure", "pre", "post", "sync_success"]


def test_a_failed_call_reports_each_attempt_and_raises(make_router: MakeRouter, deployment: Deployment) -> None:
    logger = StateLogger()
    router = make_router([deployment("bad", "status-500-a", "bad-1"), deployment("bad", "status-500-b", "bad-2")],
                         num_retries=1, callbacks=[logger])
    with pytest.raises(llmux.InternalServerError) as raised:
        asyncio.run(router.acompletion(model="bad", messages=user()))
    assert logger.names() == ["pre", "post", "async_failure", "pre", "post", "async_failure"]
    assert logger.states[-1][1]["exception"] is raised.value  # the last attempt's is the call's own
    assert {logger.states[2][1]["model_info"]["id"], logger.states[5][1]["model_info"]["id"]} == {"bad-1", "bad-2"}


def test_each_attempt_sees_the_failures_before_it_as_previous_models(make_router: MakeRouter,
                                                                     deployment: Deployment) -> None:
    # LiteLLM's retry tests count retries through metadata["previous_models"] in log_pre_api_call.
    logger = StateLogger()
    router = make_router([deployment("bad", "status-500-prev", "bad-1")], num_retries=2, retry_after=0,
                         callbacks=[logger])
    with pytest.raises(llmux.InternalServerError):
        router.completion(model="bad", messages=user())
    pre = [kwargs for name, kwargs in logger.states if name == "pre"]
    assert [len(kwargs["litellm_params"]["metadata"]["previous_models"]) for kwargs in pre] == [0, 1, 2]
    first = pre[2]["litellm_params"]["metadata"]["previous_models"][0]
    assert first["exception_type"] == "InternalServerError" and first["model"] == "bad"
    assert first["model_info"]["id"] == "bad-1"


def test_no_callbacks_no_work(make_router: MakeRouter, deployment: Deployment,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    from llmux import _observe

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("kwargs were built for a call without callbacks")

    monkeypatch.setattr(_observe, "_kwargs", forbidden)
    for name in ("callbacks", "success_callback", "failure_callback"):
        monkeypatch.setattr(llmux, name, [])
    litellm = sys.modules.get("litellm")
    if litellm is not None:
        for name in ("callbacks", "success_callback", "failure_callback"):
            monkeypatch.setattr(litellm, name, [])
    router = make_router([deployment("chat", "ok-chat", "chat-1")])
    router.completion(model="chat", messages=user())


@pytest.mark.skipif("litellm" not in sys.modules, reason="litellm is not imported in this environment")
def test_litellm_module_callbacks_are_read(make_router: MakeRouter, deployment: Deployment,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = sys.modules["litellm"]
    logger = StateLogger()
    seen: list[str] = []
    monkeypatch.setattr(litellm, "callbacks", [logger])
    monkeypatch.setattr(litellm, "success_callback", [lambda kwargs, *_: seen.append(kwargs["model_info"]["id"])])
    monkeypatch.setattr(litellm, "failure_callback", [])
    router = make_router([deployment("chat", "ok-chat", "chat-1")])
    asyncio.run(router.acompletion(model="chat", messages=user()))
    assert isinstance(logger, litellm.integrations.custom_logger.CustomLogger)
    assert logger.names() == ["pre", "post", "async_success"] and seen == ["chat-1"]


def test_string_integrations_warn_naming_them(make_router: MakeRouter, deployment: Deployment) -> None:
    with pytest.warns(llmux.LiteLLMCompatibilityWarning, match="'langfuse-llmux-test'"):
        make_router([deployment("chat", "ok-chat", "chat-1")], callbacks=["langfuse-llmux-test"])


# ---- lenient inputs ---------------------------------------------------------------------------


def lenient_entries(base_url: str) -> list[dict[str, Any]]:
    return [
        {"model_name": "org", "litellm_params": {"model": "openai/ok-org", "api_base": base_url, "api_key": "k",
                                                 "organization": ["org-a", "org-b"]}},
        {"model_name": "bad", "litellm_params": {"model": "openai/status-500-bad", "api_base": base_url,
                                                 "api_key": "k"}, "model_info": {"id": "bad-1"}},
        {"model_name": "zero", "litellm_params": {"model": "openai/ok-zero", "api_base": base_url, "api_key": "k"},
         "model_info": {"id": "zero-1", "max_input_tokens": 0}},
    ]


def check_lenient(router: llmux.Router) -> None:
    organizations = sorted(router.get_deployment(i).litellm_params.organization for i in router.get_model_ids("org"))
    assert organizations == ["org-a", "org-b"]
    assert router.completion(model="bad", messages=user())._hidden_params["model_group"] == "org"
    long_prompt = user("word " * 2000)
    assert router.completion(model="zero", messages=long_prompt, enable_pre_call_checks=True)


def test_lenient_inputs_in_router_arguments(make_router: MakeRouter, fake_server: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LiteLLM warns about none of them
        router = make_router(lenient_entries(fake_server.base_url), num_retries=0, fallbacks=[{"bad": "org"}],
                             enable_pre_call_checks=True)
    check_lenient(router)


def test_lenient_inputs_in_a_config(fake_server: Any) -> None:
    config = {"model_list": lenient_entries(fake_server.base_url),
              "router_settings": {"num_retries": 0, "fallbacks": [{"bad": "org"}], "enable_pre_call_checks": True}}
    yaml_text = "\n".join(["model_list:"] + [f"  - {json.dumps(entry)}" for entry in config["model_list"]]
                          + ["router_settings:", "  num_retries: 0", "  fallbacks: [{bad: org}]",
                             "  enable_pre_call_checks: true", ""])
    for text in (json.dumps(config), yaml_text):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            router = llmux.Router.from_config(text)
        with router:
            check_lenient(router)


def test_a_per_request_fallback_target_without_its_list(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("bad", "status-500-bad", "bad-1"), deployment("chat", "ok-chat", "chat-1")],
                         num_retries=0)
    resp = router.completion(model="bad", messages=user(), fallbacks=[{"bad": "chat"}])
    assert resp._hidden_params["model_id"] == "chat-1"


def test_mock_objects_are_function_callbacks_with_the_calls_params(make_router: MakeRouter, deployment: Deployment,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # LiteLLM calls any callable that is not a CustomLogger; a MagicMock answers every attribute, so
    # only what its class defines may make it a logger object.
    from unittest.mock import MagicMock

    failed, succeeded = MagicMock(), MagicMock()
    monkeypatch.setattr(llmux, "failure_callback", [failed])
    monkeypatch.setattr(llmux, "success_callback", [succeeded])
    router = make_router([deployment("bad", "status-500-mock", "bad-1"), deployment("chat", "ok-chat", "chat-1")],
                         cooldown_time=60)
    with pytest.raises(llmux.InternalServerError):
        router.completion(model="bad", messages=user(), cooldown_time=0, num_retries=0)
    failed.assert_called_once()
    kwargs = failed.call_args[0][0]
    assert kwargs["litellm_params"]["cooldown_time"] == 0 and kwargs["litellm_params"]["num_retries"] == 0
    assert isinstance(kwargs["exception"], llmux.InternalServerError)
    assert not failed.log_failure_event.called  # the mock itself, not an attribute it made up
    succeeded.assert_not_called()
    router.completion(model="chat", messages=user())
    succeeded.assert_called_once()
    assert succeeded.call_args[0][0]["model_info"]["id"] == "chat-1"
    failed.assert_called_once()
