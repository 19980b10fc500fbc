"""LiteLLM's policy and model-list helpers on Router: retries and allowed fails by exception class,
per-environment deployments, lookups by deployment id, masked printing, fallback validation and
upsert."""

from __future__ import annotations

from typing import Any, Callable

import pytest

import llmux
from support import SECRET_PREFIX, Deployment

MakeRouter = Callable[..., llmux.Router]


def error(cls: type) -> BaseException:
    # LiteLLM's constructor signature (message, llm_provider, model), which llmux's classes take.
    return cls("boom", "openai", "gpt-x")


@pytest.fixture
def pair(deployment: Deployment) -> list[dict[str, Any]]:
    return [deployment("chat", "ok-a", "chat-a"), deployment("chat", "ok-b", "chat-b"),
            deployment("other", "ok-c", "other-c")]


def test_retries_follow_the_policy_by_class(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    router = make_router(pair, retry_policy={"RateLimitErrorRetries": 4, "BadRequestErrorRetries": 1,
                                             "TimeoutErrorRetries": 2},
                         model_group_retry_policy={"other": {"RateLimitErrorRetries": 0}})
    assert router.get_num_retries_from_retry_policy(error(llmux.RateLimitError)) == 4
    assert router.get_num_retries_from_retry_policy(error(llmux.Timeout)) == 2
    assert router.get_num_retries_from_retry_policy(error(llmux.BadRequestError)) == 1
    # Subclasses of BadRequestError without a value of their own use BadRequestError's.
    assert router.get_num_retries_from_retry_policy(error(llmux.ContentPolicyViolationError)) == 1
    assert router.get_num_retries_from_retry_policy(error(llmux.ContextWindowExceededError)) == 1
    # Not covered: None (num_retries applies).
    assert router.get_num_retries_from_retry_policy(error(llmux.AuthenticationError)) is None
    assert router.get_num_retries_from_retry_policy(ValueError("x")) is None
    # A group's own policy replaces the router's, a 0 included.
    assert router.get_num_retries_from_retry_policy(error(llmux.RateLimitError), model_group="other") == 0
    assert router.get_num_retries_from_retry_policy(error(llmux.RateLimitError), model_group="chat") == 4
    # NoDeploymentsAvailable is a RateLimitError, as in LiteLLM.
    assert router.get_num_retries_from_retry_policy(
        llmux.NoDeploymentsAvailableError("no deployments", "openai", "chat")) == 4


def test_content_policy_value_wins_over_bad_request(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    router = make_router(pair, retry_policy={"BadRequestErrorRetries": 10, "ContentPolicyViolationErrorRetries": 0})
    assert router.get_num_retries_from_retry_policy(error(llmux.ContentPolicyViolationError)) == 0
    assert router.get_num_retries_from_retry_policy(error(llmux.BadRequestError)) == 10


def test_no_policy_gives_none(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    router = make_router(pair)
    assert router.get_num_retries_from_retry_policy(error(llmux.RateLimitError)) is None
    assert router.get_allowed_fails_from_policy(error(llmux.RateLimitError)) is None


def test_allowed_fails_follow_the_policy_by_class(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    router = make_router(pair, allowed_fails_policy={"AuthenticationErrorAllowedFails": 5,
                                                     "ContentPolicyViolationErrorAllowedFails": 7})
    assert router.get_allowed_fails_from_policy(error(llmux.AuthenticationError)) == 5
    assert router.get_allowed_fails_from_policy(error(llmux.ContentPolicyViolationError)) == 7
    assert router.get_allowed_fails_from_policy(error(llmux.BadRequestError)) is None
    assert router.get_allowed_fails_from_policy(error(llmux.RateLimitError)) is None


@pytest.mark.needs_litellm
def test_policies_read_litellm_objects_and_classes(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    import litellm
    from litellm.router import RetryPolicy
    from litellm.types.router import AllowedFailsPolicy

    router = make_router(pair, retry_policy=RetryPolicy(RateLimitErrorRetries=6),
                         allowed_fails_policy=AllowedFailsPolicy(TimeoutErrorAllowedFails=2))
    # LiteLLM's own classes (not llmux's) are matched by their role.
    assert router.get_num_retries_from_retry_policy(litellm.RateLimitError("m", "openai", "gpt-x")) == 6
    assert router.get_allowed_fails_from_policy(litellm.Timeout("m", "gpt-x", "openai")) == 2


def test_environment_gate(make_router: MakeRouter, pair: list[dict[str, Any]],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    router = make_router(pair)
    entry = router.get_model_info("chat-a")
    assert entry is not None
    monkeypatch.delenv("LITELLM_ENVIRONMENT", raising=False)
    assert router.deployment_is_active_for_environment(entry) is True  # no supported_environments
    gated = {**entry, "model_info": {**entry["model_info"], "supported_environments": ["staging"]}}
    with pytest.raises(ValueError, match="LITELLM_ENVIRONMENT"):
        router.deployment_is_active_for_environment(gated)
    monkeypatch.setenv("LITELLM_ENVIRONMENT", "staging")
    assert router.deployment_is_active_for_environment(gated) is True
    # The deployment object get_deployment returns works the same.
    obj = router.get_deployment("chat-a")
    assert router.deployment_is_active_for_environment(obj) is True
    monkeypatch.setenv("LITELLM_ENVIRONMENT", "production")
    assert router.deployment_is_active_for_environment(gated) is False
    monkeypatch.setenv("LITELLM_ENVIRONMENT", "moon")
    with pytest.raises(ValueError, match="must be one of"):
        router.deployment_is_active_for_environment(gated)
    monkeypatch.setenv("LITELLM_ENVIRONMENT", "staging")
    bad = {**entry, "model_info": {"supported_environments": ["qa"]}}
    with pytest.raises(ValueError, match="supported_environments"):
        router.deployment_is_active_for_environment(bad)


def test_lookups_by_deployment_id(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    router = make_router(pair)
    entry = router.get_model_info("chat-b")
    assert entry is not None and entry["model_name"] == "chat"
    assert entry["litellm_params"]["model"] == "openai/ok-b"
    assert router.get_model_info("nope") is None
    group = router.get_model_group("chat-b")
    assert group is not None
    assert [item["model_info"]["id"] for item in group] == ["chat-a", "chat-b"]
    assert router.get_model_group("nope") is None


def test_print_deployment_masks_secrets_and_copies(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    router = make_router(pair)
    entry = {"model_name": "claude", "litellm_params": {
        "model": "bedrock/anthropic.claude-v2", "api_key": "sk-abcdefghijklmnop",
        "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG", "aws_access_key_id": "AKIAIOSFODNN7",
        "aws_region_name": "us-west-2", "max_tokens": 100}}
    printed = router.print_deployment(entry)
    params = printed["litellm_params"]
    assert params["api_key"] == "sk" + "*" * 10
    assert params["aws_secret_access_key"].startswith("wJ") and "MDENG" not in params["aws_secret_access_key"]
    assert params["aws_access_key_id"].startswith("AK") and "IOSF" not in params["aws_access_key_id"]
    assert params["aws_region_name"] == "us-west-2" and params["max_tokens"] == 100
    assert params["model"] == "bedrock/anthropic.claude-v2"
    assert entry["litellm_params"]["api_key"] == "sk-abcdefghijklmnop"  # the input is untouched
    listed = router.print_deployment(router.get_model_info("chat-a"))
    assert SECRET_PREFIX not in repr(listed)


def test_validate_fallbacks(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    router = make_router(pair)
    router.validate_fallbacks(None)
    router.validate_fallbacks([{"chat": ["other"]}, {"other": "chat"}])
    with pytest.raises(ValueError, match="is not a dictionary"):
        router.validate_fallbacks(["chat"])
    with pytest.raises(ValueError, match="exactly one key"):
        router.validate_fallbacks([{"chat": ["other"], "other": ["chat"]}])


def test_upsert_deployment(make_router: MakeRouter, pair: list[dict[str, Any]], deployment: Deployment) -> None:
    router = make_router(pair)
    same = router.get_model_info("chat-a")
    assert router.upsert_deployment(same) is None  # unchanged: nothing done
    assert router.get_model_ids() == ["chat-a", "chat-b", "other-c"]
    changed = deployment("chat", "ok-z", "chat-a")
    assert router.upsert_deployment(changed) is changed
    assert sorted(router.get_model_ids()) == ["chat-a", "chat-b", "other-c"]
    assert router.get_model_info("chat-a")["litellm_params"]["model"] == "openai/ok-z"
    served = {router.completion(model="chat", messages=[{"role": "user", "content": "hi"}])._hidden_params["model_id"] for _ in range(12)}
    assert "chat-a" in served
    fresh = deployment("chat", "ok-n", "chat-n")
    assert router.upsert_deployment(fresh) is fresh
    assert "chat-n" in router.get_model_ids()
    # A Deployment object whose litellm_params were changed in place (LiteLLM's usage).
    obj = router.get_deployment("chat-b")
    obj.litellm_params.model = "openai/ok-y"
    router.upsert_deployment(obj)
    assert router.get_model_info("chat-b")["litellm_params"]["model"] == "openai/ok-y"
    assert len(router.model_list) == 4


def test_reset_clears_the_retry_policy(make_router: MakeRouter, pair: list[dict[str, Any]]) -> None:
    router = make_router(pair, retry_policy={"RateLimitErrorRetries": 4},
                         allowed_fails_policy={"RateLimitErrorAllowedFails": 2})
    router.reset()  # as LiteLLM's: retry_policy goes, the rest of the settings stay
    assert router.retry_policy is None
    assert router.get_num_retries_from_retry_policy(error(llmux.RateLimitError)) is None
    assert router.get_allowed_fails_from_policy(error(llmux.RateLimitError)) == 2
