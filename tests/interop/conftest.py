"""Fixtures every interop test module shares: one private redis-server for the whole run (FLUSHALL before each
test that takes ``client``), the LiteLLM peers (two per prepared release, started once), the llmux peers
(three llmux_peer.py processes, started once) and the fake provider process.

Routers outlive a test only in their peer: each test ``create``s the routers it needs, and the peers a test
used are told to ``discard`` theirs at its end, so nothing of one test writes into the next one's Redis.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interop_support import (  # noqa: E402
    FakeServer, Peer, PeerError, RedisClient, RedisServer, close_peers, llmux_spec, load_peers, start_peers)

SPECS = load_peers()  # fails the run, saying what to do, when the venvs were not prepared
LOG_DIR = Path(os.environ["LLMUX_INTEROP_PEERS"]).resolve().parent / "logs"
LLMUX_PEERS = 3


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def client(redis: RedisServer) -> Iterator[RedisClient]:
    with redis.client() as connection:
        connection.command("FLUSHALL")
        yield connection


def _discard_all(peers: list[Peer]) -> None:
    for peer in peers:
        if peer.process.poll() is None:
            try:
                peer.request("discard")
            except (PeerError, RuntimeError, OSError):
                pass


@pytest.fixture(scope="session")
def all_peers() -> Iterator[dict[str, list[Peer]]]:
    """Two LiteLLM peers of every release, started together once for the whole run."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started = start_peers(SPECS, 2, LOG_DIR)
    try:
        yield started
    finally:
        statuses = close_peers([peer for pair in started.values() for peer in pair])
        assert statuses == [0] * len(statuses), f"a peer did not exit cleanly: {statuses} (logs in {LOG_DIR})"


@pytest.fixture(scope="session")
def llmux_fleet() -> Iterator[list[Peer]]:
    """Three llmux_peer.py processes (each one Router over the Python binding), started once."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    spec = llmux_spec()
    started: list[Peer] = []
    try:
        for index in range(LLMUX_PEERS):
            started.append(Peer(spec, stderr_path=str(LOG_DIR / f"peer-llmux-{index}.log"), wait=False))
        for peer in started:
            peer.wait_ready()
        yield started
    finally:
        statuses = close_peers(started)
        assert statuses == [0] * len(statuses), f"an llmux peer did not exit cleanly: {statuses} (logs in {LOG_DIR})"


@pytest.fixture
def llmux_peers(llmux_fleet: list[Peer]) -> Iterator[list[Peer]]:
    """The llmux peers for one test; their routers are discarded when it ends."""
    yield llmux_fleet
    _discard_all(llmux_fleet)


@pytest.fixture(params=SPECS, ids=lambda spec: f"litellm-{spec.litellm}")
def peers(request: pytest.FixtureRequest, all_peers: dict[str, list[Peer]]) -> Iterator[list[Peer]]:
    """The two LiteLLM peers of one release (the test runs once per prepared release); their routers are
    discarded when it ends."""
    pair = all_peers[request.param.litellm]
    yield pair
    _discard_all(pair)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server
