"""The differential test: llmux and LiteLLM routers in separate processes on one redis-server agree on the state
a mixed fleet shares (reference litellm-shared-state.md §5): LiteLLM cools a deployment and llmux routes around
it until the cooldown's own timestamp says it ended; llmux cools one and LiteLLM routers, fresh and already
polling, obey it; both count rpm/tpm into the same minute keys; and the cooldown encodings each side accepts,
with LiteLLM's own verdicts beside llmux's. Every test runs once per prepared LiteLLM release (the pinned one and
the newest). Where LiteLLM is known to behave differently (reference §2.3, §3, §4), the difference is asserted
as such: a LiteLLM change there fails the test rather than passing silently.

llmux runs in llmux_peer.py (the Python binding over libllmux), LiteLLM in litellm_peer.py; both answer through
LiteLLM's ``mock_response`` (llmux implements it: ``"litellm.RateLimitError"`` is a 429). Run through
tests/interop/test.sh <build-dir>.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interop_support import Monitor, Peer, RedisClient, RedisServer, wait_for  # noqa: E402

MODEL = "openai/gpt-4o"
GROUP = "g"
LITELLM_TOKENS_PER_CALL = 30  # LiteLLM's mock_response usage: 10 prompt + 20 completion tokens
# How long a LiteLLM router may take to see a cooldown another process wrote (reference §2.3, §3): 1.8x reads
# a key from Redis at most once per redis_batch_cache_expiry (10 s); router-core re-reads every 1 s.
LITELLM_READ_INTERVAL_S = {"classic": 10.0, "router-core": 1.0}
LLMUX_SYNC_INTERVAL_S = 0.25  # llmux's default redis_sync_interval, given explicitly
SLACK_S = 5.0  # a loaded 2-core machine: bounds are generous, the figures printed are the measurements


# --- helpers ---------------------------------------------------------------------------------------------

def deployment(model_id: str, mock: str, group: str = GROUP, **params: Any) -> dict[str, Any]:
    return {"model_name": group, "litellm_params": {"model": MODEL, "mock_response": mock, **params},
            "model_info": {"id": model_id}}


def redis_of(redis: RedisServer) -> dict[str, Any]:
    return {"host": redis.host, "port": redis.port}


def create(peer: Peer, redis: RedisServer, model_list: list[dict[str, Any]], **settings: Any) -> None:
    reply = peer.request("create", model_list=model_list, redis=redis_of(redis), **settings)
    assert sorted(reply["model_ids"]) == sorted(d["model_info"]["id"] for d in model_list)


def create_llmux(peer: Peer, redis: RedisServer, model_list: list[dict[str, Any]], sync: float = LLMUX_SYNC_INTERVAL_S,
                 **settings: Any) -> None:
    kwargs = dict(settings.pop("router_kwargs", {}))
    kwargs.setdefault("redis_sync_interval", sync)
    create(peer, redis, model_list, router_kwargs=kwargs, **settings)


def wall(monotonic: float) -> float:
    """A time.monotonic() reading (of any process of this machine) as Unix time."""
    return monotonic + (time.time() - time.monotonic())


def decode_stored(text: str) -> dict[str, Any]:
    """A cooldown value as LiteLLM reads it: JSON, else a Python literal (reference §2.1)."""
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


def api_of(peer: Peer) -> str:
    return peer.ready["api"]


def report(peer: Peer, text: str) -> None:
    print(f"\n[differential] {peer.spec.label}: {text}", end="")


def utc_minute() -> str:
    return datetime.now(timezone.utc).strftime("%H-%M")


def wait_for_fresh_minute_if_needed(needed_seconds: float) -> None:
    """So that a test counting one UTC minute's calls does not straddle two."""
    second = datetime.now(timezone.utc).second + datetime.now(timezone.utc).microsecond / 1e6
    if 60 - second < needed_seconds:
        time.sleep(60 - second + 0.2)


# --- (a) LiteLLM cools, llmux obeys ------------------------------------------------------------------------

