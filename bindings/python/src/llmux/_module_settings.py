"""LiteLLM's module-level router defaults (``litellm.num_retries = 3`` before ``Router(...)``).

LiteLLM's Router reads these module attributes when it is made, for the arguments left unset:
``num_retries``, ``max_fallbacks`` (when the argument is None), ``request_timeout`` (as
``timeout``), ``fallbacks``, ``default_fallbacks``, ``context_window_fallbacks`` and
``content_policy_fallbacks`` (when the argument is empty). llmux reads the same names on the
``llmux`` module (``import llmux as litellm`` keeps working) and, when the user imported litellm,
on ``litellm`` — llmux's first. Read at Router creation, as LiteLLM does; never imports litellm.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

__all__ = ["MODULE_SETTINGS", "apply_module_settings"]

#: Router argument → (module attribute, whether an empty/falsy argument also takes it).
MODULE_SETTINGS: dict[str, tuple[str, bool]] = {
    "num_retries": ("num_retries", False),
    "max_fallbacks": ("max_fallbacks", False),
    "timeout": ("request_timeout", True),
    "fallbacks": ("fallbacks", True),
    "default_fallbacks": ("default_fallbacks", True),
    "context_window_fallbacks": ("context_window_fallbacks", True),
    "content_policy_fallbacks": ("content_policy_fallbacks", True),
}

#: litellm's own default of an attribute, which says nothing the router's default does not.
_LITELLM_DEFAULTS: dict[str, Any] = {"request_timeout": 6000}


def _module_value(attribute: str) -> Any:
    own = getattr(sys.modules.get("llmux"), attribute, None)
    if own is not None:
        return own
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return None
    value = getattr(litellm, attribute, None)
    if attribute in _LITELLM_DEFAULTS and value == _LITELLM_DEFAULTS[attribute]:
        return None
    return value


def apply_module_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` (Router arguments, None = not given) with the module-level defaults filled in."""
    out = dict(settings)
    for argument, (attribute, falsy_too) in MODULE_SETTINGS.items():
        current = out.get(argument)
        if current is not None and (current or not falsy_too):
            continue
        value = _module_value(attribute)
        if value is None or (falsy_too and not value):
            continue
        # LiteLLM mutates the module's lists (appending the default fallbacks); llmux copies them.
        out[argument] = list(value) if isinstance(value, (list, tuple)) else value
    return out
