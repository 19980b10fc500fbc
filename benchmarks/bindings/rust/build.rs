//! The llmux crate's build script links libllmux; its rpath reaches only that
//! crate's own targets, so this binary adds LLMUX_LIB_DIR as its own rpath and
//! runs without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=LLMUX_LIB_DIR");
    if let Some(dir) = std::env::var_os("LLMUX_LIB_DIR").filter(|d| !d.is_empty()) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.to_string_lossy());
    }
}
