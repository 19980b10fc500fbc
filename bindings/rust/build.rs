//! Finds or builds libllmux and tells cargo how to link it.
//!
//! In order:
//! 1. `LLMUX_LIB_DIR`: the directory holding a built libllmux (e.g. `<build-dir>/lib`);
//! 2. an installed llmux that `pkg-config llmux` finds (`PKG_CONFIG_PATH` for another prefix);
//! 3. the bundled core built with CMake into cargo's `OUT_DIR`: the repository this crate sits in
//!    (`<crate>/../..`), or the llmux source tree `LLMUX_SOURCE_DIR` names.
//!
//! An LLMUX_LIB_DIR or installed library is linked shared, with an rpath to the directory it was found
//! in, so this crate's tests and examples run without `LD_LIBRARY_PATH` (Cargo passes no link argument
//! on to dependents: their programs find an installed llmux where the loader looks).
//!
//! The bundled core is linked statically on Linux (libllmux.a), followed by the shared libraries it
//! uses, read from the NEEDED entries of the libllmux.so built beside it (the same objects, linked
//! against the same dependencies: libcurl, OpenSSL, Abseil's dozens of libraries, yaml-cpp, ...). A
//! program depending on this crate then runs anywhere the system has those libraries, with nothing to
//! set: there is no libllmux to find. Elsewhere (or with no `readelf`) the shared build is linked.
//!
//! Under docs.rs (`DOCS_RS` set) nothing is found, built or linked: rustdoc does not link, and docs.rs
//! builds offline without the core's C++ dependencies.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// File names the linker accepts for `-l llmux` on the platforms llmux builds on.
const LIBRARY_FILES: [&str; 4] = ["libllmux.so", "libllmux.dylib", "libllmux.a", "llmux.lib"];

/// The core's sources whose change must rebuild the bundled library (directories: cargo
/// rescans them).
const CORE_INPUTS: [&str; 6] = ["CMakeLists.txt", "cmake", "capi", "include", "lib", "data"];

fn has_library(dir: &Path) -> bool {
    LIBRARY_FILES.iter().any(|name| dir.join(name).is_file())
}

/// Lets binaries find the shared library where it was linked from (ELF and
/// Mach-O targets; Windows has no rpath and uses PATH instead).
fn add_rpath(dir: &Path) {
    if env::var_os("CARGO_CFG_WINDOWS").is_none() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
}

/// Links libllmux from `dir` and tells a dependent's build script (as
/// `DEP_LLMUX_LIB_DIR`) where it is, so that it can add its own rpath.
fn link_directory(dir: &Path) {
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=dylib=llmux");
    println!("cargo:lib_dir={}", dir.display());
    add_rpath(dir);
}

/// An installed llmux, found by the pkg-config crate (which prints the link
/// flags itself); false when pkg-config is missing or does not know llmux.
fn link_with_pkg_config() -> bool {
    match pkg_config::Config::new().probe("llmux") {
        Ok(library) => {
            for dir in &library.link_paths {
                println!("cargo:lib_dir={}", dir.display());
                add_rpath(dir);
            }
            true
        }
        Err(_) => {
            println!("cargo:warning=pkg-config finds no installed llmux; building the bundled core with CMake");
            false
        }
    }
}

/// The llmux source tree to build: LLMUX_SOURCE_DIR, else the repository
/// around this crate.
fn core_source_dir() -> PathBuf {
    if let Some(dir) = env::var_os("LLMUX_SOURCE_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if !dir.join("capi/llmux.h").is_file() {
            panic!("LLMUX_SOURCE_DIR={} is not an llmux source tree (no capi/llmux.h)", dir.display());
        }
        return dir;
    }
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !repository.join("capi/llmux.h").is_file() {
        panic!(
            "cannot find libllmux, and there is no llmux source tree to build it from. Either\n  \
             1. set LLMUX_LIB_DIR to the directory holding libllmux.so (e.g. <build-dir>/lib), or\n  \
             2. install llmux so that `pkg-config --libs llmux` finds it (or set PKG_CONFIG_PATH), or\n  \
             3. set LLMUX_SOURCE_DIR to a checkout of the llmux repository (built here with CMake)"
        );
    }
    repository.canonicalize().unwrap_or(repository)
}

