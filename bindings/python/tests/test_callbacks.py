"""LiteLLM-style logging callbacks, routing events and config warnings."""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from typing import Any, Callable

import pytest

import llmux
from support import Deployment, user

MakeRouter = Callable[..., llmux.Router]


class Recorder:
    """A LiteLLM function callback that records what it was given, and on which thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], Any, Any, Any]] = []
        self.threads: list[int] = []

    def __call__(self, kwargs: dict[str, Any], response: Any, start_time: Any, end_time: Any) -> None:
        self.calls.append((kwargs, response, start_time, end_time))
        self.threads.append(threading.get_ident())


class Logger:
    """A CustomLogger-like object: records which of LiteLLM's four methods ran."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any], Any]] = []

    def log_success_event(self, kwargs: dict[str, Any], response: Any, start_time: Any, end_time: Any) -> None:
        self.seen.append(("log_success_event", kwargs, response))

    def log_failure_event(self, kwargs: dict[str, Any], response: Any, start_time: Any, end_time: Any) -> None:
        self.seen.append(("log_failure_event", kwargs, response))

    async def async_log_success_event(self, kwargs: dict[str, Any], response: Any, start_time: Any,
                                      end_time: Any) -> None:
        await asyncio.sleep(0)
        self.seen.append(("async_log_success_event", kwargs, response))

    async def async_log_failure_event(self, kwargs: dict[str, Any], response: Any, start_time: Any,
                                      end_time: Any) -> None:
        self.seen.append(("async_log_failure_event", kwargs, response))


