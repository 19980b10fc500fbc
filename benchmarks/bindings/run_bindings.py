"""Runs the drivers of the bindings benchmark and reports them (called by run_bindings.sh, which
builds the drivers, starts nginx and passes where everything is).

Every driver runs in its own process, pinned to one CPU (taskset), against the same nginx with
the same request and config, and prints one JSON line (driver, api, mode, calls, p50/p99/mean of
the per-call wall time, CPU time per call, req/s). This script runs them in a fixed order,
prints three tables and writes them all to one JSON file:

1. sequential, one call in flight: every binding against the C++ API (Router::completion) run
   in the same session: ratio of the mean time per call, added p50 and added CPU per call;
   Go and Rust also against their own language's raw HTTP client on the same nginx (net/http;
   a std::net::TcpStream HTTP/1.1 loop), every path added over C++ and over that floor;
2. async, CONCURRENCY calls in flight: the C++ closed loop (completion_async) against the
   Python binding's acompletion, on one core;
3. llmux's Python binding against litellm.Router (completion sequential, acompletion with
   CONCURRENCY in flight): req/s on one core, added latency per call over raw baselines from
   the same run (Python http.client keep-alive; the C++ libcurl client), ratio llmux/litellm;
   and llmux again with litellm imported (its responses are then LiteLLM's pydantic objects):
   what that costs per call over llmux's light objects.

Figures are printed, never judged: a busy machine shows up as noise in every row alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional

DRIVER_TIMEOUT_S = 240


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


@dataclass
class Row:
    """One driver run: what it is, how to run it, and what came of it."""
    id: str
    label: str
    group: str  # the skip key: "go", "rust", "python-llmux", "litellm", ...
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    status: str = "pending"  # ok | skipped | failed
    reason: str = ""
    result: Optional[dict[str, Any]] = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.result is not None

    def latency(self, key: str) -> Optional[float]:
        if not self.ok or not self.result.get("latency_us"):
            return None
        return self.result["latency_us"][key]

    def figure(self, key: str) -> Optional[float]:
        return self.result[key] if self.ok else None


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("work", "json", "base-url", "api-key", "cpp-driver", "c-driver", "python", "python-path",
                 "llmux-library", "litellm-pin"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--go-driver", default="")
    p.add_argument("--go-jsonv2-driver", default="")
    p.add_argument("--rust-driver", default="")
    p.add_argument("--client-cpu", default="1")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--skip", action="append", default=[], help="GROUP<TAB>reason")
    return p.parse_args()


def build_rows(a: argparse.Namespace) -> list[Row]:
    native = [f"--calls={env_int('NATIVE_CALLS', 20000)}", f"--warmup={env_int('NATIVE_WARMUP', 2000)}"]
    python = [f"--calls={env_int('PYTHON_CALLS', 5000)}", f"--warmup={env_int('PYTHON_WARMUP', 500)}"]
    litellm = [f"--calls={env_int('LITELLM_CALLS', 1000)}", f"--warmup={env_int('LITELLM_WARMUP', 100)}"]
    concurrency = f"--concurrency={env_int('CONCURRENCY', 64)}"
    config, request = f"--config={a.work}/config.json", f"--request={a.work}/request.json"
    raw = [f"--url={a.base_url}", f"--api-key={a.api_key}", f"--body={a.work}/spliced.json"]
    py_driver = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_driver.py")
    py_env = {"PYTHONPATH": a.python_path, "LLMUX_LIBRARY": a.llmux_library}
    go, rust = a.go_driver, a.rust_driver
    return [
        # 1. sequential, one call in flight
        Row("cpp-raw-curl", "C++ raw libcurl (floor)", "cpp", [a.cpp_driver, "--api=raw-curl", *raw, *native]),
        Row("cpp", "C++ Router::completion", "cpp", [a.cpp_driver, "--api=router", config, request, *native]),
        Row("c", "C ABI llmux_completion", "c", [a.c_driver, config, request, *native]),
        Row("go-raw", "Go CompletionRaw", "go", [go, "--api=raw", config, request, *native]),
        Row("go-typed", "Go Completion (typed)", "go", [go, "--api=typed", config, request, *native]),
        Row("go-typed-jsonv2", "Go Completion (typed), GOEXPERIMENT=jsonv2", "go-jsonv2",
            [a.go_jsonv2_driver, "--api=typed", config, request, *native]),
        Row("rust-raw", "Rust completion_raw", "rust", [rust, "--api=raw", config, request, *native]),
        Row("rust-typed", "Rust completion_typed (serde structs)", "rust",
            [rust, "--api=typed", config, request, *native]),
        Row("rust-value", "Rust completion (Value)", "rust", [rust, "--api=value", config, request, *native]),
        # each language's own raw HTTP client on the same nginx, the same bytes (the floor of table 4)
        Row("go-raw-http", "Go net/http (floor)", "go", [go, "--api=raw-http", *raw, *native]),
        Row("rust-raw-http", "Rust TcpStream HTTP/1.1 (floor)", "rust", [rust, "--api=raw-http", *raw, *native]),
        Row("python-llmux", "Python llmux completion", "python-llmux",
            [a.python, py_driver, "--client=llmux", config, request, *python], py_env),
        Row("cpp-repeat", "C++ Router::completion (again)", "cpp",
            [a.cpp_driver, "--api=router", config, request, *native]),
        # 2. async, many in flight
        Row("cpp-raw-curl-async", "C++ raw libcurl submit (floor)", "cpp",
            [a.cpp_driver, "--api=raw-curl", "--mode=async", concurrency, *raw, *native]),
        Row("cpp-async", "C++ Router::completion_async", "cpp",
            [a.cpp_driver, "--api=router", "--mode=async", concurrency, config, request, *native]),
        Row("python-llmux-async", "Python llmux acompletion", "python-llmux",
            [a.python, py_driver, "--client=llmux", "--mode=async", concurrency, config, request, *python], py_env),
        # 3. litellm and the Python floor
        Row("python-raw-http", "Python http.client (floor)", "python",
            [a.python, py_driver, "--client=raw-http", *raw, *python]),
        Row("litellm", "litellm.Router completion", "litellm",
            [a.python, py_driver, "--client=litellm", config, request, *litellm]),
        Row("litellm-async", "litellm.Router acompletion", "litellm",
            [a.python, py_driver, "--client=litellm", "--mode=async", concurrency, config, request, *litellm]),
        # llmux in a program that imported litellm: LiteLLM's response types (needs litellm installed)
        Row("python-llmux-litellm-types", "Python llmux completion, litellm types", "litellm",
            [a.python, py_driver, "--client=llmux", "--litellm-types", config, request, *python], py_env),
        Row("python-llmux-litellm-types-async", "Python llmux acompletion, litellm types", "litellm",
            [a.python, py_driver, "--client=llmux", "--litellm-types", "--mode=async", concurrency, config, request,
             *python], py_env),
    ]


def skip_reasons(a: argparse.Namespace) -> dict[str, str]:
    reasons = {}
    for entry in a.skip:
        group, _, reason = entry.partition("\t")
        reasons.setdefault(group, reason)
    return reasons


def skipped_by(row: Row, reasons: dict[str, str]) -> Optional[str]:
    # "python" (no interpreter) also covers python-llmux and litellm.
    for group in (row.group, row.group.split("-")[0]):
        if group in reasons:
            return reasons[group]
    return None


def run(row: Row, client_cpu: str) -> None:
    command = ["taskset", "-c", client_cpu, *row.command]
    print(f"[bindings] {row.label} ...", file=sys.stderr, flush=True)
    start = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=DRIVER_TIMEOUT_S,
                              env={**os.environ, **row.env})
    except subprocess.TimeoutExpired:
        row.status, row.reason = "failed", f"timed out after {DRIVER_TIMEOUT_S} s"
        return
    finally:
        row.seconds = time.monotonic() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = " | ".join((done.stderr.strip() or done.stdout.strip()).splitlines()[-3:])
        row.status, row.reason = "failed", f"exit {done.returncode}: {tail}"
        return
    row.status, row.result = "ok", json.loads(lines[-1])


def fmt(value: Optional[float], spec: str = ".1f", signed: bool = False) -> str:
    if value is None:
        return "-"
    return format(value, ("+" if signed else "") + spec)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def status_row(row: Row, width: int) -> list[str]:
    return [row.label, f"{row.status.upper()}: {row.reason}"] + [""] * (width - 2)


def sequential_table(rows: dict[str, Row]) -> list[dict[str, Any]]:
    base = rows["cpp"]
    headers = ["binding (sequential)", "p50 us", "p99 us", "mean us", "CPU/call us", "req/s", "x C++",
               "+p50 us", "+CPU us"]
    out, table = [], []
    for key in ("cpp-raw-curl", "cpp", "c", "go-raw", "go-typed", "go-typed-jsonv2", "rust-raw", "rust-typed",
                "rust-value",
                "python-llmux", "cpp-repeat"):
        row = rows[key]
        derived: dict[str, Any] = {}
        if row.ok and base.ok:
            derived = {"ratio_mean_time": row.latency("mean") / base.latency("mean"),
                       "added_p50_us": row.latency("p50") - base.latency("p50"),
                       "added_mean_us": row.latency("mean") - base.latency("mean"),
                       "added_cpu_us_per_call": row.figure("cpu_us_per_call") - base.figure("cpu_us_per_call")}
        out.append(row_json(row, derived))
        if not row.ok:
            table.append(status_row(row, len(headers)))
            continue
        table.append([row.label, fmt(row.latency("p50")), fmt(row.latency("p99")), fmt(row.latency("mean")),
                      fmt(row.figure("cpu_us_per_call")), fmt(row.figure("rps"), ".0f"),
                      fmt(derived.get("ratio_mean_time"), ".2f"), fmt(derived.get("added_p50_us"), ".1f", True),
                      fmt(derived.get("added_cpu_us_per_call"), ".1f", True)])
    print_table(headers, table)
    print("x C++ = mean time per call / C++ Router::completion's; +p50, +CPU = this row minus C++\n"
          "(the per-call cost of crossing the binding). The raw libcurl row is the floor under all; 'again'\n"
          "reruns the baseline after the others: its distance from the first run is this session's noise.")
    return out


def language_floor_table(rows: dict[str, Row]) -> list[dict[str, Any]]:
    """Go and Rust: each path added over the C++ API and over its language's own raw HTTP client."""
    base = rows["cpp"]
    headers = ["binding (sequential)", "p50 us", "CPU/call us", "+p50 vs C++", "+CPU vs C++", "floor",
               "+p50 vs floor", "+CPU vs floor"]
    out, table = [], []
    for key, floor_key in (("go-raw", "go-raw-http"), ("go-typed", "go-raw-http"),
                           ("go-typed-jsonv2", "go-raw-http"), ("rust-raw", "rust-raw-http"),
                           ("rust-typed", "rust-raw-http"), ("rust-value", "rust-raw-http")):
        row, floor = rows[key], rows[floor_key]
        if not row.ok:
            table.append(status_row(row, len(headers)))
            continue
        derived: dict[str, Any] = {"floor": floor_key}
        if base.ok:
            derived["added_p50_us_vs_cpp"] = row.latency("p50") - base.latency("p50")
            derived["added_cpu_us_vs_cpp"] = row.figure("cpu_us_per_call") - base.figure("cpu_us_per_call")
        if floor.ok:
            derived["added_p50_us_vs_floor"] = row.latency("p50") - floor.latency("p50")
            derived["added_cpu_us_vs_floor"] = row.figure("cpu_us_per_call") - floor.figure("cpu_us_per_call")
        out.append({"id": row.id, "derived": derived})
        floor_text = (f"{floor.label.replace(' (floor)', '')} {floor.latency('p50'):.1f}/{floor.figure('cpu_us_per_call'):.1f}"
                      if floor.ok else f"{floor.label}: {floor.status}")
        table.append([row.label, fmt(row.latency("p50")), fmt(row.figure("cpu_us_per_call")),
                      fmt(derived.get("added_p50_us_vs_cpp"), ".1f", True),
                      fmt(derived.get("added_cpu_us_vs_cpp"), ".1f", True), floor_text,
                      fmt(derived.get("added_p50_us_vs_floor"), ".1f", True),
                      fmt(derived.get("added_cpu_us_vs_floor"), ".1f", True)])
    print_table(headers, table)
    print("floor = the language's own keep-alive HTTP client POSTing the bytes llmux sends to the same nginx\n"
          "(p50/CPU us); +vs floor is what llmux costs a Go or Rust program over talking HTTP itself.")
    return out


