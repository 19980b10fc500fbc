"""The Python rows of the bindings benchmark (run by benchmarks/bindings/run_bindings.sh).

Clients, all against the same nginx with the same request and the same one-deployment config:

* ``llmux``    ``llmux.Router(model_list=...)``: ``completion()`` one call at a time, or
               ``acompletion()`` with ``--concurrency`` calls in flight (``--mode=async``);
               with ``--litellm-types``, litellm is imported first, so llmux returns LiteLLM's
               response objects (``litellm.ModelResponse``: the path of a program that uses LiteLLM);
* ``litellm``  ``litellm.Router(model_list=...)``, the same two calls (offline: the local
               model-cost map, telemetry off);
* ``raw-http`` the floor: an ``http.client`` keep-alive connection POSTing the bytes llmux sends
               (``--body``), reading the response and nothing else.

Prints one JSON line with what every driver reports: nearest-rank p50/p99 of the per-call wall
time (sequential mode), the mean, CPU time per call (``time.process_time()`` over the measured
loop: every thread of the process, the native I/O thread included) and requests per second.

    python_driver.py --client=llmux|litellm --config=FILE --request=FILE [--mode=sequential|async]
                     [--litellm-types]
                     [--calls=5000] [--warmup=500] [--concurrency=64]
    python_driver.py --client=raw-http --url=http://127.0.0.1:P/v1 --api-key=KEY --body=FILE [...]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import sys
import time
import urllib.parse
from typing import Any, Awaitable, Callable


def fail(message: str) -> None:
    print(f"python driver: {message}", file=sys.stderr)
    sys.exit(1)


def percentile_us(sorted_ns: list[int], p: float) -> float:
    """Nearest rank, as every driver computes it."""
    rank = min(max(math.ceil(p * len(sorted_ns)), 1), len(sorted_ns))
    return sorted_ns[rank - 1] / 1e3


def import_litellm() -> Any:
    # No network but the nginx under test: the bundled model-cost map instead of downloading
    # it, and no telemetry. Set before the import, which reads them.
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


def make_router(client: str, model_list: list[dict[str, Any]], litellm_types: bool = False) -> Any:
    if client == "llmux":
        if litellm_types:
            import_litellm()  # in sys.modules: llmux hands out LiteLLM's types
        import llmux

        router = llmux.Router(model_list=model_list)
        probe = router.completion(model=model_list[0]["model_name"], messages=[{"role": "user", "content": "x"}])
        if litellm_types != (type(probe).__module__.split(".")[0] == "litellm"):
            fail(f"--litellm-types={litellm_types} but llmux returned {type(probe).__module__}.{type(probe).__name__}")
        return router
    return import_litellm().Router(model_list=model_list)


def answered(response: Any) -> bool:
    return bool(response.choices[0].message.content)


class RawHttp:
    """One keep-alive connection doing what any client must: send the request, read the answer."""

    def __init__(self, url: str, api_key: str, body: bytes) -> None:
        parsed = urllib.parse.urlsplit(url)
        self._connection = http.client.HTTPConnection(parsed.hostname, parsed.port)
        self._path = parsed.path.rstrip("/") + "/chat/completions"
        self._body = body
        self._headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}

    def call(self) -> bool:
        self._connection.request("POST", self._path, body=self._body, headers=self._headers)
        response = self._connection.getresponse()
        return response.status == 200 and len(response.read()) > 0


def sequential(call: Callable[[], bool], calls: int, warmup: int) -> dict[str, Any]:
    for _ in range(warmup):
        if not call():
            fail("a warm-up call failed")
    samples = [0] * calls
    errors = 0
    clock = time.perf_counter_ns
    cpu0 = time.process_time()
    start = clock()
    for i in range(calls):
        t0 = clock()
        try:
            ok = call()
        except Exception as exc:  # counted, and the first few told: the run goes on
            ok = False
            if errors < 3:
                print(f"python driver: {exc!r}", file=sys.stderr)
        errors += 0 if ok else 1
        samples[i] = clock() - t0
    wall = (clock() - start) / 1e9
    cpu = time.process_time() - cpu0
    samples.sort()
    latency = None
    if samples:
        latency = {"p50": percentile_us(samples, 0.50), "p99": percentile_us(samples, 0.99),
                   "mean": sum(samples) / len(samples) / 1e3, "min": samples[0] / 1e3, "max": samples[-1] / 1e3}
    return {"errors": errors, "wall_s": wall, "cpu_s": cpu, "latency_us": latency}


async def closed_loop(call: Callable[[], Awaitable[bool]], total: int, concurrency: int) -> int:
    """Keeps `concurrency` calls in flight until `total` have completed; returns the failures."""
    remaining = total
    errors = 0

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            try:
                ok = await call()
            except Exception as exc:
                ok = False
                if errors < 3:
                    print(f"python driver: {exc!r}", file=sys.stderr)
            errors += 0 if ok else 1

    await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
    return errors


async def concurrent(call: Callable[[], Awaitable[bool]], calls: int, warmup: int, concurrency: int
                     ) -> dict[str, Any]:
    if await closed_loop(call, warmup, concurrency):
        fail("a warm-up call failed")
    cpu0 = time.process_time()
    start = time.perf_counter_ns()
    errors = await closed_loop(call, calls, concurrency)
    wall = (time.perf_counter_ns() - start) / 1e9
    return {"errors": errors, "wall_s": wall, "cpu_s": time.process_time() - cpu0, "latency_us": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", choices=["llmux", "litellm", "raw-http"], required=True)
    parser.add_argument("--mode", choices=["sequential", "async"], default="sequential")
    parser.add_argument("--config", help="router config (JSON with model_list)")
    parser.add_argument("--request", help="chat-completions request body")
    parser.add_argument("--url", help="raw-http: the API base (…/v1)")
    parser.add_argument("--api-key", help="raw-http: the bearer token")
    parser.add_argument("--body", help="raw-http: the body to POST")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--litellm-types", action="store_true",
                        help="llmux: import litellm first (llmux returns LiteLLM's response types)")
    args = parser.parse_args()

    concurrency = max(1, args.concurrency) if args.mode == "async" else 1
    if args.client == "raw-http":
        if args.mode != "sequential":
            fail("raw-http is sequential only")
        with open(args.body, "rb") as f:
            raw = RawHttp(args.url, args.api_key, f.read().strip())
        api = "http.client keep-alive"
        figures = sequential(raw.call, args.calls, args.warmup)
    else:
        with open(args.config, encoding="utf-8") as f:
            model_list = json.load(f)["model_list"]
        with open(args.request, encoding="utf-8") as f:
            kwargs = json.load(f)
        model, messages = kwargs.pop("model"), kwargs.pop("messages")
        router = make_router(args.client, model_list, args.litellm_types)
        types = " (litellm types)" if args.litellm_types else ""
        if args.mode == "sequential":
            api = f"{args.client}.Router.completion{types}"
            figures = sequential(lambda: answered(router.completion(model=model, messages=messages, **kwargs)),
                                 args.calls, args.warmup)
        else:
            api = f"{args.client}.Router.acompletion{types}"

            async def call() -> bool:
                return answered(await router.acompletion(model=model, messages=messages, **kwargs))

            # Not asyncio.run(): its teardown cancels the tasks still pending, and litellm's
            # background tasks can hang there. The process ends right after the report instead.
            loop = asyncio.new_event_loop()
            figures = loop.run_until_complete(concurrent(call, args.calls, args.warmup, concurrency))

    calls = args.calls
    result = {
        "driver": f"python-{args.client}", "api": api, "mode": args.mode, "concurrency": concurrency,
        "calls": calls, "warmup": args.warmup, "errors": figures["errors"], "wall_s": figures["wall_s"],
        "rps": calls / figures["wall_s"] if figures["wall_s"] > 0 else 0.0,
        "cpu_us_per_call": figures["cpu_s"] * 1e6 / calls if calls else 0.0,
        "latency_us": figures["latency_us"],
        "python": sys.version.split()[0],
    }
    if args.client == "litellm" or args.litellm_types:
        from importlib.metadata import version

        result["litellm_version"] = version("litellm")
        result["offline"] = "LITELLM_LOCAL_MODEL_COST_MAP=True, litellm.telemetry=False"
    print(json.dumps(result), flush=True)
    # Skip the interpreter's teardown (routers' threads, litellm's clients and pending tasks):
    # the figures are out, and nothing else is left to do.
    os._exit(1 if figures["errors"] else 0)


if __name__ == "__main__":
    main()