@pytest.fixture
def module_callbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh module-wide lists for the test (restored after it)."""
    for name in ("callbacks", "success_callback", "failure_callback"):
        monkeypatch.setattr(llmux, name, [])


def test_config_warnings_are_litellm_compatibility_warnings_from_the_caller(fake_server: Any) -> None:
    config = (f"model_list:\n  - model_name: chat\n    litellm_params: {{model: openai/ok-chat, "
              f"api_base: '{fake_server.base_url}', api_key: sk-x}}\ngeneral_settings:\n  master_key: sk-master\n")
    with pytest.warns(llmux.LiteLLMCompatibilityWarning, match="general_settings") as record:
        router = llmux.Router.from_config(config)
    router.close()
    assert issubclass(llmux.LiteLLMCompatibilityWarning, Warning)
    # Issued on the creating thread, pointing at the caller's line (not into the package).
    assert [w.filename for w in record if "general_settings" in str(w.message)] == [__file__]


def test_a_config_without_warnings_warns_nothing(make_router: MakeRouter, deployment: Deployment) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_router([deployment("chat", "ok-chat", "chat-1")])


@pytest.mark.usefixtures("module_callbacks")
def test_success_callback_gets_litellm_kwargs_on_the_calling_thread(make_router: MakeRouter,
                                                                     deployment: Deployment) -> None:
    success, failure = Recorder(), Recorder()
    llmux.success_callback.append(success)
    llmux.failure_callback.append(failure)
    router = make_router([deployment("chat", "ok-chat-1", "chat-1"), deployment("chat", "ok-chat-2", "chat-2")])
    resp = router.completion(model="chat", messages=user(), metadata={"team": "blue"})
    assert len(success.calls) == 1 and failure.calls == []
    assert success.threads == [threading.get_ident()]
    kwargs, response, start_time, end_time = success.calls[0]
    assert response is resp
    assert start_time <= end_time
    hidden = resp._hidden_params
    assert kwargs["model_info"]["id"] == hidden["model_id"] in ("chat-1", "chat-2")
    assert kwargs["litellm_params"]["metadata"]["model_group"] == "chat"
    assert kwargs["litellm_params"]["metadata"]["model_info"]["id"] == hidden["model_id"]
    assert kwargs["litellm_params"]["metadata"]["team"] == "blue"  # the request's own metadata
    assert kwargs["response_cost"] == pytest.approx(hidden["response_cost"])
    assert kwargs["litellm_call_id"] == str(hidden["litellm_call_id"])
    assert kwargs["messages"] == user()
    assert kwargs["call_type"] == "completion" and kwargs["stream"] is False
    assert kwargs["llmux"]["attempts"] == 1 and kwargs["llmux"]["retries"] == 0
    assert kwargs["llmux"]["events"] == []  # the router has no on_event: no events asked for
    slo = kwargs["standard_logging_object"]
    assert slo["status"] == "success" and slo["model_group"] == "chat" and slo["model_id"] == hidden["model_id"]
    assert slo["total_tokens"] == resp.usage.total_tokens > 0


@pytest.mark.usefixtures("module_callbacks")
def test_failure_callback_gets_the_raised_exception(make_router: MakeRouter, deployment: Deployment) -> None:
    success, failure = Recorder(), Recorder()
    llmux.success_callback.append(success)
    llmux.failure_callback.append(failure)
    router = make_router([deployment("bad", "status-400-bad", "bad-1")], num_retries=0)
    with pytest.raises(llmux.BadRequestError) as raised:
        router.completion(model="bad", messages=user())
    assert success.calls == [] and len(failure.calls) == 1
    kwargs, response, _, _ = failure.calls[0]
    assert response is None
    assert kwargs["exception"] is raised.value
    assert "BadRequestError" in kwargs["traceback_exception"]
    assert kwargs["model_info"]["id"] == "bad-1"
    assert kwargs["litellm_params"]["metadata"]["model_group"] == "bad"
    assert kwargs["standard_logging_object"]["status"] == "failure"


def test_custom_logger_sync_and_async_methods(make_router: MakeRouter, deployment: Deployment) -> None:
    logger = Logger()
    router = make_router([deployment("chat", "ok-chat", "chat-1"), deployment("bad", "status-400-bad", "bad-1")],
                         num_retries=0, callbacks=[logger])
    resp = router.completion(model="chat", messages=user())
    assert [name for name, _, _ in logger.seen] == ["log_success_event"]
    assert logger.seen[0][2] is resp

    async def run() -> Any:
        done = await router.acompletion(model="chat", messages=user())
        with pytest.raises(llmux.BadRequestError):
            await router.acompletion(model="bad", messages=user())
        return done

    aresp = asyncio.run(run())
    assert [name for name, _, _ in logger.seen] == ["log_success_event", "async_log_success_event",
                                                     "async_log_failure_event"]
    assert logger.seen[1][2] is aresp
    assert logger.seen[1][1]["call_type"] == "acompletion"
    assert isinstance(logger.seen[2][1]["exception"], llmux.BadRequestError)


@pytest.mark.usefixtures("module_callbacks")
def test_module_callbacks_set_after_the_router_was_made(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("embed", "ok-embed", "embed-1")])
    seen: list[str] = []

    async def on_any(kwargs: dict[str, Any], response: Any, start_time: Any, end_time: Any) -> None:
        seen.append(kwargs["call_type"])

    def on_any_sync(kwargs: dict[str, Any], response: Any, start_time: Any, end_time: Any) -> None:
        seen.append("sync-" + kwargs["call_type"])

    llmux.callbacks.extend([on_any, on_any_sync])
    router.embedding(model="embed", input="hi")  # a coroutine function runs for async calls only
    asyncio.run(router.aembedding(model="embed", input="hi"))
    assert seen == ["sync-embedding", "aembedding", "sync-aembedding"]


def test_on_event_sees_fallbacks_and_the_success_reports_them(make_router: MakeRouter,
                                                              deployment: Deployment) -> None:
    events: list[dict[str, Any]] = []
    success = Recorder()
    router = make_router([deployment("bad", "status-500-bad", "bad-1"), deployment("chat", "ok-chat", "chat-1")],
                         num_retries=0, fallbacks=[{"bad": ["chat"]}], on_event=events.append, callbacks=[success])
    router.completion(model="bad", messages=user())
    types = [e["type"] for e in events]
    assert "fallback" in types and types[-1] == "success"
    fallback = events[types.index("fallback")]
    assert fallback["model_group"] == "bad" and fallback["fallback_group"] == "chat"
    assert fallback["error"]["type"] == "InternalServerError"
    # As LiteLLM's loggers, a callback of both kinds hears of the failed attempt first.
    assert len(success.calls) == 2
    failed = success.calls[0][0]
    assert failed["litellm_params"]["metadata"]["model_group"] == "bad" and failed["model_info"]["id"] == "bad-1"
    assert isinstance(failed["exception"], llmux.InternalServerError)
    kwargs = success.calls[1][0]
    assert kwargs["litellm_params"]["metadata"]["model_group"] == "chat"
    assert kwargs["model_info"]["id"] == "chat-1"
    assert kwargs["llmux"]["fallbacks"] == 1 and kwargs["llmux"]["attempts"] == 2
    assert [e["type"] for e in kwargs["llmux"]["events"]] == types


def test_a_raising_callback_is_logged_and_does_not_change_the_result(make_router: MakeRouter, deployment: Deployment,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    def broken(kwargs: dict[str, Any], response: Any, start_time: Any, end_time: Any) -> None:
        raise RuntimeError("logger is down")

    def broken_hook(event: dict[str, Any]) -> None:
        raise ValueError("hook is down")

    router = make_router([deployment("chat", "ok-chat", "chat-1")], callbacks=[broken], on_event=broken_hook)
    with caplog.at_level(logging.ERROR, logger="llmux"):
        resp = router.completion(model="chat", messages=user())
    assert resp.choices[0].message.content == "Hello from ok-chat."
    messages = [r.getMessage() for r in caplog.records if r.name == "llmux"]
    assert any("broken" in m for m in messages) and any("broken_hook" in m for m in messages)


def test_streams_report_when_they_end(make_router: MakeRouter, deployment: Deployment) -> None:
    success = Recorder()
    logger = Logger()
    router = make_router([deployment("chat", "ok-chat", "chat-1")], callbacks=[success, logger])
    stream = router.completion(model="chat", messages=user(), stream=True)
    chunks = list(stream)
    assert chunks and len(success.calls) == 1
    kwargs, response, _, _ = success.calls[0]
    assert response is stream and kwargs["stream"] is True
    assert kwargs["model_info"]["id"] == "chat-1"

    async def run() -> None:
        astream = await router.acompletion(model="chat", messages=user(), stream=True)
        async for _ in astream:
            pass

    asyncio.run(run())
    assert [name for name, _, _ in logger.seen] == ["log_success_event", "async_log_success_event"]
    assert logger.seen[1][1]["stream"] is True


def test_a_litellm_integration_name_is_skipped_with_a_warning(make_router: MakeRouter,
                                                              deployment: Deployment) -> None:
    with pytest.warns(llmux.LiteLLMCompatibilityWarning, match="not-an-llmux-integration"):
        router = make_router([deployment("chat", "ok-chat", "chat-1")], callbacks=["not-an-llmux-integration"])
    router.completion(model="chat", messages=user())
