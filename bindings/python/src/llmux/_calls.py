"""How one call's result travels from the router's I/O thread to the code waiting for it.

Every call, blocking or not, is started with the library's asynchronous functions and handed a
:class:`~llmux._ffi.PendingCall` from this module:

- :class:`BlockingCall` — a thread waits on an Event (sync ``completion`` / ``embedding``);
- :class:`FutureCall` — an asyncio future resolved through ``loop.call_soon_threadsafe``;
- :class:`StreamChannel` / :class:`AsyncStreamChannel` — chunks queued for a sync or async consumer.

The blocking API waits in Python rather than inside ``llmux_completion`` so that Ctrl-C reaches a
waiting thread (and cancels the call), and so that no thread is ever inside the library for long
while the router is being closed.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from typing import Any, Callable, Optional, Union

from ._ffi import Outcome, PendingCall, Status
from .exceptions import LLMuxInternalError, error_from_detail, error_from_status
from .types import hidden_params

__all__ = [
    "AsyncStreamChannel",
    "BlockingCall",
    "FutureCall",
    "StreamChannel",
    "WAIT_SLICE_SECONDS",
    "parse_json",
    "raise_for_outcome",
    "hidden_from_text",
    "split_response",
    "split_response_lazily",
]

#: Longest single wait of a blocking consumer: waits are sliced so that signals (Ctrl-C) are
#: handled promptly on every platform.
WAIT_SLICE_SECONDS = 0.2


_DECODER = json.JSONDecoder()
_SCAN = _DECODER.scan_once


def parse_json(data: bytes, what: str) -> Any:
    """Parses JSON the library produced (UTF-8; a failure is a bug in llmux, reported as such)."""
    try:
        return _DECODER.decode(data.decode("utf-8"))
    except ValueError as exc:
        raise LLMuxInternalError(f"llmux returned invalid JSON for {what}: {exc}") from exc


def raise_for_outcome(outcome: Outcome) -> None:
    """Raises the exception of a failed outcome (the callback's own error first)."""
    if outcome.callback_error is not None:
        raise outcome.callback_error
    if outcome.status != Status.OK:
        if outcome.error is not None:
            raise error_from_detail(outcome.error)
        raise error_from_status(outcome.status, "llmux: the call failed without error details")


def split_response(outcome: Outcome, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(visible body, ``_hidden_params``) of a successful outcome; raises for a failed one."""
    raise_for_outcome(outcome)
    body = parse_json(outcome.response or b"{}", what)
    if not isinstance(body, dict):
        raise LLMuxInternalError(f"llmux returned a {type(body).__name__} for {what}, expected an object")
    metadata = body.pop("_llmux", None)
    return body, hidden_params(metadata if isinstance(metadata, dict) else {})


#: The key of the router metadata llmux appends as the last member of a response's object
#: (llmux::append_response_json_tail: ``,"_llmux":{...}}``). Its members' names are all fixed by the
#: library and its strings escaped, so the last occurrence of these bytes is that member's key.
_METADATA_KEY = b'"_llmux":'


def split_response_lazily(outcome: Outcome, what: str) -> tuple[dict[str, Any], Union[bytes, dict[str, Any]]]:
    """:func:`split_response`, leaving the router metadata unparsed: (visible body, the metadata
    object's JSON text) — :func:`hidden_from_text` makes it ``_hidden_params`` when it is read.

    The metadata is most of a response's text (attempt log, headers) and seldom read: parsing only
    the provider's part halves the decoding. A response without the library's tail (or one
    this split does not fit) is parsed whole, with its ``_hidden_params`` as a dict."""
    raise_for_outcome(outcome)
    text = outcome.response or b"{}"
    at = text.rfind(_METADATA_KEY)
    if at > 0 and text[-2:] == b"}}":
        # The head is the provider's object without its "}" and, unless empty, a "," before the key.
        head = text[:at - 1] if text[at - 1] == 0x2C else text[:at]  # 0x2C: ","
        try:
            json_text = (head + b"}").decode("utf-8")
            # The scanner itself (what JSONDecoder.decode runs, without its two whitespace regexes):
            # the head starts with "{" and the text ends with the "}" put there.
            body, end = _SCAN(json_text, 0)
        except (StopIteration, ValueError):  # parsed whole below, which says what is wrong
            body, end = None, -1
        if isinstance(body, dict) and end == len(json_text):
            body.pop("_llmux", None)  # a provider's own member of that name: not part of the response
            return body, text[at + len(_METADATA_KEY):-1]
    return split_response(outcome, what)


def hidden_from_text(metadata: Union[bytes, dict[str, Any]]) -> dict[str, Any]:
    """``_hidden_params`` for metadata from :func:`split_response_lazily` (a dict is already that)."""
    if type(metadata) is not bytes:
        return metadata  # type: ignore[return-value]
    parsed = parse_json(metadata, "a response's router metadata")
    return hidden_params(parsed if isinstance(parsed, dict) else {})


class BlockingCall(PendingCall):
    """A call a thread waits for."""

    def __init__(self) -> None:
        super().__init__()
        self._done = threading.Event()
        self._outcome: Optional[Outcome] = None

    def _deliver(self, outcome: Outcome) -> None:
        self._outcome = outcome
        self._done.set()

    def wait(self) -> Outcome:
        """Waits for the outcome, in slices so that KeyboardInterrupt is seen (the caller cancels
        the call when the wait is interrupted)."""
        while not self._done.wait(WAIT_SLICE_SECONDS):
            pass
        assert self._outcome is not None
        return self._outcome


class FutureCall(PendingCall):
    """A call an asyncio task awaits: the outcome resolves :attr:`future` on its loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self.future: asyncio.Future[Outcome] = loop.create_future()

    def _deliver(self, outcome: Outcome) -> None:
        try:
            self._loop.call_soon_threadsafe(self._resolve, outcome)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting any more

    def _resolve(self, outcome: Outcome) -> None:
        if not self.future.done():  # a cancelled await leaves a cancelled future
            self.future.set_result(outcome)


#: What a stream channel yields: a chunk's bytes, or the final outcome.
StreamItem = Union[bytes, Outcome]


class StreamChannel(PendingCall):
    """Chunks and outcome of a stream consumed by a thread (unbounded: the I/O thread never waits)."""

    def __init__(self) -> None:
        super().__init__()
        self._items: "queue.SimpleQueue[StreamItem]" = queue.SimpleQueue()
        self.stopped = False

    def on_chunk(self, chunk: bytes) -> bool:
        if self.stopped:
            return False
        self._items.put(chunk)
        return True

    def _deliver(self, outcome: Outcome) -> None:
        self._items.put(outcome)

    def next_item(self, cancel: Callable[[], object]) -> StreamItem:
        """The next chunk or the outcome, waiting in slices; an interrupted wait cancels the call."""
        try:
            while True:
                try:
                    return self._items.get(timeout=WAIT_SLICE_SECONDS)
                except queue.Empty:
                    continue
        except BaseException:
            cancel()
            raise


class AsyncStreamChannel(PendingCall):
    """Chunks and outcome of a stream consumed by an asyncio task, queued on its loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._items: "asyncio.Queue[StreamItem]" = asyncio.Queue()
        self.stopped = False

    def on_chunk(self, chunk: bytes) -> bool:
        if self.stopped:
            return False
        # RuntimeError when the loop is closed: the stream stops (nobody is reading it).
        self._loop.call_soon_threadsafe(self._items.put_nowait, chunk)
        return True

    def _deliver(self, outcome: Outcome) -> None:
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, outcome)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting any more

    async def next_item(self) -> StreamItem:
        """The next chunk or the outcome."""
        return await self._items.get()