def test_a_cooldown_litellm_writes_is_obeyed_by_llmux_until_its_timestamp_ends(
        peers: list[Peer], llmux_peers: list[Peer], redis: RedisServer, client: RedisClient) -> None:
    litellm, llmux = peers[0], llmux_peers[0]
    cooldown_s = 4
    # LiteLLM's dep-a answers 429 (and is tried first); for llmux the same deployment works (it recovered), so
    # what llmux does with it is decided by the shared cooldown alone. order makes llmux's choice deterministic.
    create(litellm, redis, [deployment("dep-a", "litellm.RateLimitError", weight=1000),
                            deployment("dep-b", "Hello from dep-b", weight=1)], cooldown_time=cooldown_s)
    create_llmux(llmux, redis, [deployment("dep-a", "Hello from dep-a", order=1),
                                deployment("dep-b", "Hello from dep-b", order=2)])
    assert llmux.request("complete", model=GROUP, n=3)["served"] == {"dep-a": 3}

    results = litellm.request("complete", model=GROUP, n=3)["results"]
    written = time.monotonic()
    assert any(not r["ok"] and r["status_code"] == 429 for r in results), results
    stored = wait_for(lambda: client.command("GET", "deployment:dep-a:cooldown"), SLACK_S)
    assert stored is not None, "LiteLLM wrote no cooldown"
    if api_of(litellm) == "classic":  # 1.8x writes the Python repr, router-core JSON (reference §3)
        assert stored.startswith("{'exception_received': ")
    else:
        assert stored.startswith('{"exception_received": ')
    value = decode_stored(stored)
    assert value["status_code"] == "429" and value["cooldown_time"] == cooldown_s
    ends_at = value["timestamp"] + value["cooldown_time"]

    seen = llmux.request("wait_state", model_id="dep-a", cooled=True, timeout=LLMUX_SYNC_INTERVAL_S + SLACK_S)
    assert seen["seen"], f"llmux did not obey LiteLLM's cooldown within {LLMUX_SYNC_INTERVAL_S + SLACK_S} s"
    obeyed_after = max(0.0, seen["at"] - written)
    cooled = llmux.request("cooled_ids")
    assert cooled["cooled"] == ["dep-a"]
    info = cooled["values"]["dep-a"]
    assert info["status"] == 429 and info["cooled_by"] == "redis"
    # Until the value's own timestamp + cooldown_time (not a local copy's length).
    assert abs(info["cooldown_remaining_seconds"] - (ends_at - time.time())) < 0.5, (info, ends_at - time.time())
    assert llmux.request("complete", model=GROUP, n=5)["served"] == {"dep-b": 5}

    back = llmux.request("wait_state", model_id="dep-a", cooled=False, timeout=cooldown_s + SLACK_S)
    assert back["seen"], "llmux kept dep-a cooling after LiteLLM's cooldown ended"
    readmitted = wall(back["at"])
    assert readmitted >= ends_at - 0.1, f"readmitted {ends_at - readmitted:.3f} s before the cooldown ended"
    assert readmitted <= ends_at + SLACK_S
    # The first call after it is the probe, which dep-a (healthy for llmux) passes: it serves again.
    assert llmux.request("complete", model=GROUP, n=3)["served"] == {"dep-a": 3}
    report(litellm, f"its {cooldown_s} s cooldown (written as {'repr' if stored[1] == chr(39) else 'JSON'}) was "
                    f"obeyed by llmux {obeyed_after * 1000:.0f} ms after the call returned (sync interval "
                    f"{LLMUX_SYNC_INTERVAL_S:g} s) and ended there {readmitted - ends_at:+.3f} s from "
                    f"timestamp + cooldown_time")


# --- (b) llmux cools, LiteLLM obeys ------------------------------------------------------------------------

def healthy_group() -> list[dict[str, Any]]:
    """For a LiteLLM router that only reads: both work, dep-a is preferred (weight 1000 : 1)."""
    return [deployment("dep-a", "Hello from dep-a", weight=1000), deployment("dep-b", "Hello from dep-b", weight=1)]


