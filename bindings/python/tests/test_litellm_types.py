"""LiteLLM's types for programs that use LiteLLM: ``except litellm.RateLimitError`` / ``openai.RateLimitError``
catch llmux's errors and responses pass ``isinstance(resp, litellm.ModelResponse)`` when litellm is imported;
without it llmux's own light classes, and llmux never imports litellm (or openai, httpx, pydantic) itself.

The ``needs_litellm`` tests run in test.sh's second pass (LLMUX_TEST_WITH_LITELLM=1, the pinned litellm);
``light_types`` ones in the first (no litellm installed).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pickle
import subprocess
import sys
import textwrap
from typing import Any, Callable

import pytest

import llmux
from recording_provider import RecordingProvider
from support import Deployment, make_deployment, user

MakeRouter = Callable[..., llmux.Router]


def _litellm() -> Any:
    return sys.modules["litellm"]


def _run_python(code: str, **env: str) -> str:
    """Runs ``code`` in a fresh interpreter (this one's llmux, library and paths; no LLMUX_TEST_WITH_LITELLM)."""
    environment = {**os.environ, **env}
    environment.pop("LLMUX_TEST_WITH_LITELLM", None)
    environment["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environment, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- in every environment ------------------------------------------------------------------------


def test_llmux_never_imports_litellm_openai_httpx_or_pydantic() -> None:
    out = _run_python("""
        import sys
        import llmux
        deployment = {"model_name": "g", "litellm_params": {"model": "openai/x", "mock_response": "hi"}}
        with llmux.Router(model_list=[deployment]) as router:
            assert router.completion(model="g", messages=[{"role": "user", "content": "x"}]).choices[0].message.content == "hi"
            chunks = list(router.completion(model="g", messages=[{"role": "user", "content": "x"}], stream=True))
            try:
                router.completion(model="no-such-group", messages=[{"role": "user", "content": "x"}])
            except llmux.BadRequestError as error:
                assert type(error) is llmux.BadRequestError, type(error).__mro__
        print(sorted(name for name in ("litellm", "openai", "httpx", "pydantic") if name in sys.modules))
    """)
    assert out.strip() == "[]"


@pytest.mark.parametrize(("make", "attributes"), [
    (lambda: llmux.RateLimitError("slow down", "openai", "gpt-4"),
     {"status_code": 429, "llm_provider": "openai", "model": "gpt-4", "message": "slow down"}),
    (lambda: llmux.AuthenticationError("bad key", "azure", "gpt-4", None, "debug", 2, 1),
     {"status_code": 401, "llm_provider": "azure", "model": "gpt-4", "litellm_debug_info": "debug",
      "max_retries": 2, "num_retries": 1}),
    (lambda: llmux.PermissionDeniedError("no", "openai", "gpt-4"), {"status_code": 403, "model": "gpt-4"}),
    (lambda: llmux.NotFoundError("gone", "gpt-4", "openai"), {"status_code": 404, "model": "gpt-4", "llm_provider": "openai"}),
    (lambda: llmux.BadRequestError("bad", "gpt-4", "openai"), {"status_code": 400, "model": "gpt-4", "llm_provider": "openai"}),
    (lambda: llmux.ContextWindowExceededError("too long", "gpt-4", "openai"),
     {"status_code": 400, "model": "gpt-4", "llm_provider": "openai"}),
    (lambda: llmux.ContentPolicyViolationError("refused", "gpt-4", "openai", None, None, {"k": "v"}),
     {"status_code": 400, "model": "gpt-4", "provider_specific_fields": {"k": "v"}}),
    (lambda: llmux.Timeout("late", "gpt-4", "openai"), {"status_code": 408, "model": "gpt-4", "llm_provider": "openai"}),
    (lambda: llmux.Timeout("late", "gpt-4", "openai", exception_status_code=504), {"status_code": 504}),
    (lambda: llmux.InternalServerError("oops", "openai", "gpt-4"), {"status_code": 500, "model": "gpt-4"}),
    (lambda: llmux.BadGatewayError("gateway", "openai", "gpt-4"), {"status_code": 502, "model": "gpt-4"}),
    (lambda: llmux.ServiceUnavailableError("down", "openai", "gpt-4"), {"status_code": 503, "model": "gpt-4"}),
    (lambda: llmux.MidStreamFallbackError("cut", "gpt-4", "openai", generated_content="Hel"),
     {"status_code": 503, "model": "gpt-4", "generated_content": "Hel", "is_pre_first_chunk": False}),
    (lambda: llmux.APIError(418, "teapot", "openai", "gpt-4"),
     {"status_code": 418, "message": "teapot", "llm_provider": "openai", "model": "gpt-4"}),
    (lambda: llmux.APIError("only a message"), {"status_code": 500, "message": "only a message"}),
    (lambda: llmux.APIConnectionError("refused", "openai", "gpt-4"), {"status_code": 500, "model": "gpt-4"}),
    (lambda: llmux.BudgetExceededError(1.5, 1.0),
     {"status_code": 429, "current_cost": 1.5, "max_budget": 1.0,
      "message": "Budget has been exceeded! Current cost: 1.5, Max budget: 1.0"}),
    (lambda: llmux.BudgetExceededError("spent"), {"message": "spent", "current_cost": None}),
    (lambda: llmux.NoDeploymentsAvailableError("No deployments available for selected model", "openai", "g"),
     {"status_code": 429, "model": "g"}),
])
def test_constructors_take_litellms_arguments(make: Callable[[], llmux.LLMuxError], attributes: dict[str, Any]
                                              ) -> None:
    error = make()
    for name, value in attributes.items():
        assert getattr(error, name) == value, name
    assert str(error) == error.message and error.args == (error.message,)
    assert repr(error) == f"{type(error).__name__}(status_code={error.status_code}, message={error.message!r})"
    assert error.llmux_metadata == {} and error.error_json == {} and error.retry_after is None
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and again.message == error.message and again.status_code == error.status_code


def test_raising_a_user_built_error(make_router: MakeRouter) -> None:
    with pytest.raises(llmux.RateLimitError) as info:
        raise llmux.RateLimitError("slow down", "openai", "gpt-4", num_retries=2)
    assert info.value.num_retries == 2 and str(info.value) == "slow down"
    assert isinstance(info.value, llmux.LLMuxError) and isinstance(info.value, Exception)


def test_openai_alone_makes_openai_classes() -> None:
    if importlib.util.find_spec("openai") is None:
        pytest.skip("openai is not installed here")
    out = _run_python("""
        import sys
        import openai
        import llmux
        error = llmux.RateLimitError("slow down", "openai", "gpt-4")
        assert isinstance(error, openai.RateLimitError) and isinstance(error, llmux.RateLimitError)
        assert error.response.status_code == 429 and error.status_code == 429 and error.model == "gpt-4"
        assert isinstance(llmux.Timeout("late"), openai.APITimeoutError)
        assert isinstance(llmux.APIConnectionError("refused"), openai.APIConnectionError)
        assert isinstance(llmux.ContextWindowExceededError("long"), openai.BadRequestError)
        assert isinstance(llmux.ServiceUnavailableError("down"), openai.APIStatusError)
        assert type(llmux.CallCancelledError("stopped")) is llmux.CallCancelledError
        llmux.litellm_types = False
        assert type(llmux.RateLimitError("x")) is llmux.RateLimitError
        print("litellm" in sys.modules)
    """)
    assert out.strip() == "False"


# -- without litellm -----------------------------------------------------------------------------


@pytest.mark.light_types
def test_without_litellm_the_classes_are_llmuxs_own(router: llmux.Router) -> None:
    assert "litellm" not in sys.modules
    resp = router.completion(model="chat", messages=user())
    assert type(resp) is llmux.ModelResponse and type(resp.choices[0]) is llmux.Choices
    assert type(router.embedding(model="embed", input="x")) is llmux.EmbeddingResponse
    assert all(type(chunk) is llmux.ModelResponseStream
               for chunk in router.completion(model="chat", messages=user(), stream=True))
    with pytest.raises(llmux.BadRequestError) as info:
        router.completion(model="no-such-group", messages=user())
    assert type(info.value) is llmux.BadRequestError


@pytest.mark.light_types
def test_litellm_types_true_without_litellm_says_so(router: llmux.Router, monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("litellm") is not None:
        pytest.skip("litellm is installed here")
    monkeypatch.setattr(llmux, "litellm_types", True)
    with pytest.raises(ImportError, match="llmux.litellm_types = True"):
        router.completion(model="chat", messages=user())


def test_litellm_types_rejects_other_values(router: llmux.Router, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llmux, "litellm_types", "yes")
    with pytest.raises(ValueError, match="llmux.litellm_types must be True, False or 'auto'"):
        router.completion(model="chat", messages=user())
    # ... but never hides an error being raised: that one comes as llmux's own class
    with pytest.raises(llmux.BadRequestError) as info:
        router.completion(model="no-such-group", messages=user())
    assert type(info.value) is llmux.BadRequestError


# -- with litellm --------------------------------------------------------------------------------


def _exception_class(name: str) -> type:
    return getattr(sys.modules["litellm"], name, None) or getattr(sys.modules["litellm.exceptions"], name)


@pytest.mark.needs_litellm
@pytest.mark.parametrize(("model", "llmux_class", "litellm_name", "openai_name", "status_code"), [
    ("status-429-l", llmux.RateLimitError, "RateLimitError", "RateLimitError", 429),
    ("status-401-l", llmux.AuthenticationError, "AuthenticationError", "AuthenticationError", 401),
    ("status-403-l", llmux.PermissionDeniedError, "PermissionDeniedError", "PermissionDeniedError", 403),
    ("status-404-l", llmux.NotFoundError, "NotFoundError", "NotFoundError", 404),
    ("status-500-l", llmux.InternalServerError, "InternalServerError", "InternalServerError", 500),
    ("status-502-l", llmux.BadGatewayError, "BadGatewayError", "APIStatusError", 502),
    ("status-503-l", llmux.ServiceUnavailableError, "ServiceUnavailableError", "APIStatusError", 503),
    ("status-418-l", llmux.APIError, "APIError", "APIError", 418),
    ("status-400-l", llmux.BadRequestError, "BadRequestError", "BadRequestError", 400),
    ("context-window-l", llmux.ContextWindowExceededError, "ContextWindowExceededError", "BadRequestError", 400),
    ("content-policy-l", llmux.ContentPolicyViolationError, "ContentPolicyViolationError", "BadRequestError", 400),
    ("reset-l", llmux.APIConnectionError, "APIConnectionError", "APIConnectionError", 500),
])
def test_litellm_and_openai_except_clauses_catch_llmux_errors(
        make_router: MakeRouter, deployment: Deployment, model: str, llmux_class: type, litellm_name: str,
        openai_name: str, status_code: int) -> None:
    import openai
    router = make_router([deployment("g", model, "dep-l")], num_retries=0)
    litellm_class = _exception_class(litellm_name)
    try:
        router.completion(model="g", messages=user())
    except litellm_class as caught:  # type: ignore[misc]
        error: Any = caught
    else:
        pytest.fail("no error")
    assert isinstance(error, getattr(openai, openai_name)) and isinstance(error, openai.OpenAIError)
    assert isinstance(error, llmux_class) and llmux.llmux_class(error) is llmux_class
    assert type(error).__name__ == llmux_class.__name__ == error.type
    # llmux's attributes, as without litellm
    assert error.status_code == status_code and error.model == model and error.llm_provider == "openai"
    assert error.model_group == "g" and error.llmux_metadata["deployment_id"] == "dep-l"
    assert error.num_retries == 0 and error.max_retries == 0 and error.kind is not None
    assert str(error) == error.message and error.message and error.args == (error.message,)
    assert repr(error).startswith(f"{llmux_class.__name__}(status_code={status_code}")
    # LiteLLM's and openai's attributes
    assert error.litellm_debug_info is None
    if isinstance(error, openai.APIStatusError):
        assert error.response.status_code == status_code
        if not isinstance(error, llmux.BadRequestError):  # LiteLLM's 400s make a response of their own
            assert error.response.headers["x-litellm-model-id"] == "dep-l"
    assert error.request is not None and error.body is None


@pytest.mark.needs_litellm
def test_derived_errors_keep_every_llmux_attribute(make_router: MakeRouter, deployment: Deployment,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    router = make_router([deployment("g", "status-429-retry-after-la", "dep-la")], num_retries=0)
    with monkeypatch.context() as patch:
        patch.setattr(llmux, "litellm_types", False)
        with pytest.raises(llmux.RateLimitError) as light:
            router.completion(model="g", messages=user())
    with pytest.raises(_litellm().RateLimitError) as derived:
        router.completion(model="g", messages=user())
    assert type(light.value) is llmux.RateLimitError
    assert set(vars(light.value)) <= set(vars(derived.value))
    # llmux's values are the same (metadata and error_json hold call ids and timings, which differ)
    for name in ("message", "status_code", "kind", "type", "model", "llm_provider", "model_group", "retry_after",
                 "num_retries", "max_retries", "litellm_debug_info"):
        assert getattr(derived.value, name) == getattr(light.value, name), name
    assert set(derived.value.llmux_metadata) == set(light.value.llmux_metadata)
    assert set(derived.value.error_json) == set(light.value.error_json)
    assert derived.value.retry_after == 1 and derived.value.response.headers["retry-after"] == "1"


@pytest.mark.needs_litellm
def test_the_derived_class_is_made_once_per_pair() -> None:
    first, second = llmux.RateLimitError("a"), llmux.RateLimitError("b", "openai", "gpt-4")
    assert type(first) is type(second) and type(first) is not llmux.RateLimitError
    assert type(first).__mro__[1] is llmux.RateLimitError
    assert issubclass(type(first), _exception_class("RateLimitError"))


@pytest.mark.needs_litellm
def test_no_deployments_available_is_litellms_rate_limit_error(make_router: MakeRouter, deployment: Deployment
                                                               ) -> None:
    litellm = _litellm()
    router = make_router([deployment("g", "status-429-n", "n-1"), deployment("g", "status-429-m", "n-2")],
                         num_retries=1, cooldown_time=60)
    with pytest.raises(litellm.RateLimitError):
        router.completion(model="g", messages=user())
    with pytest.raises(litellm.RateLimitError) as info:
        router.completion(model="g", messages=user())
    assert isinstance(info.value, llmux.NoDeploymentsAvailableError)
    assert "No deployments available" in str(info.value) and 0 < info.value.retry_after <= 60
    assert info.value.response.headers["retry-after"]  # what LiteLLM users read from e.response


@pytest.mark.needs_litellm
def test_timeout_is_litellms_and_openais(make_router: MakeRouter, deployment: Deployment) -> None:
    import openai
    router = make_router([deployment("g", "hang-lt", "h-1")], num_retries=0)
    with pytest.raises(_litellm().Timeout) as info:
        router.completion(model="g", messages=user(), timeout=0.3)
    assert isinstance(info.value, openai.APITimeoutError) and isinstance(info.value, llmux.Timeout)
    assert info.value.status_code == 408


@pytest.mark.needs_litellm
def test_budget_exceeded_is_litellms(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "ok-budget-l", "b-1", input_cost_per_token=1.0, output_cost_per_token=1.0,
                                     max_budget=0.5, budget_duration="1d")])
    router.completion(model="g", messages=user())
    with pytest.raises(_litellm().BudgetExceededError) as info:
        router.completion(model="g", messages=user())
    assert isinstance(info.value, llmux.BudgetExceededError) and info.value.status_code == 429


@pytest.mark.needs_litellm
def test_mid_stream_failure_is_litellms(make_router: MakeRouter, provider: RecordingProvider) -> None:
    router = make_router([make_deployment(provider.base_url, "cut", "cut-mid", "cut-l")], num_retries=0)
    stream = router.completion(model="cut", messages=user(), stream=True)
    next(stream)
    litellm_exceptions = sys.modules["litellm.exceptions"]
    expected = getattr(litellm_exceptions, "MidStreamFallbackError", litellm_exceptions.ServiceUnavailableError)
    with pytest.raises(expected) as info:
        list(stream)
    assert isinstance(info.value, llmux.MidStreamFallbackError) and info.value.status_code == 503


@pytest.mark.needs_litellm
def test_errors_from_the_router_survive_pickling(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "status-429-lp", "dep-lp")], num_retries=0)
    with pytest.raises(_litellm().RateLimitError) as info:
        router.completion(model="g", messages=user())
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is type(info.value) and isinstance(again, _litellm().RateLimitError)
    assert (again.message, again.status_code, again.model_group, again.error_json) == \
        (info.value.message, 429, "g", info.value.error_json)
    assert again.response.status_code == 429