def async_table(rows: dict[str, Row], concurrency: int) -> list[dict[str, Any]]:
    base = rows["cpp-async"]
    headers = [f"binding ({concurrency} in flight)", "req/s", "us/call", "CPU/call us", "x C++ req/s",
               "+CPU us"]
    out, table = [], []
    for key in ("cpp-raw-curl-async", "cpp-async", "python-llmux-async"):
        row = rows[key]
        derived: dict[str, Any] = {}
        if row.ok and base.ok:
            derived = {"ratio_rps": row.figure("rps") / base.figure("rps"),
                       "added_cpu_us_per_call": row.figure("cpu_us_per_call") - base.figure("cpu_us_per_call")}
        out.append(row_json(row, derived))
        if not row.ok:
            table.append(status_row(row, len(headers)))
            continue
        table.append([row.label, fmt(row.figure("rps"), ".0f"), fmt(1e6 / row.figure("rps")),
                      fmt(row.figure("cpu_us_per_call")), fmt(derived.get("ratio_rps"), ".3f"),
                      fmt(derived.get("added_cpu_us_per_call"), ".1f", True)])
    print_table(headers, table)
    print("us/call = 1e6 / req/s on one core (client and the library's I/O thread share it).")
    return out


def litellm_table(rows: dict[str, Row], concurrency: int, pin: str) -> dict[str, Any]:
    py_floor, c_floor = rows["python-raw-http"], rows["cpp-raw-curl"]
    c_floor_async = rows["cpp-raw-curl-async"]
    headers = ["Python client", "mode", "req/s", "p50 us", "mean us", "CPU/call us", "+p50 vs http.client",
               "+p50 vs libcurl", "+us/call vs libcurl"]
    out: dict[str, Any] = {"rows": [], "ratios": {}}
    table = []
    for key in ("python-raw-http", "python-llmux", "python-llmux-litellm-types", "litellm", "python-llmux-async",
                "python-llmux-litellm-types-async", "litellm-async"):
        row = rows[key]
        mode = f"async x{concurrency}" if key.endswith("async") else "sync"
        derived: dict[str, Any] = {}
        if row.ok and row.latency("p50") is not None:
            if py_floor.ok and key != "python-raw-http":
                derived["added_p50_us_vs_http_client"] = row.latency("p50") - py_floor.latency("p50")
            if c_floor.ok:
                derived["added_p50_us_vs_libcurl"] = row.latency("p50") - c_floor.latency("p50")
        if row.ok and key.endswith("async") and c_floor_async.ok:
            derived["added_us_per_call_vs_libcurl_async"] = 1e6 / row.figure("rps") - 1e6 / c_floor_async.figure("rps")
        out["rows"].append(row_json(row, derived))
        if not row.ok:
            table.append(status_row(row, len(headers)))
            continue
        table.append([row.label, mode, fmt(row.figure("rps"), ".0f"), fmt(row.latency("p50")),
                      fmt(row.latency("mean")), fmt(row.figure("cpu_us_per_call")),
                      fmt(derived.get("added_p50_us_vs_http_client"), ".1f", True),
                      fmt(derived.get("added_p50_us_vs_libcurl"), ".1f", True),
                      fmt(derived.get("added_us_per_call_vs_libcurl_async"), ".1f", True)])
    print_table(headers, table)

    version = rows["litellm"].result.get("litellm_version") if rows["litellm"].ok else None
    pairs = [("sync", rows["python-llmux"], rows["litellm"]), ("async", rows["python-llmux-async"], rows["litellm-async"])]
    for name, ours, theirs in pairs:
        if not (ours.ok and theirs.ok):
            continue
        ratios = {"rps_llmux_over_litellm": ours.figure("rps") / theirs.figure("rps"),
                  "cpu_per_call_litellm_over_llmux": theirs.figure("cpu_us_per_call") / ours.figure("cpu_us_per_call")}
        if ours.latency("p50") is not None and py_floor.ok:
            added_ours = ours.latency("p50") - py_floor.latency("p50")
            added_theirs = theirs.latency("p50") - py_floor.latency("p50")
            ratios["added_p50_litellm_over_llmux"] = added_theirs / added_ours if added_ours > 0 else None
        out["ratios"][name] = ratios
        extra = ""
        if ratios.get("added_p50_litellm_over_llmux"):
            extra = (f"; litellm adds {ratios['added_p50_litellm_over_llmux']:.1f}x the p50 latency llmux adds "
                     "over http.client")
        print(f"llmux/litellm {name}: {ratios['rps_llmux_over_litellm']:.1f}x the req/s on one core, "
              f"{ratios['cpu_per_call_litellm_over_llmux']:.1f}x less CPU per call{extra}")
    out["litellm_types_cost"] = litellm_types_cost(rows)
    out["litellm_version"] = version
    out["litellm_pin"] = pin
    out["offline"] = "LITELLM_LOCAL_MODEL_COST_MAP=True (bundled model-cost map, no download), litellm.telemetry=False"
    if version is None:
        print(f"litellm ({pin}) not run: {rows['litellm'].reason}")
    else:
        print(f"litellm {version} ({pin}), run offline: LITELLM_LOCAL_MODEL_COST_MAP=True (no cost-map "
              "download), telemetry off. Both Routers run on the same interpreter and asyncio event loop.")
    return out