def test_b_cooldown_llmux_writes_is_obeyed_by_fresh_and_polling_litellm_routers(
        peers: list[Peer], llmux_peers: list[Peer], redis: RedisServer, client: RedisClient) -> None:
    polling, fresh = peers
    llmux = llmux_peers[0]
    api = api_of(polling)
    interval = LITELLM_READ_INTERVAL_S[api]
    # Two cooldowns: dep-a's outlasts the polling router's read interval (so it is still there to be seen),
    # dep-c's is short, to see who lets it go when it ends.
    long_s, short_s = 15, 3
    litellm_groups = healthy_group() + [deployment("dep-c", "Hello from dep-c", group="h", weight=1000),
                                        deployment("dep-d", "Hello from dep-d", group="h", weight=1)]
    create(polling, redis, litellm_groups)
    # It has looked (nothing there): from now on it sees Redis only when its own read interval comes round.
    assert polling.request("cooled_ids")["cooled"] == []
    create_llmux(llmux, redis, [
        deployment("dep-a", "litellm.RateLimitError", order=1, cooldown_time=long_s),
        deployment("dep-b", "Hello from dep-b", order=2),
        deployment("dep-c", "litellm.RateLimitError", group="h", order=1, cooldown_time=short_s),
        deployment("dep-d", "Hello from dep-d", group="h", order=2)])

    for group in (GROUP, "h"):
        assert llmux.request("complete", model=group, n=1)["results"][0]["status_code"] == 429
    cooled_at = time.monotonic()
    assert llmux.request("cooled_ids")["cooled"] == ["dep-a", "dep-c"]

    def stored_values() -> dict[str, str | None]:
        return {i: client.command("GET", f"deployment:{i}:cooldown") for i in ("dep-a", "dep-c")}

    # Written by llmux's Redis thread, pipelined after the call answered: a moment later.
    assert wait_for(lambda: None not in stored_values().values(), SLACK_S), stored_values()
    stored = stored_values()
    values = {i: json.loads(text) for i, text in stored.items()}
    for model_id, seconds in (("dep-a", long_s), ("dep-c", short_s)):
        # The encoding of reference §5, byte for byte what 1.110 writes: json.dumps with Python's separators.
        assert stored[model_id] == json.dumps(values[model_id])
        assert list(values[model_id]) == ["exception_received", "status_code", "timestamp", "cooldown_time"]
        assert values[model_id]["status_code"] == "429" and values[model_id]["cooldown_time"] == seconds
        assert 0 < client.command("PTTL", f"deployment:{model_id}:cooldown") <= seconds * 1000

    # A router that never looked obeys both on its first read, with the values as written.
    create(fresh, redis, litellm_groups)
    read = fresh.request("cooled_ids")
    assert read["cooled"] == ["dep-a", "dep-c"]
    for model_id in ("dep-a", "dep-c"):
        assert read["values"][model_id]["status_code"] == "429"
        assert read["values"][model_id]["timestamp"] == values[model_id]["timestamp"]

    seen = wait_for(lambda: "dep-a" in polling.request("cooled_ids")["cooled"], interval + SLACK_S, 0.05)
    seen_after = time.monotonic() - cooled_at
    assert seen, f"the polling LiteLLM router did not see llmux's cooldown within {interval + SLACK_S} s"
    # ... and routes around it.
    assert polling.request("complete", model=GROUP, n=3)["served"] == {"dep-b": 3}

    # After dep-c's cooldown: its key is gone (PX expiry) and router-core, which honours timestamp +
    # cooldown_time, lets it back. KNOWN DIFFERENCE (reference §2.3, #31876): 1.8x copied the value into memory
    # for 600 s when it read it, and keeps reporting it cooling long after the key expired.
    assert wait_for(lambda: client.command("EXISTS", "deployment:dep-c:cooldown") == 0, short_s + SLACK_S)
    time.sleep(max(0.0, values["dep-c"]["timestamp"] + short_s - time.time()))
    if api == "router-core":
        for router in (polling, fresh):
            assert wait_for(lambda: "dep-c" not in router.request("cooled_ids")["cooled"], 1 + SLACK_S), \
                f"{router.spec.label} kept dep-c cooling after timestamp + cooldown_time"
        ended = "both let the short one go when it ended"
    else:
        assert "dep-c" in fresh.request("cooled_ids")["cooled"], \
            "litellm 1.8x let an expired cooldown go: its 600 s local copy (reference §2.3) is gone?"
        ended = "the fresh one still reports the short one cooling after it ended (known: 1.8x keeps a 600 s copy)"
    report(polling, f"llmux's cooldowns: a fresh router obeyed them on its first read; the polling router after "
                    f"{seen_after:.2f} s (its read interval {interval:g} s); {ended}")


