"""The cross-binding scenario (tests/shared/scenario.json), run through the Python API.

The steps run in order on one router built from scenario.yaml; every expectation of every step is
checked. It runs twice: through the blocking API and through the asyncio API (each with a fresh
router, so both see the same cooldowns).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, Optional

import llmux
from support import REPO, FakeServer

SCENARIO_DIR = REPO / "tests" / "shared"


def load_scenario() -> dict[str, Any]:
    return json.loads((SCENARIO_DIR / "scenario.json").read_text())


class Observed:
    """What one step produced, in the scenario's terms."""

    def __init__(self) -> None:
        self.response: Optional[dict[str, Any]] = None
        self.hidden: dict[str, Any] = {}
        self.content: Optional[str] = None
        self.error: Optional[llmux.LLMuxError] = None
        self.stream_usage = False
        self.embedding_length: Optional[int] = None
        self.states: dict[str, str] = {}


def _from_response(resp: Any, observed: Observed) -> None:
    observed.response = resp.model_dump()
    observed.hidden = resp._hidden_params
    if isinstance(resp, llmux.EmbeddingResponse):
        observed.embedding_length = len(resp.data[0].embedding)
    else:
        observed.content = resp.choices[0].message.content


def _from_chunks(chunks: list[llmux.ModelResponseStream], hidden: dict[str, Any], observed: Observed) -> None:
    observed.content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    observed.stream_usage = last.usage is not None and last.usage.completion_tokens > 0
    observed.hidden = hidden
    observed.response = {"chunks": [chunk.model_dump() for chunk in chunks]}


def run_step_sync(router: llmux.Router, step: dict[str, Any]) -> Observed:
    observed = Observed()
    try:
        if step["call"] == "completion":
            _from_response(router.completion(**step["request"]), observed)
        elif step["call"] == "stream":
            stream = router.completion(**step["request"], stream=True)
            chunks = list(stream)
            _from_chunks(chunks, stream._hidden_params, observed)
        elif step["call"] == "embedding":
            _from_response(router.embedding(**step["request"]), observed)
        elif step["call"] == "health":
            observed.states = {entry.id: entry.state for entry in router.health(step["group"])}
        else:
            raise AssertionError(f"unknown call {step['call']!r}")
    except llmux.LLMuxError as exc:
        observed.error = exc
    return observed


async def run_step_async(router: llmux.Router, step: dict[str, Any]) -> Observed:
    observed = Observed()
    try:
        if step["call"] == "completion":
            _from_response(await router.acompletion(**step["request"]), observed)
        elif step["call"] == "stream":
            stream = await router.acompletion(**step["request"], stream=True)
            chunks = [chunk async for chunk in stream]
            _from_chunks(chunks, stream._hidden_params, observed)
        elif step["call"] == "embedding":
            _from_response(await router.aembedding(**step["request"]), observed)
        elif step["call"] == "health":
            observed.states = {entry.id: entry.state for entry in router.health(step["group"])}
        else:
            raise AssertionError(f"unknown call {step['call']!r}")
    except llmux.LLMuxError as exc:
        observed.error = exc
    return observed


def check(step: dict[str, Any], observed: Observed) -> list[str]:
    """Every expectation of the step; returns the text the step made visible."""
    name, expect = step["name"], step["expect"]
    if "ok" in expect:
        if expect["ok"]:
            assert observed.error is None, f"{name}: unexpected {observed.error!r}"
        else:
            assert observed.error is not None, f"{name}: expected an error, got {observed.response}"
    for key, value in expect.items():
        if key == "ok":
            continue
        if key == "content":
            assert observed.content == value, name
        elif key == "deployment_id":
            assert observed.hidden["model_id"] == value and observed.hidden["deployment_id"] == value, name
        elif key == "model_group":
            assert observed.hidden["model_group"] == value, name
        elif key in ("attempts", "fallbacks"):
            assert observed.hidden[key] == value, f"{name}: {key}"
        elif key == "stream_usage":
            assert observed.stream_usage is value, name
        elif key == "embedding_length":
            assert observed.embedding_length == value, name
        elif key == "states":
            for deployment_id, state in value.items():
                assert observed.states[deployment_id] == state, f"{name}: {deployment_id}"
        elif key == "type":
            assert observed.error is not None
            assert type(observed.error).__name__ == value and observed.error.type == value, name
        elif key == "status":
            assert observed.error is not None and observed.error.status_code == value, name
        elif key == "kind":
            assert observed.error is not None and observed.error.kind == value, name
        else:
            raise AssertionError(f"{name}: expectation {key!r} is not checked by this suite")
    seen = [json.dumps(observed.response), json.dumps(observed.hidden), json.dumps(observed.states)]
    if observed.error is not None:
        seen += [observed.error.message, str(observed.error), json.dumps(observed.error.error_json)]
    return seen


def _router(scenario: dict[str, Any], fake_server: FakeServer) -> llmux.Router:
    os.environ[scenario["env_base_url"]] = fake_server.base_url  # scenario.yaml's os.environ/ references
    os.environ[scenario["env_root_url"]] = fake_server.base_url.removesuffix("/v1")
    os.environ.update(scenario["env"])  # the AWS test keys the fake checks Bedrock's SigV4 signatures with
    return llmux.Router.from_config(SCENARIO_DIR / scenario["config"])


def _check_secret(scenario: dict[str, Any], router: llmux.Router, seen: list[str]) -> None:
    seen += [router.metrics(), json.dumps(router.get_model_list()),
             json.dumps([entry.model_dump() for entry in router.health()])]
    secret = scenario["secret_never_seen"]
    assert all(secret not in text for text in seen)


def test_scenario_sync(fake_server: FakeServer) -> None:
    scenario = load_scenario()
    seen: list[str] = []
    with _router(scenario, fake_server) as router:
        for step in scenario["steps"]:
            seen += check(step, run_step_sync(router, step))
        _check_secret(scenario, router, seen)


def test_scenario_async(fake_server: FakeServer) -> None:
    scenario = load_scenario()
    seen: list[str] = []

    async def run(router: llmux.Router) -> None:
        for step in scenario["steps"]:
            seen.extend(check(step, await run_step_async(router, step)))

    with _router(scenario, fake_server) as router:
        asyncio.run(run(router))
        _check_secret(scenario, router, seen)
