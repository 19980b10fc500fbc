"""LiteLLM's model-info methods of ``Router``, answered by the library from its model price and
context-window map (the one LiteLLM ships, plus what ``register_model`` added) with each
deployment's ``model_info`` and custom prices over it: ``get_model_group_info``,
``get_router_model_info``, ``get_deployment_model_info``, ``get_deployment_credentials`` and
``reset``.

A mixin of :class:`llmux.Router`: it uses the router's ``_read_text`` (a library call returning
text), ``_entries()`` (the model_list as given), ``_model_group_alias`` and ``get_deployment``.
"""

from __future__ import annotations

import copy
import ctypes
import json
import sys
from typing import Any, Mapping, Optional

from . import _ffi
from ._calls import parse_json
from ._model_list import ModelGroupInfo, _litellm_type, alias_target, router_model_info
from .exceptions import NotFoundError

__all__ = ["ModelInfoMixin"]

#: LiteLLM's CredentialLiteLLMParams: what get_deployment_credentials returns of litellm_params.
_CREDENTIAL_FIELDS = ("api_key", "api_base", "api_version", "vertex_project", "vertex_location",
                      "vertex_credentials", "region_name", "aws_access_key_id", "aws_secret_access_key",
                      "aws_region_name", "watsonx_region_name")

#: Keys of the library's answer that LiteLLM's ModelInfo does not have.
_LLMUX_ONLY = ("mapped", "model_group")

#: Module-level callback lists LiteLLM's Router.reset empties.
_RESET_LISTS = ("success_callback", "_async_success_callback", "failure_callback", "_async_failure_callback")


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value


