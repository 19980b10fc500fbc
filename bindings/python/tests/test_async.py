"""asyncio: acompletion / aembedding never block the loop; cancelling the task cancels the call."""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest

import llmux
from support import Deployment, user

MakeRouter = Callable[..., llmux.Router]


def test_acompletion(router: llmux.Router) -> None:
    resp = asyncio.run(router.acompletion(model="chat", messages=user(), temperature=0))
    assert isinstance(resp, llmux.ModelResponse)
    assert resp.choices[0].message.content == f"Hello from ok-{resp._hidden_params['model_id']}."


def test_embedding_and_aembedding(router: llmux.Router) -> None:
    sync = router.embedding(model="embed", input="hello")
    asynchronous = asyncio.run(router.aembedding(model="embed", input=["hello", "world"]))
    for emb in (sync, asynchronous):
        assert len(emb.data[0].embedding) == 4
        assert emb._hidden_params["model_id"] == "embed-1" and emb._hidden_params["model_group"] == "embed"


def test_task_cancel_cancels_the_call(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("silent", "hang-async", "h-1")], num_retries=0)

    def in_flight() -> int:
        return int(router.health("silent")[0].in_flight)

    async def run() -> None:
        task = asyncio.ensure_future(router.acompletion(model="silent", messages=user()))
        for _ in range(2000):  # hang guard
            if in_flight() == 1:
                break
            await asyncio.sleep(0.01)
        assert in_flight() == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(2000):
            if in_flight() == 0:
                break
            await asyncio.sleep(0.01)
        # Without llmux_cancel the call would wait for its 6000 s timeout.
        assert in_flight() == 0

    asyncio.run(run())
    assert router.completion(model="silent", messages=user(), mock_response="still usable").choices[0].message.content


def test_aembedding_cancel(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("silent", "hang-embed", "h-1")], num_retries=0)

    async def run() -> None:
        task = asyncio.ensure_future(router.aembedding(model="silent", input="x"))
        for _ in range(2000):
            if router.health("silent")[0].in_flight == 1:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(2000):
            if router.health("silent")[0].in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert router.health("silent")[0].in_flight == 0

    asyncio.run(run())


def test_a_thousand_concurrent_acompletions(router: llmux.Router) -> None:
    total = 1000

    async def run() -> tuple[list[llmux.ModelResponse], list[int]]:
        done = 0
        progress_seen_by_ticker: list[int] = []
        finished = asyncio.Event()

        async def ticker() -> None:
            # Runs between completions only if the loop is never blocked while calls are pending.
            while not finished.is_set():
                progress_seen_by_ticker.append(done)
                await asyncio.sleep(0.001)

        async def one(i: int) -> llmux.ModelResponse:
            nonlocal done
            resp = await router.acompletion(model="chat", messages=user(f"call {i}"))
            done += 1
            return resp

        tick_task = asyncio.ensure_future(ticker())
        results = await asyncio.gather(*(one(i) for i in range(total)))
        finished.set()
        await tick_task
        return results, progress_seen_by_ticker

    results, progress = asyncio.run(run())
    assert len(results) == total
    for resp in results:
        assert resp.choices[0].message.content == f"Hello from ok-{resp._hidden_params['model_id']}."
    assert {resp._hidden_params["model_id"] for resp in results} == {"chat-1", "chat-2"}
    assert len({resp._hidden_params["call_id"] for resp in results}) == total
    # The ticker ran again (after its first tick and a 1 ms sleep) while calls were still outstanding: the
    # loop stayed responsive. Not "saw partial progress": completions that arrive together are delivered
    # in one loop iteration, so a run may go from 0 to all done between two ticks.
    assert sum(1 for seen in progress if seen < total) >= 2
