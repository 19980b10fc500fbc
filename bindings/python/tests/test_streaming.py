"""Streaming, sync and async: content, usage, metadata, errors, and cancellation by stopping early."""

from __future__ import annotations

import asyncio
import gc
from typing import Callable

import pytest

import llmux
from recording_provider import RecordingProvider
from support import Deployment, make_deployment, user, wait_until

MakeRouter = Callable[..., llmux.Router]


def test_sync_stream_with_usage(router: llmux.Router) -> None:
    stream = router.completion(model="chat", messages=user(), stream=True, stream_options={"include_usage": True})
    assert isinstance(stream, llmux.CompletionStream)
    chunks = list(stream)
    assert all(isinstance(chunk, llmux.ModelResponseStream) for chunk in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    model_id = stream._hidden_params["model_id"]
    assert content == f"Hello from ok-{model_id}."
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    # getattr: LiteLLM's chunks (litellm imported) have no usage attribute unless they report usage.
    assert all(getattr(chunk, "usage", None) is None for chunk in chunks[:-1])
    assert stream.finished
    assert stream.usage is not None and stream.usage.completion_tokens > 0
    assert stream._hidden_params["model_group"] == "chat" and stream._hidden_params["attempts"] == 1
    assert "_llmux" not in chunks[0].model_dump()


def test_sync_stream_without_usage_option_has_no_usage_chunk(router: llmux.Router) -> None:
    chunks = list(router.completion(model="chat", messages=user(), stream=True))
    assert all(getattr(chunk, "usage", None) is None for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_async_stream_with_usage(router: llmux.Router) -> None:
    async def run() -> tuple[str, llmux.AsyncCompletionStream, list[llmux.ModelResponseStream]]:
        stream = await router.acompletion(model="chat", messages=user(), stream=True,
                                          stream_options={"include_usage": True})
        assert isinstance(stream, llmux.AsyncCompletionStream)
        chunks = [chunk async for chunk in stream]
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), stream, chunks

    content, stream, chunks = asyncio.run(run())
    assert content == f"Hello from ok-{stream._hidden_params['model_id']}."
    assert chunks[-1].usage.completion_tokens > 0
    assert stream.usage is not None and stream.usage.total_tokens == chunks[-1].usage.total_tokens


def test_stream_errors_are_raised_by_the_call(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("limited", "status-429-s", "l-1")], num_retries=0)
    with pytest.raises(llmux.RateLimitError):
        router.completion(model="limited", messages=user(), stream=True)

    async def run() -> None:
        await router.acompletion(model="limited", messages=user(), stream=True)

    with pytest.raises(llmux.RateLimitError):
        asyncio.run(run())


def test_stream_timeout(make_router: MakeRouter, deployment: Deployment) -> None:
    router = make_router([deployment("silent", "hang-stream", "h-1")], num_retries=0)
    with pytest.raises(llmux.Timeout) as info:
        router.completion(model="silent", messages=user(), stream=True, stream_timeout=0.3)
    assert info.value.status_code == 408


def test_mid_stream_failure(make_router: MakeRouter, provider: RecordingProvider) -> None:
    router = make_router([make_deployment(provider.base_url, "cut", "cut-mid", "cut-1")], num_retries=0)
    stream = router.completion(model="cut", messages=user(), stream=True)
    first = next(stream)
    assert first.choices[0].delta.content == "Hel"
    with pytest.raises(llmux.MidStreamFallbackError) as info:
        list(stream)
    assert isinstance(info.value, llmux.ServiceUnavailableError)
    assert stream.finished


def _stalling_router(make_router: MakeRouter, provider: RecordingProvider, model: str) -> llmux.Router:
    return make_router([make_deployment(provider.base_url, "stall", model, f"{model}-1")], num_retries=0)


def test_closing_a_sync_stream_cancels_the_call(make_router: MakeRouter, provider: RecordingProvider) -> None:
    router = _stalling_router(make_router, provider, "stall-close")
    stream = router.completion(model="stall", messages=user(), stream=True)
    assert next(stream).choices[0].delta.content == "Hel"
    assert router.health("stall")[0].in_flight == 1
    stream.close()
    wait_until(lambda: "stall-close" in provider.disconnects, "the provider to see the connection closed")
    wait_until(lambda: router.health("stall")[0].in_flight == 0, "the call to end")
    assert list(stream) == []


def test_leaving_a_with_block_cancels_the_call(make_router: MakeRouter, provider: RecordingProvider) -> None:
    router = _stalling_router(make_router, provider, "stall-with")
    with router.completion(model="stall", messages=user(), stream=True) as stream:
        next(stream)
    wait_until(lambda: "stall-with" in provider.disconnects, "the provider to see the connection closed")


def test_garbage_collecting_a_sync_stream_cancels_the_call(make_router: MakeRouter,
                                                           provider: RecordingProvider) -> None:
    router = _stalling_router(make_router, provider, "stall-gc")
    stream = router.completion(model="stall", messages=user(), stream=True)
    next(stream)
    del stream
    gc.collect()
    wait_until(lambda: "stall-gc" in provider.disconnects, "the provider to see the connection closed")
    wait_until(lambda: router.health("stall")[0].in_flight == 0, "the call to end")


def test_closing_an_async_stream_cancels_the_call(make_router: MakeRouter, provider: RecordingProvider) -> None:
    router = _stalling_router(make_router, provider, "stall-async")

    async def run() -> None:
        stream = await router.acompletion(model="stall", messages=user(), stream=True)
        async for chunk in stream:
            assert chunk.choices[0].delta.content == "Hel"
            break
        await stream.aclose()
        assert stream.finished

    asyncio.run(run())
    wait_until(lambda: "stall-async" in provider.disconnects, "the provider to see the connection closed")


def test_cancelling_the_task_reading_an_async_stream_cancels_the_call(make_router: MakeRouter,
                                                                      provider: RecordingProvider) -> None:
    router = _stalling_router(make_router, provider, "stall-task")

    async def read_all() -> None:
        stream = await router.acompletion(model="stall", messages=user(), stream=True)
        async for _ in stream:
            pass

    async def run() -> None:
        task = asyncio.ensure_future(read_all())
        for _ in range(2000):  # hang guard
            if "stall-task" in provider.disconnects or router.health("stall")[0].in_flight:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    wait_until(lambda: "stall-task" in provider.disconnects, "the provider to see the connection closed")
