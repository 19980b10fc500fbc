"""OpenTelemetry spans (llmux.OpenTelemetry, the "otel" callback) seen by the SDK's in-memory exporter.

The span tests are skipped when opentelemetry-sdk is not importable, except under LLMUX_TEST_WITH_LITELLM=1
(test.sh's second pass installs it): there a missing SDK fails the module. They give the tracer provider
explicitly; the global one is only set in a child process (it can be set once per process). What happens
without opentelemetry is tested in every pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import warnings
from typing import Any, Callable, Iterator

import pytest

import llmux
from llmux import _observe
from support import SECRET_PREFIX, Deployment, user

try:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, StatusCode
    HAVE_SDK = True
except ImportError:
    if os.environ.get("LLMUX_TEST_WITH_LITELLM") == "1":  # test.sh's pass 2 installs it: never skipped there
        raise
    HAVE_SDK = False

needs_sdk = pytest.mark.skipif(not HAVE_SDK, reason="opentelemetry-sdk is not installed")

MakeRouter = Callable[..., llmux.Router]
#: The user message of the calls: it must not reach any attribute (nor the answer, "Hello from ...").
CONTENT = "pytest-message-content"


class Spans:
    """A tracer provider whose finished spans are kept in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.user_tracer = self.provider.get_tracer("test")

    def finished(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def llmux(self) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.instrumentation_scope.name == "llmux"]

    def calls(self) -> list[ReadableSpan]:
        return [span for span in self.llmux() if not span.name.startswith("attempt ")]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        found = [span for span in self.llmux() if span.parent is not None
                 and span.parent.span_id == parent.context.span_id]
        return sorted(found, key=lambda span: span.attributes["llmux.attempt.index"])


@pytest.fixture
def spans() -> Iterator[Spans]:
    made = Spans()
    yield made
    made.provider.shutdown()


def _retrying_router(make_router: MakeRouter, deployment: Deployment, spans: Spans) -> llmux.Router:
    """Group "chat": a 503 deployment tried first, then (cooled down at once) a good one."""
    return make_router([deployment("chat", "status-503", "dep-bad", order=1),
                        deployment("chat", "ok-good", "dep-good", order=2)],
                       num_retries=1, allowed_fails=0, callbacks=[llmux.OpenTelemetry(tracer_provider=spans.provider)])


def _is_child_of(span: ReadableSpan, parent: ReadableSpan) -> bool:
    return (span.parent is not None and span.parent.span_id == parent.context.span_id
            and span.context.trace_id == parent.context.trace_id)


def _no_secret_in(spans: list[ReadableSpan]) -> None:
    """No API key and no message content (the request's or the answer's) in any span."""
    assert spans
    for span in spans:
        for key, value in (span.attributes or {}).items():
            for forbidden in (SECRET_PREFIX, CONTENT, "Hello from"):
                assert forbidden not in str(value), (span.name, key, value)
        assert SECRET_PREFIX not in (span.status.description or "")