def litellm_types_cost(rows: dict[str, Row]) -> dict[str, Any]:
    """What LiteLLM's response types cost per call over llmux's light objects (same driver, same run)."""
    out: dict[str, Any] = {}
    for name, light, typed in (("sync", rows["python-llmux"], rows["python-llmux-litellm-types"]),
                               ("async", rows["python-llmux-async"], rows["python-llmux-litellm-types-async"])):
        if not (light.ok and typed.ok):
            continue
        cost = {"added_cpu_us_per_call": typed.figure("cpu_us_per_call") - light.figure("cpu_us_per_call"),
                "added_us_per_call": 1e6 / typed.figure("rps") - 1e6 / light.figure("rps")}
        if light.latency("p50") is not None and typed.latency("p50") is not None:
            cost["added_p50_us"] = typed.latency("p50") - light.latency("p50")
        out[name] = cost
        p50 = f", {cost['added_p50_us']:+.1f} us p50" if "added_p50_us" in cost else ""
        print(f"litellm types ({name}): {cost['added_cpu_us_per_call']:+.1f} us CPU per call{p50} over llmux's "
              "light objects (litellm imported: responses are litellm.ModelResponse)")
    return out


def row_json(row: Row, derived: dict[str, Any]) -> dict[str, Any]:
    return {"id": row.id, "label": row.label, "status": row.status, "reason": row.reason or None,
            "seconds": round(row.seconds, 2), "result": row.result, "derived": derived}


