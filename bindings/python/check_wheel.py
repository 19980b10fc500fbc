"""Proves a built llmux-router wheel is self-contained (run by test.sh):

    python check_wheel.py <wheel> <llmux_fake_server>

Installs the wheel into a fresh venv (no system site packages) made in an empty temporary directory,
then, from that directory, with no environment variable but PATH=/usr/bin:/bin and an empty HOME
(LLMUX_LIBRARY and every other llmux variable unset):

1. every library the wheel ships (libllmux.so and llmux.libs/*) needs only libraries the wheel also
   ships or the system libraries a target machine is expected to have (readelf NEEDED), and
   libllmux.so finds its bundled ones through an $ORIGIN-relative RPATH;
2. a real call works: an offline ``mock_response`` completion and a completion against
   llmux_fake_server on loopback, and the process then has the wheel's own copy of every bundled
   library mapped (/proc/self/maps), not the build machine's.

Exits non-zero with the reason on the first failure.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# What a target machine is expected to provide: glibc, the C++ runtime, libcurl, OpenSSL and zlib.
SYSTEM_LIBRARIES = re.compile(
    r"^(ld-linux[-\w.]*\.so\.\d+|lib(c|m|dl|pthread|rt|stdc\+\+|gcc_s|curl|ssl|crypto|z)\.so(\.\d+)*)$")

CALLS = r"""
import importlib.metadata, json, sys
import llmux

base_url = sys.argv[1]
offline = llmux.Router(model_list=[{"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini",
                                                                               "api_key": "sk-unused"}}])
mocked = offline.completion(model="chat", messages=[{"role": "user", "content": "hi"}],
                            mock_response="Hello from the wheel.")
with llmux.Router(model_list=[{"model_name": "chat", "litellm_params": {
        "model": "openai/ok-wheel", "api_base": base_url, "api_key": "sk-wheel-check"}}]) as router:
    served = router.completion(model="chat", messages=[{"role": "user", "content": "hi"}])
with open("/proc/self/maps") as maps:
    mapped = sorted({line.split()[-1] for line in maps if ".so" in line.split()[-1]})
print(json.dumps({
    "version": importlib.metadata.version("llmux-router"), "library_version": llmux.library_version(),
    "package": llmux.__file__, "library": str(llmux.library_path()), "sys_path": sys.path,
    "mocked": mocked.choices[0].message.content, "served": served.choices[0].message.content,
    "served_by": served._hidden_params["model_id"], "mapped": mapped,
}))
"""


def fail(message: str) -> None:
    sys.exit(f"check_wheel.py: {message}")


def run(command: list[str], **kwargs: Any) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    if result.returncode != 0:
        fail(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return str(result.stdout)


def dynamic_entries(library: Path, tag: str) -> list[str]:
    """The values of one dynamic-section tag (NEEDED, RPATH, RUNPATH) of an ELF file, via readelf."""
    output = run(["readelf", "-d", str(library)])
    return re.findall(rf"\({tag}\)\s+.*?\[(.*)\]", output)


def check_dependencies(package: Path) -> list[str]:
    """Checks what the shipped libraries need; returns the bundled libraries' names."""
    library = package / "libllmux.so"
    bundle = package / "llmux.libs"
    if not library.is_file():
        fail(f"the wheel has no {library.name} in its package directory")
    if not bundle.is_dir():
        fail(f"the wheel has no {bundle.name}/ directory")
    bundled = sorted(p.name for p in bundle.iterdir())
    rpath = dynamic_entries(library, "RPATH")
    if rpath != ["$ORIGIN/llmux.libs"]:
        fail(f"libllmux.so's RPATH is {rpath}, not [$ORIGIN/llmux.libs]")
    for shipped in [library, *(bundle / name for name in bundled)]:
        for needed in dynamic_entries(shipped, "NEEDED"):
            if needed not in bundled and not SYSTEM_LIBRARIES.match(needed):
                fail(f"{shipped.name} needs {needed}, neither bundled in the wheel nor an expected system library")
    return bundled


def check_calls(python: Path, venv: Path, cwd: Path, env: dict[str, str], fake_server: Path,
                bundled: list[str]) -> None:
    server = subprocess.Popen([str(fake_server)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = json.loads(server.stdout.readline())["base_url"]
        report = json.loads(run([str(python), "-c", CALLS, base_url], cwd=cwd, env=env))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
    site = Path(report["package"]).parent.parent
    if not site.is_relative_to(venv):
        fail(f"llmux was imported from {report['package']}, not from the fresh venv {venv}")
    if Path(report["library"]) != site / "llmux" / "libllmux.so":
        fail(f"llmux loaded {report['library']}, not the wheel's {site / 'llmux' / 'libllmux.so'}")
    if any("-packages" in entry and not Path(entry).is_relative_to(venv) for entry in report["sys_path"]):
        fail(f"the fresh venv sees site packages outside it: {report['sys_path']}")
    if report["version"] != report["library_version"]:
        fail(f"the wheel's version {report['version']} is not its library's {report['library_version']}")
    if report["mocked"] != "Hello from the wheel.":
        fail(f"mock_response answered {report['mocked']!r}")
    if report["served"] != "Hello from ok-wheel." or not report["served_by"]:
        fail(f"the fake server's answer was {report['served']!r} (deployment {report['served_by']!r})")
    for name in bundled:
        loaded_from = [path for path in report["mapped"] if Path(path).name == name]
        if loaded_from != [str(site / "llmux" / "llmux.libs" / name)]:
            fail(f"{name} was loaded from {loaded_from}, not only from the wheel's llmux.libs/")


def main() -> None:
    if len(sys.argv) != 3:
        fail("usage: check_wheel.py <wheel> <llmux_fake_server>")
    wheel, fake_server = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory(prefix="llmux-wheel-check-") as directory:
        root = Path(directory)
        venv = root / "venv"
        # The base interpreter, so the venv cannot inherit anything from a venv this script runs in.
        run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)])
        python = venv / "bin" / "python"
        # What a new user's shell has: a PATH of system directories and a home (an empty one, here);
        # no LLMUX_*, LD_*, PYTHON* or PIP_* variable, nothing of the build's environment.
        home = root / "home"
        home.mkdir()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
        run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(wheel)], cwd=root, env=env)
        site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"],
                        cwd=root, env=env).strip())
        bundled = check_dependencies(site / "llmux")
        if not (site / "llmux" / "py.typed").is_file():
            fail("the wheel does not ship llmux/py.typed")
        check_calls(python, venv, root, env, fake_server, bundled)
        print(f"check_wheel.py: {wheel.name} is self-contained: installed in a fresh venv, calls work, "
              f"{len(bundled)} bundled libraries loaded from the wheel")


if __name__ == "__main__":
    main()
