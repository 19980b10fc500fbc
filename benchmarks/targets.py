#!/usr/bin/env python3
"""The performance targets (DESIGN.md §5) judged from benchmark results.

    benchmarks/targets.py RESULTS_DIR [RESULTS_DIR ...] [--json=FILE] [--markdown=FILE] [--readme=README.md]

Each RESULTS_DIR holds one run's JSON files (micro_summary.json, e2e_overhead.json, stream_overhead.json,
scale.json, bindings.json, profile.json — whichever were run). With several runs, each figure is the median
of the runs that measured it, shown with its range. A figure is judged against its target with a noise band:

    met        figure within the target
    in noise   over the target by no more than the band (the spread this machine shows for the same code)
    MISSED     over the target by more than the band
    not run    its benchmark did not run (or its part was skipped)

Exit status 1 when a target is MISSED (or a required benchmark did not run with --require-all), else 0.
--markdown writes the comparison tables; --readme replaces the text between the markers
`<!-- performance:begin -->` and `<!-- performance:end -->` in that file with them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

Results = dict[str, Any]  # file stem -> parsed JSON of one run


# --- reading the result files --------------------------------------------------------------------------------

def dig(doc: Any, *path: Any) -> Any:
    for key in path:
        if isinstance(doc, dict):
            doc = doc.get(key)
        elif isinstance(doc, list) and isinstance(key, int) and -len(doc) <= key < len(doc):
            doc = doc[key]
        else:
            return None
    return doc


def micro_figure(r: Results, name: str, key: str = "figure_ns") -> Optional[float]:
    for c in dig(r, "micro_summary", "comparisons") or []:
        if c.get("name") == name and "error" not in c:
            return c.get(key)
    return None


def binding_row(r: Results, table: str, row_id: str) -> Optional[dict]:
    rows = dig(r, "bindings", table)
    if table == "python_vs_litellm":
        rows = dig(r, "bindings", table, "rows")
    for row in rows or []:
        if row.get("id") == row_id and row.get("status") == "ok":
            return row
    return None


def binding_derived(r: Results, table: str, row_id: str, key: str) -> Optional[float]:
    row = binding_row(r, table, row_id)
    return dig(row, "derived", key) if row else None


def own_floor(r: Results, row_id: str, key: str) -> Optional[float]:
    """A Go/Rust row against its own language's raw HTTP client (same nginx, same bytes)."""
    for row in dig(r, "bindings", "go_rust_vs_own_http_client") or []:
        if row.get("id") == row_id:
            return dig(row, "derived", key)
    return None


def binding_result(r: Results, table: str, row_id: str, *path: str) -> Optional[float]:
    row = binding_row(r, table, row_id)
    return dig(row, "result", *path) if row else None


# --- the targets -------------------------------------------------------------------------------------------

@dataclass
class Target:
    key: str
    section: str
    what: str
    unit: str
    extract: Callable[[Results], Optional[float]]
    limit: Optional[float] = None  # None: reported, not judged
    higher_is_better: bool = False
    band: float = 0.0               # noise band, in the figure's unit
    baseline: Callable[[Results], Optional[float]] = lambda r: None
    baseline_what: str = ""
    baseline_unit: Optional[str] = None  # None: the figure's unit


ROUTING_STRATEGIES = ["simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing-v2",
                      "cost-based-routing", "power-of-two-choices"]

# Noise bands: the spread of each figure over repeated runs of the same code on the 2-vCPU development VM
# (benchmarks/README.md, "Noise bands"), rounded up. A miss by less than its band is reported "in noise".
BAND_E2E_P50_US = 4.0
BAND_E2E_P99_US = 15.0
BAND_E2E_CPU_US = 4.0
BAND_THROUGHPUT_RATIO = 0.05
BAND_STREAM_TTFT_US = 4.0
BAND_STREAM_CHUNK_CPU_US = 0.2
BAND_ROUTING_SMALL_NS = 10.0
BAND_ROUTING_LARGE_NS = 100.0
BAND_BINDING_US = 10.0
BAND_PY_ASYNC_RATIO = 0.05
BAND_RSS_MIB = 1.0