def test_b_sub_second_cooldowns_reach_redis_from_llmux_only(
        peers: list[Peer], llmux_peers: list[Peer], redis: RedisServer, client: RedisClient) -> None:
    """KNOWN DIFFERENCE (reference §2.1): LiteLLM stores a cooldown with EX int(cooldown_time), so one under a
    second is SET ... EX 0, which Redis refuses: it never reaches the fleet. llmux writes PX."""
    litellm, llmux = peers[0], llmux_peers[0]
    create(litellm, redis, healthy_group())
    create_llmux(llmux, redis, [deployment("dep-a", "litellm.RateLimitError", order=1),
                                deployment("dep-b", "Hello from dep-b", order=2)], cooldown_time=0.5)
    monitor = Monitor(redis)
    try:
        litellm.request("inject_cooldown", model_id="dep-b", status_code=429, message="sub-second",
                        cooldown_time=0.5)
        assert llmux.request("complete", model=GROUP, n=1)["results"][0]["status_code"] == 429

        def sets() -> dict[str, list[str]]:
            return {argv[1]: argv for _, _, argv in monitor.commands()
                    if argv and argv[0].upper() == "SET" and argv[1].endswith(":cooldown")}

        assert wait_for(lambda: len(sets()) == 2, SLACK_S), sets()
        written = sets()
    finally:
        monitor.stop()
    llmux_set = written["deployment:dep-a:cooldown"]
    assert [arg.upper() for arg in llmux_set[3:4]] == ["PX"] and 0 < int(llmux_set[4]) <= 500, llmux_set
    assert json.loads(llmux_set[2])["cooldown_time"] == 0.5
    litellm_set = written["deployment:dep-b:cooldown"]
    assert [arg.upper() for arg in litellm_set[3:]] == ["EX", "0"], litellm_set
    assert client.command("EXISTS", "deployment:dep-b:cooldown") == 0  # refused by Redis: never stored
    report(litellm, f"a 0.5 s cooldown: LiteLLM sent {' '.join(litellm_set[3:])} (refused, never stored); llmux "
                    f"sent {' '.join(llmux_set[3:])}")


# --- (c) one rpm/tpm minute, counted by both ---------------------------------------------------------------

def limited_group(**extra: Any) -> list[dict[str, Any]]:
    # Counted only for deployments with a limit somewhere (LiteLLM's success callback, and llmux as it).
    return [deployment("dep-a", "Hello from dep-a", rpm=1000, tpm=1000000, **extra),
            deployment("dep-b", "Hello from dep-b", rpm=1000, tpm=1000000, **extra)]


def add_served(total: dict[str, int], tokens: dict[str, int], reply: dict[str, Any], per_call: int | None) -> None:
    assert reply["errors"] == 0, reply
    for result in reply["results"]:
        total[result["deployment"]] = total.get(result["deployment"], 0) + 1
        tokens[result["deployment"]] = tokens.get(result["deployment"], 0) + (
            per_call if per_call is not None else result["total_tokens"])