@needs_sdk
def test_a_retried_call_is_a_span_with_one_child_per_attempt_under_the_callers_span(
        make_router: MakeRouter, deployment: Deployment, spans: Spans) -> None:
    router = _retrying_router(make_router, deployment, spans)
    with spans.user_tracer.start_as_current_span("request handler") as handler:
        resp = router.completion(model="chat", messages=user(CONTENT))
    hidden = resp._hidden_params
    assert hidden["model_id"] == "dep-good" and hidden["attempts"] == 2

    [call] = spans.calls()
    assert call.name == "chat chat" and call.kind == SpanKind.CLIENT
    assert _is_child_of(call, handler)  # type: ignore[arg-type]
    assert call.status.status_code == StatusCode.UNSET
    attributes = dict(call.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "chat"
    assert attributes["gen_ai.response.model"] == resp.model and attributes["gen_ai.response.id"] == resp.id
    assert attributes["gen_ai.usage.input_tokens"] == resp.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == resp.usage.completion_tokens
    assert attributes["server.address"] == "127.0.0.1" and attributes["server.port"] > 0
    assert attributes["llmux.call_id"] == hidden["call_id"]
    assert attributes["llmux.model_group"] == "chat"
    assert attributes["llmux.deployment_id"] == "dep-good" and attributes["llmux.deployment_model"] == "ok-good"
    assert (attributes["llmux.attempts"], attributes["llmux.retries"], attributes["llmux.fallbacks"]) == (2, 1, 0)
    assert attributes["llmux.response_cost"] == pytest.approx(hidden["response_cost"])
    assert attributes["llmux.stream"] is False
    assert "llmux.fallback_model_group" not in attributes and "error.type" not in attributes

    failed, served = spans.children(call)
    for index, attempt in enumerate((failed, served)):
        assert attempt.name == "attempt chat" and attempt.kind == SpanKind.CLIENT
        assert attempt.attributes["llmux.attempt.index"] == index
        assert attempt.attributes["llmux.model_group"] == "chat"
        assert attempt.context.trace_id == handler.get_span_context().trace_id
        # Placed inside the call span, one after the other.
        assert call.start_time <= attempt.start_time <= attempt.end_time <= call.end_time
    assert failed.start_time <= served.start_time
    # Each at its attempt log entry: start = call start + start_ms (a library without start_ms: the
    # attempts back to back from the call's start), duration = latency_ms.
    offset_ms = 0.0
    for attempt, entry in zip((failed, served), hidden["attempt_log"]):
        begin_ms = entry.get("start_ms", offset_ms)
        assert attempt.start_time - call.start_time == int(begin_ms * 1e6)
        assert attempt.end_time - attempt.start_time == int(entry["latency_ms"] * 1e6)
        offset_ms = begin_ms + entry["latency_ms"]
    assert failed.attributes["llmux.deployment_id"] == "dep-bad"
    assert failed.attributes["error.type"] == "ServiceUnavailableError"
    assert failed.attributes["http.response.status_code"] == 503
    assert failed.status.status_code == StatusCode.ERROR
    assert served.attributes["llmux.deployment_id"] == "dep-good"
    assert "error.type" not in served.attributes and "http.response.status_code" not in served.attributes
    assert served.status.status_code == StatusCode.UNSET
    _no_secret_in(spans.finished())


@needs_sdk
def test_a_failed_call_has_status_error_and_the_exception_class_as_error_type(
        make_router: MakeRouter, deployment: Deployment, spans: Spans) -> None:
    router = make_router([deployment("chat", "status-503", "dep-bad")], num_retries=1,
                         callbacks=[llmux.OpenTelemetry(tracer_provider=spans.provider)])
    with pytest.raises(llmux.ServiceUnavailableError) as raised:
        router.completion(model="chat", messages=user(CONTENT))
    [call] = spans.calls()
    assert call.parent is None  # no span was current
    assert call.status.status_code == StatusCode.ERROR
    assert call.status.description == str(raised.value)
    assert call.attributes["error.type"] == "ServiceUnavailableError" == type(raised.value).__name__
    assert call.attributes["llmux.attempts"] == 2 and call.attributes["llmux.deployment_id"] == "dep-bad"
    assert "gen_ai.response.id" not in call.attributes and "gen_ai.usage.input_tokens" not in call.attributes
    attempts = spans.children(call)
    assert [a.attributes["http.response.status_code"] for a in attempts] == [503, 503]
    assert all(a.status.status_code == StatusCode.ERROR for a in attempts)
    _no_secret_in(spans.finished())


@needs_sdk
def test_a_fallback_names_the_fallback_group_on_the_call_and_on_its_attempt(
        make_router: MakeRouter, deployment: Deployment, spans: Spans) -> None:
    router = make_router([deployment("bad", "status-429-bad", "bad-1"), deployment("chat", "ok-chat", "chat-1")],
                         num_retries=0, fallbacks=[{"bad": ["chat"]}],
                         callbacks=[llmux.OpenTelemetry(tracer_provider=spans.provider)])
    router.completion(model="bad", messages=user(CONTENT))
    [call] = spans.calls()
    assert call.name == "chat bad" and call.attributes["gen_ai.request.model"] == "bad"
    assert call.attributes["llmux.fallbacks"] == 1 and call.attributes["llmux.fallback_model_group"] == "chat"
    first, second = spans.children(call)
    assert (first.name, first.attributes["error.type"]) == ("attempt bad", "RateLimitError")
    assert second.name == "attempt chat" and second.attributes["llmux.deployment_id"] == "chat-1"


@needs_sdk
def test_async_calls_are_children_of_the_span_current_in_their_own_task(
        make_router: MakeRouter, deployment: Deployment, spans: Spans) -> None:
    router = _retrying_router(make_router, deployment, spans)

    async def handle(name: str) -> tuple[Any, Any]:
        with spans.user_tracer.start_as_current_span(name) as handler:
            resp = await router.acompletion(model="chat", messages=user(CONTENT), metadata={"handler": name})
            return handler, resp

    async def both() -> list[tuple[Any, Any]]:
        return list(await asyncio.gather(handle("first"), handle("second")))

    results = asyncio.run(both())
    calls = {span.attributes["llmux.call_id"]: span for span in spans.calls()}
    assert len(calls) == 2
    for handler, resp in results:
        call = calls[resp._hidden_params["call_id"]]
        assert _is_child_of(call, handler)
        assert len(spans.children(call)) == resp._hidden_params["attempts"]


@needs_sdk
def test_a_stream_span_ends_with_the_stream_under_the_span_current_at_its_start(
        make_router: MakeRouter, deployment: Deployment, spans: Spans) -> None:
    router = make_router([deployment("chat", "ok-chat", "chat-1")],
                         callbacks=[llmux.OpenTelemetry(tracer_provider=spans.provider)])
    with spans.user_tracer.start_as_current_span("start") as starter:
        stream = router.completion(model="chat", messages=user(CONTENT), stream=True, stream_options={"include_usage": True})
    assert spans.llmux() == []  # the call is not over: the stream is not read yet
    with spans.user_tracer.start_as_current_span("reader"):  # read under another span: not the parent
        chunks = list(stream)
    assert chunks
    [call] = spans.calls()
    assert _is_child_of(call, starter)  # type: ignore[arg-type]
    assert call.attributes["llmux.stream"] is True
    assert call.attributes["llmux.time_to_first_token_ms"] >= 0
    assert call.attributes["gen_ai.usage.output_tokens"] == stream.usage.completion_tokens
    [attempt] = spans.children(call)
    assert attempt.attributes["llmux.deployment_id"] == "chat-1"
    _no_secret_in(spans.finished())


@needs_sdk
def test_an_async_stream_read_in_another_task_keeps_its_starting_parent(
        make_router: MakeRouter, deployment: Deployment, spans: Spans) -> None:
    router = make_router([deployment("chat", "ok-chat", "chat-1")],
                         callbacks=[llmux.OpenTelemetry(tracer_provider=spans.provider)])

    async def start() -> tuple[Any, llmux.AsyncCompletionStream]:
        with spans.user_tracer.start_as_current_span("start") as starter:
            return starter, await router.acompletion(model="chat", messages=user(CONTENT), stream=True)

    async def read(stream: llmux.AsyncCompletionStream) -> int:
        with spans.user_tracer.start_as_current_span("reader"):
            return len([chunk async for chunk in stream])

    async def run() -> Any:
        starter, stream = await asyncio.create_task(start())
        assert await asyncio.create_task(read(stream)) > 0
        return starter

    starter = asyncio.run(run())
    [call] = spans.calls()
    assert _is_child_of(call, starter) and call.attributes["llmux.stream"] is True


@needs_sdk
def test_embeddings_are_embeddings_spans(make_router: MakeRouter, deployment: Deployment, spans: Spans) -> None:
    router = make_router([deployment("embed", "ok-embed", "embed-1")],
                         callbacks=[llmux.OpenTelemetry(tracer_provider=spans.provider)])
    router.embedding(model="embed", input="hello")
    asyncio.run(router.aembedding(model="embed", input=["hello", "world"]))
    calls = spans.calls()
    assert [span.name for span in calls] == ["embeddings embed"] * 2
    assert all(span.attributes["gen_ai.operation.name"] == "embeddings" for span in calls)
    assert all(len(spans.children(span)) == 1 for span in calls)


@needs_sdk
def test_other_endpoints_name_their_operation(make_router: MakeRouter, spans: Spans) -> None:
    router = make_router([{"model_name": "mocked", "litellm_params": {"model": "openai/x", "mock_response": "words"}}],
                         callbacks=[llmux.OpenTelemetry(tracer_provider=spans.provider)])
    router.text_completion(model="mocked", prompt="Once upon")
    router.moderation(input="some text", model="mocked")
    router.responses(model="mocked", input="hi")
    asyncio.run(router.atext_completion(model="mocked", prompt="Once upon"))
    operations = [span.attributes["gen_ai.operation.name"] for span in spans.calls()]
    assert operations == ["text_completion", "moderation", "chat", "text_completion"]
    assert [span.name for span in spans.calls()][:2] == ["text_completion mocked", "moderation mocked"]


@needs_sdk
@pytest.mark.usefixtures("fake_server")
def test_the_otel_callback_name_uses_the_global_tracer_provider() -> None:
    """As ``litellm.callbacks = ["otel"]``, in the router's callbacks and the module's: one tracer on the global
    provider, even one set after the router was made. In a child process (the global provider is set once)."""
    program = """
import json, os, warnings
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import llmux
warnings.simplefilter("error", llmux.LiteLLMCompatibilityWarning)
llmux.callbacks = ["otel"]
router = llmux.Router(model_list=[{"model_name": "chat", "litellm_params": {
    "model": "openai/ok-chat", "api_base": os.environ["LLMUX_FAKE_BASE_URL"], "api_key": "sk-x"}}],
    callbacks=["otel"])
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
router.completion(model="chat", messages=[{"role": "user", "content": "hi"}])
router.close()
print(json.dumps([[span.name, span.instrumentation_scope.name] for span in exporter.get_finished_spans()]))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [["attempt chat", "llmux"], ["chat chat", "llmux"]]


@needs_sdk
@pytest.mark.usefixtures("module_otel_state")
def test_a_tracer_in_several_callback_lists_records_each_call_once(make_router: MakeRouter, deployment: Deployment,
                                                               spans: Spans, monkeypatch: pytest.MonkeyPatch) -> None:
    """One tracer in the router's and in both module lists: one span per call."""
    tracer = llmux.OpenTelemetry(tracer_provider=spans.provider)
    monkeypatch.setattr(llmux, "callbacks", [tracer])
    monkeypatch.setattr(llmux, "success_callback", [tracer])
    router = make_router([deployment("chat", "ok-chat", "chat-1")], callbacks=[tracer])
    router.completion(model="chat", messages=user(CONTENT))
    assert len(spans.calls()) == 1


@pytest.fixture
def module_otel_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh module-wide callback lists and a fresh "otel" tracer (restored after the test)."""
    for name in ("callbacks", "success_callback", "failure_callback"):
        monkeypatch.setattr(llmux, name, [])
    monkeypatch.setattr(_observe, "_shared_tracer", [])


@pytest.mark.usefixtures("module_otel_state")
def test_without_opentelemetry_otel_warns_once_and_calls_succeed(make_router: MakeRouter, deployment: Deployment,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name == "opentelemetry" or name.startswith("opentelemetry.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # "import opentelemetry" raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'llmux-router\[otel\]'"):
        llmux.OpenTelemetry()
    llmux.callbacks.append("otel")
    router = make_router([deployment("chat", "ok-chat", "chat-1")])
    with pytest.warns(llmux.LiteLLMCompatibilityWarning, match=r"'otel'.*pip install 'llmux-router\[otel\]'"):
        first = router.completion(model="chat", messages=user(CONTENT))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # told once
        second = router.completion(model="chat", messages=user(CONTENT))
    assert first.choices[0].message.content == second.choices[0].message.content == "Hello from ok-chat."
