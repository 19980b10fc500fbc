"""Building routers (constructor arguments, from_config) and plain completions."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest

import llmux
from support import Deployment, FakeServer
from recording_provider import RecordingProvider
from support import make_deployment, user

MakeRouter = Callable[..., llmux.Router]


def test_completion_from_model_list_kwargs(router: llmux.Router) -> None:
    resp = router.completion(model="chat", messages=user())
    assert isinstance(resp, llmux.ModelResponse)
    assert resp.choices[0].message.content in ("Hello from ok-chat-1.", "Hello from ok-chat-2.")
    assert resp.choices[0].message.role == "assistant"
    assert resp._hidden_params["model_id"] in ("chat-1", "chat-2")
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_router_settings_are_applied(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router(
        [deployment("broken", "status-500-x", "broken-1"), deployment("backup", "ok-backup", "backup-1")],
        num_retries=3, fallbacks=[{"broken": ["backup"]}], routing_strategy="least-busy", cooldown_time=1,
        allowed_fails=5, timeout=30, stream_timeout=30, retry_after=0, disable_cooldowns=True,
        enable_pre_call_checks=True, model_group_alias={"alias": "backup"}, max_fallbacks=2,
        retry_policy={"InternalServerErrorRetries": 1}, default_max_parallel_requests=10, connect_timeout=5)
    resp = router.completion(model="broken", messages=user())
    assert resp.choices[0].message.content == "Hello from ok-backup."
    assert resp._hidden_params["model_group"] == "backup"
    assert resp._hidden_params["fallbacks"] == 1
    assert resp._hidden_params["max_retries"] == 3
    assert resp._hidden_params["attempts"] == 5  # 1 + 3 retries on "broken", then the fallback
    aliased = router.completion(model="alias", messages=user())
    assert aliased._hidden_params["model_id"] == "backup-1"


def test_empty_router(make_router: MakeRouter) -> None:
    router = make_router([])
    with pytest.raises(llmux.BadRequestError):
        router.completion(model="anything", messages=user())


def test_litellm_only_arguments_warn(make_router: MakeRouter, deployment: Deployment) -> None:
    with pytest.warns(llmux.LiteLLMCompatibilityWarning, match="cache_responses"):
        router = make_router([deployment("chat", "ok-a", "a")], cache_responses=True)
    assert router.completion(model="chat", messages=user()).choices[0].message.content == "Hello from ok-a."
    with warnings.catch_warnings():
        # Redis settings share routing state now: no warning; nothing listens on port 1, so the
        # router routes on its own state (fail-open).
        warnings.simplefilter("error")
        redis_router = make_router([deployment("chat", "ok-a", "a")], redis_host="127.0.0.1", redis_port=1)
        assert redis_router.completion(model="chat", messages=user()).choices[0].message.content == "Hello from ok-a."
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LiteLLM's defaults change nothing: no warning
        make_router([deployment("chat", "ok-a", "a")], set_verbose=False, debug_level="INFO", client_ttl=3600)


def test_unknown_argument_is_a_type_error(deployment: Deployment) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'num_retriez'"):
        llmux.Router(model_list=[deployment("chat", "ok-a", "a")], num_retriez=2)


def _yaml_config(base_url: str) -> str:
    return f"""
model_list:
  - model_name: chat
    litellm_params:
      model: openai/ok-yaml
      api_base: {base_url}
      api_key: sk-pytest-secret-yaml
    model_info: {{id: yaml-1}}
router_settings:
  num_retries: 1
