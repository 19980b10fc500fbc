"""Driving LiteLLM peers and a private redis-server from Python (standard library only).

- ``RedisServer``: a redis-server of its own on an ephemeral loopback port, no persistence
  (``--save "" --appendonly no``), stopped by ``stop()`` (its pid, SIGTERM then SIGKILL).
- ``RedisClient``: a minimal RESP client (``command(*argv)``), enough for tests to read what LiteLLM wrote.
- ``Monitor``: Redis ``MONITOR`` on its own connection and thread; ``commands()`` returns what it saw,
  parsed back to argv lists.
- ``Peer``: one ``litellm_peer.py`` process (see its docstring for the protocol), or one ``llmux_peer.py``
  process (``llmux_spec()``: the same protocol over llmux's Python binding); ``request(cmd, **fields)``
  sends one JSON line and returns the reply, raising ``PeerError`` when it says ``ok: false``; ``send`` and
  ``receive`` split it, so several peers can work at once.
- ``load_peers()``: the venvs tests/interop/prepare.sh made, from ``<build>/interop/peers.json``
  (``LLMUX_INTEROP_PEERS`` names that file).
- ``FakeServer``: tests/support's ``llmux_fake_server`` as a process (``LLMUX_FAKE_SERVER`` names it):
  OpenAI-compatible answers chosen by the model name, and ``requests()``: what it received, when.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
PEER_SCRIPT = HERE / "litellm_peer.py"
LLMUX_PEER_SCRIPT = HERE / "llmux_peer.py"


# --- redis-server ---------------------------------------------------------------------------------------

def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private redis-server on 127.0.0.1 and an ephemeral port."""

    def __init__(self, password: str | None = None, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(self.executable, os.X_OK):
            raise RuntimeError("redis-server not found (PATH, /usr/bin): install Debian's redis-server "
                               "(scripts/setup.sh does)")
        self.password = password
        self.host = "127.0.0.1"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.mkdtemp(prefix="llmux-interop-redis-")

    def start(self) -> "RedisServer":
        last_log = ""
        for _attempt in range(5):  # another process may take the probed port before redis binds it
            self.port = _free_loopback_port()
            args = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", self._dir, "--logfile", "redis.log"]
            if self.password is not None:
                args += ["--requirepass", self.password]
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    with self.client() as client:
                        if client.command("PING") == "PONG":
                            return self
                except OSError:
                    time.sleep(0.05)
            log_path = Path(self._dir, "redis.log")
            last_log = log_path.read_text(errors="replace")[-500:] if log_path.exists() else ""
            self.stop()
        raise RuntimeError(f"redis-server did not start on 127.0.0.1; its log ends with: {last_log}")

    def client(self) -> "RedisClient":
        return RedisClient(self.host, self.port, self.password)

    def version(self) -> str:
        with self.client() as client:
            info = client.command("INFO", "server")
        for line in str(info).splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1].strip()
        return "unknown"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class RedisError(Exception):
    """An error reply from Redis (-ERR ...)."""


class RedisClient:
    """A minimal, blocking RESP2 client: bulk strings come back as str (UTF-8, surrogateescape)."""

    def __init__(self, host: str, port: int, password: str | None = None, timeout: float = 10) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._reader = self._sock.makefile("rb")
        if password is not None:
            self.command("AUTH", password)

    def send(self, *argv: str | bytes | int | float) -> None:
        parts = [f"*{len(argv)}\r\n".encode()]
        for arg in argv:
            data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8", "surrogateescape")
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self._sock.sendall(b"".join(parts))

    def read_reply(self) -> Any:
        line = self._reader.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode("utf-8", "surrogateescape")
        if kind == b"-":
            raise RedisError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._reader.read(size + 2)[:-2]
            return data.decode("utf-8", "surrogateescape")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self.read_reply() for _ in range(count)]
        raise ConnectionError(f"unexpected reply from redis: {line!r}")

    def command(self, *argv: str | bytes | int | float) -> Any:
        self.send(*argv)
        return self.read_reply()

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> "RedisClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_MONITOR_ESCAPES = {b"\\": b"\\", b'"': b'"', b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def parse_monitor_line(line: str) -> tuple[float, str, list[str]] | None:
    """``1796219545.186044 [0 127.0.0.1:53422] "SET" "k" "v"`` -> (time, client, argv). Redis quotes each
    argument with sdscatrepr: \\\\ \\" \\n \\r \\t \\a \\b and \\xHH for other non-printable bytes."""
    head, sep, rest = line.partition(" [")
    if not sep:
        return None
    client, sep, args = rest.partition("] ")
    if not sep:
        return None
    argv: list[str] = []
    raw = args.encode("utf-8", "surrogateescape")
    i, n = 0, len(raw)
    while i < n:
        if raw[i:i + 1] == b" ":
            i += 1
            continue
        if raw[i:i + 1] != b'"':
            return None
        i += 1
        out = bytearray()
        while i < n and raw[i:i + 1] != b'"':
            c = raw[i:i + 1]
            if c == b"\\" and i + 1 < n:
                e = raw[i + 1:i + 2]
                if e in _MONITOR_ESCAPES:
                    out += _MONITOR_ESCAPES[e]
                    i += 2
                    continue
                if e == b"x" and i + 3 < n:
                    out.append(int(raw[i + 2:i + 4], 16))
                    i += 4
                    continue
            out += c
            i += 1
        i += 1  # closing quote
        argv.append(out.decode("utf-8", "surrogateescape"))
    try:
        return float(head), client, argv
    except ValueError:
        return None


