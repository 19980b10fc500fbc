"""Raising consumers and callbacks, interrupts, garbage collection and interpreter exit never crash,
hang or lose a call."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import weakref
from typing import Any, Callable

import pytest

import llmux
from llmux import _calls, _ffi
from recording_provider import RecordingProvider
from support import REPO, Deployment, interrupt_a_waiting_call, make_deployment, user, wait_until

MakeRouter = Callable[..., llmux.Router]


class ConsumerError(Exception):
    pass


def test_a_raising_sync_consumer(make_router: MakeRouter, provider: RecordingProvider) -> None:
    router = make_router([make_deployment(provider.base_url, "stall", "stall-raise", "s-1")], num_retries=0)

    def consume() -> None:
        for _chunk in router.completion(model="stall", messages=user(), stream=True):
            raise ConsumerError("the consumer failed")

    with pytest.raises(ConsumerError):
        consume()
    gc.collect()
    wait_until(lambda: "stall-raise" in provider.disconnects, "the abandoned stream to be cancelled")
    assert router.completion(model="stall", messages=user(), mock_response="ok").choices[0].message.content == "ok"


def test_a_raising_async_consumer(make_router: MakeRouter, provider: RecordingProvider) -> None:
    router = make_router([make_deployment(provider.base_url, "stall", "stall-araise", "s-1")], num_retries=0)

    async def consume() -> None:
        async for _chunk in await router.acompletion(model="stall", messages=user(), stream=True):
            raise ConsumerError("the consumer failed")

    with pytest.raises(ConsumerError):
        asyncio.run(consume())
    gc.collect()
    wait_until(lambda: "stall-araise" in provider.disconnects, "the abandoned stream to be cancelled")


def test_a_raising_chunk_callback_reaches_the_consumer(router: llmux.Router, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_on_chunk(self: Any, chunk: bytes) -> bool:
        raise RuntimeError("boom in the chunk callback")

    monkeypatch.setattr(_calls.StreamChannel, "on_chunk", broken_on_chunk)
    with pytest.raises(RuntimeError, match="boom in the chunk callback"):
        router.completion(model="chat", messages=user(), stream=True)
    monkeypatch.undo()
    assert len(list(router.completion(model="chat", messages=user(), stream=True))) > 1


@pytest.mark.parametrize("with_events", [False, True], ids=["queue", "done-callback"])
def test_a_raising_done_callback_reaches_the_consumer(make_router: MakeRouter, deployment: Deployment,
                                                      monkeypatch: pytest.MonkeyPatch, with_events: bool) -> None:
    # Without on_event the outcome comes through a completion queue and is decoded on the consumer's
    # thread (ErrorDetail.unpack); with it, in the done callback on the I/O thread (ErrorDetail.read).
    extra = {"on_event": lambda event: None} if with_events else {}
    router = make_router([deployment("g", f"status-500-cb-{with_events}", "d-1")], num_retries=0, **extra)

    def broken_read(cls: Any, *args: Any) -> Any:
        raise RuntimeError("boom in the done callback")

    monkeypatch.setattr(_ffi.ErrorDetail, "read", classmethod(broken_read))
    monkeypatch.setattr(_ffi.ErrorDetail, "unpack", classmethod(broken_read))
    with pytest.raises(RuntimeError, match="boom in the done callback"):
        router.completion(model="g", messages=user())
    with pytest.raises(RuntimeError, match="boom in the done callback"):
        asyncio.run(router.acompletion(model="g", messages=user()))
    monkeypatch.undo()
    with pytest.raises(llmux.InternalServerError):
        router.completion(model="g", messages=user())


def test_an_interrupted_wait_cancels_the_call(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("silent", "hang-interrupt", "h-1")], num_retries=0)
    interrupt_a_waiting_call(router, "silent")


def test_a_router_collected_on_the_io_thread_is_freed_elsewhere(router: llmux.Router, deployment: Deployment,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    closed_in_callback: list[bool] = []
    original_close = llmux.Router.close

    def recording_close(self: llmux.Router) -> None:
        if getattr(self, "is_garbage", False) and not self.closed:
            closed_in_callback.append(_ffi.in_callback())
        original_close(self)

    original_on_chunk = _calls.StreamChannel.on_chunk

    def collecting_on_chunk(self: Any, chunk: bytes) -> bool:
        gc.collect()  # on the I/O thread, inside the chunk callback
        return original_on_chunk(self, chunk)

    monkeypatch.setattr(llmux.Router, "close", recording_close)
    monkeypatch.setattr(_calls.StreamChannel, "on_chunk", collecting_on_chunk)
    gc.disable()  # so that the collection happens in the callback, not before
    try:
        garbage = llmux.Router(model_list=[deployment("g", "ok-garbage", "g-1")])
        garbage.is_garbage = True  # type: ignore[attr-defined]
        garbage.cycle = garbage  # type: ignore[attr-defined]  # only the cyclic collector can free it
        del garbage
        content = "".join(c.choices[0].delta.content or "" for c in
                          router.completion(model="chat", messages=user(), stream=True) if c.choices)
    finally:
        gc.enable()
    assert content.startswith("Hello from ok-chat-")
    assert closed_in_callback == [True]
    wait_until(lambda: all(t.name != "llmux-router-close" for t in threading.enumerate()),
               "the collected router to be freed by its helper thread")


def _run_script(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), capture_output=True,
                          text=True, timeout=120)


def test_interpreter_exit_with_calls_in_flight(fake_server: Any) -> None:
    result = _run_script(f"""
import asyncio, threading, time, llmux
router = llmux.Router(model_list=[{make_deployment(fake_server.base_url, "silent", "hang-exit", "h-1")!r}])
outcomes = []
def call():
    try:
        router.completion(model="silent", messages=[{{"role": "user", "content": "hi"}}])
    except llmux.CallCancelledError as exc:
        outcomes.append(exc)
threading.Thread(target=call, daemon=True).start()
async def pending():
    await router.acompletion(model="silent", messages=[{{"role": "user", "content": "hi"}}])
loop = asyncio.new_event_loop()
task = loop.create_task(pending())
loop.run_until_complete(asyncio.sleep(0.05))
stream_router = llmux.Router(model_list=[{make_deployment(fake_server.base_url, "ok", "ok-exit", "o-1")!r}])
stream = stream_router.completion(model="ok", messages=[{{"role": "user", "content": "hi"}}], stream=True)
while router.health("silent")[0].in_flight < 2:
    time.sleep(0.01)
print("exiting with", router.health("silent")[0].in_flight, "calls in flight")
""")
    assert result.returncode == 0, result.stderr
    assert "exiting with 2 calls in flight" in result.stdout
    assert "Fatal" not in result.stderr and "Traceback" not in result.stderr


def test_garbage_collected_router(deployment: Deployment) -> None:
    router = llmux.Router(model_list=[deployment("g", "ok-gc", "g-1")])
    assert router.completion(model="g", messages=user()).choices[0].message.content == "Hello from ok-gc."
    collected = threading.Event()
    weakref.finalize(router, collected.set)
    del router
    gc.collect()
    assert collected.is_set()
