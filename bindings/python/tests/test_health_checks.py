"""Active health checks: a round now (check_health, acheck_health), the /health-shaped report,
health-check routing, background checks, the Router arguments, and no key in any of it."""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import Callable

import llmux
from support import SECRET_PREFIX, Deployment, user, wait_until

MakeRouter = Callable[..., llmux.Router]


def test_check_health_reports_and_routes_around_a_failing_deployment(make_router: MakeRouter,
                                                                      deployment: Deployment) -> None:
    router = make_router([deployment("g", "ok-hc", "hc-good"), deployment("g", "status-503-hc", "hc-bad"),
                          deployment("other", "ok-other", "hc-other")],
                         enable_health_check_routing=True, num_retries=0)
    before = router.health_report()
    assert isinstance(before, llmux.HealthReport)
    assert before.unchecked_count == 3 and before.healthy_endpoints == []
    assert before.unchecked_endpoints[0].error == "not checked yet"

    report = router.check_health("g")
    assert isinstance(report, llmux.HealthReport)
    assert (report.healthy_count, report.unhealthy_count, report.unchecked_count) == (1, 1, 0)
    good, bad = report.healthy_endpoints[0], report.unhealthy_endpoints[0]
    assert isinstance(good, llmux.HealthEndpoint)
    assert good.model_id == "hc-good" and good.model == "openai/ok-hc" and good.mode == "chat"
    assert good.checked_by == "this replica" and good.last_check_at > 1.6e9 and not good.routed_around
    assert bad.model_id == "hc-bad" and bad.model_group == "g" and bad.status == 503
    assert bad.error_type == "ServiceUnavailableError" and bad.error and bad.routed_around
    assert bad.api_base.startswith("http://127.0.0.1:")

    # Routed around: every call goes to the deployment that passed.
    for _ in range(10):
        response = router.completion(model="g", messages=user())
        assert response._hidden_params["model_id"] == "hc-good"

    states = {entry.id: entry for entry in router.health("g")}
    failing = states["hc-bad"]
    assert failing.state == "failed_health_check" and failing.failed_health_check and not failing.healthy
    assert isinstance(failing.last_check, llmux.HealthCheckResult)
    assert failing.last_check.healthy is False and failing.last_check.status == 503
    assert failing.next_health_check_seconds == -1
    assert states["hc-good"].last_check.healthy is True

    # The other group was not checked; the whole router afterwards.
    assert router.health_report("other").unchecked_count == 1
    assert router.check_health().healthy_count == 2
    assert router.check_health("no-such-group").healthy_endpoints == []
    for text in (json.dumps(report.model_dump()), json.dumps([entry.model_dump() for entry in router.health()])):
        assert SECRET_PREFIX not in text


def test_acheck_health_does_not_block_the_event_loop(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "slow-300-hc", "hc-slow")])

    async def main() -> tuple[llmux.HealthReport, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.ensure_future(tick())
        report = await router.acheck_health()
        ticker.cancel()
        return report, ticks

    report, ticks = asyncio.run(main())
    assert report.healthy_count == 1
    assert ticks > 1  # the loop kept running while the check waited 300 ms


def test_background_checks_and_embedding_mode(make_router: MakeRouter, deployment: Deployment) -> None:
    embedder = deployment("vectors", "ok-vectors", "hc-vectors")
    embedder["model_info"]["mode"] = "embedding"
    router = make_router([deployment("g", "ok-bg", "hc-bg"), embedder], background_health_checks=True,
                         health_check_interval=0.2)

    def all_checked() -> bool:
        return all(entry.last_check is not None for entry in router.health())

    wait_until(all_checked, "every deployment checked in the background")
    checks = {entry.id: entry.last_check for entry in router.health()}
    assert checks["hc-bg"].mode == "chat" and checks["hc-bg"].healthy
    assert checks["hc-vectors"].mode == "embedding" and checks["hc-vectors"].healthy
    assert all(entry.next_health_check_seconds >= 0 for entry in router.health())


def test_health_check_arguments_are_read_not_warned_about(make_router: MakeRouter, deployment: Deployment) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", llmux.LiteLLMCompatibilityWarning)
        router = make_router([deployment("g", "ok-args", "hc-args")], enable_health_check_routing=True,
                             health_check_staleness_threshold=120, health_check_ignore_transient_errors=True,
                             health_check_interval=60)
    assert router.check_health().healthy_count == 1

