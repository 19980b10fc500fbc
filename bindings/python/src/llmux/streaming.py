"""Streams of :class:`~llmux.types.ModelResponseStream` chunks, like LiteLLM's ``CustomStreamWrapper``.

``Router.completion(stream=True)`` returns a :class:`CompletionStream` (iterate it in any thread);
``await Router.acompletion(stream=True)`` returns an :class:`AsyncCompletionStream` (``async for``).
Both are returned once the first chunk has arrived, so an error before the first token (after the
router's retries and fallbacks) is raised by the call itself, as with LiteLLM; a failure after it
(:class:`~llmux.MidStreamFallbackError`, ...) is raised by the iteration.

Stopping early — ``close()`` / ``aclose()``, leaving a ``with`` block, or dropping the last
reference — cancels the call. After the last chunk the stream holds the call's router metadata in
``_hidden_params`` (as a response's) and the final ``usage``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Generic, Optional, Protocol, TypeVar

from ._calls import AsyncStreamChannel, StreamChannel, parse_json, split_response
from ._ffi import Outcome
from .exceptions import LLMuxError, LLMuxInternalError
from .types import ModelResponseStream, Usage, make_usage

__all__ = ["AsyncCompletionStream", "CompletionStream", "StreamReport"]


class StreamReport(Protocol):
    """Runs the router's callbacks when a stream ends (response = the stream, or the exception)."""

    def report(self, outcome: Outcome, metadata: dict[str, Any], response: Any,
               exception: Optional[BaseException]) -> None: ...

    def areport(self, outcome: Outcome, metadata: dict[str, Any], response: Any,
                exception: Optional[BaseException]) -> Awaitable[None]: ...


def _chunk_from(data: bytes) -> ModelResponseStream:
    """The chunk's object (``litellm.ModelResponseStream`` when LiteLLM's types are in use)."""
    body = parse_json(data, "a stream chunk")
    if not isinstance(body, dict):
        raise LLMuxInternalError(f"llmux returned a {type(body).__name__} stream chunk, expected an object")
    return ModelResponseStream(body)


_Channel = TypeVar("_Channel", StreamChannel, AsyncStreamChannel)


class _StreamState(Generic[_Channel]):
    """What both stream kinds share: the first chunk, the finish bookkeeping, the final metadata."""

    def __init__(self, channel: _Channel, cancel: Callable[[], object], report: Optional[StreamReport] = None
                 ) -> None:
        self._channel: _Channel = channel
        self._report = report
        self._cancel_call = cancel
        self._first: Optional[ModelResponseStream] = None  # read before the stream was returned
        self._finished = False
        #: The call's router metadata under LiteLLM's names (filled when the stream ends).
        self._hidden_params: dict[str, Any] = {}
        #: The token usage of the whole stream (set when the stream ends).
        self.usage: Optional[Usage] = None

    @property
    def finished(self) -> bool:
        """True once the stream ended (last chunk read, error raised, or closed)."""
        return self._finished

    def _finish(self, outcome: Outcome) -> None:
        """Records the end of the stream; raises the error of a failed one."""
        self._finished = True
        _, self._hidden_params = split_response(outcome, "the end of a stream")
        usage = self._hidden_params.get("usage")
        self.usage = make_usage(usage) if isinstance(usage, dict) else None

    def _finish_and_report(self, outcome: Outcome) -> None:
        """_finish, then the sync callbacks (with the stream as the response, or the error)."""
        try:
            self._finish(outcome)
        except LLMuxError as exc:
            if self._report is not None:
                self._report.report(outcome, exc.llmux_metadata, None, exc)
            raise
        if self._report is not None:
            self._report.report(outcome, self._hidden_params, self, None)

    async def _afinish_and_report(self, outcome: Outcome) -> None:
        """_finish, then the callbacks of an async call."""
        try:
            self._finish(outcome)
        except LLMuxError as exc:
            if self._report is not None:
                await self._report.areport(outcome, exc.llmux_metadata, None, exc)
            raise
        if self._report is not None:
            await self._report.areport(outcome, self._hidden_params, self, None)

    def _take_first(self) -> Optional[ModelResponseStream]:
        first, self._first = self._first, None
        return first

    def close(self) -> None:
        """Stops the stream; a call still in flight is cancelled. Safe to call more than once."""
        self._first = None
        if self._finished:
            return
        self._finished = True
        self._channel.stopped = True  # refuse chunks already on their way
        self._cancel_call()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # never raise from a finaliser (e.g. at interpreter exit)
            pass


class CompletionStream(_StreamState[StreamChannel]):
    """The chunks of a streaming completion, for a thread (``for chunk in stream``)."""

    def _start(self) -> "CompletionStream":
        """Waits for the first chunk (or the outcome, raising its error) before the stream is returned."""
        self._first = self._read()
        return self

    def _read(self) -> Optional[ModelResponseStream]:
        """The next chunk, or None at the end."""
        item = self._channel.next_item(self.close)
        if isinstance(item, Outcome):
            self._finish_and_report(item)
            return None
        return _chunk_from(item)

    def __iter__(self) -> "CompletionStream":
        return self

    def __next__(self) -> ModelResponseStream:
        first = self._take_first()
        if first is not None:
            return first
        if self._finished:
            raise StopIteration
        try:
            chunk = self._read()
        except BaseException:
            self.close()  # a call still in flight (e.g. an unreadable chunk) is cancelled
            raise
        if chunk is None:
            raise StopIteration
        return chunk

    def __enter__(self) -> "CompletionStream":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CompletionStream(finished={self._finished})"


class AsyncCompletionStream(_StreamState[AsyncStreamChannel]):
    """The chunks of a streaming ``acompletion``, for an asyncio task (``async for chunk in stream``)."""

    async def _start(self) -> "AsyncCompletionStream":
        """Waits for the first chunk (or the outcome, raising its error) before the stream is returned."""
        try:
            self._first = await self._read()
        except BaseException:
            self.close()  # task cancelled while waiting: cancel the call
            raise
        return self

    async def _read(self) -> Optional[ModelResponseStream]:
        item = await self._channel.next_item()
        if isinstance(item, Outcome):
            await self._afinish_and_report(item)
            return None
        return _chunk_from(item)

    def __aiter__(self) -> "AsyncCompletionStream":
        return self

    async def __anext__(self) -> ModelResponseStream:
        first = self._take_first()
        if first is not None:
            return first
        if self._finished:
            raise StopAsyncIteration
        try:
            chunk = await self._read()
        except BaseException:
            self.close()
            raise
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        """Async spelling of :meth:`close` (as async generators have)."""
        self.close()

    async def __aenter__(self) -> "AsyncCompletionStream":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AsyncCompletionStream(finished={self._finished})"