def e2e(*path: str) -> Callable[[Results], Optional[float]]:
    return lambda r: dig(r, "e2e_overhead", *path)


def targets() -> list[Target]:
    out = [
        Target("cpp.added_p50_us", "C++ end to end (nginx on loopback, one call at a time)",
               "added latency p50", "µs", e2e("added", "latency_p50_us"), 10, band=BAND_E2E_P50_US,
               baseline=e2e("baseline", "latency_us", "p50"), baseline_what="raw libcurl-multi client p50"),
        Target("cpp.added_p99_us", "C++ end to end (nginx on loopback, one call at a time)",
               "added latency p99 (our p99 − raw p99)", "µs", e2e("added", "latency_p99_us"), 25,
               band=BAND_E2E_P99_US, baseline=e2e("baseline", "latency_us", "p99"),
               baseline_what="raw libcurl-multi client p99"),
        Target("cpp.added_cpu_us", "C++ end to end (nginx on loopback, one call at a time)",
               "added CPU per call", "µs", e2e("added", "cpu_us_per_call_sequential"), 10, band=BAND_E2E_CPU_US,
               baseline=e2e("baseline", "cpu_us_per_call_sequential"), baseline_what="raw client CPU per call"),
        Target("cpp.throughput_ratio_64", "C++ end to end (nginx on loopback, one call at a time)",
               "throughput with 64 in flight, ÷ raw", "×", e2e("ratio", "throughput"), 0.9, higher_is_better=True,
               band=BAND_THROUGHPUT_RATIO, baseline=e2e("baseline", "throughput_rps"),
               baseline_what="raw client", baseline_unit="req/s"),
        Target("cpp.added_cpu_us_loaded", "C++ end to end (nginx on loopback, one call at a time)",
               "added CPU per call, 64 in flight", "µs", e2e("added", "cpu_us_per_call_loaded"),
               baseline=e2e("baseline", "cpu_us_per_call_loaded"), baseline_what="raw client, 64 in flight"),
        Target("stream.added_ttft_p50_us", "C++ streaming (nginx SSE on loopback, one stream at a time)",
               "added time to first token p50", "µs", lambda r: dig(r, "stream_overhead", "added", "ttft_p50_us"),
               10, band=BAND_STREAM_TTFT_US, baseline=lambda r: dig(r, "stream_overhead", "baseline", "ttft_p50_us"),
               baseline_what="raw libcurl-multi stream TTFT p50"),
        Target("stream.added_cpu_per_chunk_us", "C++ streaming (nginx SSE on loopback, one stream at a time)",
               "added CPU per chunk", "µs", lambda r: dig(r, "stream_overhead", "added", "cpu_us_per_chunk"), 0.5,
               band=BAND_STREAM_CHUNK_CPU_US,
               baseline=lambda r: dig(r, "stream_overhead", "baseline", "cpu_us_per_chunk"),
               baseline_what="raw client CPU per chunk"),
    ]
    for n, limit, band in ((8, 100, BAND_ROUTING_SMALL_NS), (1000, 1000, BAND_ROUTING_LARGE_NS)):
        for s in ROUTING_STRATEGIES:
            name = f"routing/{s}/{n}"
            out.append(Target(f"routing.{s}.{n}", "Routing decision (full filter chain + pick)",
                              f"{s}, {n:,} deployments", "ns", lambda r, name=name: micro_figure(r, name), limit,
                              band=band))
    for n in (8, 1000):
        out.append(Target(f"routing.allocations.{n}", "Routing decision (full filter chain + pick)",
                          f"allocations per decision, {n:,} deployments (max over strategies)", "",
                          lambda r, n=n: max_or_none([micro_figure(r, f"routing/{s}/{n}", "allocations_per_iteration")
                                                      for s in ROUTING_STRATEGIES]), 0))
    b = "Bindings (one call at a time, added over the C++ API in the same run)"
    out += [
        Target("python.added_p50_us", b, "Python completion, added p50", "µs",
               lambda r: binding_derived(r, "sequential", "python-llmux", "added_p50_us"), 40, band=BAND_BINDING_US),
        Target("python.added_cpu_us", b, "Python completion, added CPU per call", "µs",
               lambda r: binding_derived(r, "sequential", "python-llmux", "added_cpu_us_per_call")),
        Target("go.added_p50_us", b, "Go Completion (typed), added p50", "µs",
               lambda r: binding_derived(r, "sequential", "go-typed", "added_p50_us"), 15, band=BAND_BINDING_US),
        Target("go_raw.added_p50_us", b, "Go CompletionRaw (bytes), added p50", "µs",
               lambda r: binding_derived(r, "sequential", "go-raw", "added_p50_us")),
        Target("rust.added_p50_us", b, "Rust completion (typed), added p50", "µs",
               lambda r: binding_derived(r, "sequential", "rust-typed", "added_p50_us"), 10, band=BAND_BINDING_US),
        Target("rust_raw.added_p50_us", b, "Rust completion_raw (text), added p50", "µs",
               lambda r: binding_derived(r, "sequential", "rust-raw", "added_p50_us")),
        Target("c.added_p50_us", b, "C ABI llmux_completion, added p50", "µs",
               lambda r: binding_derived(r, "sequential", "c", "added_p50_us")),
        Target("go.added_cpu_us", b, "Go Completion (typed), added CPU per call", "µs",
               lambda r: binding_derived(r, "sequential", "go-typed", "added_cpu_us_per_call")),
        Target("go_jsonv2.added_p50_us", b, "Go Completion (typed) built with GOEXPERIMENT=jsonv2, added p50", "µs",
               lambda r: binding_derived(r, "sequential", "go-typed-jsonv2", "added_p50_us")),
        Target("rust.added_cpu_us", b, "Rust completion (typed), added CPU per call", "µs",
               lambda r: binding_derived(r, "sequential", "rust-typed", "added_cpu_us_per_call")),
        Target("python.async_ratio", b, "Python acompletion, 64 in flight, req/s ÷ C++ completion_async", "×",
               lambda r: binding_derived(r, "async", "python-llmux-async", "ratio_rps"), 0.5, higher_is_better=True,
               band=BAND_PY_ASYNC_RATIO),
    ]
    o = "Go and Rust against their own language's raw HTTP client (net/http; std::net::TcpStream keep-alive loop)"
    out += [
        Target(f"{row}.added_p50_vs_own_http_us", o, f"{label}, added p50 over the raw client", "µs",
               lambda r, row=row: own_floor(r, row, "added_p50_us_vs_floor"))
        for row, label in (("go-raw", "Go CompletionRaw"), ("go-typed", "Go Completion (typed)"),
                           ("rust-raw", "Rust completion_raw"), ("rust-typed", "Rust completion_typed"))
    ]
    p = "Python against its peers (same run, one core each)"
    out += [
        Target("python.added_p50_vs_http_client_us", p, "llmux completion, added p50 over a raw http.client loop",
               "µs", lambda r: binding_derived(r, "python_vs_litellm", "python-llmux", "added_p50_us_vs_http_client")),
        Target("litellm.added_p50_vs_http_client_us", p,
               "litellm.Router (pinned) completion, added p50 over http.client", "µs",
               lambda r: binding_derived(r, "python_vs_litellm", "litellm", "added_p50_us_vs_http_client")),
        Target("litellm_latest.added_p50_vs_http_client_us", p,
               "litellm.Router (newest on PyPI) completion, added p50 over http.client", "µs",
               lambda r: binding_derived(r, "python_vs_litellm", "litellm-latest", "added_p50_us_vs_http_client")),
        Target("litellm.rps_ratio_sync", p, "llmux req/s ÷ litellm.Router (pinned) req/s, sync", "×",
               lambda r: dig(r, "bindings", "python_vs_litellm", "ratios", "sync", "rps_llmux_over_litellm")),
        Target("litellm.rps_ratio_async", p, "llmux req/s ÷ litellm.Router (pinned) req/s, async ×64", "×",
               lambda r: dig(r, "bindings", "python_vs_litellm", "ratios", "async", "rps_llmux_over_litellm")),
    ]
    s = "Scale and memory (one I/O thread)"
    out += [
        Target("scale.streams_completed_exactly_once", s, "10,000 concurrent slow streams completed exactly once",
               "of 10,000", lambda r: dig(r, "scale", "streams", "completed_exactly_once"), 10000,
               higher_is_better=True),
        Target("scale.chunk_delay_p99_ms", s, "10,000 streams: chunk delivery delay p99", "ms",
               lambda r: dig(r, "scale", "streams", "chunk_delay_p99_ms")),
        Target("scale.loop_cpu_percent", s, "10,000 streams: I/O loop CPU", "%",
               lambda r: dig(r, "scale", "streams", "loop_cpu_percent")),
        Target("scale.rss_per_1000_inflight_mib", s, "RSS per 1,000 in-flight calls", "MiB",
               lambda r: dig(r, "scale", "rss_per_1000_in_flight_mib")),
        Target("scale.idle_router_rss_mib", s, "RSS of an idle Router with 8 deployments over the bare process",
               "MiB", lambda r: dig(r, "soak", "idle_router_rss_mib"), 8, band=BAND_RSS_MIB),
        Target("scale.soak_rss_growth_mib", s, "soak: RSS growth after warm-up", "MiB",
               lambda r: dig(r, "soak", "rss_growth_after_warmup_mib")),
    ]
    pr = "Profile (valgrind; per call, one at a time)"
    out += [
        Target("profile.instructions_llmux", pr, "instructions per call, llmux", "",
               lambda r: dig(r, "profile", "instructions_per_call", "llmux"),
               baseline=lambda r: dig(r, "profile", "instructions_per_call", "raw"), baseline_what="raw client"),
        Target("profile.allocations_llmux", pr, "allocations per call, llmux", "",
               lambda r: dig(r, "profile", "allocations_per_call", "llmux"),
               baseline=lambda r: dig(r, "profile", "allocations_per_call", "raw"), baseline_what="raw client"),
    ]
    return out