"""


def test_from_config_yaml_text(fake_server: FakeServer) -> None:
    with llmux.Router.from_config(_yaml_config(fake_server.base_url)) as router:
        resp = router.completion(model="chat", messages=user())
        assert resp.choices[0].message.content == "Hello from ok-yaml."
        assert resp._hidden_params["model_id"] == "yaml-1"
        assert resp._hidden_params["max_retries"] == 1
    assert router.closed


def test_from_config_yaml_text_with_environment_reference() -> None:
    config = _yaml_config("os.environ/LLMUX_FAKE_BASE_URL")
    with llmux.Router.from_config(config.encode()) as router:
        assert router.completion(model="chat", messages=user()).choices[0].message.content == "Hello from ok-yaml."


def test_from_config_files(fake_server: FakeServer, tmp_path: Path) -> None:
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text(_yaml_config(fake_server.base_url))
    json_file = tmp_path / "config.json"
    json_file.write_text(json.dumps({"model_list": [make_deployment(fake_server.base_url, "chat", "ok-json", "j")]}))
    for source, content in ((yaml_file, "Hello from ok-yaml."), (str(yaml_file), "Hello from ok-yaml."),
                            (json_file, "Hello from ok-json."), (str(json_file), "Hello from ok-json.")):
        with llmux.Router.from_config(source) as router:
            assert router.completion(model="chat", messages=user()).choices[0].message.content == content


def test_from_config_one_line_json_longer_than_a_file_name(fake_server: FakeServer) -> None:
    # One line and no newline: tried as a path first, which the OS refuses as too long (ENAMETOOLONG).
    deployments = [make_deployment(fake_server.base_url, "chat", "ok-json", f"j{i}") for i in range(40)]
    config = json.dumps({"model_list": deployments})
    assert "\n" not in config and len(config) > 4096
    with llmux.Router.from_config(config) as router:
        assert router.completion(model="chat", messages=user()).choices[0].message.content == "Hello from ok-json."


def test_from_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        llmux.Router.from_config(str(tmp_path / "missing.yaml"))


def test_kwargs_pass_through(make_router: MakeRouter, provider: RecordingProvider) -> None:
    router = make_router([make_deployment(provider.base_url, "rec", "echo-pass", "rec-1")])
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    resp = router.completion(model="rec", messages=user("pass me"), temperature=0.25, max_tokens=7, tools=tools,
                             user="u-1", seed=42, num_retries=1, timeout=30, metadata={"tags": ["x"]},
                             fallbacks=["rec"], cooldown_time=2)
    assert resp.choices[0].message.content == "Hello from echo-pass."
    assert resp._hidden_params["max_retries"] == 1  # the request's num_retries was honoured
    sent = next(body for body in reversed(provider.requests) if body.get("model") == "echo-pass")
    assert sent["messages"] == user("pass me")
    assert sent["temperature"] == 0.25 and sent["max_tokens"] == 7 and sent["tools"] == tools
    assert sent["user"] == "u-1" and sent["seed"] == 42
    for router_only in ("num_retries", "timeout", "metadata", "fallbacks", "cooldown_time"):
        assert router_only not in sent


def test_mock_response_is_honoured(router: llmux.Router) -> None:
    resp = router.completion(model="chat", messages=user(), mock_response="mocked!")
    assert resp.choices[0].message.content == "mocked!"


def test_request_fallbacks(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("broken", "status-503-y", "broken-1"), deployment("spare", "ok-spare", "spare-1")],
                         num_retries=0)
    resp = router.completion(model="broken", messages=user(), fallbacks=["spare"])
    assert resp.choices[0].message.content == "Hello from ok-spare."
    assert resp._hidden_params["model_group"] == "spare"


def test_messages_may_be_response_objects(router: llmux.Router) -> None:
    first = router.completion(model="chat", messages=user())
    history: list[Any] = [*user(), first.choices[0].message, {"role": "user", "content": "and again"}]
    again = router.completion(model="chat", messages=history)
    assert again.choices[0].message.content.startswith("Hello from ok-chat-")


def test_many_threads_share_one_router(router: llmux.Router) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: router.completion(model="chat", messages=user(f"t{i}")), range(200)))
    assert all(r.choices[0].message.content.startswith("Hello from ok-chat-") for r in results)
    assert {r._hidden_params["model_id"] for r in results} == {"chat-1", "chat-2"}


def test_closed_router_refuses_calls(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("chat", "ok-a", "a")])
    router.close()
    router.close()  # idempotent
    with pytest.raises(llmux.InvalidArgumentError, match="closed") as info:
        router.completion(model="chat", messages=user())
    assert isinstance(info.value, ValueError)


def test_a_cyclic_request_is_an_invalid_argument_naming_the_field(router: llmux.Router) -> None:
    # Requests are encoded without json's cycle check; a cycle must still fail as json.dumps does.
    messages: list[Any] = [{"role": "user", "content": "hi"}]
    messages.append(messages)
    with pytest.raises(llmux.InvalidArgumentError, match="messages: cannot be sent as JSON: Circular reference"):
        router.completion(model="chat", messages=messages)
    nested: Any = "deep"
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(RecursionError):  # as json.dumps: too deep to encode
        router.completion(model="chat", messages=[{"role": "user", "content": nested}])