/// Builds and installs the core library (no tests, examples or benchmarks)
/// into OUT_DIR; returns the directory holding libllmux.
fn build_bundled_core() -> PathBuf {
    let source = core_source_dir();
    for input in CORE_INPUTS {
        println!("cargo:rerun-if-changed={}", source.join(input).display());
    }
    let install_dir = cmake::Config::new(&source)
        // The core is a router on the hot path of every call: optimised even
        // in cargo's debug profile. Release, not RelWithDebInfo: the static
        // archive is linked into every test and example, and with debug
        // information it is ten times the size.
        .profile("Release")
        .define("LLMUX_BUILD_TESTS", "OFF")
        .define("LLMUX_BUILD_EXAMPLES", "OFF")
        .define("LLMUX_BUILD_BENCHMARKS", "OFF")
        .define("LLMUX_INSTALL", "ON")
        .define("CMAKE_INSTALL_LIBDIR", "lib")
        .build();
    install_dir.join("lib")
}

/// Shared libraries a program gets from Rust's standard library anyway (and the dynamic loader):
/// not named again.
const C_RUNTIME: [&str; 8] =
    ["libc.so", "libm.so", "libgcc_s.so", "libpthread.so", "libdl.so", "librt.so", "libutil.so", "ld-linux"];

/// The NEEDED entries of an ELF shared library (`readelf -d`), or None when readelf cannot tell.
fn needed_libraries(library: &Path) -> Option<Vec<String>> {
    let output = Command::new("readelf").arg("-d").arg("--wide").arg(library).output().ok()?;
    if !output.status.success() {
        return None;
    }
    // "0x0000000000000001 (NEEDED)             Shared library: [libfmt.so.9]"
    let needed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| Some(line[line.find('[')? + 1..line.rfind(']')?].to_owned()))
        .collect();
    (!needed.is_empty()).then_some(needed)
}

/// Links the bundled core statically (see the top of this file); false when it cannot, so the
/// caller links the shared build.
fn link_bundled_statically(lib_dir: &Path) -> bool {
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") || !lib_dir.join("libllmux.a").is_file() {
        return false;
    }
    let Some(needed) = needed_libraries(&lib_dir.join("libllmux.so")) else {
        println!("cargo:warning=readelf cannot list libllmux.so's dependencies; linking the bundled core shared");
        return false;
    };
    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-lib=static=llmux");
    for soname in needed.iter().filter(|name| !C_RUNTIME.iter().any(|runtime| name.starts_with(runtime))) {
        // By file name (-l:libabsl_strings.so.20220623): the very libraries the shared build was
        // linked with, whatever development symlinks the system has.
        println!("cargo:rustc-link-lib=dylib:+verbatim={soname}");
    }
    println!("cargo:lib_dir={}", lib_dir.display());
    true
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for variable in ["LLMUX_LIB_DIR", "LLMUX_SOURCE_DIR", "DOCS_RS"] {
        println!("cargo:rerun-if-env-changed={variable}");
    }
    if env::var_os("DOCS_RS").is_some() {
        return;
    }

    if let Some(dir) = env::var_os("LLMUX_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if !has_library(&dir) {
            panic!(
                "LLMUX_LIB_DIR={} contains no libllmux ({}); point it at the directory holding \
                 the built library (e.g. <build-dir>/lib)",
                dir.display(),
                LIBRARY_FILES.join(", ")
            );
        }
        link_directory(&dir);
        return;
    }
    if link_with_pkg_config() {
        return;
    }
    let bundled = build_bundled_core();
    if !link_bundled_statically(&bundled) {
        link_directory(&bundled);
    }
}
