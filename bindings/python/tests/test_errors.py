"""Every failure maps to its LiteLLM-named exception class, with LiteLLM's attributes and llmux's detail."""

from __future__ import annotations

import asyncio
import json
import math
import pickle
import threading
from typing import Any, Callable

import pytest

import llmux
from support import SECRET_PREFIX, Deployment, user, wait_until

MakeRouter = Callable[..., llmux.Router]


@pytest.mark.parametrize(("model", "error_class", "status_code", "kind"), [
    ("status-429-e", llmux.RateLimitError, 429, 8),
    ("status-401-e", llmux.AuthenticationError, 401, 4),
    ("status-403-e", llmux.PermissionDeniedError, 403, 5),
    ("status-404-e", llmux.NotFoundError, 404, 6),
    ("status-500-e", llmux.InternalServerError, 500, 11),
    ("status-502-e", llmux.BadGatewayError, 502, 12),
    ("status-503-e", llmux.ServiceUnavailableError, 503, 13),
    ("status-418-e", llmux.APIError, 418, 14),
    ("status-400-e", llmux.BadRequestError, 400, 1),
    ("context-window-e", llmux.ContextWindowExceededError, 400, 2),
    ("content-policy-e", llmux.ContentPolicyViolationError, 400, 3),
    ("reset-e", llmux.APIConnectionError, 500, 15),
])
def test_scripted_failures(make_router: MakeRouter, deployment: Deployment, model: str,
                           error_class: type[llmux.LLMuxError], status_code: int, kind: int) -> None:
    router = make_router([deployment("g", model, "dep-e")], num_retries=0)
    with pytest.raises(error_class) as info:
        router.completion(model="g", messages=user())
    error = info.value
    assert llmux.llmux_class(error) is error_class  # with litellm imported, type(error) derives from it too
    assert type(error).__name__ == error.type
    assert isinstance(error, llmux.LLMuxError)
    assert error.status_code == status_code and error.kind == kind
    assert error.llm_provider == "openai"
    assert error.model == model
    assert error.model_group == "g"
    assert error.llmux_metadata["deployment_id"] == "dep-e"
    assert error.llmux_metadata["attempts"] == 1
    assert error.num_retries == 0 and error.max_retries == 0
    assert error.error_json["status"] == status_code
    assert error.message and str(error) == error.message
    assert SECRET_PREFIX not in error.message and SECRET_PREFIX not in json.dumps(error.error_json)


def test_errors_survive_pickling(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "status-429-p", "dep-p")], num_retries=0)
    with pytest.raises(llmux.RateLimitError) as info:
        router.completion(model="g", messages=user())
    again = pickle.loads(pickle.dumps(info.value))
    assert llmux.llmux_class(again) is llmux.RateLimitError and type(again) is type(info.value)
    assert (again.message, again.status_code, again.kind, again.model_group, again.error_json) == \
        (info.value.message, 429, 8, "g", info.value.error_json)


def test_async_calls_raise_the_same_classes(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "status-503-a", "dep-a")], num_retries=0)
    with pytest.raises(llmux.ServiceUnavailableError):
        asyncio.run(router.acompletion(model="g", messages=user()))


def test_litellm_subclass_relations() -> None:
    assert issubclass(llmux.ContextWindowExceededError, llmux.BadRequestError)
    assert issubclass(llmux.ContentPolicyViolationError, llmux.BadRequestError)
    assert issubclass(llmux.NoDeploymentsAvailableError, llmux.RateLimitError)
    assert llmux.RouterRateLimitError is llmux.NoDeploymentsAvailableError
    assert issubclass(llmux.MidStreamFallbackError, llmux.ServiceUnavailableError)
    assert issubclass(llmux.InvalidArgumentError, llmux.BadRequestError)
    assert issubclass(llmux.InvalidArgumentError, ValueError)
    assert issubclass(llmux.InvalidConfigError, ValueError)
    for name in llmux.__all__:
        value = getattr(llmux, name)
        if isinstance(value, type) and issubclass(value, Exception) and not issubclass(value, Warning) \
                and value is not llmux.LibraryNotFoundError:
            assert issubclass(value, llmux.LLMuxError), name


def test_rate_limit_retry_after(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "status-429-retry-after-e", "dep-r")], num_retries=0)
    with pytest.raises(llmux.RateLimitError) as info:
        router.completion(model="g", messages=user())
    assert info.value.retry_after == 1


def test_no_deployments_available(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "status-429-n1", "n-1"), deployment("g", "status-429-n2", "n-2")],
                         num_retries=1, cooldown_time=60)
    with pytest.raises(llmux.RateLimitError):
        router.completion(model="g", messages=user())  # both deployments fail and cool down
    with pytest.raises(llmux.NoDeploymentsAvailableError) as info:
        router.completion(model="g", messages=user())
    error = info.value
    assert isinstance(error, llmux.RateLimitError) and error.status_code == 429
    assert error.retry_after is not None and 0 < error.retry_after <= 60
    assert "No deployments available" in error.message
    assert sorted(router.get_cooldown_deployments("g")) == ["n-1", "n-2"]


