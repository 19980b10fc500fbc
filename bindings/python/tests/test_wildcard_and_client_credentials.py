"""Wildcard routes report the requested model; per-request credentials get their own deployment."""

from __future__ import annotations

from typing import Iterator

import pytest

import llmux
from endpoint_provider import EndpointProvider

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def ep() -> Iterator[EndpointProvider]:
    with EndpointProvider() as server:
        yield server


def test_wildcard_group_reports_requested_model(make_router, ep: EndpointProvider) -> None:
    router = make_router([{"model_name": "*", "litellm_params": {"model": "openai/*", "api_base": ep.base_url,
                                                                 "api_key": "sk-conf"}}])
    resp = router.completion(model="gpt-4o-mini", messages=MESSAGES)
    assert resp.model == "gpt-4o-mini"
    assert resp["model"] == "gpt-4o-mini"
    assert ep.requests[-1]["body"]["model"] == "gpt-4o-mini"


def test_bare_star_deployment_strips_provider_prefix(make_router, ep: EndpointProvider) -> None:
    router = make_router([{"model_name": "*", "litellm_params": {"model": "*", "api_base": ep.base_url,
                                                                 "api_key": "sk-conf"}}])
    resp = router.completion(model="openai/gpt-4o", messages=MESSAGES)
    assert ep.requests[-1]["body"]["model"] == "gpt-4o"
    assert resp.model == "gpt-4o"


def test_provider_wildcard_mock_and_fallback(make_router) -> None:
    router = make_router([
        {"model_name": "primary", "litellm_params": {"model": "openai/primary",
                                                     "mock_response": "litellm.RateLimitError"}},
        {"model_name": "openai/*", "litellm_params": {"model": "openai/*", "mock_response": "hi"}},
        {"model_name": "*", "litellm_params": {"model": "openai/*", "mock_response": "hey"}},
    ], fallbacks=[{"primary": ["*"]}])
    assert router.completion(model="openai/gpt-4.1", messages=MESSAGES).model == "gpt-4.1"
    fell_back = router.completion(model="primary", messages=MESSAGES)
    assert fell_back.model == "primary"
    assert fell_back.model != "*"


def test_client_side_api_key_gets_own_deployment(make_router, ep: EndpointProvider) -> None:
    router = make_router([{"model_name": "g", "litellm_params": {"model": "openai/m", "api_base": ep.base_url,
                                                                 "api_key": "sk-conf"},
                           "model_info": {"id": "conf-id"}}])
    one = router.completion(model="g", messages=MESSAGES, api_key="sk-client-one")
    two = router.completion(model="g", messages=MESSAGES, api_key="sk-client-two")
    again = router.completion(model="g", messages=MESSAGES, api_key="sk-client-one")
    plain = router.completion(model="g", messages=MESSAGES)
    auths = [r["authorization"] for r in ep.requests[-4:]]
    assert auths == ["Bearer sk-client-one", "Bearer sk-client-two", "Bearer sk-client-one", "Bearer sk-conf"]
    assert all("api_key" not in r["body"] for r in ep.requests[-4:])
    ids = [r._hidden_params["model_id"] for r in (one, two, again, plain)]
    assert ids[0] != "conf-id" and ids[1] != "conf-id" and ids[0] != ids[1]
    assert ids[0] == ids[2]
    assert ids[3] == "conf-id"
    assert all("sk-" not in i for i in ids)
    # Twins are not listed; the configured deployment counted only its own call.
    assert [d["model_info"]["id"] for d in router.model_list] == ["conf-id"]
    health = router.health()
    assert len(health) == 1 and health[0].requests_this_minute == 1


def test_client_side_api_base_and_base_url(make_router, ep: EndpointProvider) -> None:
    router = make_router([{"model_name": "g", "litellm_params": {"model": "openai/m",
                                                                 "api_base": "http://127.0.0.1:9/v1",
                                                                 "api_key": "sk-conf"}}])
    a = router.completion(model="g", messages=MESSAGES, api_base=ep.base_url, num_retries=0)
    b = router.completion(model="g", messages=MESSAGES, base_url=ep.base_url, num_retries=0)
    assert a.choices[0].message.content == "chat ok"
    assert a._hidden_params["model_id"] == b._hidden_params["model_id"]
    assert a._hidden_params["api_base"] == ep.base_url
