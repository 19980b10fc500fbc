"""The per-call shortcuts of the binding (issue 14) give what the plain way gives.

- request bodies: every str's JSON text comes from a map of strings already encoded
  (llmux._encode._EncodedStrings), with ASCII escapes;
- responses: the router metadata (``_llmux``) is split off unparsed and parsed when
  ``_hidden_params`` is read (llmux._calls.split_response_lazily);
- response objects: declared fields are read through descriptors (llmux.types._Member).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmux
from llmux import _encode
from llmux._calls import hidden_from_text, split_response, split_response_lazily
from llmux._ffi import Outcome, Status
from support import user

NON_ASCII = "Grüße aus Köln 🙂 — 東京 \u2028 tab\t quote\" backslash\\ nul\x00"


def _request() -> dict[str, Any]:
    return {"model": "chat", "messages": [{"role": "user", "content": NON_ASCII}],
            "temperature": 0.5, "n": 1, "stop": None, "flag": True, "metadata": {"tags": ["a", "b"], 7: "x"}}


def test_request_body_is_the_json_of_the_request_and_ascii() -> None:
    request = _request()
    first = _encode.request_json(request)
    assert first.isascii()  # non-ASCII text written as \\u escapes
    expected = json.loads(json.dumps(request))  # what json makes of it (the int key becomes "7")
    assert json.loads(first) == expected
    assert _encode.request_json(request) == first  # the second time from the map: the same bytes
    assert json.loads(_encode.request_json(json.loads(json.dumps(request)))) == expected  # equal, other objects


def test_a_lone_surrogate_is_refused_even_next_to_known_strings() -> None:
    _encode.request_json(_request())  # every other string of the request is known now
    bad = {"model": "chat", "messages": [{"role": "user", "content": "bad \udc80"}]}
    for _ in range(2):  # not kept by the failed attempt
        with pytest.raises(llmux.InvalidArgumentError, match="messages: not valid Unicode text"):
            _encode.request_json(bad)


def test_the_map_of_encoded_strings_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_encode, "_KEPT_CHARS", 1000)
    monkeypatch.setattr(_encode, "_LONGEST_KEPT", 50)
    _encode._ENCODED_STRINGS.clear()
    long_text = "x" * 51
    body = _encode.request_json({"model": "m", "messages": [{"role": "user", "content": long_text}]})
    assert long_text not in _encode._ENCODED_STRINGS and json.loads(body)["messages"][0]["content"] == long_text
    for i in range(200):
        text = f"message number {i:04d}"
        assert json.loads(_encode.request_json({"model": "m", "content": text}))["content"] == text
        assert sum(map(len, _encode._ENCODED_STRINGS.values())) <= 1000
    assert "message number 0199" in _encode._ENCODED_STRINGS
    assert "message number 0000" not in _encode._ENCODED_STRINGS  # dropped when the map was full


def test_str_subclasses_and_objects_are_encoded_by_content() -> None:
    class Role(str):
        pass

    class Message:
        def model_dump(self) -> dict[str, Any]:
            return {"role": Role("user"), "content": "from an object"}

    body = json.loads(_encode.request_json({"model": "m", "messages": [Message()]}))
    assert body["messages"] == [{"role": "user", "content": "from an object"}]
    assert all(type(key) is str for key in _encode._ENCODED_STRINGS)  # a subclass instance is never kept


RESPONSE = (b'{"id":"r1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]'
            b',"_llmux":{"call_id":7,"deployment_id":"d1","api_base":"http://x/v1","model_group":"chat",'
            b'"provider":"openai","headers":{"x-litellm-model-id":"d1"}}}')


@pytest.mark.parametrize("text", [
    RESPONSE,
    # the provider's object empty: no comma before the key
    b'{"_llmux":{"call_id":7,"deployment_id":"d1"}}',
    # the provider's own "_llmux" member (dropped, as the parsed-whole path drops it)
    b'{"id":"r1","_llmux":{"provider":"evil"},"_llmux":{"call_id":7,"deployment_id":"d1"}}',
    # whitespace before the provider's closing brace
    b'{"id":"r1" \n,"_llmux":{"call_id":7}}',
    # no metadata tail at all: parsed whole
    b'{"id":"r1"}',
])
def test_lazy_split_gives_what_parsing_whole_gives(text: bytes) -> None:
    outcome = Outcome(status=Status.OK, response=text)
    body, metadata = split_response_lazily(outcome, "a test")
    whole_body, whole_hidden = split_response(outcome, "a test")
    assert body == whole_body and "_llmux" not in body
    assert hidden_from_text(metadata) == whole_hidden


def test_hidden_params_are_parsed_when_read(router: llmux.Router) -> None:
    resp = router.completion(model="chat", messages=user())
    if not isinstance(resp, llmux.types._WithHiddenParams):  # LiteLLM's object (litellm imported): a dict
        assert resp._hidden_params["model_group"] == "chat"
        return
    assert isinstance(resp.__dict__["_hidden"], bytes)  # nothing read yet: left unparsed
    hidden = resp._hidden_params
    assert hidden["model_group"] == "chat" and hidden["model_id"] == hidden["deployment_id"]
    assert resp._hidden_params is hidden  # parsed once
    resp._hidden_params = {"replaced": True}
    assert resp._hidden_params == {"replaced": True}


def test_declared_fields_are_descriptors_that_read_like_members() -> None:
    class Response(llmux.ModelResponse):  # a subclass: llmux's own object even when litellm is imported
        pass

    resp = Response({"id": "x", "choices": [{"message": {"content": "hi"}}]})
    assert resp.choices[0].message.content == "hi" and resp.usage is None and resp.object is None
    assert isinstance(resp.choices[0], llmux.Choices) and resp.choices[0] is resp.choices[0]
    resp.id = "y"
    assert resp.id == "y" and resp["id"] == "y" and resp.model_dump()["id"] == "y"
    del resp.id
    assert resp.id is None  # a declared field: None when absent
    with pytest.raises(AttributeError):
        getattr(resp, "not_declared")

    class WithKeys(llmux.types.LLMuxObject):
        _fields = ("keys", "name")

    # A method of a declared field's name wins over the member, as it did over __getattr__.
    obj = WithKeys({"keys": 1, "name": "n"})
    assert callable(obj.keys) and obj["keys"] == 1 and obj.name == "n"
