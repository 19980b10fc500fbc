"""The completion-queue path (llmux._queue): blocking calls wait on their thread's queue, awaited
calls are resolved by their loop's queue. Every result must reach the call that made it, with many
threads and loops at once, after an interrupted call, for records bigger than the buffer, and a
loop's queue must go with its loop."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from typing import Any, Callable

import pytest

import llmux
from llmux import _queue
from support import Deployment, interrupt_a_waiting_call, user, wait_until

MakeRouter = Callable[..., llmux.Router]


def content(response: Any) -> str:
    return str(response.choices[0].message.content)


def test_the_queue_path_is_taken(router: llmux.Router) -> None:
    # A router without on_event, a library with queues: calls go through a completion queue.
    assert router._queued("completion") == 0 and router._queued("embedding") == 1
    assert content(router.completion(model="chat", messages=user(), mock_response="queued")) == "queued"
    assert _queue._thread_queue().stash == {}


def test_a_router_with_events_keeps_the_callback_path(make_router: MakeRouter, deployment: Deployment) -> None:
    events: list[dict[str, Any]] = []
    router = make_router([deployment("g", "ok-events-path", "e-1")], on_event=events.append)
    assert router._queued("completion") is None
    router.completion(model="g", messages=user())
    assert [event["type"] for event in events][-1] == "success"


def test_many_threads_each_get_their_own_results(router: llmux.Router) -> None:
    failures: list[str] = []

    def worker(index: int) -> None:
        for call in range(40):
            expected = f"thread {index} call {call}"
            got = content(router.completion(model="chat", messages=user(), mock_response=expected))
            if got != expected:
                failures.append(f"{expected}: got {got}")
        real = router.completion(model="chat", messages=user())
        if not content(real).startswith("Hello from ok-"):
            failures.append(f"thread {index}: {content(real)}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_many_loops_in_threads_each_get_their_own_results(router: llmux.Router) -> None:
    failures: list[str] = []

    async def run(index: int) -> None:
        expected = [f"loop {index} call {call}" for call in range(50)]
        got = await asyncio.gather(*(router.acompletion(model="chat", messages=user(), mock_response=text)
                                     for text in expected))
        failures.extend(f"{want}: got {content(resp)}" for want, resp in zip(expected, got) if content(resp) != want)
        embedded = await router.aembedding(model="embed", input="x")
        if len(embedded.data[0].embedding) != 4:
            failures.append(f"loop {index}: embedding {embedded.data}")

    threads = [threading.Thread(target=lambda i=i: asyncio.run(run(i))) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_record_bigger_than_the_buffer(router: llmux.Router) -> None:
    big = "x" * (_queue._CAPACITY * 2)
    assert content(router.completion(model="chat", messages=user(), mock_response=big)) == big
    assert content(asyncio.run(router.acompletion(model="chat", messages=user(), mock_response=big))) == big


def test_errors_come_through_the_queue(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("g", "status-429-queue", "d-1")], num_retries=0)
    with pytest.raises(llmux.RateLimitError) as sync_error:
        router.completion(model="g", messages=user())
    with pytest.raises(llmux.RateLimitError) as async_error:
        asyncio.run(router.acompletion(model="g", messages=user()))
    for error in (sync_error.value, async_error.value):
        assert error.status_code == 429
        assert error.llmux_metadata.get("deployment_id") == "d-1"


def test_after_an_interrupted_call_the_thread_gets_its_own_results(make_router: MakeRouter,
                                                                   deployment: Deployment) -> None:
    router = make_router([deployment("silent", "hang-queue-interrupt", "h-1"), deployment("chat", "ok-q", "c-1")],
                         num_retries=0)
    interrupt_a_waiting_call(router, "silent")
    # The cancelled call's record is in this thread's queue now: the next call drops it.
    assert content(router.completion(model="chat", messages=user(), mock_response="mine")) == "mine"
    assert content(router.completion(model="chat", messages=user())) == "Hello from ok-q."
    queue = _queue._thread_queue()
    assert queue.stash == {} and queue.abandoned == set()


def test_a_loops_queue_goes_with_the_loop(router: llmux.Router) -> None:
    loop = asyncio.new_event_loop()
    try:
        assert content(loop.run_until_complete(router.acompletion(model="chat", messages=user(),
                                                                  mock_response="a"))) == "a"
        assert _queue.loop_queue(loop) is not None
        # The same loop, run again: the same queue.
        queue = _queue.loop_queue(loop)
        assert content(loop.run_until_complete(router.acompletion(model="chat", messages=user(),
                                                                  mock_response="b"))) == "b"
        assert _queue.loop_queue(loop) is queue
    finally:
        loop.close()
    loop_gone = weakref.ref(loop)
    free = queue._queue.free  # type: ignore[union-attr]
    del loop, queue
    gc.collect()
    assert loop_gone() is None
    assert not free.alive  # the native queue was freed with it


def test_closing_the_router_ends_awaited_and_blocking_calls(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("silent", "hang-queue-close", "h-1")], num_retries=0)
    errors: list[BaseException] = []

    def blocking() -> None:
        try:
            router.completion(model="silent", messages=user())
        except BaseException as exc:  # noqa: B902 - recorded for the assertion
            errors.append(exc)

    async def awaited() -> None:
        try:
            await router.acompletion(model="silent", messages=user())
        except BaseException as exc:  # noqa: B902
            errors.append(exc)

    threads = [threading.Thread(target=blocking), threading.Thread(target=lambda: asyncio.run(awaited()))]
    for thread in threads:
        thread.start()
    wait_until(lambda: router.health("silent")[0].in_flight == 2, "both calls to start")
    router.close()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 2
    assert all(isinstance(error, llmux.CallCancelledError) for error in errors), errors
