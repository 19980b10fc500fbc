"""Response objects: every access style LiteLLM's objects offer, and _hidden_params."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Callable

import pytest

import llmux
from support import SECRET_PREFIX, Deployment, user


@pytest.fixture
def resp(router: llmux.Router) -> llmux.ModelResponse:
    return router.completion(model="chat", messages=user())


def test_attribute_access_all_the_way_down(resp: llmux.ModelResponse) -> None:
    assert resp.object == "chat.completion"
    assert resp.model.startswith("ok-chat-")
    assert isinstance(resp.id, str) and isinstance(resp.created, int)
    choice = resp.choices[0]
    assert isinstance(choice, llmux.Choices)
    assert isinstance(choice.message, llmux.Message)
    assert choice.message.content == f"Hello from {resp.model}."
    assert choice.finish_reason == "stop" and choice.index == 0
    assert isinstance(resp.usage, llmux.Usage)
    assert resp.usage.completion_tokens > 0


def test_declared_fields_read_none_and_others_raise(resp: llmux.ModelResponse) -> None:
    assert resp.choices[0].message.tool_calls is None  # LiteLLM declares it
    assert resp.choices[0].message.function_call is None
    assert resp.system_fingerprint is None or isinstance(resp.system_fingerprint, str)
    with pytest.raises(AttributeError):
        getattr(resp, "no_such_field")


@pytest.mark.light_types
def test_missing_keys_raise_key_error(resp: llmux.ModelResponse) -> None:
    with pytest.raises(KeyError):  # LiteLLM's objects raise AttributeError here
        resp["no_such_field"]


def test_item_access(resp: llmux.ModelResponse) -> None:
    assert resp["choices"][0]["message"]["content"] == resp.choices[0].message.content
    assert resp["usage"]["total_tokens"] == resp.usage.total_tokens
    assert resp.get("model") == resp.model
    assert resp.get("missing") is None and resp.get("missing", 7) == 7
    assert "choices" in resp and "missing" not in resp


@pytest.mark.light_types
def test_dict_and_dumps(resp: llmux.ModelResponse) -> None:
    as_dict = dict(resp)
    assert set(as_dict) == {"id", "object", "created", "model", "choices", "usage"}
    assert as_dict["choices"][0].message.content == resp.choices[0].message.content
    dumped = resp.model_dump()
    assert isinstance(dumped["choices"][0], dict) and isinstance(dumped["choices"][0]["message"], dict)
    assert dumped["choices"][0]["message"]["content"] == resp.choices[0].message.content
    assert resp.json() == dumped  # LiteLLM's .json() returns a dict
    assert resp.dict() == dumped
    assert json.loads(resp.model_dump_json()) == dumped
    assert resp == dumped and resp == copy.deepcopy(resp)
    assert list(resp.keys()) == list(as_dict) and len(resp) == len(as_dict)
    assert [key for key, _ in resp.items()] == list(resp)


def test_llmux_metadata_is_not_part_of_the_visible_response(resp: llmux.ModelResponse) -> None:
    assert "_llmux" not in resp
    assert "_llmux" not in resp.model_dump()
    assert "_llmux" not in resp.model_dump_json()
    assert "_hidden_params" not in resp.model_dump()


def test_repr(resp: llmux.ModelResponse) -> None:
    text = repr(resp)
    assert text.startswith("ModelResponse(") and "Choices(" in text and "Message(" in text
    assert resp.choices[0].message.content in text


def test_objects_are_mutable_like_litellms(resp: llmux.ModelResponse) -> None:
    resp.choices[0].message.content = "changed"
    assert resp["choices"][0]["message"]["content"] == "changed"
    assert resp.model_dump()["choices"][0]["message"]["content"] == "changed"


@pytest.mark.light_types
def test_item_assignment(resp: llmux.ModelResponse) -> None:
    resp["extra"] = {"nested": 1}  # litellm.ModelResponse has no item assignment
    assert resp.extra.nested == 1


def test_pickle_round_trip(resp: llmux.ModelResponse) -> None:
    again = pickle.loads(pickle.dumps(resp))
    assert again == resp and again._hidden_params == resp._hidden_params


def _untouched(router: llmux.Router) -> llmux.ModelResponse:
    """A response as the router returns it: built without __init__, no member wrapped yet, the
    router metadata still its JSON text (llmux.types._adopt, _WithHiddenParams._from_json)."""
    resp = router.completion(model="chat", messages=user())
    assert type(resp) is llmux.ModelResponse
    assert resp.__dict__["_raw"] and type(resp.__dict__["_hidden"]) is bytes
    return resp


@pytest.mark.parametrize("path", ["attributes", "items", "get", "iteration", "values", "dump", "json",
                                  "equality", "pickle", "deepcopy", "repr", "assignment", "hidden"])
def test_each_access_path_first_on_an_untouched_response(router: llmux.Router, path: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llmux, "litellm_types", False)  # llmux's own types with litellm imported too
    resp = _untouched(router)
    # The same members through the public constructor (a copy of the plain JSON members, which
    # leaves resp untouched).
    twin = llmux.ModelResponse(copy.deepcopy(resp.__dict__["_values"]))
    expected = twin.model_dump()
    content = expected["choices"][0]["message"]["content"]
    if path == "attributes":
        assert resp.choices[0].message.content == content and resp.usage.total_tokens > 0
        assert isinstance(resp.choices[0], llmux.Choices) and isinstance(resp.usage, llmux.Usage)
        assert resp.choices[0].message.tool_calls is None
    elif path == "items":
        assert resp["choices"][0]["message"]["content"] == content
        assert isinstance(resp["choices"][0]["message"], llmux.Message)
    elif path == "get":
        assert resp.get("choices")[0].get("message").get("content") == content and resp.get("nope", 1) == 1
    elif path == "iteration":
        assert list(resp) == list(expected) and dict(resp).keys() == expected.keys() and len(resp) == len(expected)
        assert "choices" in resp and "_llmux" not in resp
    elif path == "values":
        choices = dict(resp.items())["choices"]
        assert isinstance(choices[0], llmux.Choices) and list(resp.values())[list(resp).index("choices")] is choices
    elif path == "dump":
        assert resp.model_dump() == expected and resp.dict() == expected
        assert json.loads(resp.model_dump_json()) == expected
    elif path == "json":
        assert resp.json() == expected
    elif path == "equality":
        assert resp == twin and resp == expected and twin == resp
    elif path == "pickle":
        again = pickle.loads(pickle.dumps(resp))
        assert again == twin and again._hidden_params == resp._hidden_params
        assert again.choices[0].message.content == content
    elif path == "deepcopy":
        again = copy.deepcopy(resp)
        assert again == twin and again._hidden_params["model_group"] == "chat"
    elif path == "repr":
        assert repr(resp).startswith("ModelResponse(") and repr(resp) == repr(twin)
    elif path == "assignment":
        resp.choices[0].message.content = "changed"
        resp["model"] = "other"
        assert resp.model_dump()["choices"][0]["message"]["content"] == "changed" and resp.model == "other"
    elif path == "hidden":
        assert resp._hidden_params["model_group"] == "chat"
        assert type(resp.__dict__["_hidden"]) is dict  # parsed once, on that first read
        resp._hidden_params = {"x": 1}
        assert resp._hidden_params == {"x": 1}


def test_hidden_params(resp: llmux.ModelResponse) -> None:
    hidden = resp._hidden_params
    assert hidden["model_id"] == hidden["deployment_id"] in ("chat-1", "chat-2")
    assert hidden["model_group"] == "chat"
    assert hidden["api_base"].startswith("http://127.0.0.1:")
    assert hidden["response_cost"] == 0
    assert hidden["custom_llm_provider"] == "openai"
    assert hidden["litellm_call_id"] == str(hidden["call_id"])
    assert hidden["attempts"] == 1 and hidden["retries"] == 0 and hidden["fallbacks"] == 0
    assert hidden["attempt_log"][0]["deployment_id"] == hidden["model_id"]
    assert hidden["usage"]["total_tokens"] == resp.usage.total_tokens
    headers = hidden["additional_headers"]
    assert headers["x-litellm-model-id"] == hidden["model_id"]
    assert headers["x-litellm-model-group"] == "chat"
    assert headers["x-litellm-attempted-retries"] == "0"
    assert headers["x-litellm-call-id"] == hidden["litellm_call_id"]
    assert all(name.startswith("x-litellm-") for name in headers)
    assert SECRET_PREFIX not in json.dumps(hidden)


def test_response_cost_uses_deployment_prices(make_router: Callable[..., llmux.Router], deployment: Deployment) -> None:
    router = make_router([deployment("priced", "ok-priced", "p-1", input_cost_per_token=0.5,
                                     output_cost_per_token=2.0)])
    resp = router.completion(model="priced", messages=user())
    expected = resp.usage.prompt_tokens * 0.5 + resp.usage.completion_tokens * 2.0
    assert resp._hidden_params["response_cost"] == pytest.approx(expected)
    assert float(resp._hidden_params["additional_headers"]["x-litellm-response-cost"]) == pytest.approx(expected)


def test_embedding_response_objects(router: llmux.Router) -> None:
    emb = router.embedding(model="embed", input="hello")
    assert isinstance(emb, llmux.EmbeddingResponse)
    assert isinstance(emb.data[0], llmux.Embedding)
    assert emb.data[0].embedding == emb["data"][0]["embedding"]
    assert emb.object == "list" and emb.usage.prompt_tokens > 0
    assert "_llmux" not in emb.model_dump()
