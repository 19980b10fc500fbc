"""text_completion / moderation / responses (sync and asyncio): passed through to OpenAI-compatible
deployments, answered by mock_response, refused by other provider families; retries and fallbacks as
for completions; LiteLLM's types when litellm is in use."""

from __future__ import annotations

import asyncio
from typing import Iterator

import pytest

import llmux
from endpoint_provider import EndpointProvider


@pytest.fixture(scope="module")
def ep() -> Iterator[EndpointProvider]:
    with EndpointProvider() as server:
        yield server


@pytest.fixture
def router(make_router, ep: EndpointProvider) -> llmux.Router:
    return make_router([
        {"model_name": "g", "litellm_params": {"model": "openai/served", "api_base": ep.base_url,
                                               "api_key": "sk-conf"}, "model_info": {"id": "dep-g"}},
        {"model_name": "busy", "litellm_params": {"model": "openai/fail429", "api_base": ep.base_url,
                                                  "api_key": "sk-conf"}, "model_info": {"id": "dep-busy"}},
        {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-3", "api_key": "sk-ant",
                                                    "api_base": "http://127.0.0.1:9"}},
        {"model_name": "mocked", "litellm_params": {"model": "openai/x", "mock_response": "mock words"}},
    ])


def test_text_completion(router: llmux.Router, ep: EndpointProvider) -> None:
    resp = router.text_completion(model="g", prompt="Once upon", max_tokens=3)
    sent = ep.requests[-1]
    assert sent["path"] == "/v1/completions"
    assert sent["body"] == {"model": "served", "prompt": "Once upon", "max_tokens": 3}
    assert resp.choices[0].text == "echo: Once upon"
    assert resp["choices"][0]["text"] == "echo: Once upon"
    assert resp.usage.total_tokens == 5
    assert resp._hidden_params["model_id"] == "dep-g"
    assert isinstance(resp, llmux.TextCompletionResponse)


def test_moderation_requires_model(router: llmux.Router, ep: EndpointProvider) -> None:
    resp = router.moderation(input="some text", model="g")
    assert ep.requests[-1]["path"] == "/v1/moderations"
    assert resp.results[0].flagged is False
    assert resp._hidden_params["model_group"] == "g"
    assert isinstance(resp, llmux.ModerationResponse)
    with pytest.raises(llmux.InvalidArgumentError, match="model="):
        router.moderation(input="x")


def test_responses(router: llmux.Router, ep: EndpointProvider) -> None:
    resp = router.responses(model="g", input="hi", instructions="be brief")
    sent = ep.requests[-1]
    assert sent["path"] == "/v1/responses"
    assert sent["body"]["instructions"] == "be brief"
    assert resp.status == "completed"
    assert resp.output[0].content[0].text == "responses ok"
    assert resp.usage.input_tokens == 3
    assert resp._hidden_params["model_id"] == "dep-g"
    assert isinstance(resp, llmux.ResponsesAPIResponse)
    with pytest.raises(llmux.InvalidArgumentError, match="stream"):
        router.responses(model="g", input="hi", stream=True)


def test_async_versions(router: llmux.Router) -> None:
    async def run() -> tuple:
        return await asyncio.gather(router.atext_completion(model="g", prompt="p"),
                                    router.amoderation(input="x", model="g"),
                                    router.aresponses(model="g", input="hi"))

    text, moderation, response = asyncio.run(run())
    assert text.choices[0].text == "echo: p"
    assert moderation.id == "modr-ep"
    assert response.id == "resp-ep"


def test_retries_and_fallbacks(router: llmux.Router, ep: EndpointProvider) -> None:
    before = len(ep.requests)
    resp = router.text_completion(model="busy", prompt="p", num_retries=1, fallbacks=["g"])
    assert resp._hidden_params["model_id"] == "dep-g"
    assert [r["body"]["model"] for r in ep.requests[before:]] == ["fail429", "fail429", "served"]
    with pytest.raises(llmux.RateLimitError):
        router.moderation(input="x", model="busy", num_retries=0)


def test_mock_and_unsupported_provider(router: llmux.Router) -> None:
    assert router.text_completion(model="mocked", prompt="p").choices[0].text == "mock words"
    assert router.responses(model="mocked", input="p").output[0].content[0].text == "mock words"
    assert router.moderation(input="p", model="mocked").results[0].flagged is False
    with pytest.raises(llmux.BadRequestError, match="moderations endpoint is not supported by provider 'anthropic'"):
        router.moderation(input="p", model="claude")
    assert all(h.healthy for h in router.health("claude"))


@pytest.mark.needs_litellm
def test_litellm_types(router: llmux.Router) -> None:
    import litellm

    assert isinstance(router.text_completion(model="g", prompt="p"), litellm.TextCompletionResponse)
    assert isinstance(router.responses(model="g", input="p"), litellm.ResponsesAPIResponse)
    moderation = router.moderation(input="p", model="g")
    assert isinstance(moderation, litellm.OpenAIModerationResponse)
    assert moderation._hidden_params["model_id"] == "dep-g"


@pytest.mark.light_types
def test_light_types(router: llmux.Router) -> None:
    resp = router.responses(model="g", input="p")
    assert type(resp) is llmux.ResponsesAPIResponse
    assert resp.model_dump()["usage"]["output_tokens"] == 2
