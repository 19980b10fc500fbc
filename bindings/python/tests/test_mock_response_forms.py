"""LiteLLM's mock_response forms: dict, ModelResponse, Exception instance or class, per request and in
litellm_params — each handled as LiteLLM's mock_completion handles it."""

from __future__ import annotations

import pytest

import llmux

MESSAGES = [{"role": "user", "content": "hi"}]
BODY = {"id": "chatcmpl-dict", "object": "chat.completion", "created": 1, "model": "dict-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "from a dict"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}}


def _group(make_router, **params):
    return make_router([{"model_name": "g", "litellm_params": {"model": "openai/m", **params},
                         "model_info": {"id": "dep-g"}}])


def test_dict_and_model_response(make_router) -> None:
    router = _group(make_router, mock_response="plain")
    resp = router.completion(model="g", messages=MESSAGES, mock_response=BODY)
    assert resp.choices[0].message.content == "from a dict"
    assert resp.id == "chatcmpl-dict"
    assert resp.usage.completion_tokens == 3
    again = router.completion(model="g", messages=MESSAGES, mock_response=resp)  # a ModelResponse object
    assert again.choices[0].message.content == "from a dict"
    configured = _group(make_router, mock_response=BODY).completion(model="g", messages=MESSAGES)
    assert configured.choices[0].message.content == "from a dict"


@pytest.mark.parametrize("mock, expected, status", [
    (llmux.RateLimitError, llmux.RateLimitError, 429),
    (llmux.ContextWindowExceededError, llmux.ContextWindowExceededError, 400),
    (llmux.RateLimitError("slow down"), llmux.RateLimitError, 429),
    (llmux.NotFoundError("no such thing"), llmux.NotFoundError, 404),
    (Exception("plain failure"), llmux.InternalServerError, 500),
    (ValueError, llmux.InternalServerError, 500),
])
def test_exceptions_per_request(make_router, mock, expected, status) -> None:
    router = _group(make_router, mock_response="never")
    with pytest.raises(expected) as info:
        router.completion(model="g", messages=MESSAGES, mock_response=mock, num_retries=0)
    assert info.value.status_code == status
    if isinstance(mock, Exception) and not isinstance(mock, llmux.LLMuxError):
        assert "plain failure" in str(info.value)


def test_exception_in_litellm_params_fails_over_and_cools_down(make_router) -> None:
    router = make_router([
        {"model_name": "g", "litellm_params": {"model": "openai/a", "mock_response": llmux.RateLimitError("x")},
         "model_info": {"id": "dep-bad"}},
        {"model_name": "g", "litellm_params": {"model": "openai/b", "mock_response": "served"},
         "model_info": {"id": "dep-good"}},
        {"model_name": "other", "litellm_params": {"model": "openai/c", "mock_response": Exception("boom")}},
    ], num_retries=2)
    tried_bad = False
    for _ in range(40):  # the shuffle picks dep-bad first sooner or later
        resp = router.completion(model="g", messages=MESSAGES)
        assert resp._hidden_params["model_id"] == "dep-good"
        if resp._hidden_params["attempts"] > 1:
            tried_bad = True
            break
    assert tried_bad
    bad = [h for h in router.health("g") if h.id == "dep-bad"][0]
    assert not bad.healthy and bad.status == 429
    with pytest.raises(llmux.InternalServerError):
        router.completion(model="other", messages=MESSAGES, num_retries=0)


def test_exception_falls_back(make_router) -> None:
    router = make_router([
        {"model_name": "g", "litellm_params": {"model": "openai/a", "mock_response": Exception("down")}},
        {"model_name": "backup", "litellm_params": {"model": "openai/b", "mock_response": "from backup"}},
    ], fallbacks=[{"g": ["backup"]}], num_retries=0)
    resp = router.completion(model="g", messages=MESSAGES)
    assert resp.choices[0].message.content == "from backup"
    assert resp._hidden_params["model_group"] == "backup"


@pytest.mark.needs_litellm
def test_litellm_exception_and_model_response(make_router) -> None:
    import litellm

    router = _group(make_router, mock_response="never")
    with pytest.raises(litellm.RateLimitError):
        router.completion(model="g", messages=MESSAGES, num_retries=0,
                          mock_response=litellm.RateLimitError("too many", llm_provider="openai", model="m"))
    with pytest.raises(litellm.ContextWindowExceededError):
        router.completion(model="g", messages=MESSAGES, num_retries=0,
                          mock_response=litellm.ContextWindowExceededError("long", model="m", llm_provider="openai"))
    resp = router.completion(model="g", messages=MESSAGES, mock_response=litellm.ModelResponse(**BODY))
    assert isinstance(resp, litellm.ModelResponse)
    assert resp.choices[0].message.content == "from a dict"
