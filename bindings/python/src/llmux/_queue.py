"""Calls whose outcome comes back through a completion queue (capi/llmux.h, ``llmux_queue_*``).

A done callback from the router's I/O thread costs Python a thread state and a GIL hand-over per
call; a completion queue costs neither: the library appends each call's outcome to a queue as a
record, and the consumer collects the records on its own thread.

- Blocking calls (:func:`blocking_call`): each thread has its own queue and buffer. One foreign
  call (``llmux_queue_call``) submits the call and waits a first slice for it — a quick call is
  done there; a longer one is waited for in further slices, so that Ctrl-C is seen between them
  (and cancels the call).
- Awaited calls (:class:`LoopQueue`): one queue per event loop, whose file descriptor the loop
  watches (``add_reader``); when it is readable, every record waiting is moved out in one foreign
  call and its future resolved on the loop — no ``call_soon_threadsafe`` per call.

Used for calls whose router does not report events (the events travel with the done callback; a
router with ``on_event`` keeps the callback path, see :mod:`llmux._calls`).
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import struct
import threading
import weakref
from typing import Any, Callable, Optional

from . import _ffi
from ._ffi import ErrorDetail, Outcome, Status

__all__ = ["LoopQueue", "blocking_call", "loop_queue"]

#: The record header (capi/llmux.h): tag, size, status, http_status, body_len, type_len,
#: message_len, spill, reserved.
_HEADER = struct.Struct("=QQiiQQQQQ")
assert _HEADER.size == 64
#: First wait of a blocking call, inside the submitting foreign call (ms): long enough for a quick
#: call to be done in one crossing, short enough that Router.close (which waits for threads that
#: are inside the library with its handle) is never held up for long.
FIRST_WAIT_MS = 20
#: Later waits (ms): how soon a waiting thread sees Ctrl-C.
WAIT_MS = 200
#: Bytes of each queue's buffer: a record whose text does not fit comes as a spill.
_CAPACITY = 64 * 1024

_tags = itertools.count(1)
_OK = int(Status.OK)


def _records(buffer: Any, written: int) -> list[tuple[int, Outcome]]:
    """(tag, outcome) of each record in ``buffer[:written]``."""
    out = []
    view = memoryview(buffer)
    offset = 0
    lib = None
    while offset < written:
        tag, size, status, http_status, body_len, type_len, message_len, spill, _ = _HEADER.unpack_from(buffer, offset)
        text_len = body_len + type_len + message_len
        if spill:
            lib = lib or _ffi.library()
            try:
                text = ctypes.string_at(spill, text_len)
            finally:
                lib.llmux_free(spill)
        elif text_len:
            text = view[offset + 64:offset + 64 + text_len].tobytes()
        else:
            text = b""
        offset += size
        if status == Status.OK:
            out.append((tag, Outcome(status=status, response=text)))
            continue
        try:
            if type_len == 0 and message_len == 0 and status == Status.OUT_OF_MEMORY:
                error = ErrorDetail.from_status(status, "llmux: out of memory")
            else:
                error = ErrorDetail.unpack(status, http_status, text[:body_len], text[body_len:body_len + type_len],
                                           text[body_len + type_len:])
            outcome = Outcome(status=status, error=error)
        except BaseException as exc:  # the call's consumer gets it, as from a done callback
            outcome = Outcome(status=status, callback_error=exc)
        out.append((tag, outcome))
    return out


class _Queue:
    """One ``llmux_queue`` and the buffer its records are moved into."""

    def __init__(self) -> None:
        lib = _ffi.library()
        handle = lib.llmux_queue_new()
        if not handle:
            raise MemoryError("llmux: llmux_queue_new failed")
        self.handle: int = handle
        self.buffer = ctypes.create_string_buffer(_CAPACITY)
        self.address = ctypes.addressof(self.buffer)
        #: Out-parameters of the submitting functions: bytes written, call id.
        self.out = (ctypes.c_uint64 * 2)()
        self.written_address = ctypes.addressof(self.out)
        self.call_id_address = self.written_address + 8
        #: Frees the native queue when this object goes (calls still in flight keep its memory).
        self.free = weakref.finalize(self, lib.llmux_queue_free, handle)
        # Not at interpreter exit: a daemon thread may still be waiting on the queue inside the library.
        self.free.atexit = False

    def pop(self, timeout_ms: int) -> list[tuple[int, Outcome]]:
        written = _ffi.library().llmux_queue_pop(self.handle, timeout_ms, self.address, _CAPACITY)
        return _records(self.buffer, written) if written else []


class _ThreadQueue(_Queue):
    """A thread's queue for its blocking calls. A call made while another waits on the same thread
    (from a signal handler) may collect the other's record: it is kept in :attr:`stash` for it."""

    def __init__(self) -> None:
        super().__init__()
        self.stash: dict[int, Outcome] = {}
        #: Tags of calls whose wait was interrupted: their records are dropped when they come.
        self.abandoned: set[int] = set()

    def keep(self, records: list[tuple[int, Outcome]], tag: int) -> Optional[Outcome]:
        """The outcome of ``tag`` among ``records``; the others stashed or dropped."""
        found = None
        for record_tag, outcome in records:
            if record_tag == tag:
                found = outcome
            elif record_tag in self.abandoned:
                self.abandoned.discard(record_tag)
            else:
                self.stash[record_tag] = outcome
        return found


_thread = threading.local()


