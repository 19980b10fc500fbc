#!/usr/bin/env python3
"""Records what a LiteLLM release really writes to Redis, as test vectors for llmux's codecs.

    python3 tests/interop/capture_vectors.py [--peers <build>/interop/peers.json] [--out tests/data/litellm_redis]

For each prepared LiteLLM venv (tests/interop/prepare.sh), runs the scenarios below against a private
redis-server with MONITOR on, one fresh router per scenario after FLUSHALL, and writes
``<out>/litellm-<version>.json``: per scenario the peer requests that drove it (litellm_peer.py's protocol),
every write command Redis executed (argv, as MONITOR printed it, Lua's own commands marked), the keys read,
and every key left at the end with its value and remaining TTL. Values, timestamps and minute keys are
those of the run: a rerun produces the same shapes with other times.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from interop_support import Monitor, Peer, PeerSpec, RedisServer, load_peers  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WRITES = {"SET", "SETEX", "PSETEX", "SETNX", "GETSET", "MSET", "INCR", "INCRBY", "INCRBYFLOAT", "DECR", "DECRBY",
          "EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "DEL", "UNLINK", "HSET", "HINCRBY",
          "HINCRBYFLOAT", "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "PUBLISH", "ZADD", "LPUSH", "RPUSH"}
READS = {"GET", "MGET", "TTL", "PTTL", "EXISTS", "HGET", "HGETALL", "SCAN", "KEYS"}
IGNORED = {"PING", "CLIENT", "INFO", "HELLO", "SCRIPT", "AUTH", "SELECT", "COMMAND", "FLUSHALL", "MONITOR"}

MODEL = "openai/gpt-4o"
# Under LiteLLM's 50 visible characters: every escape Python's repr uses (\' \\ \n \t \xNN \uNNNN \UNNNNNNNN)
# and printable non-ASCII text it keeps as is.
ESCAPES_MESSAGE = "q' d\" b\\ n\n t\t é中😀 c\x01\x7f z\u200b g\U000e0001 end"
LONG_MESSAGE = "Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4o in organization org-x'}}"


def deployment(model_id: str, mock: str, **params: Any) -> dict[str, Any]:
    """One deployment of group ``g``; extra keys go into litellm_params (weight, rpm, tpm, max_budget...)."""
    return {"model_name": "g", "litellm_params": {"model": MODEL, "mock_response": mock, **params},
            "model_info": {"id": model_id}}


# dep-a is tried first (weight 1000 : 1) so that its failures are deterministic enough; dep-b succeeds.
FAILING_429 = deployment("dep-a", "litellm.RateLimitError", weight=1000)
FAILING_500 = deployment("dep-a", "litellm.InternalServerError", weight=1000)
HEALTHY = deployment("dep-b", "Hello from dep-b", weight=1)

SCENARIOS: list[dict[str, Any]] = [
    {"name": "cooldown_after_429",
     "what": "a 429 from the first deployment of a group of two cools it down (cooldown_time 30, an int)",
     "create": {"model_list": [FAILING_429, HEALTHY], "cooldown_time": 30},
     "steps": [{"cmd": "complete", "model": "g", "n": 3}, {"cmd": "cooled_ids"}]},
    {"name": "cooldown_float_time_after_429",
     "what": "the same with cooldown_time 7.5 (a float): the value keeps 7.5, the TTL is truncated",
     "create": {"model_list": [FAILING_429, HEALTHY], "cooldown_time": 7.5},
     "steps": [{"cmd": "complete", "model": "g", "n": 2}]},
    {"name": "cooldown_injected_escapes",
     "what": "add_deployment_to_cooldown (the version's sync API) with a message holding quotes, a backslash, "
             "control characters and non-ASCII text, status 503, cooldown_time 12",
     "create": {"model_list": [FAILING_429, HEALTHY], "cooldown_time": 30},
     "steps": [{"cmd": "inject_cooldown", "model_id": "dep-b", "status_code": 503, "message": ESCAPES_MESSAGE,
                "cooldown_time": 12}, {"cmd": "cooled_ids"}]},
    {"name": "cooldown_subsecond",
     "what": "cooldown_time 0.5: the SET carries EX 0 (int() of the time), which Redis refuses",
     "create": {"model_list": [FAILING_429, HEALTHY], "cooldown_time": 0.5},
     "steps": [{"cmd": "complete", "model": "g", "n": 1}]},
    {"name": "cooldown_injected_long_message",
     "what": "add_deployment_to_cooldown with a message over 50 characters: LiteLLM masks the rest with '*'",
     "create": {"model_list": [FAILING_429, HEALTHY], "cooldown_time": 30},
     "steps": [{"cmd": "inject_cooldown", "model_id": "dep-a", "status_code": 429, "message": LONG_MESSAGE}]},
    {"name": "allowed_fails_500",
     "what": "500s from the first deployment with allowed_fails 2: the failure counter, then the cooldown",
     "create": {"model_list": [FAILING_500, HEALTHY], "allowed_fails": 2, "cooldown_time": 20},
     "steps": [{"cmd": "complete", "model": "g", "n": 5}, {"cmd": "cooled_ids"}]},
    {"name": "allowed_fails_policy_429",
     "what": "allowed_fails_policy RateLimitErrorAllowedFails 2: the per-error-type counter, then the cooldown",
     "create": {"model_list": [FAILING_429, HEALTHY], "cooldown_time": 20,
                "router_kwargs": {"allowed_fails_policy": {"RateLimitErrorAllowedFails": 2}}},
     "steps": [{"cmd": "complete", "model": "g", "n": 5}, {"cmd": "cooled_ids"}]},
    {"name": "usage_minute_keys",
     "what": "successes on deployments with rpm/tpm limits: global_router rpm/tpm minute keys (30 tokens a call)",
     "create": {"model_list": [deployment("dep-a", "Hello from dep-a", rpm=100, tpm=100000),
                               deployment("dep-b", "Hello from dep-b", rpm=100, tpm=100000)]},
     "steps": [{"cmd": "complete", "model": "g", "n": 4}, {"cmd": "usage", "model": "g"}]},
    {"name": "usage_minute_keys_failure",
     "what": "a failed call counts rpm on the global_router key even without limits",
     "create": {"model_list": [FAILING_500, HEALTHY], "cooldown_time": 20},
     "steps": [{"cmd": "complete", "model": "g", "n": 1}]},
    {"name": "usage_based_routing_v2",
     "what": "usage-based-routing-v2: its own {id}:{model}:rpm/tpm:{minute} keys next to global_router's",
     "create": {"model_list": [deployment("dep-a", "Hello from dep-a", rpm=100, tpm=100000),
                               deployment("dep-b", "Hello from dep-b", rpm=100, tpm=100000)],
                "routing_strategy": "usage-based-routing-v2"},
     "steps": [{"cmd": "complete", "model": "g", "n": 4}, {"cmd": "sleep", "seconds": 0.5}]},
    {"name": "provider_budget",
     "what": "provider_budget_config openai 10 per 1d: provider spend and window start keys",
     "create": {"model_list": [deployment("dep-a", "Hello from dep-a"), deployment("dep-b", "Hello from dep-b")],
                "provider_budget_config": {"openai": {"budget_limit": 10, "time_period": "1d"}}},
     "steps": [{"cmd": "complete", "model": "g", "n": 2}, {"cmd": "sleep", "seconds": 1.5},
               {"cmd": "complete", "model": "g", "n": 1}, {"cmd": "sleep", "seconds": 1.5}, {"cmd": "spend"}]},
    {"name": "deployment_budget",
     "what": "a deployment budget (litellm_params max_budget 5, budget_duration 1h): deployment spend keys",
     "create": {"model_list": [deployment("dep-a", "Hello from dep-a", max_budget=5, budget_duration="1h")]},
     "steps": [{"cmd": "complete", "model": "g", "n": 2}, {"cmd": "sleep", "seconds": 1.5}, {"cmd": "spend"}]},
    {"name": "namespace",
     "what": "cache_kwargs namespace 'ns1': the prefix on cooldown and usage keys",
     "create": {"model_list": [deployment("dep-a", "litellm.RateLimitError", weight=1000, rpm=100),
                               deployment("dep-b", "Hello from dep-b", weight=1, rpm=100)],
                "cooldown_time": 30, "router_kwargs": {"cache_kwargs": {"namespace": "ns1"}}},
     "steps": [{"cmd": "complete", "model": "g", "n": 3}, {"cmd": "sleep", "seconds": 0.5}]},
]


def keys_of(argv: list[str]) -> list[str]:
    """The keys a write command names (EVAL/EVALSHA: its KEYS)."""
    name = argv[0].upper()
    if name in ("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL") and len(argv) > 2:
        return argv[3:3 + int(argv[2])]
    if name == "MSET":
        return argv[1::2]
    if name in ("DEL", "UNLINK"):
        return argv[1:]
    if name == "PUBLISH":
        return []
    return argv[1:2]


def decode(value: str | None) -> dict[str, Any]:
    """How a stored value reads: JSON, else a Python literal (LiteLLM's repr values); with the result."""
    if value is None:
        return {}
    try:
        return {"decoded_as": "json", "decoded": json.loads(value)}
    except ValueError:
        pass
    try:
        return {"decoded_as": "python-literal", "decoded": ast.literal_eval(value)}
    except (ValueError, SyntaxError):
        return {"decoded_as": None}


def read_keys(argv: list[str]) -> list[str]:
    return argv[1:] if argv[0].upper() in ("MGET", "EXISTS") else argv[1:2]


def run_scenario(peer: Peer, redis: RedisServer, scenario: dict[str, Any]) -> dict[str, Any]:
    with redis.client() as client:
        client.command("FLUSHALL")
    create = {"redis": {"host": redis.host, "port": redis.port}, **scenario["create"]}
    monitor = Monitor(redis)
    started = time.time()
    replies = [peer.request("create", **create)]
    for step in scenario["steps"]:
        replies.append(peer.request(**step))
    peer.request("discard")
    time.sleep(0.3)  # the last writes LiteLLM queued (tasks) reach Redis
    commands = monitor.commands()
    monitor.stop()

    writes: list[dict[str, Any]] = []
    reads: dict[str, set[str]] = {}
    for at, client_name, argv in commands:
        if not argv or at < started - 1:
            continue
        name = argv[0].upper()
        if name in IGNORED:
            continue
        if name in WRITES:
            entry: dict[str, Any] = {"argv": argv, "t": round(at - started, 4)}
            if client_name.split()[-1] == "lua":
                entry["from_lua"] = True
            writes.append(entry)
        elif name in READS:
            reads.setdefault(name, set()).update(read_keys(argv))
        else:
            writes.append({"argv": argv, "t": round(at - started, 4), "unclassified": True})

    final: list[dict[str, Any]] = []
    with redis.client() as client:
        for key in sorted(client.command("KEYS", "*")):
            kind = client.command("TYPE", key)
            value = client.command("GET", key) if kind == "string" else f"<{kind}>"
            entry = {"key": key, "type": kind, "value": value, "pttl_ms": client.command("PTTL", key),
                     "written_by": [w["argv"] for w in writes if key in keys_of(w["argv"])]}
            entry.update(decode(value))
            final.append(entry)
    return {
        "name": scenario["name"],
        "what": scenario["what"],
        "peer_requests": [{"cmd": "create", **scenario["create"], "redis": {"host": "127.0.0.1", "port": "<port>"}},
                          *scenario["steps"]],
        "peer_replies": [{k: v for k, v in reply.items() if k not in ("id", "elapsed_s")} for reply in replies],
        "writes": writes,
        "reads": {name: sorted(keys) for name, keys in sorted(reads.items())},
        "keys": final,
    }


def capture(spec: PeerSpec, out_dir: Path, log_dir: Path) -> Path:
    with RedisServer() as redis:
        peer = Peer(spec, stderr_path=str(log_dir / f"capture-litellm-{spec.litellm}.log"))
        try:
            redis_py = None
            scenarios = []
            for scenario in SCENARIOS:
                print(f"[capture] litellm {spec.litellm}: {scenario['name']}", file=sys.stderr)
                scenarios.append(run_scenario(peer, redis, scenario))
            document = {
                "litellm_version": spec.litellm,
                "role": spec.role,
                "peer_api": peer.ready.get("api"),
                "redis_server": redis.version(),
                "redis_py": redis_py or _redis_py_version(spec.python),
                "captured_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "generated_by": "tests/interop/capture_vectors.py (see tests/data/litellm_redis/README.md)",
                "notes": [
                    "Each scenario ran on its own fresh router after FLUSHALL; 'peer_requests' are "
                    "tests/interop/litellm_peer.py requests (the redis port was the run's own).",
                    "'writes' are the commands Redis executed, as MONITOR printed them (argv; 't' = seconds "
                    "after the scenario started; 'from_lua' = run inside a script). 'reads' lists the keys "
                    "each read command named. 'keys' is every key left when the scenario ended, with the "
                    "commands that wrote it.",
                    "'keys[].decoded' is the value read as JSON ('decoded_as': 'json', e.g. numbers and "
                    "router-core's cooldowns) or else as a Python literal ('python-literal': 1.8x's repr "
                    "cooldowns) by the capturing script, for codec tests to compare with.",
                    "Deployments: group 'g', litellm_params.model 'openai/gpt-4o', ids dep-a and dep-b; "
                    "successful mock responses count 30 tokens (10 prompt + 20 completion).",
                ],
                "scenarios": scenarios,
            }
        finally:
            peer.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"litellm-{spec.litellm}.json"
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _redis_py_version(python: str) -> str:
    import subprocess
    return subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('redis'))"],
                          capture_output=True, text=True, check=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", help="peers.json written by tests/interop/prepare.sh "
                                        "(default: $LLMUX_INTEROP_PEERS)")
    parser.add_argument("--out", default=str(ROOT / "tests/data/litellm_redis"))
    parser.add_argument("--version", action="append", help="only these LiteLLM versions (repeatable)")
    args = parser.parse_args()
    specs = load_peers(args.peers)
    if args.version:
        specs = [spec for spec in specs if spec.litellm in args.version]
    log_dir = Path(args.peers or "").resolve().parent if args.peers else Path.cwd()
    for spec in specs:
        print(capture(spec, Path(args.out), log_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