def test_c_litellm_and_llmux_count_rpm_and_tpm_into_the_same_minute_keys(
        peers: list[Peer], llmux_peers: list[Peer], redis: RedisServer, client: RedisClient) -> None:
    litellm, fresh = peers
    llmux = llmux_peers[0]
    wait_for_fresh_minute_if_needed(8)
    minute = utc_minute()
    create(litellm, redis, limited_group())
    create_llmux(llmux, redis, limited_group())
    served: dict[str, int] = {}
    tokens: dict[str, int] = {}
    add_served(served, tokens, litellm.request("complete", model=GROUP, n=3), LITELLM_TOKENS_PER_CALL)
    add_served(served, tokens, llmux.request("complete", model=GROUP, n=4), None)
    assert sum(served.values()) == 7

    def key(model_id: str, kind: str) -> str:
        return f"global_router:{model_id}:{MODEL}:{kind}:{minute}"

    def counters() -> dict[str, str | None]:
        return {key(i, kind): client.command("GET", key(i, kind)) for i in ("dep-a", "dep-b") for kind in ("rpm", "tpm")}

    expected = {key(i, kind): (str(served[i] if kind == "rpm" else tokens[i]) if i in served else None)
                for i in ("dep-a", "dep-b") for kind in ("rpm", "tpm")}
    wait_for(lambda: counters() == expected, SLACK_S)
    assert utc_minute() == minute, "the UTC minute turned over mid-test"
    assert counters() == expected  # integer strings: 3 LiteLLM + 4 llmux calls, their tokens
    for model_id in served:
        assert 0 < client.command("TTL", key(model_id, "rpm")) <= 60
        assert 0 < client.command("TTL", key(model_id, "tpm")) <= 60

    # A LiteLLM router that has not counted anything itself reads the fleet's sum (reference §2.3).
    create(fresh, redis, limited_group())
    usage = fresh.request("usage", model=GROUP)
    assert (usage["tpm"], usage["rpm"]) == (sum(tokens.values()), 7)
    report(litellm, f"3 LiteLLM + 4 llmux calls in global_router:<id>:{MODEL}:rpm/tpm:{minute} "
                    f"(served {dict(sorted(served.items()))}, tokens {dict(sorted(tokens.items()))}); a fresh "
                    f"LiteLLM router reads tpm {usage['tpm']}, rpm {usage['rpm']}")


def test_c_usage_based_routing_v2_counts_both_sides_in_one_usage_key(
        peers: list[Peer], llmux_peers: list[Peer], redis: RedisServer, client: RedisClient) -> None:
    """usage-based-routing-v2 on both sides: the {id}:{model}:rpm:{minute} key every v2 router decides on holds
    both sides' requests, and llmux reads LiteLLM's into its own view (the rate filter's count)."""
    litellm = peers[0]
    llmux = llmux_peers[0]
    wait_for_fresh_minute_if_needed(8)
    minute = utc_minute()
    strategy = "usage-based-routing-v2"
    create(litellm, redis, limited_group(), routing_strategy=strategy)
    create_llmux(llmux, redis, limited_group(), routing_strategy=strategy)
    served: dict[str, int] = {}
    tokens: dict[str, int] = {}
    add_served(served, tokens, litellm.request("complete", model=GROUP, n=3), LITELLM_TOKENS_PER_CALL)
    add_served(served, tokens, llmux.request("complete", model=GROUP, n=4), None)

    def usage_keys() -> dict[str, str | None]:
        return {i: client.command("GET", f"{i}:{MODEL}:rpm:{minute}") for i in ("dep-a", "dep-b")}

    expected = {i: (str(served[i]) if i in served else None) for i in ("dep-a", "dep-b")}
    # LiteLLM's v2 counts reach Redis from a queue flushed every 0.1 s.
    wait_for(lambda: usage_keys() == expected, SLACK_S)
    assert utc_minute() == minute, "the UTC minute turned over mid-test"
    assert usage_keys() == expected
    # llmux's view of the fleet (what its rpm filter compares with limits) includes LiteLLM's requests.
    assert wait_for(lambda: llmux.request("usage", model=GROUP)["rpm"] == 7, LLMUX_SYNC_INTERVAL_S + SLACK_S), \
        llmux.request("health", model=GROUP)
    report(litellm, f"usage-based-routing-v2: 3 LiteLLM + 4 llmux requests in <id>:{MODEL}:rpm:{minute} "
                    f"({expected}); llmux's view counts 7")


# --- (d) the cooldown encodings: who accepts what ---------------------------------------------------------

# A message with everything Python's repr escapes: both quotes, \n \t \\, a control character, a non-printable
# BMP and astral character; and printable non-ASCII, which repr keeps.
TRICKY_MESSAGE = "litellm.RateLimitError: it's \"quoted\"\n\ttab \\ \x01 \u200b \U000e0001 é ☃ 😀"

