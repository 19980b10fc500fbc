"""Fixtures: the scripted fake provider (llmux_fake_server), deployments on it, routers.

The fake server is found through LLMUX_FAKE_SERVER, else <repo>/build/tests/support/llmux_fake_server;
libllmux through LLMUX_LIBRARY or the package's own discovery. If either is missing the suite
fails with a message saying so (it never skips).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

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