class ModelInfoMixin:
    """Model info and reset for :class:`llmux.Router` (see the module docstring)."""

    # Provided by Router.
    _model_group_alias: dict[str, Any]

    def _read_text(self, function_name: str, *args: Any) -> str:  # pragma: no cover - Router's
        raise NotImplementedError

    def _entries(self) -> list[dict[str, Any]]:  # pragma: no cover - Router's
        raise NotImplementedError

    def get_deployment(self, model_id: str) -> Any:  # pragma: no cover - Router's
        raise NotImplementedError

    def _use(self) -> Any:  # pragma: no cover - Router's
        raise NotImplementedError

    def _model_info_query(self, query: Mapping[str, Any]) -> Optional[dict[str, Any]]:
        """The library's answer to a model-info query; None when it knows no such deployment,
        group or model."""
        text = json.dumps(dict(query)).encode("utf-8")
        try:
            answer = parse_json(self._read_text("llmux_router_model_info", text, len(text)).encode("utf-8"),
                                "the model info")
        except NotFoundError:
            return None
        return answer if isinstance(answer, dict) else None

    @staticmethod
    def _as_litellm_model_info(answer: dict[str, Any]) -> dict[str, Any]:
        """The library's deployment answer in the shape of LiteLLM's ModelInfo dict."""
        out = {key: value for key, value in answer.items() if key not in _LLMUX_ONLY}
        out.setdefault("supported_openai_params", None)
        return out

    def get_model_group_info(self, model_group: str) -> Any:
        """LiteLLM's ``ModelGroupInfo`` of a group or alias: ``providers``, the largest
        ``max_input_tokens`` / ``max_output_tokens`` / prices of its deployments, the first one's
        ``mode``, ``supports_*`` true when any deployment's is, summed ``tpm`` / ``rpm``. Values come
        from the model map (LiteLLM's), overridden by each deployment's ``model_info`` and the
        custom prices of its ``litellm_params``. None for an unknown group or a hidden alias.
        (``supported_openai_params`` is not known to llmux: an empty list.)"""
        target = model_group
        if model_group in self._model_group_alias:
            resolved = alias_target(self._model_group_alias[model_group])
            if resolved is None or resolved[1]:
                return None
            target = resolved[0]
        answer = self._model_info_query({"model_group": target})
        if answer is None:
            return None
        fields: dict[str, Any] = {key: value for key, value in answer.items() if key != "deployment_ids"}
        fields["model_group"] = model_group
        fields["supported_openai_params"] = []
        fields["input_cost_per_pixel"] = None
        clientside = None
        for entry in self._entries():
            if entry.get("model_name") == target:
                params = entry.get("litellm_params") or {}
                if params.get("configurable_clientside_auth_params") is not None:
                    clientside = params["configurable_clientside_auth_params"]
        fields["configurable_clientside_auth_params"] = clientside
        litellm_info = _litellm_type("litellm.types.router", "ModelGroupInfo")
        if litellm_info is not None:
            try:
                return litellm_info(**fields)
            except Exception:  # a value LiteLLM's model rejects: ours
                pass
        return ModelGroupInfo(fields)

    def get_router_model_info(self, deployment: Optional[Mapping[str, Any]], received_model_name: str,
                              id: Optional[str] = None) -> dict[str, Any]:
        """LiteLLM's ``get_router_model_info``: one deployment's ``max_tokens``,
        ``max_input_tokens``, ``max_output_tokens``, ``input_cost_per_token``,
        ``output_cost_per_token``, ``litellm_provider``, ``mode``, ``supports_*``... from the model
        map (an Azure deployment by its ``base_model``), with its ``model_info`` over them (every
        key) and the custom prices of its ``litellm_params`` over both. ``id`` names the
        deployment instead of ``deployment``; ``received_model_name`` resolves a wildcard
        deployment's model. A model the map does not know has its limits None and prices 0.

        Raises:
            ValueError: no such deployment.
        """
        if id is not None and self.get_deployment(id) is not None:
            deployment = {"model_info": {"id": id}}
        if deployment is None:
            raise ValueError("Deployment not found")
        plain = _plain(deployment)
        deployment_id = (plain.get("model_info") or {}).get("id")
        if deployment_id is not None:
            answer = self._model_info_query({"deployment_id": str(deployment_id),
                                             "received_model_name": received_model_name or None})
            if answer is not None:
                return self._as_litellm_model_info(answer)
        # A deployment this router does not hold: the map's entry for its model under its values.
        return self._model_info_of_entry(plain)

    def _model_info_of_entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        params = entry.get("litellm_params") or {}
        info = dict(entry.get("model_info") or {})
        base = router_model_info(entry)
        query: dict[str, Any] = {"model": str(params.get("model", ""))}
        if params.get("custom_llm_provider"):
            query["custom_llm_provider"] = params["custom_llm_provider"]
        mapped = self._model_info_query(query) if query["model"] else None
        if mapped is None:
            return base
        out = self._as_litellm_model_info(mapped)
        out.update(copy.deepcopy(info))
        for name in ("input_cost_per_token", "output_cost_per_token"):
            if params.get(name) is not None:
                out[name] = params[name]
        return out

    def get_deployment_model_info(self, model_id: str, model_name: str) -> Optional[dict[str, Any]]:
        """LiteLLM's ``get_deployment_model_info``: the info of deployment ``model_id`` (its
        ``model_info`` and custom prices over the map's entry), else the map's entry for
        ``model_name`` alone, else None."""
        answer = self._model_info_query({"deployment_id": str(model_id)})
        if answer is None and model_name:
            answer = self._model_info_query({"model": model_name})
        return None if answer is None else self._as_litellm_model_info(answer)

    def get_deployment_credentials(self, model_id: str) -> Optional[dict[str, Any]]:
        """LiteLLM's ``get_deployment_credentials``: the credential ``litellm_params`` of deployment
        ``model_id`` that are set (``api_key``, ``api_base``, ``api_version``, ``vertex_*``,
        ``aws_*``, ``region_name`` ...), or None for an unknown id. The values are the ones given
        (a router made by ``from_config`` knows secrets only as ``"***"``)."""
        found = self.get_deployment(model_id)
        if found is None:
            return None
        params = (_plain(found).get("litellm_params") or {})
        return {name: params[name] for name in _CREDENTIAL_FIELDS if params.get(name) is not None}

    def reset(self) -> None:
        """LiteLLM's ``Router.reset``: every cooldown ends and the failure counts and rpm/tpm
        counters start afresh (deployments, settings and calls in flight are untouched); and, as
        LiteLLM, the module-wide ``success_callback`` / ``failure_callback`` lists are emptied
        (``llmux``'s, and ``litellm``'s when litellm is imported; ``callbacks`` stays), and
        ``retry_policy`` is cleared (``num_retries`` applies again)."""
        from .router import _raise_for_status  # imported here: router.py imports this module

        error = ctypes.c_void_p()
        with self._use() as handle:
            status = _ffi.library().llmux_router_reset(handle, ctypes.byref(error))
        _raise_for_status(status, error, "llmux_router_reset")
        self.retry_policy = None  # type: ignore[attr-defined]  # a settings attribute (_router_admin)
        for module in ("llmux", "litellm"):
            found = sys.modules.get(module)
            if found is None:
                continue
            for name in _RESET_LISTS:
                if isinstance(getattr(found, name, None), list):
                    setattr(found, name, [])
