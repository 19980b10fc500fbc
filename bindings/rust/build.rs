//! Finds libllmux and tells cargo how to link it.
//!
//! Looked up in order: the LLMUX_LIB_DIR directory, `pkg-config llmux`, then the
//! repository's build tree (<crate>/../../build/lib). A directory found by
//! path is also added as an rpath so tests and binaries run without
//! LD_LIBRARY_PATH.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// File names the linker accepts for `-l llmux` on the platforms llmux builds on.
const LIBRARY_FILES: [&str; 4] = ["libllmux.so", "libllmux.dylib", "libllmux.a", "llmux.lib"];

fn has_library(dir: &Path) -> bool {
    LIBRARY_FILES.iter().any(|name| dir.join(name).is_file())
}

/// Lets binaries find the shared library where it was linked from (ELF and
/// Mach-O targets; Windows has no rpath and uses PATH instead).
fn add_rpath(dir: &str) {
    if env::var_os("CARGO_CFG_WINDOWS").is_none() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

fn link_directory(dir: &Path) {
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=dylib=llmux");
    add_rpath(&dir.display().to_string());
}

/// `pkg-config --libs-only-L --libs-only-l llmux`, applied; false when
/// pkg-config is missing or does not know llmux.
fn link_with_pkg_config() -> bool {
    let Ok(output) = Command::new("pkg-config").args(["--libs-only-L", "--libs-only-l", "llmux"]).output() else {
        return false;
    };
    if !output.status.success() {
        return false;
    }
    let flags = String::from_utf8_lossy(&output.stdout);
    let mut linked = false;
    for flag in flags.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
            add_rpath(dir);
        } else if let Some(name) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={name}");
            linked |= name == "llmux";
        }
    }
    linked
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LLMUX_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_LIBDIR");

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
    let build_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/lib");
    println!("cargo:rerun-if-changed={}", build_tree.display());
    if has_library(&build_tree) {
        link_directory(&build_tree.canonicalize().unwrap_or(build_tree));
        return;
    }
    panic!(
        "cannot find libllmux. Either\n  \
         1. set LLMUX_LIB_DIR to the directory holding libllmux.so (e.g. <build-dir>/lib), or\n  \
         2. install llmux so that `pkg-config --libs llmux` finds it (or set PKG_CONFIG_PATH), or\n  \
         3. build the repository into <repo>/build (cmake -S . -B build && cmake --build build), \
         which puts the library in {}",
        build_tree.display()
    );
}