@pytest.mark.needs_litellm
def test_litellm_types_false_keeps_llmuxs_own(router: llmux.Router, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llmux, "litellm_types", False)
    resp = router.completion(model="chat", messages=user())
    assert type(resp) is llmux.ModelResponse and not isinstance(resp, _litellm().ModelResponse)
    with pytest.raises(llmux.BadRequestError) as info:
        router.completion(model="no-such-group", messages=user())
    assert type(info.value) is llmux.BadRequestError and not isinstance(info.value, _litellm().BadRequestError)


def _light_hidden_params(router: llmux.Router, monkeypatch: pytest.MonkeyPatch, **request: Any) -> set[str]:
    with monkeypatch.context() as patch:
        patch.setattr(llmux, "litellm_types", False)
        return set(router.completion(**request)._hidden_params)


@pytest.mark.needs_litellm
def test_completion_is_a_litellm_model_response(router: llmux.Router, monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = _litellm()
    resp = router.completion(model="chat", messages=user())
    assert isinstance(resp, litellm.ModelResponse) and isinstance(resp, llmux.ModelResponse)
    assert isinstance(resp.choices[0], litellm.Choices) and isinstance(resp.choices[0], llmux.Choices)
    assert isinstance(resp.choices[0].message, llmux.Message) and isinstance(resp.usage, llmux.Usage)
    content = f"Hello from {resp.model}."
    assert resp.choices[0].message.content == resp["choices"][0]["message"]["content"] == content
    assert resp.get("model") == resp.model and "choices" in resp
    dumped = resp.model_dump()
    assert dumped["choices"][0]["message"]["content"] == content and dumped["usage"]["total_tokens"] > 0
    assert resp.json() == dumped and "_llmux" not in dumped and "_hidden_params" not in dumped
    hidden = resp._hidden_params
    assert set(hidden) == _light_hidden_params(router, monkeypatch, model="chat", messages=user())
    assert hidden["model_id"] in ("chat-1", "chat-2") and hidden["model_group"] == "chat"
    again = asyncio.run(router.acompletion(model="chat", messages=user()))
    assert isinstance(again, litellm.ModelResponse) and again._hidden_params["model_group"] == "chat"


@pytest.mark.needs_litellm
def test_stream_chunks_are_litellm_model_response_streams(router: llmux.Router) -> None:
    litellm = _litellm()
    stream = router.completion(model="chat", messages=user(), stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(isinstance(chunk, litellm.ModelResponseStream) for chunk in chunks)
    assert all(isinstance(chunk, llmux.ModelResponseStream) for chunk in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == f"Hello from ok-{stream._hidden_params['model_id']}."
    assert isinstance(stream.usage, litellm.Usage) and stream.usage.total_tokens == chunks[-1].usage.total_tokens

    async def run() -> list[Any]:
        return [chunk async for chunk in await router.acompletion(model="chat", messages=user(), stream=True)]

    assert all(isinstance(chunk, litellm.ModelResponseStream) for chunk in asyncio.run(run()))


@pytest.mark.needs_litellm
def test_embedding_is_a_litellm_embedding_response(router: llmux.Router) -> None:
    litellm = _litellm()
    emb = router.embedding(model="embed", input="hello")
    assert isinstance(emb, litellm.EmbeddingResponse) and isinstance(emb, llmux.EmbeddingResponse)
    assert emb.data[0].embedding == emb.data[0]["embedding"] == emb["data"][0]["embedding"]
    assert len(emb.data[0].embedding) == 4 and isinstance(emb.data[0], llmux.Embedding)
    assert emb.usage.prompt_tokens > 0 and emb._hidden_params["model_id"] == "embed-1"
    assert emb.model_dump()["data"][0]["embedding"] == emb.data[0].embedding
    assert isinstance(asyncio.run(router.aembedding(model="embed", input="x")), litellm.EmbeddingResponse)


@pytest.mark.needs_litellm
def test_llmux_classes_build_and_recognise_litellms_objects() -> None:
    litellm = _litellm()
    resp = llmux.ModelResponse({"model": "m", "choices": [{"index": 0, "message": {"role": "assistant",
                                                                                   "content": "x"}}]})
    assert isinstance(resp, litellm.ModelResponse) and resp.choices[0].message.content == "x"
    assert isinstance(litellm.Message(content="x", role="assistant"), llmux.Message)
    assert isinstance(litellm.Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2), llmux.Usage)
    assert not isinstance(resp, llmux.EmbeddingResponse) and not isinstance({"choices": []}, llmux.ModelResponse)

    class Mine(llmux.ModelResponse):  # a subclass keeps its own type
        pass

    assert type(Mine({"model": "m"})) is Mine
