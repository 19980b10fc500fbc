"""The interop harness proven with LiteLLM alone: two litellm_peer.py processes of one release share a private
redis-server and agree on cooldowns, the rpm/tpm minute keys and provider budget spend, as the reference
(litellm-shared-state.md §2, §3, §5) says they do. Run through tests/interop/test.sh <build-dir>, which
prepares the venvs and sets LLMUX_INTEROP_PEERS; every prepared release runs every test.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interop_support import PEER_SCRIPT, Peer, PeerError, RedisClient, RedisServer, wait_for  # noqa: E402

# Fixtures (redis, client, peers: the two peers of one release) are in conftest.py.
MODEL = "openai/gpt-4o"
GROUP = "g"
TOKENS_PER_CALL = 30  # LiteLLM's mock_response usage: 10 prompt + 20 completion tokens

# How long a router may take to see a cooldown another process wrote to Redis: 1.8x reads a key from Redis
# at most once per redis_batch_cache_expiry (10 s); router-core re-reads its cooldown store every 1 s.
COOLDOWN_READ_INTERVAL_S = {"classic": 10.0, "router-core": 1.0}
SLACK_S = 5.0  # a loaded 2-core machine; the figure printed is the measurement, this is only a bound


def deployment(model_id: str, mock: str, **params: Any) -> dict[str, Any]:
    return {"model_name": GROUP, "litellm_params": {"model": MODEL, "mock_response": mock, **params},
            "model_info": {"id": model_id}}


def cooling_group() -> list[dict[str, Any]]:
    """dep-a answers 429 and is tried first (weight 1000 : 1); dep-b answers."""
    return [deployment("dep-a", "litellm.RateLimitError", weight=1000),
            deployment("dep-b", "Hello from dep-b", weight=1)]


def create(peer: Peer, redis: RedisServer, model_list: list[dict[str, Any]], **settings: Any) -> None:
    reply = peer.request("create", model_list=model_list, redis={"host": redis.host, "port": redis.port},
                         **settings)
    assert sorted(reply["model_ids"]) == sorted(d["model_info"]["id"] for d in model_list)


def report(peer: Peer, text: str) -> None:
    print(f"\n[interop] litellm {peer.spec.litellm}: {text}", end="")


def test_cooldown_written_by_one_peer_is_obeyed_by_the_other(peers: list[Peer], redis: RedisServer,
                                                            client: RedisClient) -> None:
    writer, reader = peers
    for peer in peers:
        create(peer, redis, cooling_group(), cooldown_time=60)
    # The reader has already looked (and found nothing): what follows measures its polling, not a first read.
    assert reader.request("cooled_ids")["cooled"] == []

    results = writer.request("complete", model=GROUP, n=3)["results"]
    assert any(r["error_type"] == "RateLimitError" and r["status_code"] == 429 for r in results if not r["ok"])
    cooled_at = time.monotonic()
    assert writer.request("cooled_ids")["cooled"] == ["dep-a"]

    stored = client.command("GET", "deployment:dep-a:cooldown")
    assert stored is not None
    ttl = client.command("TTL", "deployment:dep-a:cooldown")
    assert 0 < ttl <= 60
    if writer.ready["api"] == "classic":  # 1.8x writes the Python repr, router-core JSON (reference §3)
        assert stored.startswith("{'exception_received': '")
    else:
        value = json.loads(stored)
        assert value["status_code"] == "429" and value["cooldown_time"] == 60

    interval = COOLDOWN_READ_INTERVAL_S[reader.ready["api"]]
    seen = wait_for(lambda: "dep-a" in reader.request("cooled_ids")["cooled"], interval + SLACK_S, 0.1)
    elapsed = time.monotonic() - cooled_at
    assert seen, f"the other peer did not see dep-a cooling within {interval + SLACK_S} s"
    report(reader, f"a cooldown written by one peer was seen by the other after {elapsed:.2f} s "
                   f"(documented interval {interval:g} s)")

    # ... and it routes around it: every call goes to dep-b, none meets dep-a's 429.
    answered = reader.request("complete", model=GROUP, n=5)
    assert answered["errors"] == 0 and answered["served"] == {"dep-b": 5}


def test_cooldown_in_the_interop_encoding_is_obeyed_at_once(peers: list[Peer], redis: RedisServer,
                                                            client: RedisClient) -> None:
    """The llmux -> LiteLLM direction's LiteLLM side: the value reference §5 says to write (JSON, string
    status), set straight into Redis, is obeyed by a router that has not read the key before."""
    _, reader = peers
    create(reader, redis, cooling_group(), cooldown_time=60)
    value = {"exception_received": "written by the interop test", "status_code": "429",
             "timestamp": time.time(), "cooldown_time": 30}
    client.command("SET", "deployment:dep-b:cooldown", json.dumps(value), "EX", 30)
    reply = reader.request("cooled_ids")
    assert reply["cooled"] == ["dep-b"]
    assert reply["values"]["dep-b"]["status_code"] == "429"
    # dep-b cooling leaves dep-a, whose 429s now reach the caller.
    answered = reader.request("complete", model=GROUP, n=2)
    assert answered["served"] == {} and answered["errors"] == 2


def _utc_minute() -> str:
    return datetime.now(timezone.utc).strftime("%H-%M")


def test_both_peers_count_rpm_and_tpm_into_the_same_minute_keys(peers: list[Peer], redis: RedisServer,
                                                                client: RedisClient) -> None:
    # rpm/tpm limits on the deployments: the success path counts only for deployments that have one.
    model_list = [deployment("dep-a", "Hello from dep-a", rpm=1000, tpm=1000000),
                  deployment("dep-b", "Hello from dep-b", rpm=1000, tpm=1000000)]
    if datetime.now(timezone.utc).second >= 50:  # keep every call and the checks in one UTC minute
        time.sleep(61 - datetime.now(timezone.utc).second)
    minute = _utc_minute()
    for peer in peers:
        create(peer, redis, model_list)
    served: dict[str, int] = {}
    for peer, calls in zip(peers, (3, 4)):
        reply = peer.request("complete", model=GROUP, n=calls)
        assert reply["errors"] == 0
        for model_id, count in reply["served"].items():
            served[model_id] = served.get(model_id, 0) + count
    assert sum(served.values()) == 7

    def counters() -> dict[str, str | None]:
        return {f"{model_id}:{kind}": client.command("GET", f"global_router:{model_id}:{MODEL}:{kind}:{minute}")
                for model_id in ("dep-a", "dep-b") for kind in ("rpm", "tpm")}

    expected = {f"{model_id}:{kind}": str(served.get(model_id, 0) * (1 if kind == "rpm" else TOKENS_PER_CALL))
                for model_id in ("dep-a", "dep-b") for kind in ("rpm", "tpm")}
    expected = {key: (None if value == "0" else value) for key, value in expected.items()}
    # The increments are sent by LiteLLM's callbacks after each answer: give them a moment.
    wait_for(lambda: counters() == expected, 5)
    assert counters() == expected  # integer strings, the sum of both peers' calls
    for model_id in served:
        ttl = client.command("TTL", f"global_router:{model_id}:{MODEL}:rpm:{minute}")
        assert 0 < ttl <= 60

    # A router that has not counted anything itself reads the fleet's total (a fresh router per reference §2.3:
    # a router that counted reads its own memory first).
    create(peers[0], redis, model_list)
    usage = peers[0].request("usage", model=GROUP)
    assert (usage["tpm"], usage["rpm"]) == (7 * TOKENS_PER_CALL, 7)
    report(peers[0], f"3 + 4 calls counted into global_router:<id>:{MODEL}:rpm/tpm:{minute} "
                     f"({dict(sorted(served.items()))}); a fresh router reads tpm {usage['tpm']}, rpm {usage['rpm']}")


def test_provider_budget_spend_is_counted_once_across_peers(peers: list[Peer], redis: RedisServer,
                                                            client: RedisClient) -> None:
    budget = {"openai": {"budget_limit": 10, "time_period": "1d"}}
    model_list = [deployment("dep-a", "Hello from dep-a"), deployment("dep-b", "Hello from dep-b")]
    for peer in peers:
        create(peer, redis, model_list, provider_budget_config=budget)
    key = "provider_spend:openai:1d"

    def spend() -> float:
        value = client.command("GET", key)
        return float(value) if value is not None else 0.0

    assert peers[0].request("complete", model=GROUP, n=2)["errors"] == 0
    # Spend reaches Redis with the limiter's 1 s sync.
    assert wait_for(lambda: spend() > 0, 5), f"{key} never written"
    time.sleep(1.2)  # one more sync: nothing more of the first peer's is on its way
    per_call = spend() / 2
    assert peers[1].request("complete", model=GROUP, n=3)["errors"] == 0
    wait_for(lambda: abs(spend() - 5 * per_call) < 1e-12, 5)
    assert spend() == pytest.approx(5 * per_call, rel=1e-9)
    assert 0 < client.command("TTL", key) <= 86400
    start = client.command("GET", "provider_budget_start_time:openai")
    assert start is not None and abs(float(start) - time.time()) < 60
    # What each peer's limiter reports (Redis when configured) is the fleet's spend.
    for peer in peers:
        reported = peer.request("spend")["providers"]["openai"]
        assert reported["key"] == key and reported["spend"] == pytest.approx(5 * per_call, rel=1e-9)
    report(peers[1], f"{key} = {spend()} after 2 + 3 calls of {per_call} each")


def test_protocol_errors_are_answered_clearly(peers: list[Peer], redis: RedisServer) -> None:
    peer = peers[0]
    with pytest.raises(PeerError, match="model_info.id"):
        peer.request("create", model_list=[{"model_name": GROUP, "litellm_params": {"model": MODEL}}])
    port = closed_loopback_port()
    started = time.monotonic()
    with pytest.raises(PeerError, match=f"127.0.0.1:{port} did not answer PING") as refused:
        peer.request("create", model_list=cooling_group(), redis={"host": "127.0.0.1", "port": port,
                                                                  "password": "never-echoed"})
    assert "never-echoed" not in str(refused.value)
    assert time.monotonic() - started < 30  # not LiteLLM's own seconds-long fail-open start
    peer.request("discard")
    with pytest.raises(PeerError, match="no router"):
        peer.request("cooled_ids")
    with pytest.raises(PeerError, match="unknown cmd"):
        peer.request("frobnicate")
    assert peer.request("ping")["litellm_version"] == peer.spec.litellm


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_python_without_litellm_fails_clearly() -> None:
    # -S: no site packages, so litellm cannot be importable whatever this interpreter has installed.
    process = subprocess.run([sys.executable, "-S", str(PEER_SCRIPT)], input=b"", capture_output=True,
                             timeout=60)
    assert process.returncode == 3
    ready = json.loads(process.stdout.decode().splitlines()[0])
    assert ready["ok"] is False and "cannot import litellm" in ready["error"]
