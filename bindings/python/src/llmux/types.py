"""Response objects that behave like LiteLLM's (``ModelResponse``, ``ModelResponseStream``,
``EmbeddingResponse``, ``Usage``, ...).

Each wraps the provider's JSON: attribute access all the way down
(``resp.choices[0].message.content``), item access (``resp["choices"]``), ``dict(resp)``, ``in``,
``.get()``, ``.model_dump()`` (plain dicts and lists), ``.model_dump_json()`` (a str), and
``.json()``, which returns a dict as LiteLLM's does. A field LiteLLM always declares (``usage``,
``message.tool_calls``, ...) reads as None when the provider left it out; any other missing name
raises AttributeError/KeyError.

The router metadata (the body's ``_llmux`` member) is not part of the visible response: it is in
``resp._hidden_params`` under LiteLLM's names (``model_id``, ``api_base``, ``response_cost``,
``additional_headers``, ``litellm_call_id``, ``model_group``, ``custom_llm_provider``) next to
every llmux metadata key (``deployment_id``, ``attempts``, ``retries``, ``fallbacks``,
``attempt_log``, ``latency_ms``, ...).

LiteLLM's types for programs that use LiteLLM: when ``litellm`` is imported (see
``llmux.litellm_types``), llmux hands out LiteLLM's own objects instead — ``litellm.ModelResponse``,
``litellm.ModelResponseStream`` (stream chunks), ``litellm.EmbeddingResponse`` (``data`` items are
``litellm.Embedding``, read by attribute or key), stream ``usage`` a ``litellm.Usage`` — with the same
``_hidden_params``. Calling :class:`ModelResponse`, :class:`ModelResponseStream` or
:class:`EmbeddingResponse` then makes LiteLLM's object, and ``isinstance`` with any class here
(:class:`Message`, :class:`Usage`, ...) also accepts LiteLLM's class of the same role, so code written
for either keeps working. LiteLLM's types cost more to build (pydantic validation: see the bindings
benchmark); a program that never imports litellm never pays it.
"""

from __future__ import annotations

import collections.abc
import json
import logging
import sys
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Iterator, Mapping, Optional

from . import _litellm

__all__ = [
    "Choices",
    "Delta",
    "DeploymentHealth",
    "Embedding",
    "EmbeddingResponse",
    "Function",
    "HealthCheckResult",
    "HealthEndpoint",
    "HealthReport",
    "LLMuxObject",
    "Message",
    "ModelResponse",
    "ModelResponseStream",
    "ModerationResponse",
    "ResponsesAPIResponse",
    "StreamingChoices",
    "TextChoice",
    "TextCompletionResponse",
    "ToolCall",
    "Usage",
    "hidden_params",
    "make_usage",
]

_log = logging.getLogger("llmux")


class _LiteLLMRoleType(type):
    """Classes whose ``isinstance`` also accepts LiteLLM's class of the same role (``_litellm_names``)
    when the program has imported litellm."""

    _litellm_names: tuple[str, ...]

    def __instancecheck__(cls, instance: Any) -> bool:
        if type.__instancecheck__(cls, instance):
            return True
        litellm = sys.modules.get("litellm")
        if litellm is None:
            return False
        for name in cls.__dict__.get("_litellm_names", ()):
            twin = _litellm.foreign_class(litellm, name)
            if twin is not None and type.__instancecheck__(twin, instance):
                return True
        return False


