"""The C ABI (capi/llmux.h) through ctypes: library discovery, every declaration, the callbacks.

Everything that touches ctypes lives here. The rest of the package sees:

- :func:`library` — the loaded, ABI-checked ``libllmux`` (found on first use);
- :class:`PendingCall` / :class:`Outcome` / :class:`ErrorDetail` — how one call's chunks and final
  outcome reach Python;
- :func:`register` / :func:`unregister` and the two module-level C callbacks :data:`DONE_CALLBACK`
  and :data:`CHUNK_CALLBACK`.

Callbacks: ctypes would free a ``CFUNCTYPE`` object that nothing references while the library may
still call it, so there is exactly one done callback and one chunk callback for the whole process,
kept alive by this module. Each call passes ``user_data`` = an integer key into :data:`_pending`,
the registry of calls in flight; the done callback removes the entry. The callback bodies catch
every exception: a raising Python callback must not unwind into C (ctypes would print it and carry
on with a default return value) and must not lose the call, so the error is handed to the call's
consumer instead.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import struct
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

__all__ = [
    "ABI_VERSION",
    "CHUNK_CALLBACK",
    "DONE_CALLBACK",
    "EVENT_CALLBACK",
    "LOG_CALLBACK",
    "LogLevel",
    "RouterOptions",
    "RouterSink",
    "ErrorDetail",
    "LibraryNotFoundError",
    "Outcome",
    "PendingCall",
    "Status",
    "in_callback",
    "has_queues",
    "library",
    "register",
    "take_string",
    "unregister",
]

#: The LLMUX_ABI_VERSION of the capi/llmux.h this package was written for.
ABI_VERSION = 1


class Status:
    """``llmux_status`` values (capi/llmux.h; stable, append only)."""

    OK = 0
    BAD_REQUEST = 1
    CONTEXT_WINDOW_EXCEEDED = 2
    CONTENT_POLICY_VIOLATION = 3
    AUTHENTICATION = 4
    PERMISSION_DENIED = 5
    NOT_FOUND = 6
    TIMEOUT = 7
    RATE_LIMIT = 8
    NO_DEPLOYMENTS_AVAILABLE = 9
    BUDGET_EXCEEDED = 10
    INTERNAL_SERVER = 11
    BAD_GATEWAY = 12
    SERVICE_UNAVAILABLE = 13
    API = 14
    CONNECTION = 15
    MID_STREAM = 16
    CANCELLED = 17
    INVALID_CONFIG = 18
    INVALID_ARGUMENT = 19
    OUT_OF_MEMORY = 100
    INTERNAL = 101


class LogLevel:
    """``llmux_log_level`` values."""

    DEBUG = 1
    INFO = 2
    WARN = 3
    ERROR = 4


class LibraryNotFoundError(ImportError):
    """No usable ``libllmux`` was found (missing, not loadable, or built for another ABI version).

    The message lists every place that was tried and why each was rejected.
    """


# ---- library discovery --------------------------------------------------------------------------
#
# In order: LLMUX_LIBRARY (an explicit override, used alone); the library next to the package (what
# the wheel ships, with its dependencies in llmux.libs/ found through its RPATH); the build trees of
# an llmux checkout above the package or the working directory (the sources used in place).

if sys.platform == "darwin":
    _LIBRARY_GLOB = "libllmux*.dylib"
elif sys.platform == "win32":
    _LIBRARY_GLOB = "llmux*.dll"
else:
    _LIBRARY_GLOB = "libllmux.so*"


def _library_files(directory: Path) -> list[Path]:
    """The libllmux files in ``directory``, the unversioned name first."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(_LIBRARY_GLOB), key=lambda p: (len(p.name), p.name))


def _repo_roots() -> list[Path]:
    """Checkouts of llmux this package may belong to: ancestors (of the package, then of the
    working directory) that contain ``capi/llmux.h``. A source tree or a venv inside a build
    directory finds its build this way."""
    roots: list[Path] = []
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for directory in (start, *start.parents):
            if (directory / "capi" / "llmux.h").is_file() and directory not in roots:
                roots.append(directory)
    return roots