def max_or_none(values: list[Optional[float]]) -> Optional[float]:
    present = [v for v in values if v is not None]
    return max(present) if present else None


# --- judging -------------------------------------------------------------------------------------------------

@dataclass
class Verdict:
    target: Target
    runs: list[float] = field(default_factory=list)
    baselines: list[float] = field(default_factory=list)

    @property
    def figure(self) -> Optional[float]:
        return statistics.median(self.runs) if self.runs else None

    @property
    def baseline(self) -> Optional[float]:
        return statistics.median(self.baselines) if self.baselines else None

    @property
    def spread(self) -> Optional[float]:
        """Half the range over this invocation's runs: the noise this run itself shows for the figure."""
        return (max(self.runs) - min(self.runs)) / 2 if len(self.runs) > 1 else None

    @property
    def unstable(self) -> bool:
        """A judged figure whose runs disagree by more than its band: its verdict says little."""
        return self.target.limit is not None and self.spread is not None and self.spread > self.target.band

    @property
    def status(self) -> str:
        t, f = self.target, self.figure
        if f is None:
            return "not run"
        if t.limit is None:
            return "reported"
        over = (t.limit - f) if t.higher_is_better else (f - t.limit)
        if over <= 0:
            return "met"
        return "in noise" if over <= t.band else "MISSED"