class _ResponseType(_LiteLLMRoleType):
    """Response classes whose call makes LiteLLM's object when LiteLLM's types are in use."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        build = _LITELLM_BUILDERS.get(cls)  # not for subclasses: their own types
        if build is not None:
            litellm = _litellm.litellm_in_use()
            if litellm is not None:
                made = build(litellm, *args, **kwargs)
                if made is not None:
                    return made
        return super().__call__(*args, **kwargs)


class LLMuxObject:
    """A JSON object with attribute and mapping access (the base of every response type).

    Subclasses declare ``_fields`` (names that read as None when absent) and ``_children`` (the
    class used to wrap the value of a member: a dict, or each dict of a list).

    Members are wrapped lazily: building an object copies the top-level mapping only, and a member
    becomes its object (or list of objects) the first time it is read — so a response costs little
    to build, and what is never read (an embedding's floats) is never walked. ``_raw`` holds the
    names still unwrapped (None once every member is).
    """

    _fields: ClassVar[tuple[str, ...]] = ()
    _children: ClassVar[Mapping[str, type["LLMuxObject"]]] = {}
    #: Members that are plain JSON data (an embedding's numbers): copied as they are, never walked.
    _plain: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, data: Optional[Mapping[str, Any]] = None, **fields: Any) -> None:
        values: dict[str, Any] = dict(data) if data else {}
        if fields:
            values.update(fields)
        # Straight into the instance dict: object.__setattr__ is a slot-wrapper call each.
        state = self.__dict__
        state["_values"] = values
        state["_raw"] = set(values) if values else None

    @classmethod
    def _wrap(cls, key: str, value: Any) -> Any:
        if key in cls._plain and type(value) is list:
            return list(value)
        child = cls._children.get(key, LLMuxObject)
        return _wrap_value(value, child)

    def _member(self, key: str) -> Any:
        """The member ``key``, wrapped (KeyError when absent)."""
        values = self._values
        value = values[key]
        raw = self._raw
        if raw is not None and key in raw:
            raw.discard(key)
            value = values[key] = self._wrap(key, value)
        return value

    def _wrapped(self) -> dict[str, Any]:
        """Every member wrapped (for iteration over values)."""
        raw = self._raw
        if raw:
            values = self._values
            for key in list(raw):
                values[key] = self._wrap(key, values[key])
        object.__setattr__(self, "_raw", None)
        return self._values

    def _forget(self, key: str) -> None:
        raw = self._raw
        if raw is not None:
            raw.discard(key)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Each declared field read through a _Member on the class, not through __getattr__: Python
        # calls __getattr__ only after the normal lookup failed, and that failure makes (and drops)
        # an AttributeError with its formatted message — most of the cost of reading a member.
        for name in cls._fields:
            if not isinstance(getattr(cls, name, None), (_Member, type(None))) or name.startswith("_"):
                continue  # a method or property of that name wins, as it did over __getattr__
            setattr(cls, name, _Member(name))

    # -- attribute access ----------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: the JSON members (_member, inlined: the hot path).
        values = object.__getattribute__(self, "_values")
        if name in values:
            value = values[name]
            raw = self._raw
            if raw is not None and name in raw:
                raw.discard(name)
                if type(value) not in _SCALARS:
                    value = values[name] = self._wrap(name, value)
            return value
        if name in type(self)._fields:
            return None
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self._values[name] = self._wrap(name, value)
            self._forget(name)

    def __delattr__(self, name: str) -> None:
        if name.startswith("_"):
            object.__delattr__(self, name)
        elif name in self._values:
            del self._values[name]
            self._forget(name)
        else:
            raise AttributeError(name)

    # -- mapping access ------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        if key in self._values:
            return self._member(key)
        if key in type(self)._fields:
            return None
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = self._wrap(key, value)
        self._forget(key)

    def __delitem__(self, key: str) -> None:
        del self._values[key]
        self._forget(key)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> Any:
        """The member names (what ``dict(obj)`` uses)."""
        return self._values.keys()

    def values(self) -> Any:
        """The member values (nested objects stay wrapped)."""
        return self._wrapped().values()

    def items(self) -> Any:
        """(name, value) pairs (nested objects stay wrapped)."""
        return self._wrapped().items()

    def get(self, key: str, default: Any = None) -> Any:
        """The member ``key``, or ``default`` when absent."""
        if key in self._values:
            return self._member(key)
        return default

    # -- conversions ---------------------------------------------------------------------------

    def model_dump(self, **_: Any) -> Dict[str, Any]:
        """A deep copy as plain dicts and lists (pydantic's name; keyword options are ignored)."""
        return {key: _unwrap(value) for key, value in self._values.items()}

    def json(self, **_: Any) -> Dict[str, Any]:
        """Same as :meth:`model_dump`: LiteLLM's response ``.json()`` returns a dict, not a str."""
        return self.model_dump()

    def model_dump_json(self, **_: Any) -> str:
        """The object as JSON text."""
        return json.dumps(self.model_dump(), ensure_ascii=False)

    def dict(self, **_: Any) -> Dict[str, Any]:  # pydantic v1's name
        """Same as :meth:`model_dump` (pydantic v1's name)."""
        return self.model_dump()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LLMuxObject):
            return self.model_dump() == other.model_dump()
        if isinstance(other, collections.abc.Mapping):
            return self.model_dump() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dict

    def __repr__(self) -> str:
        members = ", ".join(f"{key}={value!r}" for key, value in self._wrapped().items())
        return f"{type(self).__name__}({members})"


class _Member:
    """A declared field of an :class:`LLMuxObject` class (``_fields``): reads the member as
    ``__getattr__`` does (wrapped on first read; None when absent). A non-data descriptor: an
    instance attribute of the same name would win, and assignments go through ``__setattr__``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Optional[LLMuxObject], cls: Any = None) -> Any:
        if obj is None:
            return self
        name = self.name
        values = obj._values
        if name not in values:
            return None
        value = values[name]
        raw = obj._raw
        if raw is not None and name in raw:
            raw.discard(name)
            # LLMuxObject._wrap, with its common cases inlined (each Python call is a cost here).
            # Children made by _adopt (no __init__ frame): every _children class is a plain LLMuxObject.
            kind = type(value)
            if kind is dict:
                value = values[name] = _adopt(type(obj)._children.get(name, LLMuxObject), value)
            elif kind is list and name not in type(obj)._plain:
                child = type(obj)._children.get(name, LLMuxObject)
                value = values[name] = [_adopt(child, item) if type(item) is dict else _wrap_value(item, child)
                                        for item in value]
            elif kind not in _SCALARS:
                value = values[name] = obj._wrap(name, value)
        return value


_new_object = object.__new__


def _adopt(cls: type[LLMuxObject], data: dict[str, Any]) -> Any:
    """``cls(data)`` for a JSON object, without the ``__init__`` call (a Python frame and a kwargs
    dict): what a member read and a response build do for every object. For classes whose
    ``__init__`` is :class:`LLMuxObject`'s (the ``_children`` classes) or
    :class:`_WithHiddenParams`'s (the response types)."""
    obj = _new_object(cls)
    state = obj.__dict__
    state["_values"] = values = dict(data)
    state["_raw"] = set(values) if values else None
    return obj


#: JSON scalars: a list holding only these is copied as it is, not walked item by item.
_SCALARS = frozenset((str, int, float, bool, type(None)))


def _wrap_value(value: Any, child: type[LLMuxObject]) -> Any:
    kind = type(value)
    if kind is dict:  # JSON's objects: the common case first
        return child(value)
    if kind in _SCALARS or isinstance(value, LLMuxObject):
        return value
    if kind is not list and isinstance(value, collections.abc.Mapping):  # not typing's Mapping: slow isinstance
        return child(value)
    if isinstance(value, list):
        if _SCALARS.issuperset(map(type, value)):
            return list(value)
        return [_wrap_value(item, child) for item in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, LLMuxObject):
        return value.model_dump()
    if isinstance(value, list):
        if _SCALARS.issuperset(map(type, value)):
            return list(value)
        return [_unwrap(item) for item in value]
    if isinstance(value, dict):
        return {key: _unwrap(item) for key, item in value.items()}
    return value


class Function(LLMuxObject, metaclass=_LiteLLMRoleType):
    """A tool call's function: ``name`` and ``arguments`` (JSON text)."""

    _litellm_names = ("Function", "FunctionCall")
    _fields = ("name", "arguments")
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        name: Optional[str]
        arguments: str


class ToolCall(LLMuxObject, metaclass=_LiteLLMRoleType):
    """One tool call of a message or delta."""

    _litellm_names = ("ChatCompletionMessageToolCall", "ChatCompletionDeltaToolCall")
    _fields = ("id", "type", "function", "index")
    _children = {"function": Function}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        id: Optional[str]
        type: Optional[str]
        function: Function
        index: Optional[int]


class Message(LLMuxObject, metaclass=_LiteLLMRoleType):
    """``choices[i].message``: ``role``, ``content``, ``tool_calls``, ..."""

    _litellm_names = ("Message",)
    _fields = ("content", "role", "tool_calls", "function_call", "reasoning_content")
    _children = {"tool_calls": ToolCall, "function_call": Function}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        content: Optional[str]
        role: str
        tool_calls: Optional[list[ToolCall]]
        function_call: Optional[Function]
        reasoning_content: Optional[str]


class Delta(LLMuxObject, metaclass=_LiteLLMRoleType):
    """``choices[i].delta`` of a stream chunk."""

    _litellm_names = ("Delta",)
    _fields = ("content", "role", "tool_calls", "function_call", "reasoning_content")
    _children = {"tool_calls": ToolCall, "function_call": Function}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        content: Optional[str]
        role: Optional[str]
        tool_calls: Optional[list[ToolCall]]
        function_call: Optional[Function]
        reasoning_content: Optional[str]


class Choices(LLMuxObject, metaclass=_LiteLLMRoleType):
    """One choice of a :class:`ModelResponse`."""

    _litellm_names = ("Choices",)
    _fields = ("finish_reason", "index", "message", "logprobs")
    _children = {"message": Message}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        finish_reason: Optional[str]
        index: int
        message: Message
        logprobs: Any


class StreamingChoices(LLMuxObject, metaclass=_LiteLLMRoleType):
    """One choice of a :class:`ModelResponseStream` chunk."""

    _litellm_names = ("StreamingChoices",)
    _fields = ("finish_reason", "index", "delta", "logprobs")
    _children = {"delta": Delta}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        finish_reason: Optional[str]
        index: int
        delta: Delta
        logprobs: Any


class Usage(LLMuxObject, metaclass=_LiteLLMRoleType):
    """Token counts: ``prompt_tokens``, ``completion_tokens``, ``total_tokens``."""

    _litellm_names = ("Usage",)
    _fields = ("prompt_tokens", "completion_tokens", "total_tokens")
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        prompt_tokens: int
        completion_tokens: int
        total_tokens: int


class _WithHiddenParams(LLMuxObject):
    """A response carrying LiteLLM's ``_hidden_params`` (router metadata; not a JSON member)."""

    def __init__(self, data: Optional[Mapping[str, Any]] = None, **fields: Any) -> None:
        # LLMuxObject.__init__ inlined (one Python call fewer per response), and the hidden params.
        values: dict[str, Any] = dict(data) if data else {}
        if fields:
            values.update(fields)
        state = self.__dict__
        state["_values"] = values
        state["_raw"] = set(values) if values else None
        state["_hidden"] = {}

    def _get_hidden_params(self) -> dict[str, Any]:
        hidden = self.__dict__["_hidden"]
        if type(hidden) is bytes:
            # The router metadata's JSON as the call left it (llmux._calls.split_response_lazily):
            # parsed the first time it is read — most programs never read it.
            from ._calls import hidden_from_text  # _calls imports this module

            hidden = self.__dict__["_hidden"] = hidden_from_text(hidden)
        return hidden  # type: ignore[no-any-return]

    def _set_hidden_params(self, value: Any) -> None:
        self.__dict__["_hidden"] = value

    #: LiteLLM's ``_hidden_params``: the router metadata under LiteLLM's names (a dict).
    _hidden_params = property(_get_hidden_params, _set_hidden_params)

    @classmethod
    def _from_json(cls, data: dict[str, Any], hidden: Any) -> Any:
        """``cls(data)`` with ``_hidden`` set (a dict, or the metadata's JSON text, parsed when
        read), for a response the library returned: LiteLLM's type when LiteLLM's types are in use
        (``cls(data)``, which the caller completes), else llmux's, built without the metaclass call
        and ``__init__`` frames."""
        if cls in _LITELLM_BUILDERS and _litellm.litellm_in_use() is not None:
            return cls(data)
        response = _adopt(cls, data)
        response.__dict__["_hidden"] = hidden
        return response


class ModelResponse(_WithHiddenParams, metaclass=_ResponseType):
    """A chat completion (``chat.completion``), like ``litellm.ModelResponse``."""

    _litellm_names = ("ModelResponse",)
    _fields = ("id", "choices", "created", "model", "object", "system_fingerprint", "usage")
    _children = {"choices": Choices, "usage": Usage}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        id: str
        choices: list[Choices]
        created: int
        model: Optional[str]
        object: str
        system_fingerprint: Optional[str]
        usage: Usage
        _hidden_params: dict[str, Any]


class ModelResponseStream(_WithHiddenParams, metaclass=_ResponseType):
    """One stream chunk (``chat.completion.chunk``), like ``litellm.ModelResponseStream``.

    ``usage`` is None except on the final usage chunk (with ``stream_options.include_usage``).
    """

    _litellm_names = ("ModelResponseStream",)
    _fields = ("id", "choices", "created", "model", "object", "system_fingerprint", "usage")
    _children = {"choices": StreamingChoices, "usage": Usage}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        id: str
        choices: list[StreamingChoices]
        created: int
        model: Optional[str]
        object: str
        system_fingerprint: Optional[str]
        usage: Optional[Usage]
        _hidden_params: dict[str, Any]


class Embedding(LLMuxObject, metaclass=_LiteLLMRoleType):
    """One item of :attr:`EmbeddingResponse.data`: ``embedding``, ``index``, ``object``."""

    _litellm_names = ("Embedding",)
    _fields = ("embedding", "index", "object")
    _plain = frozenset(("embedding",))
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        embedding: list[float]
        index: int
        object: str


class EmbeddingResponse(_WithHiddenParams, metaclass=_ResponseType):
    """An embeddings response, like ``litellm.EmbeddingResponse``."""

    _litellm_names = ("EmbeddingResponse",)
    _fields = ("data", "model", "object", "usage")
    _children = {"data": Embedding, "usage": Usage}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        data: list[Embedding]
        model: Optional[str]
        object: str
        usage: Usage
        _hidden_params: dict[str, Any]


class TextChoice(LLMuxObject, metaclass=_LiteLLMRoleType):
    """One choice of a :class:`TextCompletionResponse`: ``text``, ``index``, ``finish_reason``."""

    _litellm_names = ("TextChoices",)
    _fields = ("finish_reason", "index", "text", "logprobs")
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        finish_reason: Optional[str]
        index: int
        text: str
        logprobs: Any


class TextCompletionResponse(_WithHiddenParams, metaclass=_ResponseType):
    """A text completion (``text_completion``, OpenAI's /completions), like
    ``litellm.TextCompletionResponse``."""

    _litellm_names = ("TextCompletionResponse",)
    _fields = ("id", "choices", "created", "model", "object", "system_fingerprint", "usage")
    _children = {"choices": TextChoice, "usage": Usage}
    if TYPE_CHECKING:  # the members' types, for type checkers (read through _Member at run time)
        id: str
        choices: list[TextChoice]
        created: int
        model: Optional[str]
        object: str
        system_fingerprint: Optional[str]
        usage: Usage
        _hidden_params: dict[str, Any]


class ModerationResponse(_WithHiddenParams, metaclass=_ResponseType):
    """A moderation (OpenAI's /moderations): ``id``, ``model``, ``results``, like
    ``litellm.OpenAIModerationResponse``."""

    _litellm_names = ("OpenAIModerationResponse",)
    _fields = ("id", "model", "results")


class ResponsesAPIResponse(_WithHiddenParams, metaclass=_ResponseType):
    """A Responses API answer (OpenAI's /responses): ``id``, ``status``, ``output``, ``usage``
    (``input_tokens``/``output_tokens``), like ``litellm.ResponsesAPIResponse``."""

    _litellm_names = ("ResponsesAPIResponse",)
    _fields = ("id", "object", "created_at", "status", "model", "output", "usage", "error",
               "incomplete_details")


class HealthCheckResult(LLMuxObject):
    """One active health check of one deployment: ``deployment_id``, ``model_group``, ``mode``
    (chat, embedding), ``model``, ``healthy``, ``skipped``, ``error_type``, ``status``, ``reason``
    (never a key), ``checked_at`` (Unix seconds), ``latency_ms``, ``checked_by`` ("this replica",
    or the replica that shared it)."""

    _fields = ("deployment_id", "model_group", "mode", "model", "healthy", "skipped", "error_type", "status",
               "reason", "checked_at", "latency_ms", "checked_by")


class DeploymentHealth(LLMuxObject):
    """One deployment's health (:meth:`llmux.Router.health`): ``id``, ``model_group``, ``healthy``,
    ``state`` (healthy, cooling_down, half_open, probing, failed_health_check), ``reason``,
    ``status``, ``cooldown_remaining_seconds``, ``trips``, ``in_flight``, ``requests_this_minute``,
    ``tokens_this_minute``, ``api_base``, ``cooled_by`` (with Redis: who opened the cooldown — another
    replica's id, ``"redis"`` for one read back from Redis, empty for this router), and the active health checks: ``last_check`` (a
    :class:`HealthCheckResult`, None when never checked), ``failed_health_check`` (routed around
    for it now), ``next_health_check_seconds`` (-1 when not scheduled)."""

    _fields = ("id", "model_group", "api_base", "healthy", "state", "reason", "status",
               "cooldown_remaining_seconds", "trips", "in_flight", "requests_this_minute",
               "tokens_this_minute", "cooled_by", "last_check", "failed_health_check",
               "next_health_check_seconds")
    _children = {"last_check": HealthCheckResult}


class HealthEndpoint(LLMuxObject):
    """One deployment in a :class:`HealthReport`: ``model``, ``model_group``, ``model_id``,
    ``api_base`` (never a key), ``mode``, ``error`` (the failed check's reason; for an unchecked one,
    why), ``error_type``, ``status``, ``last_check_at`` (Unix seconds, 0 = never), ``latency_ms``,
    ``checked_by``, ``stale``, ``routed_around``."""

    _fields = ("model", "model_group", "model_id", "api_base", "mode", "error", "error_type", "status",
               "last_check_at", "latency_ms", "checked_by", "stale", "routed_around")


class HealthReport(LLMuxObject):
    """The active health checks as LiteLLM's ``/health`` answers (:meth:`llmux.Router.check_health`,
    :meth:`llmux.Router.health_report`): ``healthy_endpoints``, ``unhealthy_endpoints``,
    ``unchecked_endpoints`` (lists of :class:`HealthEndpoint`) and their ``*_count``."""

    _fields = ("healthy_endpoints", "unhealthy_endpoints", "unchecked_endpoints", "healthy_count",
               "unhealthy_count", "unchecked_count")
    _children = {"healthy_endpoints": HealthEndpoint, "unhealthy_endpoints": HealthEndpoint,
                 "unchecked_endpoints": HealthEndpoint}


# -- LiteLLM's objects ---------------------------------------------------------------------------

_failed_builds: set[str] = set()


def _build(litellm: Any, name: str, make: Callable[[type], Any]) -> Any:
    """``make(LiteLLM's class name)``, or None (llmux's own object) when this release lacks the class or
    refuses the data — said once per class on the ``llmux`` logger."""
    cls = _litellm.foreign_class(litellm, name)
    if cls is None:
        return None
    try:
        return make(cls)
    except Exception as exc:
        if name not in _failed_builds:
            _failed_builds.add(name)
            _log.warning("llmux: litellm.%s refused a response (%s: %s); returning llmux's %s instead",
                         name, type(exc).__name__, exc, name)
        return None


def _fields(data: Optional[Mapping[str, Any]], fields: dict[str, Any]) -> dict[str, Any]:
    return {**data, **fields} if data else fields


def _litellm_model_response(litellm: Any, data: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
    return _build(litellm, "ModelResponse", lambda cls: cls(**_fields(data, fields)))


def _litellm_stream_chunk(litellm: Any, data: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
    return _build(litellm, "ModelResponseStream", lambda cls: cls(**_fields(data, fields)))


def _litellm_embedding_response(litellm: Any, data: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
    values = _fields(data, fields)

    def make(cls: type) -> Any:
        # Items as litellm.Embedding (attribute and key access) rather than LiteLLM's plain dicts, so
        # code reading resp.data[0].embedding (llmux's objects) keeps working.
        item_class = _litellm.foreign_class(litellm, "Embedding")
        items = values.get("data")
        if item_class is not None and isinstance(items, list):
            values["data"] = [item_class(**item) if isinstance(item, Mapping) else item for item in items]
        usage = values.get("usage")
        if isinstance(usage, Mapping):
            values["usage"] = _litellm_usage(litellm, usage) or usage
        return cls(**values)

    return _build(litellm, "EmbeddingResponse", make)


def _litellm_usage(litellm: Any, usage: Mapping[str, Any]) -> Any:
    return _build(litellm, "Usage", lambda cls: cls(**usage))


def _litellm_plain(name: str) -> Callable[..., Any]:
    """A builder of LiteLLM's class ``name`` from the JSON members, kept only when it takes
    ``_hidden_params`` (the router metadata is set on it afterwards)."""

    def build(litellm: Any, data: Optional[Mapping[str, Any]] = None, **fields: Any) -> Any:
        def make(cls: type) -> Any:
            made = cls(**_fields(data, fields))
            made._hidden_params = {}
            return made

        return _build(litellm, name, make)

    return build


_LITELLM_BUILDERS: dict[type, Callable[..., Any]] = {
    ModelResponse: _litellm_model_response,
    ModelResponseStream: _litellm_stream_chunk,
    EmbeddingResponse: _litellm_embedding_response,
    TextCompletionResponse: _litellm_plain("TextCompletionResponse"),
    ModerationResponse: _litellm_plain("OpenAIModerationResponse"),
    ResponsesAPIResponse: _litellm_plain("ResponsesAPIResponse"),
}


def make_usage(usage: Mapping[str, Any]) -> Any:
    """A stream's final usage: ``litellm.Usage`` when LiteLLM's types are in use, else :class:`Usage`."""
    litellm = _litellm.litellm_in_use()
    made = _litellm_usage(litellm, usage) if litellm is not None else None
    return made if made is not None else Usage(usage)


def hidden_params(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """LiteLLM's ``_hidden_params`` for the router metadata of a call: LiteLLM's names plus every
    llmux metadata key."""
    params: dict[str, Any] = dict(metadata)
    params.update(
        model_id=metadata.get("deployment_id") or None,
        api_base=metadata.get("api_base") or None,
        response_cost=metadata.get("response_cost"),
        additional_headers=dict(metadata.get("headers") or {}),
        litellm_call_id=str(metadata["call_id"]) if "call_id" in metadata else None,
        model_group=metadata.get("model_group") or None,
        custom_llm_provider=metadata.get("provider") or None,
    )
    return params
