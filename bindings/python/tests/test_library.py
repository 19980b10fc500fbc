"""Finding and checking libllmux."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import llmux
from llmux import _ffi
from support import REPO


def run_python(code: str, env_changes: dict[str, str | None], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_library_version_and_abi() -> None:
    assert llmux.library_version() == "0.1.0"
    assert _ffi.library().llmux_abi_version() == llmux.ABI_VERSION
    assert llmux.library_path().name.startswith("libllmux")


def test_missing_library_names_where_it_looked(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "libllmux.so"
    result = run_python(
        "import llmux\n"
        "try:\n"
        "    llmux.Router(model_list=[])\n"
        "except llmux.LibraryNotFoundError as e:\n"
        "    assert isinstance(e, ImportError)\n"
        "    print(e)\n",
        {"LLMUX_LIBRARY": str(missing)})
    assert result.returncode == 0, result.stderr
    assert f"LLMUX_LIBRARY={missing} is not a file" in result.stdout


def test_a_file_that_is_not_the_library_is_refused(tmp_path: Path) -> None:
    not_a_library = tmp_path / "libllmux.so"
    not_a_library.write_text("not a shared object")
    result = run_python("import llmux\nprint(llmux.library_version())", {"LLMUX_LIBRARY": str(not_a_library)})
    assert result.returncode != 0
    assert "LibraryNotFoundError" in result.stderr
    assert "is not usable" in result.stderr


def test_abi_version_mismatch_is_refused() -> None:
    result = run_python("import llmux._ffi as ffi\nffi.ABI_VERSION = 999\nimport llmux\nllmux.library_version()", {})
    assert result.returncode != 0
    assert "LibraryNotFoundError" in result.stderr
    assert f"ABI version {llmux.ABI_VERSION}, this package needs 999" in result.stderr


def test_the_installed_package_loads_its_bundled_library() -> None:
    # test.sh installs the wheel, which ships libllmux.so in the package directory: found first, even
    # from inside a checkout with build trees.
    package_dir = Path(llmux.__file__).parent
    assert (package_dir / "libllmux.so").is_file(), f"{package_dir} has no bundled libllmux.so (not the wheel?)"
    result = run_python("import llmux\nprint(llmux.library_path())", {"LLMUX_LIBRARY": None})
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == package_dir / "libllmux.so"


def test_discovery_finds_the_build_tree_without_llmux_library(tmp_path: Path) -> None:
    # A package without a bundled library (the sources on PYTHONPATH) run inside the checkout.
    site = copy_package(tmp_path / "site")
    result = run_python("import llmux\nprint(llmux.library_path())", {"LLMUX_LIBRARY": None, "PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    found = Path(result.stdout.strip())
    assert found.name.startswith("libllmux.so")
    assert found.parent in _ffi._build_tree_dirs(REPO)


def test_discovery_order_of_build_trees(tmp_path: Path) -> None:
    for directory in ("build/lib", "build-asan/lib", "build/release/lib", "build/asan/lib"):
        (tmp_path / directory).mkdir(parents=True)
    assert _ffi._build_tree_dirs(tmp_path) == [
        tmp_path / "build" / "lib",
        tmp_path / "build-asan" / "lib",
        tmp_path / "build" / "asan" / "lib",
        tmp_path / "build" / "release" / "lib",
    ]


def copy_package(destination: Path) -> Path:
    """A copy of the installed package's sources, away from any build tree; returns its parent."""
    copy = destination / "llmux"
    copy.mkdir(parents=True)
    for source in Path(llmux.__file__).parent.glob("*.py"):
        shutil.copy(source, copy / source.name)
    return destination


def test_nothing_found_lists_every_place(tmp_path: Path) -> None:
    site = copy_package(tmp_path / "site")
    result = run_python("import llmux\nllmux.library_version()",
                        {"LLMUX_LIBRARY": None, "PYTHONPATH": str(site)}, cwd=tmp_path)
    assert result.returncode != 0
    assert "libllmux not found" in result.stderr
    assert "LLMUX_LIBRARY: not set" in result.stderr
    assert f"next to the package ({site / 'llmux'})" in result.stderr
    assert "no llmux checkout" in result.stderr


def elf_with_dynamic_strings(strings: bytes) -> bytes:
    """A minimal ELF64 file whose dynamic section links to a string table holding ``strings``."""
    strings_offset, section_header_size = 64, 64
    section_headers_offset = strings_offset + len(strings)
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 3, 62, 1, 0, 0, section_headers_offset, 0, 64, 0, 0, section_header_size, 3, 0)
    layout = "<IIQQQQIIQQ"  # name, type, flags, addr, offset, size, link, info, addralign, entsize
    null_section = bytes(section_header_size)
    string_table = struct.pack(layout, 0, 3, 0, 0, strings_offset, len(strings), 0, 0, 1, 0)
    dynamic = struct.pack(layout, 0, 6, 0, 0, 0, 0, 1, 0, 8, 16)  # SHT_DYNAMIC, link → section 1
    return header + strings + null_section + string_table + dynamic


def test_sanitizer_builds_are_skipped(tmp_path: Path) -> None:
    # Loading an ASan/TSan library into a normal Python process aborts it, so discovery must not try.
    asan_build = tmp_path / "checkout" / "build" / "asan" / "lib"
    asan_build.mkdir(parents=True)
    (tmp_path / "checkout" / "capi").mkdir()
    (tmp_path / "checkout" / "capi" / "llmux.h").write_text("/* marks the checkout */")
    (asan_build / "libllmux.so").write_bytes(elf_with_dynamic_strings(b"\0libasan.so.8\0libc.so.6\0"))
    assert _ffi._sanitizer_runtime(asan_build / "libllmux.so") == "libasan.so"
    assert _ffi._sanitizer_runtime(llmux.library_path()) is None

    site = copy_package(tmp_path / "site")
    result = run_python("import llmux\nllmux.library_version()",
                        {"LLMUX_LIBRARY": None, "PYTHONPATH": str(site)}, cwd=tmp_path / "checkout")
    assert result.returncode != 0
    assert f"{asan_build / 'libllmux.so'}: skipped, built with a sanitizer (libasan.so)" in result.stderr