def load_run(directory: str) -> Results:
    out: Results = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            try:
                with open(os.path.join(directory, name), encoding="utf-8") as f:
                    out[name[:-5]] = json.load(f)
            except (OSError, json.JSONDecodeError) as e:
                print(f"targets: skipping {name}: {e}", file=sys.stderr)
    return out


def judge(runs: list[Results]) -> list[Verdict]:
    verdicts = []
    for t in targets():
        v = Verdict(t)
        for r in runs:
            f = t.extract(r)
            if isinstance(f, (int, float)) and not isinstance(f, bool):
                v.runs.append(float(f))
            base = t.baseline(r)
            if isinstance(base, (int, float)) and not isinstance(base, bool):
                v.baselines.append(float(base))
        verdicts.append(v)
    return verdicts


def number(x: Optional[float], unit: str) -> str:
    if x is None:
        return "—"
    if unit == "×":
        return f"{x:.2f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def markdown(verdicts: list[Verdict], runs: int) -> str:
    lines: list[str] = []
    section = None
    for v in verdicts:
        t = v.target
        if t.section != section:
            section = t.section
            lines += ["", f"**{section}**", "",
                      "| figure | llmux | range over runs | baseline (same run) | target | verdict |",
                      "|---|---|---|---|---|---|"]
        unit = f" {t.unit}" if t.unit and t.unit != "×" else ("×" if t.unit == "×" else "")
        rng = (f"{number(min(v.runs), t.unit)} … {number(max(v.runs), t.unit)}" if len(v.runs) > 1 else "")
        bunit = unit if t.baseline_unit is None else f" {t.baseline_unit}"
        base_number = number(v.baseline, t.unit if t.baseline_unit is None else t.baseline_unit)
        base = f"{base_number}{bunit} ({t.baseline_what})" if v.baseline is not None else ""
        if t.limit is None:
            target = ""
        else:
            target = f"{'≥' if t.higher_is_better else '≤'} {number(t.limit, t.unit)}{unit}"
            if t.band:
                target += f" (noise ±{number(t.band, t.unit)})"
        lines.append(f"| {t.what} | {number(v.figure, t.unit)}{unit if v.figure is not None else ''} | {rng} "
                     f"| {base} | {target} | {v.status}{' (unstable: runs spread ±' + number(v.spread, t.unit) + ')' if v.unstable else ''} |")
    head = f"Median of {runs} run(s) of `benchmarks/run.sh compare`" if runs > 1 else "One run of `benchmarks/run.sh compare`"
    return head + "; every figure against a baseline measured in the same run.\n" + "\n".join(lines) + "\n"