def test_budget_exceeded(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "ok-budget", "b-1", input_cost_per_token=1.0, output_cost_per_token=1.0,
                                     max_budget=0.5, budget_duration="1d")])
    router.completion(model="g", messages=user())  # spends more than the budget
    with pytest.raises(llmux.BudgetExceededError) as info:
        router.completion(model="g", messages=user())
    assert info.value.status_code == 429 and "budget" in info.value.message


def test_timeout_on_a_silent_deployment(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "hang-t", "h-1")], num_retries=0)
    with pytest.raises(llmux.Timeout) as info:
        router.completion(model="g", messages=user(), timeout=0.3)
    assert info.value.status_code == 408 and info.value.kind == 7


def test_unknown_model_group(router: llmux.Router) -> None:
    with pytest.raises(llmux.BadRequestError) as info:
        router.completion(model="no-such-group", messages=user())
    assert llmux.llmux_class(info.value) is llmux.BadRequestError and info.value.status_code == 400


def test_closing_the_router_cancels_a_waiting_call(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "hang-c", "h-1")], num_retries=0)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            router.completion(model="g", messages=user())
        except BaseException as exc:  # recorded for the assertion
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    wait_until(lambda: router.health("g")[0].in_flight == 1, "the call to start")
    router.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], llmux.CallCancelledError)
    assert outcome[0].status_code == 499


@pytest.mark.parametrize("config", [
    "model_list: [",  # not YAML
    "router_settings: {routing_strategy: fastest}",
    "model_list: [{model_name: x}]",  # no litellm_params
    "model_list: [{model_name: x, litellm_params: {model: openai/m, rpm: lots}}]",
    "",
])
def test_bad_config_text(config: str) -> None:
    with pytest.raises(llmux.InvalidConfigError) as info:
        llmux.Router.from_config(config)
    assert isinstance(info.value, ValueError) and info.value.kind == 18 and info.value.message


def test_bad_constructor_value_names_the_key(deployment: Deployment) -> None:
    with pytest.raises(llmux.InvalidConfigError, match="routing_strategy"):
        llmux.Router(model_list=[deployment("g", "ok", "d")], routing_strategy="fastest")
    with pytest.raises(llmux.InvalidConfigError, match="num_retries"):
        llmux.Router(model_list=[deployment("g", "ok", "d")], num_retries="many")  # type: ignore[arg-type]
    with pytest.raises(llmux.InvalidConfigError, match="model_list"):
        llmux.Router(model_list=[{"model_name": "g", "litellm_params": {"model": object()}}])


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"messages": [{"role": "user", "content": "bad \udc80 surrogate"}]}, "messages"),
    ({"messages": user(), "metadata": {"when": object()}}, "metadata"),
    ({"messages": user(), "temperature": math.nan}, "temperature"),
    ({"messages": user(), "stop": {1, 2}}, "stop"),
])
def test_unsendable_requests(router: llmux.Router, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(llmux.InvalidArgumentError, match=field) as info:
        router.completion(model="chat", **kwargs)
    assert isinstance(info.value, ValueError) and isinstance(info.value, llmux.BadRequestError)
    assert info.value.status_code == 400
    with pytest.raises(llmux.InvalidArgumentError, match=field):
        asyncio.run(router.acompletion(model="chat", **kwargs))
    # The router is still fine.
    assert router.completion(model="chat", messages=user()).choices[0].message.content


def test_request_the_library_rejects(router: llmux.Router) -> None:
    with pytest.raises(llmux.BadRequestError):
        router.completion(model="chat", messages="not a list")  # type: ignore[call-overload]


def test_error_classes_exist_for_every_status() -> None:
    from llmux import _ffi
    from llmux.exceptions import error_class

    statuses = [value for name, value in vars(_ffi.Status).items() if name.isupper() and value != 0]
    classes = {error_class(status) for status in statuses}
    assert len(classes) == len(statuses)  # one class per status
    for status in statuses:
        name = _ffi.library().llmux_status_string(status).decode()
        cls = error_class(status)
        if status < 100 and status not in (17, 19):
            assert cls.__name__ == name  # LiteLLM's class names, as llmux reports them
    assert error_class(17) is llmux.CallCancelledError and error_class(19) is llmux.InvalidArgumentError


@pytest.mark.parametrize("status", [value for name, value in vars(llmux._ffi.Status).items()
                                    if name.isupper() and value != llmux._ffi.Status.OK])
def test_every_library_status_becomes_a_raisable_exception(status: int) -> None:
    # OutOfMemoryError is also a MemoryError, whose __new__ refuses subclasses built through another
    # class's __new__: every status must still give an exception object (with litellm imported too).
    error = llmux.exceptions.error_from_status(status, "reported by the library")
    assert isinstance(error, llmux.LLMuxError)
    assert error.kind == status and str(error) == "reported by the library"
    with pytest.raises(type(error)):
        raise error