# variant -> (what llmux does, per reference §5; what 1.8x does; what router-core does), True = "cooling",
# None = no consistent verdict. LiteLLM's verdicts are its routing (a fresh router with only that value in
# Redis), as measured; the rows where they differ from llmux's are the documented differences (reference §2.3,
# §3, §5).
ENCODINGS: dict[str, tuple[bool, bool | None, bool]] = {
    "json as 1.110 writes it": (True, True, True),
    "json, compact": (True, True, True),
    "json, raw UTF-8": (True, True, True),
    "repr as 1.8x writes it (escapes)": (True, True, True),
    "repr, double-quoted": (True, True, True),
    "repr with True/None/nested extras": (True, True, True),
    "float cooldown_time": (True, True, True),
    # 1.110 ignores a cooldown whose status is not a string (reference §3); llmux accepts either (§5).
    "int status_code (json)": (True, True, False),
    "int status_code (repr)": (True, True, False),
    # The key outlived timestamp + cooldown_time: 1.8x counts presence only; 1.110 and llmux the timestamp.
    "expired timestamp": (False, True, False),
    # Members missing: 1.8x counts presence only; 1.110 needs them; llmux needs all four (§5).
    "no exception_received": (False, True, False),
    "no timestamp": (False, True, False),
    # A timestamp far in the future: LiteLLM obeys it while the key lives; llmux obeys it, bounded by
    # cooldown_time from now (a writer's clock cannot stretch a cooldown).
    "timestamp far in the future": (True, True, True),
    # llmux reads a status as a number (string or int); LiteLLM never writes anything else.
    "status_code not a number": (False, True, True),
    # 1.8x cannot read it and then routes at random between both deployments, order ignored (measured).
    "not a dict": (False, None, False),
}


def encoding_variants(now: float) -> dict[str, str]:
    base = {"exception_received": TRICKY_MESSAGE, "status_code": "429", "timestamp": now, "cooldown_time": 60}

    def with_(**changes: Any) -> dict[str, Any]:
        return {**base, **changes}

    def without(name: str) -> dict[str, Any]:
        return {key: value for key, value in base.items() if key != name}

    variants = {
        "json as 1.110 writes it": json.dumps(base),
        "json, compact": json.dumps(base, separators=(",", ":")),
        "json, raw UTF-8": json.dumps(base, ensure_ascii=False),
        "repr as 1.8x writes it (escapes)": repr(base),
        "repr, double-quoted": repr(with_(exception_received="it's a 429")),
        "repr with True/None/nested extras": repr(with_(retry=True, headers=None, extra={"a": [1, 2.5, (3,)]})),
        "float cooldown_time": json.dumps(with_(cooldown_time=60.5)),
        "int status_code (json)": json.dumps(with_(status_code=429)),
        "int status_code (repr)": repr(with_(status_code=429)),
        "expired timestamp": json.dumps(with_(timestamp=now - 100, cooldown_time=5)),
        "no exception_received": json.dumps(without("exception_received")),
        "no timestamp": json.dumps(without("timestamp")),
        "timestamp far in the future": json.dumps(with_(timestamp=1e16)),
        "status_code not a number": json.dumps(with_(status_code="rate limited")),
        "not a dict": "cooling",
    }
    assert list(variants) == list(ENCODINGS)
    assert "\\'" in variants["repr as 1.8x writes it (escapes)"]  # the repr has the escapes it is meant to
    return variants