def replace_readme(readme: str, text: str) -> None:
    begin, end = "<!-- performance:begin -->", "<!-- performance:end -->"
    with open(readme, encoding="utf-8") as f:
        content = f.read()
    if begin not in content or end not in content:
        raise SystemExit(f"targets: {readme} has no {begin} … {end} markers")
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(readme, "w", encoding="utf-8") as f:
        f.write(f"{head}{begin}\n{text}{end}{tail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="one directory of result JSON files per run")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--readme")
    ap.add_argument("--require-all", action="store_true", help="a judged target that did not run is a failure")
    a = ap.parse_args()
    runs = [load_run(d) for d in a.results]
    verdicts = judge(runs)
    text = markdown(verdicts, len(runs))
    print(text)
    missed = [v for v in verdicts if v.status == "MISSED"]
    not_run = [v for v in verdicts if v.status == "not run" and v.target.limit is not None]
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"benchmark": "llmux_compare", "runs": len(runs), "targets": [
                {"key": v.target.key, "section": v.target.section, "what": v.target.what, "unit": v.target.unit,
                 "figure": v.figure, "runs": v.runs, "baseline": v.baseline, "baseline_what": v.target.baseline_what,
                 "limit": v.target.limit, "higher_is_better": v.target.higher_is_better, "band": v.target.band,
                 "spread": v.spread, "unstable": v.unstable, "status": v.status} for v in verdicts]}, f, indent=1)
            f.write("\n")
    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write(text)
    if a.readme:
        replace_readme(a.readme, text)
    summary = {s: sum(v.status == s for v in verdicts) for s in ("met", "in noise", "MISSED", "not run", "reported")}
    print("targets: " + ", ".join(f"{k} {n}" for k, n in summary.items()))
    for v in missed:
        print(f"MISSED: {v.target.section}: {v.target.what}: {number(v.figure, v.target.unit)} "
              f"(target {'≥' if v.target.higher_is_better else '≤'} {number(v.target.limit, v.target.unit)}, "
              f"band {number(v.target.band, v.target.unit)})")
    for v in verdicts:
        if v.unstable:
            print(f"unstable: {v.target.section}: {v.target.what}: this run's spread ±{number(v.spread, v.target.unit)} "
                  f"exceeds its band ±{number(v.target.band, v.target.unit)} (runs "
                  f"{', '.join(number(x, v.target.unit) for x in v.runs)})")
    if missed or (a.require_all and not_run):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
