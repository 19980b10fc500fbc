"""LiteLLM's (and openai's) own classes, for programs that use LiteLLM — never imported by llmux itself.

A program moving from ``litellm.Router`` to ``llmux.Router`` keeps code like ``except
litellm.RateLimitError`` and ``isinstance(resp, litellm.ModelResponse)``. When that program has
imported litellm, llmux's exceptions are also instances of LiteLLM's classes and its responses are
LiteLLM's objects (see :mod:`llmux.exceptions` and :mod:`llmux.types`); a program that never imported
it keeps llmux's light objects and never pays for LiteLLM's import.

``llmux.litellm_types`` chooses, read at every call:

- ``"auto"`` (default): LiteLLM's types when ``litellm`` is in ``sys.modules`` (imported by the
  program); otherwise exceptions are still ``openai``'s classes when ``openai`` is imported;
- ``True``: LiteLLM's types always (llmux imports litellm at the first call that needs them);
- ``False``: llmux's own classes and objects only.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any, Optional

__all__ = ["foreign_class", "litellm_in_use", "litellm_type", "openai_in_use"]

# Where LiteLLM defines what llmux looks for, when the package does not export the name itself
# (1.80.0 and 1.110.2 do not export MidStreamFallbackError; newer ones load names lazily).
_SUBMODULES = ("litellm.exceptions", "litellm.types.utils")

# (module, name) -> the class found there, or None. A reloaded module is a new key.
_found: dict[tuple[int, str], Optional[type]] = {}


def _mode() -> Any:
    package = sys.modules.get(__package__ or "llmux")
    mode = getattr(package, "litellm_types", "auto")
    if mode is True or mode is False or mode == "auto":
        return mode
    raise ValueError(f"llmux.litellm_types must be True, False or 'auto', got {mode!r}")


def litellm_in_use() -> Optional[ModuleType]:
    """The ``litellm`` module when llmux should hand out LiteLLM's types, else None."""
    mode = getattr(sys.modules.get(__package__ or "llmux"), "litellm_types", "auto")  # _mode, inlined
    if mode == "auto" and type(mode) is str:  # the default first: asked once per response
        return sys.modules.get("litellm")
    mode = _mode()
    if mode is False:
        return None
    if mode is True:
        try:
            return importlib.import_module("litellm")
        except ImportError as exc:
            raise ImportError(f"llmux.litellm_types = True, but litellm cannot be imported: {exc}") from exc
    return sys.modules.get("litellm")


def openai_in_use() -> Optional[ModuleType]:
    """The ``openai`` module when the program imported it (and llmux.litellm_types is not False)."""
    if _mode() is False:
        return None
    return sys.modules.get("openai")


def foreign_class(module: ModuleType, name: str) -> Optional[type]:
    """The class ``name`` of litellm or openai (``module``), or None when this release has none."""
    key = (id(module), name)
    try:
        return _found[key]
    except KeyError:
        pass
    found = _lookup(module, name)
    _found[key] = found
    return found


def _lookup(module: ModuleType, name: str) -> Optional[type]:
    try:
        value = getattr(module, name, None)
    except Exception:  # a lazy loader failing: treat as absent
        value = None
    if isinstance(value, type):
        return value
    if module.__name__ != "litellm":
        return None
    for submodule in _SUBMODULES:
        try:
            value = getattr(importlib.import_module(submodule), name, None)
        except Exception:  # not in this release
            continue
        if isinstance(value, type):
            return value
    return None


def litellm_type(name: str) -> Optional[type]:
    """LiteLLM's class ``name`` (``ModelResponse``, ...) when LiteLLM's types are in use, else None."""
    module = litellm_in_use()
    return foreign_class(module, name) if module is not None else None