def test_d_cooldown_encodings_accepted_and_refused_as_documented(
        peers: list[Peer], llmux_peers: list[Peer], redis: RedisServer, client: RedisClient) -> None:
    litellm = peers[0]
    llmux = llmux_peers[0]
    api = api_of(litellm)
    variants = encoding_variants(time.time())
    ids = {name: f"v{index}" for index, name in enumerate(variants)}

    # llmux reads each key on its own: every variant at once, on one router, next to a valid control value;
    # once the control is seen, every key was read in the same MGET.
    for name, text in variants.items():
        client.command("SET", f"deployment:{ids[name]}:cooldown", text, "EX", 60)
    client.command("SET", "deployment:control:cooldown", variants["json as 1.110 writes it"], "EX", 60)
    model_list = [deployment(ids[name], "Hello", group=f"g-{ids[name]}", order=1) for name in variants]
    model_list += [deployment(f"spare-{ids[name]}", "Hello", group=f"g-{ids[name]}", order=2) for name in variants]
    model_list.append(deployment("control", "Hello", group="g-control"))
    create_llmux(llmux, redis, model_list, sync=0.05)
    assert llmux.request("wait_state", model_id="control", cooled=True, timeout=SLACK_S)["seen"]
    llmux_cooled = set(llmux.request("cooled_ids")["cooled"])
    llmux_verdicts = {name: ids[name] in llmux_cooled for name in variants}
    # ... and it routes accordingly.
    for name in ("json as 1.110 writes it", "expired timestamp"):
        expected_id = f"spare-{ids[name]}" if llmux_verdicts[name] else ids[name]
        assert llmux.request("complete", model=f"g-{ids[name]}", n=2)["served"] == {expected_id: 2}

    # LiteLLM decides on a batch of keys, and some values spoil the batch (test_d_one_bad_value...): each
    # variant alone in Redis, a fresh router of that one group, and where its calls go is the verdict.
    column = 1 if api == "classic" else 2
    litellm_verdicts: dict[str, bool | None] = {}
    for name, text in variants.items():
        client.command("FLUSHALL")
        client.command("SET", "deployment:dep-a:cooldown", text, "EX", 60)
        create(litellm, redis, [deployment("dep-a", "Hello", order=1), deployment("dep-b", "Hello", order=2)])
        served = litellm.request("complete", model=GROUP, n=2)["served"]
        if ENCODINGS[name][column] is None:  # no consistent verdict: where its calls went is not asserted
            litellm_verdicts[name] = None
            continue
        assert served in ({"dep-a": 2}, {"dep-b": 2}), (name, served)
        litellm_verdicts[name] = served == {"dep-b": 2}

    def verdict(value: bool | None) -> str:
        return "erratic" if value is None else "cooling" if value else "ignored"

    table = []
    for name, expected in ENCODINGS.items():
        table.append(f"{name:36s} llmux {verdict(llmux_verdicts[name]):8s} "
                     f"{litellm.spec.label} {verdict(litellm_verdicts[name])}")
    print("\n[differential] cooldown encodings:\n  " + "\n  ".join(table), end="")
    assert llmux_verdicts == {name: expected[0] for name, expected in ENCODINGS.items()}
    assert litellm_verdicts == {name: expected[column] for name, expected in ENCODINGS.items()}, \
        f"{litellm.spec.label} decides differently from what the reference documents"
    differences = sorted(name for name in variants if llmux_verdicts[name] != litellm_verdicts[name])
    report(litellm, f"encodings where it and llmux differ (documented): {differences}")


def test_d_one_bad_value_does_not_hide_the_other_cooldowns(
        peers: list[Peer], llmux_peers: list[Peer], redis: RedisServer, client: RedisClient) -> None:
    """A valid cooldown next to one with an int status_code. KNOWN DIFFERENCE (measured, not in the reference):
    router-core (1.110) then ignores every cooldown it read in that batch, the valid one too; 1.8x and llmux
    judge each value on its own."""
    litellm, llmux = peers[0], llmux_peers[0]
    now = time.time()
    valid = {"exception_received": "429", "status_code": "429", "timestamp": now, "cooldown_time": 60}
    client.command("SET", "deployment:dep-a:cooldown", json.dumps(valid), "EX", 60)
    client.command("SET", "deployment:dep-x:cooldown", json.dumps({**valid, "status_code": 429}), "EX", 60)
    model_list = [deployment("dep-a", "Hello", order=1), deployment("dep-b", "Hello", order=2),
                  deployment("dep-x", "Hello", group="gx", order=1), deployment("dep-y", "Hello", group="gx", order=2)]
    create(litellm, redis, model_list)
    litellm_served = litellm.request("complete", model=GROUP, n=2)["served"]
    create_llmux(llmux, redis, model_list, sync=0.05)
    assert llmux.request("wait_state", model_id="dep-a", cooled=True, timeout=SLACK_S)["seen"]
    assert llmux.request("cooled_ids")["cooled"] == ["dep-a", "dep-x"]
    assert llmux.request("complete", model=GROUP, n=2)["served"] == {"dep-b": 2}
    if api_of(litellm) == "router-core":
        assert litellm_served == {"dep-a": 2}, "router-core now obeys a valid cooldown next to an int status"
    else:
        assert litellm_served == {"dep-b": 2}
    report(litellm, f"a valid cooldown next to an int-status one: LiteLLM served {litellm_served}, llmux obeyed "
                    "both")