def _thread_queue() -> _ThreadQueue:
    try:
        return _thread.queue  # type: ignore[no-any-return]
    except AttributeError:
        queue = _thread.queue = _ThreadQueue()
        return queue


def _refused(status: int, kind: str) -> BaseException:
    from .exceptions import error_from_status  # the exceptions import nothing from here

    return error_from_status(status, f"llmux: the {kind} request was refused")


def blocking_call(router: Any, endpoint: int, kind: str, body: bytes) -> Outcome:
    """Runs a call of ``router`` on this thread's queue and returns its outcome.

    ``router`` gives ``_acquire``/``_release`` (its handle, kept valid during the submitting
    crossing) and ``_cancel`` (after an interrupted wait). Raises the library's refusal to start
    the call as its LLMuxError; an interrupt (KeyboardInterrupt) cancels the call.
    """
    queue = _thread_queue()
    tag = next(_tags)
    out = queue.out
    out[1] = 0
    try:
        handle = router._acquire()
        try:
            status = _ffi.library().llmux_queue_call(handle, queue.handle, endpoint, body, len(body), tag,
                                                     FIRST_WAIT_MS, queue.address, _CAPACITY,
                                                     queue.written_address, queue.call_id_address)
        finally:
            router._release()
        if status != Status.OK:
            raise _refused(status, kind)
        written = out[0]
        if written:
            # The common case, read here rather than by _records: this call's record alone, a
            # success with its text inline (no error texts, no spill).
            buffer = queue.buffer
            record_tag, size, status, _, body_len, _, _, spill, _ = _HEADER.unpack_from(buffer, 0)
            if record_tag == tag and size == written and status == _OK and not spill:
                return Outcome(_OK, buffer[64:64 + body_len])  # a c_char array's slice is bytes
            records = _records(buffer, written)
            if len(records) == 1 and records[0][0] == tag:
                return records[0][1]
            found = queue.keep(records, tag)
            if found is not None:
                return found
        while True:
            found = queue.stash.pop(tag, None)
            if found is not None:
                return found
            found = queue.keep(queue.pop(WAIT_MS), tag)
            if found is not None:
                return found
    except BaseException:
        if out[1] and tag not in queue.stash:
            queue.abandoned.add(tag)
            router._cancel(out[1])
        queue.stash.pop(tag, None)
        raise


class LoopQueue:
    """The queue of one event loop's awaited calls: futures resolved when the loop sees its fd.

    Used on its loop's thread only. Holds no reference to the loop (the loop holds it, through
    its reader), so a loop nobody uses any more is collected with its queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queue = _Queue()
        self._waiting: dict[int, "asyncio.Future[Outcome]"] = {}
        fd = _ffi.library().llmux_queue_fd(self._queue.handle)
        if fd < 0:
            raise NotImplementedError("llmux: no queue file descriptor on this platform")
        loop.add_reader(fd, self._drain)  # NotImplementedError on loops without readers (Windows' proactor)

    def submit(self, router: Any, loop: asyncio.AbstractEventLoop, endpoint: int, kind: str, body: bytes
               ) -> tuple["asyncio.Future[Outcome]", int]:
        """Starts a call; returns its future (resolved on ``loop``, this queue's) and its id."""
        tag = next(_tags)
        queue = self._queue
        handle = router._acquire()
        try:
            status = _ffi.library().llmux_queue_submit(handle, queue.handle, endpoint, body, len(body), tag,
                                                       queue.call_id_address)
        finally:
            router._release()
        if status != Status.OK:
            raise _refused(status, kind)
        future = loop.create_future()
        self._waiting[tag] = future
        return future, queue.out[1]

    def _drain(self) -> None:
        waiting = self._waiting
        while True:
            records = self._queue.pop(0)
            if not records:
                return
            for tag, outcome in records:
                future = waiting.pop(tag, None)
                if future is not None and not future.done():  # a cancelled await leaves a cancelled future
                    future.set_result(outcome)


_loop_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Optional[LoopQueue]]" = \
    weakref.WeakKeyDictionary()


def loop_queue(loop: asyncio.AbstractEventLoop) -> Optional[LoopQueue]:
    """The loop's queue (made on first use), or None where the loop cannot watch one."""
    last_loop, last_queue = _last
    if last_loop() is loop:  # the common case: the same loop as the previous call
        return last_queue
    queue = _lookup(loop)
    globals()["_last"] = (weakref.ref(loop, _forget), queue)  # one tuple: threads see the old or the new pair
    return queue


def _forget(gone: Any) -> None:
    """The loop of the latest lookup was collected: its queue goes too."""
    if _last[0] is gone:
        globals()["_last"] = (_dead, None)


def _lookup(loop: asyncio.AbstractEventLoop) -> Optional[LoopQueue]:
    queue = _loop_queues.get(loop, _ABSENT)
    if queue is not _ABSENT:
        return queue  # type: ignore[return-value]
    try:
        queue = LoopQueue(loop)
    except NotImplementedError:
        queue = None
    _loop_queues[loop] = queue
    return queue  # type: ignore[return-value]


_ABSENT = object()


def _dead() -> None:
    return None


#: (weak reference to the loop of the latest lookup, its queue): the lookup without a weakref made
#: per call. The queue holds no reference to its loop, so this keeps no loop alive; the pair is
#: dropped when that loop is collected.
_last: tuple[Callable[[], Any], Optional[LoopQueue]] = (_dead, None)