def main() -> None:
    a = parse_args()
    concurrency = env_int("CONCURRENCY", 64)
    rows = build_rows(a)
    reasons = skip_reasons(a)
    started = time.monotonic()
    for row in rows:
        why = skipped_by(row, reasons)
        if why is None and not row.command[0]:
            why = "driver not built"
        if why is not None:
            row.status, row.reason = "skipped", why
            print(f"[bindings] {row.label}: skipped ({why})", file=sys.stderr)
            continue
        run(row, a.client_cpu)
        if row.status != "ok":
            print(f"[bindings] {row.label}: {row.status} ({row.reason})", file=sys.stderr)
    by_id = {row.id: row for row in rows}

    print(f"\nllmux bindings benchmark: nginx on loopback ({a.base_url}, pinned to CPU {a.server_cpu}), "
          f"every driver pinned to CPU {a.client_cpu}, same request "
          f"({os.path.getsize(os.path.join(a.work, 'request.json'))} bytes) and config, run order as listed\n")
    sequential = sequential_table(by_id)
    print()
    versus_floor = language_floor_table(by_id)
    print()
    concurrent = async_table(by_id, concurrency)
    print()
    versus_litellm = litellm_table(by_id, concurrency, a.litellm_pin)
    total = time.monotonic() - started
    print(f"\n{len(rows)} rows in {total:.0f} s: "
          + ", ".join(f"{s} {sum(r.status == s for r in rows)}" for s in ("ok", "skipped", "failed")))

    report = {
        "benchmark": "llmux_bindings",
        "server": "nginx return 200 (fixed chat.completion) on loopback",
        "url": a.base_url,
        "machine": {"nproc": os.cpu_count(), "client_cpu": a.client_cpu, "server_cpu": a.server_cpu,
                    "platform": platform.platform()},
        "config": {"native_calls": env_int("NATIVE_CALLS", 20000), "native_warmup": env_int("NATIVE_WARMUP", 2000),
                   "python_calls": env_int("PYTHON_CALLS", 5000), "python_warmup": env_int("PYTHON_WARMUP", 500),
                   "litellm_calls": env_int("LITELLM_CALLS", 1000), "litellm_warmup": env_int("LITELLM_WARMUP", 100),
                   "concurrency": concurrency},
        "baseline": "cpp (Router::completion; Router::completion_async for the async rows)",
        "sequential": sequential,
        "go_rust_vs_own_http_client": versus_floor,
        "async": concurrent,
        "python_vs_litellm": versus_litellm,
        "seconds": round(total, 1),
    }
    with open(a.json, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"results written to {a.json}")


if __name__ == "__main__":
    main()
