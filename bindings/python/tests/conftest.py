"""Fixtures: the scripted fake provider (llmux_fake_server), deployments on it, routers.

The fake server is found through LLMUX_FAKE_SERVER, else <repo>/build/tests/support/llmux_fake_server;
libllmux through LLMUX_LIBRARY or the package's own discovery. If either is missing the suite
fails with a message saying so (it never skips).

LLMUX_TEST_WITH_LITELLM=1 imports litellm before any test (it must be installed), so that every test
runs with llmux handing out LiteLLM's types; test.sh runs the suite once without litellm installed and
once with the pinned release. Tests of one path only are marked ``needs_litellm`` / ``light_types``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

if os.environ.get("LLMUX_TEST_WITH_LITELLM") == "1":
    # No download of LiteLLM's model map at import (no network in tests, and it takes seconds).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import warnings

    with warnings.catch_warnings():  # LiteLLM's own deprecation warnings at import
        warnings.simplefilter("ignore", DeprecationWarning)
        import litellm  # noqa: F401  (the point: llmux sees it in sys.modules)

import llmux
from recording_provider import RecordingProvider
from support import REPO, Deployment, FakeServer, make_deployment


def _fake_server_binary() -> Path:
    explicit = os.environ.get("LLMUX_FAKE_SERVER")
    binary = Path(explicit) if explicit else REPO / "build" / "tests" / "support" / "llmux_fake_server"
    if not binary.is_file():
        pytest.fail(f"llmux_fake_server not found at {binary}: set LLMUX_FAKE_SERVER or build llmux into "
                    f"{REPO / 'build'} (the suite cannot run without it)")
    return binary


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeServer]:
    """The fake provider; its base URL is also exported as LLMUX_FAKE_BASE_URL (for os.environ/)."""
    server = FakeServer(_fake_server_binary())
    os.environ["LLMUX_FAKE_BASE_URL"] = server.base_url
    yield server
    server.stop()


@pytest.fixture(scope="session")
def provider() -> Iterator[RecordingProvider]:
    """A Python provider on loopback for what the fake server cannot script: recording request
    bodies, a stream that stalls after its first chunk, a stream cut by a connection reset."""
    with RecordingProvider() as server:
        yield server


@pytest.fixture
def deployment(fake_server: FakeServer) -> Deployment:
    """``deployment(group, model, id, **litellm_params)``: an entry served by the fake server."""
    return lambda group, model, deployment_id, **params: make_deployment(
        fake_server.base_url, group, model, deployment_id, **params)


@pytest.fixture
def make_router() -> Iterator[Callable[..., llmux.Router]]:
    """``make_router(model_list, **settings)``; every router made is closed after the test."""
    routers: list[llmux.Router] = []

    def make(model_list: list[dict[str, Any]], **settings: Any) -> llmux.Router:
        router = llmux.Router(model_list=model_list, **settings)
        routers.append(router)
        return router

    yield make
    for router in routers:
        router.close()


@pytest.fixture
def router(make_router: Callable[..., llmux.Router], deployment: Deployment) -> llmux.Router:
    """A router with a healthy group "chat" (deployments chat-1, chat-2) and "embed"."""
    return make_router([
        deployment("chat", "ok-chat-1", "chat-1"),
        deployment("chat", "ok-chat-2", "chat-2"),
        deployment("embed", "ok-embed", "embed-1"),
    ])



def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_litellm: runs only when litellm is imported (LLMUX_TEST_WITH_LITELLM=1)")
    config.addinivalue_line("markers", "light_types: checks llmux's own objects: skipped when litellm is imported")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import sys
    with_litellm = "litellm" in sys.modules
    for item in items:
        if not with_litellm and item.get_closest_marker("needs_litellm"):
            item.add_marker(pytest.mark.skip(reason="litellm is not imported (LLMUX_TEST_WITH_LITELLM=1 runs it)"))
        if with_litellm and item.get_closest_marker("light_types"):
            item.add_marker(pytest.mark.skip(reason="checks llmux's own objects, and litellm is imported"))