def _build_tree_dirs(root: Path) -> list[Path]:
    """<repo>/build/lib first (CI builds into <repo>/build), then other <repo>/build*/lib, then
    <repo>/build/*/lib (named build trees such as build/release)."""
    dirs = [root / "build" / "lib"]
    dirs += sorted(p / "lib" for p in root.glob("build*") if p.is_dir() and p.name != "build")
    dirs += sorted(p / "lib" for p in (root / "build").glob("*") if p.is_dir() and p.name != "lib")
    return dirs


def _candidate_places() -> list[tuple[str, list[Path]]]:
    """(directory description, library files in it) for every place searched, in order."""
    package_dir = Path(__file__).resolve().parent
    places = [(f"next to the package ({package_dir})", _library_files(package_dir))]
    for root in _repo_roots():
        places += [(f"build tree ({d})", _library_files(d)) for d in _build_tree_dirs(root)]
    return places


# Sanitizer runtimes that must be loaded before anything else: a library built with one aborts a
# normal Python process at load time (no exception to catch), so discovery skips such builds.
_PRELOADED_RUNTIMES = (b"libasan.so", b"libtsan.so", b"libhwasan.so", b"__asan_init", b"__tsan_init", b"__msan_init")


def _sanitizer_runtime(path: Path) -> Optional[str]:
    """The sanitizer runtime an ELF shared object needs (from its dynamic string table), or None."""
    try:
        with path.open("rb") as f:
            ident = f.read(16)
            if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
                return None
            wide, order = ident[4] == 2, "<" if ident[5] == 1 else ">"
            f.seek(0x28 if wide else 0x20)
            (shoff,) = struct.unpack(order + ("Q" if wide else "I"), f.read(8 if wide else 4))
            f.seek(0x3A if wide else 0x2E)
            shentsize, shnum = struct.unpack(order + "HH", f.read(4))
            # Section header: name, type, flags, addr, offset, size, link, ...
            layout = order + ("IIQQQQI" if wide else "IIIIIII")
            headers = []
            for index in range(shnum):
                f.seek(shoff + index * shentsize)
                headers.append(struct.unpack(layout, f.read(struct.calcsize(layout))))
            for _, section_type, _, _, _, _, link in headers:
                if section_type == 6 and link < len(headers):  # SHT_DYNAMIC → its string table
                    f.seek(headers[link][4])
                    strings = f.read(headers[link][5])
                    found = next((name for name in _PRELOADED_RUNTIMES if name in strings), None)
                    return found.decode() if found else None
    except (OSError, struct.error):
        return None
    return None


def _load(path: Path) -> ctypes.CDLL:
    """Loads ``path``, declares every function and checks the ABI version (raises OSError,
    AttributeError or ValueError with the reason)."""
    lib = ctypes.CDLL(str(path))
    # The version first: a library of another ABI may lack functions this package declares.
    abi_version = lib.llmux_abi_version
    abi_version.restype, abi_version.argtypes = ctypes.c_int, []
    abi = abi_version()
    if abi != ABI_VERSION:
        raise ValueError(f"ABI version {abi}, this package needs {ABI_VERSION}")
    _declare(lib)
    return lib


def _find_and_load() -> tuple[ctypes.CDLL, Path]:
    explicit = os.environ.get("LLMUX_LIBRARY")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise LibraryNotFoundError(f"llmux: LLMUX_LIBRARY={explicit} is not a file")
        try:
            return _load(path), path
        except (OSError, AttributeError, ValueError) as exc:
            raise LibraryNotFoundError(f"llmux: LLMUX_LIBRARY={explicit} is not usable: {exc}") from exc

    tried: list[str] = ["LLMUX_LIBRARY: not set"]
    if not _repo_roots():
        tried.append("build tree: no llmux checkout (a directory with capi/llmux.h) above the package or the "
                     "working directory")
    for description, files in _candidate_places():
        if not files:
            tried.append(f"{description}: no {_LIBRARY_GLOB}")
            continue
        for path in files:
            runtime = _sanitizer_runtime(path)
            if runtime:
                tried.append(f"{path}: skipped, built with a sanitizer ({runtime}); set LLMUX_LIBRARY to use it")
                continue
            try:
                return _load(path), path
            except (OSError, AttributeError, ValueError) as exc:
                tried.append(f"{path}: {exc}")
    raise LibraryNotFoundError(
        "llmux: libllmux not found. Looked at:\n  - "
        + "\n  - ".join(tried)
        + "\nInstall the llmux-router wheel (pip install ./bindings/python builds it with the library inside), "
        "set LLMUX_LIBRARY to the path of libllmux (e.g. <repo>/build/lib/libllmux.so), "
        "or build llmux (cmake -S . -B build && cmake --build build)."
    )


