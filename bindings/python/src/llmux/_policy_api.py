"""LiteLLM's small public helpers of ``Router`` that read its policies and model list:
``get_num_retries_from_retry_policy``, ``get_allowed_fails_from_policy``,
``deployment_is_active_for_environment``, ``get_model_info`` / ``get_model_group`` (by deployment
id), ``print_deployment``, ``validate_fallbacks`` and ``upsert_deployment``.

They answer from the router's live settings (``retry_policy``, ``model_group_retry_policy``,
``allowed_fails_policy``) and model list; nothing here is on the path of a call. Exceptions are
matched by class name along their MRO, so LiteLLM's, openai's and llmux's classes of one role
answer alike without llmux importing any of them.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Mapping, Optional

__all__ = ["PolicyApiMixin", "policy_value", "exception_roles"]

# LiteLLM's valid LITELLM_ENVIRONMENT values (and of model_info.supported_environments).
_VALID_ENVIRONMENTS = ("development", "staging", "production")

# Key segments that mark a litellm_params value as a secret in print_deployment (LiteLLM's
# SensitiveDataMasker patterns; "max_tokens" is not a secret because segments are compared whole).
_SECRET_SEGMENTS = frozenset({"password", "secret", "key", "token", "auth", "credential", "access", "private",
                              "certificate", "fingerprint", "tenancy"})

# Policy field prefixes in the order the library applies them (health/retry_policy.cpp): the most
# specific role first, so a content-policy violation uses ContentPolicyViolationError* before the
# BadRequestError* of its base class.
_ROLE_ORDER = (
    ("AuthenticationError", "AuthenticationError"),
    ("Timeout", "TimeoutError"),
    ("RateLimitError", "RateLimitError"),
    ("ContentPolicyViolationError", "ContentPolicyViolationError"),
    ("BadRequestError", "BadRequestError"),
)


def exception_roles(exception: BaseException) -> set[str]:
    """The LiteLLM roles of ``exception``: class names along its MRO, with openai's spellings
    (``APITimeoutError``) folded into LiteLLM's (``Timeout``)."""
    names = {cls.__name__ for cls in type(exception).__mro__}
    if "APITimeoutError" in names:
        names.add("Timeout")
    if "ContextWindowExceededError" in names:
        names.add("BadRequestError")
    return names


def policy_value(policy: Any, field: str) -> Optional[int]:
    """``policy.field`` for a dict, a pydantic model or any object; None when absent or unset."""
    if policy is None:
        return None
    if isinstance(policy, Mapping):
        value = policy.get(field)
    else:
        value = getattr(policy, field, None)
    return None if value is None else int(value)


def _from_policy(policy: Any, exception: BaseException, suffix: str) -> Optional[int]:
    if policy is None:
        return None
    roles = exception_roles(exception)
    for role, prefix in _ROLE_ORDER:
        if role in roles:
            value = policy_value(policy, prefix + suffix)
            if value is not None:
                return value
    return None


def _section(deployment: Any, name: str) -> Any:
    if isinstance(deployment, Mapping):
        return deployment.get(name)
    return getattr(deployment, name, None)


def _mask(value: Any, keep: int, stars: Optional[int] = None) -> Any:
    text = "" if value is None else str(value)
    if not text or len(text) < keep:
        return value
    return text[:keep] + "*" * (stars if stars is not None else len(text) - keep)


def _is_secret_key(key: str) -> bool:
    return any(segment in _SECRET_SEGMENTS for segment in str(key).lower().replace("-", "_").split("_"))


