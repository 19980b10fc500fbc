"""Helpers shared by the test modules."""

from __future__ import annotations

import _thread
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[3]

#: ``deployment(group, model, id, **litellm_params)`` (the conftest fixture).
Deployment = Callable[..., dict[str, Any]]

#: Every API key the tests configure starts with this; it must never be visible.
SECRET_PREFIX = "sk-pytest-secret"


def make_deployment(base_url: str, group: str, model: str, deployment_id: str, **params: Any) -> dict[str, Any]:
    """A model_list entry for ``openai/<model>`` at ``base_url``, with a secret API key."""
    return {
        "model_name": group,
        "litellm_params": {"model": f"openai/{model}", "api_base": base_url,
                           "api_key": f"{SECRET_PREFIX}-{deployment_id}", **params},
        "model_info": {"id": deployment_id},
    }


def user(text: str = "hi") -> list[dict[str, str]]:
    """A one-message conversation."""
    return [{"role": "user", "content": text}]


def wait_until(condition: Callable[[], bool], what: str, limit_seconds: float = 20.0) -> None:
    """Polls ``condition`` until it holds; fails after ``limit_seconds`` (a hang guard, not a timing
    assertion: the limit is far above what any condition needs)."""
    deadline = time.monotonic() + limit_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class FakeServer:
    """A running llmux_fake_server process (stops when its stdin closes)."""

    def __init__(self, binary: Path) -> None:
        self.process = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        stdout = self.process.stdout
        assert stdout is not None
        first_line: list[str] = []
        reader = threading.Thread(target=lambda: first_line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout=30)
        if not first_line or not first_line[0].strip():
            self.stop()
            pytest.fail(f"{binary} did not print its address (exit status {self.process.poll()})")
        info = json.loads(first_line[0])
        self.base_url: str = info["base_url"]

    def stop(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def interrupt_a_waiting_call(router: Any, group: str) -> None:
    """Calls ``router.completion`` on ``group`` (whose deployment never answers), interrupts the wait the way
    Ctrl-C does once the call is in flight, expects KeyboardInterrupt, and waits until the call is cancelled."""
    def interrupt_when_in_flight() -> None:
        wait_until(lambda: router.health(group)[0].in_flight == 1, "the call to start")
        _thread.interrupt_main()  # what Ctrl-C does

    interrupter = threading.Thread(target=interrupt_when_in_flight)
    interrupter.start()
    with pytest.raises(KeyboardInterrupt):
        router.completion(model=group, messages=user())
    interrupter.join()
    wait_until(lambda: router.health(group)[0].in_flight == 0, "the interrupted call to be cancelled")