_library: Optional[ctypes.CDLL] = None
_library_path: Optional[Path] = None
_library_lock = threading.Lock()


def library() -> ctypes.CDLL:
    """The loaded libllmux (found, declared and ABI-checked on first use).

    Raises:
        LibraryNotFoundError: no usable library; the message says where it looked.
    """
    global _library, _library_path
    if _library is None:
        with _library_lock:
            if _library is None:
                _library, _library_path = _find_and_load()
    return _library


def library_path() -> Path:
    """The file the library was loaded from (loads it if needed)."""
    library()
    assert _library_path is not None
    return _library_path


# ---- declarations -------------------------------------------------------------------------------

_status = ctypes.c_int
_handle = ctypes.c_void_p  # llmux_router*, llmux_error*: opaque
_out_ptr = ctypes.POINTER(ctypes.c_void_p)  # char** / llmux_router** / llmux_error** out-params

#: void (*)(void* user_data, llmux_status, const char* response, size_t len, const llmux_error*)
DoneCallbackType = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                                    ctypes.c_void_p)
#: int (*)(void* user_data, const char* chunk, size_t len)
ChunkCallbackType = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)

#: void (*)(void* user_data, llmux_log_level, const char* message, size_t len)
LogCallbackType = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
#: void (*)(void* user_data, const char* event_json, size_t len)
EventCallbackType = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class RouterOptions(ctypes.Structure):
    """``llmux_router_options`` (size-versioned: ``struct_size`` is set by the constructor)."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("on_event", EventCallbackType),
        ("event_user_data", ctypes.c_void_p),
        ("log", LogCallbackType),
        ("log_user_data", ctypes.c_void_p),
        ("random_seed", ctypes.c_uint64),
    ]

    def __init__(self, **fields: object) -> None:
        super().__init__(struct_size=ctypes.sizeof(RouterOptions), **fields)


_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    # library
    "llmux_version": (ctypes.c_char_p, []),
    "llmux_abi_version": (ctypes.c_int, []),
    "llmux_free": (None, [ctypes.c_void_p]),
    "llmux_status_string": (ctypes.c_char_p, [_status]),
    # errors (strings owned by the error: copied by c_char_p)
    "llmux_error_message": (ctypes.c_char_p, [_handle]),
    "llmux_error_type": (ctypes.c_char_p, [_handle]),
    "llmux_error_status": (ctypes.c_int, [_handle]),
    "llmux_error_code": (_status, [_handle]),
    "llmux_error_json": (ctypes.c_char_p, [_handle]),
    "llmux_error_free": (None, [_handle]),
    # router
    "llmux_router_new": (_status, [ctypes.c_char_p, ctypes.c_size_t, _out_ptr, _out_ptr]),
    "llmux_router_new_with_options": (_status, [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(RouterOptions),
                                                _out_ptr, _out_ptr]),
    "llmux_log_set": (None, [LogCallbackType, ctypes.c_void_p]),
    "llmux_router_free": (None, [_handle]),
    # calls
    "llmux_completion": (_status, [_handle, ctypes.c_char_p, ctypes.c_size_t, _out_ptr, _out_ptr]),
    "llmux_completion_async": (_status, [_handle, ctypes.c_char_p, ctypes.c_size_t, DoneCallbackType,
                                         ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64)]),
    "llmux_completion_stream": (_status, [_handle, ctypes.c_char_p, ctypes.c_size_t, ChunkCallbackType,
                                          DoneCallbackType, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64)]),
    "llmux_cancel": (_status, [_handle, ctypes.c_uint64]),
    "llmux_embedding": (_status, [_handle, ctypes.c_char_p, ctypes.c_size_t, _out_ptr, _out_ptr]),
    "llmux_embedding_async": (_status, [_handle, ctypes.c_char_p, ctypes.c_size_t, DoneCallbackType,
                                        ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64)]),
    "llmux_call": (_status, [_handle, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, _out_ptr, _out_ptr]),
    "llmux_call_async": (_status, [_handle, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, DoneCallbackType,
                                   ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64)]),
    # deployments, health, metrics
    "llmux_router_add_deployment": (_status, [_handle, ctypes.c_char_p, ctypes.c_size_t, _out_ptr]),
    "llmux_router_remove_deployment": (_status, [_handle, ctypes.c_char_p, _out_ptr]),
    "llmux_router_register_model": (_status, [_handle, ctypes.c_char_p, ctypes.c_size_t, _out_ptr]),
    "llmux_router_deployments": (_status, [_handle, _out_ptr, _out_ptr]),
    "llmux_router_model_info": (_status, [_handle, ctypes.c_char_p, ctypes.c_size_t, _out_ptr, _out_ptr]),
    "llmux_router_reset": (_status, [_handle, _out_ptr]),
    "llmux_router_health": (_status, [_handle, ctypes.c_char_p, _out_ptr, _out_ptr]),
    "llmux_router_health_report": (_status, [_handle, ctypes.c_char_p, _out_ptr, _out_ptr]),
    "llmux_router_check_health": (_status, [_handle, ctypes.c_char_p, _out_ptr, _out_ptr]),
    "llmux_router_metrics": (_status, [_handle, _out_ptr, _out_ptr]),
}

#: Functions a library of this ABI version may lack (newer additions): declared when present; the
#: package falls back to what it did without them (see :func:`has_queues`).
_OPTIONAL_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    # completion queues: every argument a plain integer or bytes (no per-call ctypes objects)
    "llmux_queue_new": (ctypes.c_void_p, []),
    "llmux_queue_free": (None, [ctypes.c_void_p]),
    "llmux_queue_fd": (ctypes.c_int, [ctypes.c_void_p]),
    "llmux_queue_submit": (_status, [_handle, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                                     ctypes.c_uint64, ctypes.c_void_p]),
    "llmux_queue_pop": (ctypes.c_size_t, [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]),
    "llmux_queue_call": (_status, [_handle, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                                   ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                                   ctypes.c_void_p]),
}


def _declare(lib: ctypes.CDLL) -> None:
    """Sets restype/argtypes of every llmux_* function (AttributeError if one is missing)."""
    for name, (restype, argtypes) in _SIGNATURES.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    for name, (restype, argtypes) in _OPTIONAL_SIGNATURES.items():
        function = getattr(lib, name, None)
        if function is not None:
            function.restype = restype
            function.argtypes = argtypes


def has_queues() -> bool:
    """Whether the loaded library has the completion queues (``llmux_queue_*``)."""
    return hasattr(library(), "llmux_queue_call")


def take_string(pointer: ctypes.c_void_p) -> str:
    """Copies a library-owned ``char*`` out-param into a str and frees it with llmux_free."""
    if not pointer.value:
        return ""
    try:
        return ctypes.string_at(pointer.value).decode("utf-8")
    finally:
        library().llmux_free(pointer)


# ---- outcomes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorDetail:
    """An ``llmux_error`` copied out of the library (it is only borrowed inside a callback)."""

    code: int
    type: str
    message: str
    status: int
    json_text: str

    @classmethod
    def read(cls, error: int) -> "ErrorDetail":
        """Copies the fields of the ``llmux_error*`` at address ``error``."""
        lib = library()
        return cls(
            code=int(lib.llmux_error_code(error)),
            type=(lib.llmux_error_type(error) or b"").decode("utf-8", "replace"),
            message=(lib.llmux_error_message(error) or b"").decode("utf-8", "replace"),
            status=int(lib.llmux_error_status(error)),
            json_text=(lib.llmux_error_json(error) or b"{}").decode("utf-8", "replace"),
        )

    @classmethod
    def unpack(cls, code: int, status: int, json_text: bytes, type_name: bytes, message: bytes) -> "ErrorDetail":
        """The error of a completion-queue record (its fields as llmux_error's accessors give them)."""
        return cls(
            code=code,
            type=type_name.decode("utf-8", "replace"),
            message=message.decode("utf-8", "replace"),
            status=status,
            json_text=json_text.decode("utf-8", "replace") or "{}",
        )

    @classmethod
    def from_status(cls, status: int, message: str) -> "ErrorDetail":
        """An error known only by its status (functions that return no ``llmux_error``)."""
        name = (library().llmux_status_string(status) or b"UnknownError").decode("utf-8")
        return cls(code=status, type=name, message=message, status=0, json_text="{}")


@dataclass
class Outcome:
    """How a call ended: the response bytes on success, else the error.

    ``callback_error`` is set when the Python side failed while receiving the call (a raising
    callback body); the consumer then gets that exception instead of the library's outcome.
    """

    status: int
    response: Optional[bytes] = None
    error: Optional[ErrorDetail] = None
    callback_error: Optional[BaseException] = None
    #: The call's routing events (JSON bytes, in order; the success or failure event last), when
    #: its router reports events.
    events: Optional[list[bytes]] = None


class PendingCall:
    """One call in flight, as seen from the router's I/O thread.

    Subclasses implement :meth:`_deliver` (hand the outcome to the consumer without blocking) and,
    for streams, :meth:`on_chunk`. Both run on the I/O thread and must not block.
    """

    def __init__(self) -> None:
        self._callback_error: Optional[BaseException] = None

    def on_chunk(self, chunk: bytes) -> bool:
        """Receives one stream chunk; returns False to stop the stream (it then ends cancelled)."""
        return True

    def record_callback_error(self, exc: BaseException) -> None:
        """Remembers the first exception raised while receiving; it becomes the call's outcome."""
        if self._callback_error is None:
            self._callback_error = exc

    def deliver(self, outcome: Outcome) -> None:
        """Hands the final outcome to the consumer, or the recorded callback error if any."""
        if self._callback_error is not None:
            outcome = Outcome(status=outcome.status, callback_error=self._callback_error, events=outcome.events)
        self._deliver(outcome)

    def _deliver(self, outcome: Outcome) -> None:
        raise NotImplementedError


_pending: dict[int, PendingCall] = {}
_keys = itertools.count(1)  # 0 would arrive as NULL user_data


def register(call: PendingCall) -> int:
    """Adds a call to the registry and returns its key (the callbacks' ``user_data``)."""
    key = next(_keys)
    _pending[key] = call
    return key


def unregister(key: int) -> None:
    """Drops a call whose start failed (its done callback will not run)."""
    _pending.pop(key, None)


_thread_state = threading.local()


def in_callback() -> bool:
    """True on the router's I/O thread inside one of our callbacks (where the router must not be
    freed and blocking calls are refused)."""
    return getattr(_thread_state, "depth", 0) > 0


def _report_unraisable(exc: BaseException, where: str) -> None:
    """Last resort when even delivering an error failed: report it, never raise into C."""
    try:
        sys.stderr.write(f"llmux: exception in {where} (the call's consumer could not be told):\n")
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    except BaseException:  # nothing may escape into C
        pass


def _on_done(user_data: Optional[int], status: int, response: Optional[int], response_len: int,
             error: Optional[int]) -> None:
    _thread_state.depth = getattr(_thread_state, "depth", 0) + 1
    call: Optional[PendingCall] = None
    try:
        # The call's events: its final event ran just before, on this thread (see _on_event).
        events = _finishing.pop(threading.get_ident(), None)
        call = _pending.pop(user_data or 0, None)
        if call is None:
            return
        try:
            outcome = Outcome(
                status=status,
                response=ctypes.string_at(response, response_len) if response else None,
                error=ErrorDetail.read(error) if error else None,
                events=events,
            )
        except BaseException as exc:  # the consumer gets it
            outcome = Outcome(status=status, callback_error=exc, events=events)
        call.deliver(outcome)
    except BaseException as exc:  # nothing may escape into C
        if call is not None:
            try:
                call._deliver(Outcome(status=status, callback_error=exc))
                return
            except BaseException as again:
                exc = again
        _report_unraisable(exc, "the llmux done callback")
    finally:
        _thread_state.depth -= 1


def _on_chunk(user_data: Optional[int], chunk: Optional[int], chunk_len: int) -> int:
    _thread_state.depth = getattr(_thread_state, "depth", 0) + 1
    call: Optional[PendingCall] = None
    try:
        call = _pending.get(user_data or 0)
        if call is None:
            return 0
        return 1 if call.on_chunk(ctypes.string_at(chunk, chunk_len) if chunk else b"") else 0
    except BaseException as exc:  # stop the stream; the consumer gets the error
        if call is not None:
            try:
                call.record_callback_error(exc)
            except BaseException as again:
                _report_unraisable(again, "the llmux chunk callback")
        return 0
    finally:
        _thread_state.depth -= 1


class RouterSink:
    """What one router's log and event callbacks feed (their ``user_data`` is :attr:`key`).

    Events of a call are kept here until its final event (success or failure) arrives; that one
    and its predecessors are then handed to the call's done callback, which the library runs next
    on the same thread, so they travel to the consumer inside the call's :class:`Outcome`.
    Log messages go to :meth:`on_log` (a subclass decides what to do with them).
    """

    def __init__(self) -> None:
        self.key = next(_keys)
        self._pending_events: dict[int, list[bytes]] = {}
        _sinks[self.key] = self

    def unregister(self) -> None:
        """After the router is freed: no callback can come any more."""
        _sinks.pop(self.key, None)

    def on_log(self, level: int, message: str) -> None:
        raise NotImplementedError

    def on_event(self, data: bytes) -> None:
        # The library writes {"type":"<name>","call_id":<n>,...}: read the two without a JSON
        # parse (this is the I/O thread); anything else is parsed.
        try:
            type_end = data.index(b'"', 9)
            event_type = data[9:type_end]
            id_start = type_end + len(b'","call_id":')
            call_id = int(data[id_start:data.index(b",", id_start)])
        except ValueError:
            parsed = json.loads(data)
            event_type, call_id = str(parsed["type"]).encode(), int(parsed["call_id"])
        if event_type in (b"success", b"failure"):
            events = self._pending_events.pop(call_id, [])
            events.append(data)
            _finishing[threading.get_ident()] = events
        else:
            self._pending_events.setdefault(call_id, []).append(data)


_sinks: dict[int, RouterSink] = {}
#: The events of the call whose done callback comes next, by I/O thread. Keyed by thread id, not
#: in a threading.local: ctypes gives each callback on a foreign thread a fresh thread state.
_finishing: dict[int, list[bytes]] = {}


def _on_log(user_data: Optional[int], level: int, message: Optional[int], message_len: int) -> None:
    try:
        sink = _sinks.get(user_data or 0)
        text = ctypes.string_at(message, message_len).decode("utf-8", "replace") if message else ""
        if sink is None:
            sys.stderr.write(f"llmux: {text}\n")
        else:
            sink.on_log(level, text)
    except BaseException as exc:  # nothing may escape into C
        _report_unraisable(exc, "the llmux log callback")


def _on_event(user_data: Optional[int], data: Optional[int], data_len: int) -> None:
    _thread_state.depth = getattr(_thread_state, "depth", 0) + 1
    try:
        sink = _sinks.get(user_data or 0)
        if sink is not None and data:
            sink.on_event(ctypes.string_at(data, data_len))
    except BaseException as exc:  # nothing may escape into C; an event is an observation
        _report_unraisable(exc, "the llmux event callback")
    finally:
        _thread_state.depth -= 1


#: The process's one log callback (each router's log: user_data = its sink's key).
LOG_CALLBACK = LogCallbackType(_on_log)
#: The process's one event callback.
EVENT_CALLBACK = EventCallbackType(_on_event)
#: The process's one done callback (kept alive by this module for as long as the library may call it).
DONE_CALLBACK = DoneCallbackType(_on_done)
#: The process's one chunk callback.
CHUNK_CALLBACK = ChunkCallbackType(_on_chunk)