class PolicyApiMixin:
    """Methods of :class:`llmux.Router` that LiteLLM's ``Router`` offers for its policies and list."""

    def get_num_retries_from_retry_policy(self, exception: BaseException,
                                          model_group: Optional[str] = None) -> Optional[int]:
        """The retries the retry policy gives ``exception``: the group's ``model_group_retry_policy``
        entry when it has one, else ``retry_policy``; None when no policy covers it (the router's
        ``num_retries`` then applies). Content-policy violations read
        ``ContentPolicyViolationErrorRetries`` before ``BadRequestErrorRetries``, as the router does
        (LiteLLM 1.80 reads them the other way round)."""
        policy = None
        group_policies = getattr(self, "model_group_retry_policy", None)
        if model_group is not None and group_policies:
            policy = group_policies.get(model_group)
        if policy is None:
            policy = getattr(self, "retry_policy", None)
        return _from_policy(policy, exception, "Retries")

    def get_allowed_fails_from_policy(self, exception: BaseException) -> Optional[int]:
        """The failures ``allowed_fails_policy`` allows for ``exception``'s class before a cooldown,
        or None when the policy does not cover it (``allowed_fails`` then applies)."""
        return _from_policy(getattr(self, "allowed_fails_policy", None), exception, "AllowedFails")

    def deployment_is_active_for_environment(self, deployment: Any) -> bool:
        """LiteLLM's per-environment deployments: True when the deployment's
        ``model_info.supported_environments`` is unset or contains ``LITELLM_ENVIRONMENT``.

        Raises:
            ValueError: ``supported_environments`` is set but ``LITELLM_ENVIRONMENT`` is not, or either
                names something other than development, staging, production.
        """
        model_info = _section(deployment, "model_info")
        supported = _section(model_info, "supported_environments") if model_info is not None else None
        if supported is None:
            return True
        environment = os.environ.get("LITELLM_ENVIRONMENT")
        if environment is None:
            raise ValueError("Set 'supported_environments' for model but not 'LITELLM_ENVIRONMENT' set in .env")
        if environment not in _VALID_ENVIRONMENTS:
            raise ValueError(f"LITELLM_ENVIRONMENT must be one of {list(_VALID_ENVIRONMENTS)}. "
                             f"but set as: {environment}")
        for name in supported:
            if name not in _VALID_ENVIRONMENTS:
                raise ValueError(f"supported_environments must be one of {list(_VALID_ENVIRONMENTS)}. "
                                 f"but set as: {name}")
        return environment in supported

    def get_model_info(self, id: str) -> Optional[dict[str, Any]]:  # LiteLLM's name
        """The model_list entry of the deployment with this id (``model_name``, ``litellm_params``,
        ``model_info``), or None."""
        return next((entry for entry in self.model_list
                     if str((entry.get("model_info") or {}).get("id", "")) == str(id)), None)

    def get_model_group(self, id: str) -> Optional[list[dict[str, Any]]]:  # LiteLLM's name
        """Every model_list entry of the group the deployment with this id belongs to, or None."""
        entry = self.get_model_info(id)
        return None if entry is None else self.get_model_list(model_name=entry["model_name"])

    def print_deployment(self, deployment: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``deployment`` fit for logs: ``api_key`` as its first 2 characters and 10 ``*``
        (LiteLLM's form), every other secret-named ``litellm_params`` value (``aws_secret_access_key``,
        ``vertex_credentials`` ...) as its first 2 characters and ``*`` — always, where LiteLLM masks
        those only with ``litellm.redact_user_api_key_info``."""
        printed = copy.deepcopy(dict(deployment))
        params = dict(printed.get("litellm_params") or {})
        for key, value in params.items():
            if value is None or isinstance(value, (bool, int, float)):
                continue
            if key == "api_key":
                params[key] = _mask(value, 2, 10)
            elif _is_secret_key(key):
                params[key] = _mask(value if isinstance(value, str) else str(value), 2)
        printed["litellm_params"] = params
        return printed

    def validate_fallbacks(self, fallback_param: Optional[list[Any]]) -> None:
        """LiteLLM's check of a fallbacks list: each item a dict with exactly one key.

        Raises:
            ValueError: an item is not a dict or has other than one key.
        """
        if fallback_param is None:
            return
        for item in fallback_param:
            if not isinstance(item, Mapping):
                raise ValueError(f"Item '{item}' is not a dictionary.")
            if len(item) != 1:
                raise ValueError(f"Dictionary '{item}' must have exactly one key, but has {len(item)} keys.")

    def upsert_deployment(self, deployment: Any) -> Any:
        """Adds ``deployment``, or replaces the one with its ``model_info.id`` when its
        ``litellm_params`` differ. Returns the deployment given, or None when nothing changed."""
        model_info = _section(deployment, "model_info")
        deployment_id = _section(model_info, "id") if model_info is not None else None
        if deployment_id is not None:
            current = self.get_model_info(str(deployment_id))
            if current is not None:
                if _plain(_section(deployment, "litellm_params")) == _plain(current.get("litellm_params")):
                    return None
                self.delete_deployment(id=str(deployment_id))
        self.add_deployment(deployment)
        return deployment


def _plain(value: Any) -> Any:
    """A dict for a pydantic model or an llmux object (``model_dump``), the value otherwise."""
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            value = dump(exclude_none=True)
        except TypeError:
            value = dump()
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    return value