class Monitor:
    """Every command Redis executes (MONITOR), collected on a thread until ``stop()``."""

    def __init__(self, server: RedisServer) -> None:
        self._client = server.client()
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._client.send("MONITOR")
        if self._client.read_reply() != "OK":
            raise RuntimeError("MONITOR was refused")
        self._thread = threading.Thread(target=self._run, name="redis-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                reply = self._client.read_reply()
                if isinstance(reply, str):
                    with self._lock:
                        self._lines.append(reply)
        except (OSError, ValueError, ConnectionError, RedisError):
            return

    def commands(self) -> list[tuple[float, str, list[str]]]:
        with self._lock:
            lines = list(self._lines)
        return [parsed for parsed in map(parse_monitor_line, lines) if parsed is not None]

    def stop(self) -> None:
        try:
            self._client._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(timeout=5)
        self._client.close()


# --- LiteLLM peers --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeerSpec:
    """One kind of peer: a prepared LiteLLM venv (which release, which interpreter runs litellm_peer.py),
    or llmux (``llmux_spec()``: llmux_peer.py on this interpreter)."""
    litellm: str  # the LiteLLM release; "" for llmux
    python: str
    role: str  # "pinned" (the bindings benchmark's pin), "newest", or "llmux"
    script: str = str(PEER_SCRIPT)

    @property
    def label(self) -> str:
        return "llmux" if self.role == "llmux" else f"litellm {self.litellm}"


def llmux_spec() -> PeerSpec:
    """llmux_peer.py run by this interpreter (the binding needs only the standard library). The library is
    ``LLMUX_LIBRARY`` (tests/interop/test.sh sets it from the build directory)."""
    library = os.environ.get("LLMUX_LIBRARY")
    if not library or not os.access(library, os.R_OK):
        raise RuntimeError(f"LLMUX_LIBRARY={library!r} is not a readable libllmux.so: run tests/interop/test.sh "
                           "<build-dir> (it sets it to <build-dir>/lib/libllmux.so)")
    import sys
    return PeerSpec("", sys.executable, "llmux", str(LLMUX_PEER_SCRIPT))


def load_peers(path: str | None = None) -> list[PeerSpec]:
    path = path or os.environ.get("LLMUX_INTEROP_PEERS")
    if not path:
        raise RuntimeError("LLMUX_INTEROP_PEERS is not set: run tests/interop/test.sh <build-dir> (or "
                           "tests/interop/prepare.sh <build-dir> and point it at <build-dir>/interop/peers.json)")
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise RuntimeError(f"{path}: {error} (tests/interop/prepare.sh <build-dir> writes it)") from error
    specs = [PeerSpec(p["litellm"], p["python"], p["role"]) for p in data["peers"]]
    for spec in specs:
        if not os.access(spec.python, os.X_OK):
            raise RuntimeError(f"{spec.python} (litellm {spec.litellm}) is missing: rerun tests/interop/prepare.sh")
    return specs


class PeerError(Exception):
    """The peer answered ``ok: false`` (its message is the exception's)."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(f"{reply.get('error_type')}: {reply.get('error')}")
        self.reply = reply


class Peer:
    """One litellm_peer.py process; ``request`` is one line out, one line back."""

    def __init__(self, spec: PeerSpec, stderr_path: str | None = None, timeout: float = 120,
                 wait: bool = True) -> None:
        """Starts the process; with ``wait`` also waits for its ready line (``wait_ready``)."""
        self.spec = spec
        self.timeout = timeout
        self._stderr = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.process = subprocess.Popen([spec.python, spec.script], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        self._next_id = 1
        self.ready: dict[str, Any] = {}
        if wait:
            self.wait_ready()

    def wait_ready(self) -> dict[str, Any]:
        self.ready = self._read()
        if not self.ready.get("ok"):
            raise RuntimeError(f"peer for {self.spec.label} did not start: {self.ready.get('error')}")
        return self.ready

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        # A peer that hangs is a failure, not a stuck test run.
        timer = threading.Timer(self.timeout, self.process.kill)
        timer.start()
        try:
            line = self.process.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError(f"{self.spec.label} peer exited (status {self.process.poll()}) "
                               "without answering")
        return json.loads(line)

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return self.receive(self.send(cmd, **fields))

    def send(self, cmd: str, **fields: Any) -> int:
        """Sends one request without waiting for its answer; its id, for ``receive``."""
        assert self.process.stdin is not None
        request_id = self._next_id
        self._next_id += 1
        self.process.stdin.write((json.dumps({"cmd": cmd, "id": request_id, **fields}) + "\n").encode())
        self.process.stdin.flush()
        return request_id

    def receive(self, request_id: int) -> dict[str, Any]:
        """The answer to the request ``send`` returned ``request_id`` for (requests are answered in order)."""
        reply = self._read()
        if reply.get("id") != request_id:
            raise RuntimeError(f"peer answered request {reply.get('id')} to request {request_id}")
        if not reply.get("ok"):
            raise PeerError(reply)
        return reply

    def send_quit(self) -> None:
        """Asks the peer to quit without waiting for it (``close`` waits)."""
        if self.process.poll() is None and self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()  # end of input: the peer discards its router and exits 0
            except OSError:
                pass

    def close(self) -> int:
        """Quits the peer (unless ``send_quit`` already asked), waits for it; its exit status."""
        if self.process.poll() is None:
            if self.process.stdin is not None and not self.process.stdin.closed:
                try:
                    self.request("quit")
                except (OSError, RuntimeError, PeerError, ValueError):
                    pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        if self._stderr is not subprocess.DEVNULL:
            self._stderr.close()
        return self.process.returncode

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_peers(specs: list[PeerSpec], count: int, log_dir: str | Path | None = None) -> dict[str, list[Peer]]:
    """``count`` peers of each release, all started at once (importing LiteLLM takes seconds each);
    keyed by release."""
    started: dict[str, list[Peer]] = {}
    try:
        for spec in specs:
            for index in range(count):
                log = str(Path(log_dir) / f"peer-litellm-{spec.litellm}-{index}.log") if log_dir else None
                started.setdefault(spec.litellm, []).append(Peer(spec, stderr_path=log, wait=False))
        for peers in started.values():
            for peer in peers:
                peer.wait_ready()
    except BaseException:
        close_peers([peer for peers in started.values() for peer in peers])
        raise
    return started


def close_peers(peers: list[Peer]) -> list[int]:
    """Asks every peer to quit at once, then waits for each; their exit statuses."""
    for peer in peers:
        peer.send_quit()
    return [peer.close() for peer in peers]


# --- the fake provider as a process ---------------------------------------------------------------------

class FakeServer:
    """tests/support's ``llmux_fake_server`` (``LLMUX_FAKE_SERVER``, or ``binary``): OpenAI-compatible
    answers chosen by the model name (``status-429-x`` a 429, ``slow-<ms>-x`` a late 200, anything else
    200), on an ephemeral loopback port; ``requests()`` asks it what it received."""

    def __init__(self, binary: str | None = None) -> None:
        binary = binary or os.environ.get("LLMUX_FAKE_SERVER")
        if not binary or not os.access(binary, os.X_OK):
            raise RuntimeError(f"llmux_fake_server not found ({binary!r}): run tests/interop/test.sh <build-dir> "
                               "(it sets LLMUX_FAKE_SERVER to <build-dir>/tests/support/llmux_fake_server)")
        self.process = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        first = self._read_line()
        self.base_url: str = first["base_url"]

    def _read_line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        timer = threading.Timer(30, self.process.kill)
        timer.start()
        try:
            line = self.process.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError(f"llmux_fake_server exited (status {self.process.poll()})")
        return json.loads(line)

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Every request it received from the ``since``-th on, in arrival order: ``model``, ``path``,
        ``t`` (time.monotonic() of its arrival)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"requests {since}\n".encode())
        self.process.stdin.flush()
        return self._read_line()["requests"]

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # end of input: it exits
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> "FakeServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(condition: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Polls ``condition`` until it returns something true or ``timeout`` seconds passed; returns its last
    value (so a caller's assert shows what it was)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
