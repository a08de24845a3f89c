//! Test support: builds the trigger crates of `triggers/examples` for `wasm32-wasip2` (release)
//! into `<target dir>/triggers-guest`, once per process, and finds their components.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The components directory, or why there is none. `Ok(None)`: the `wasm32-wasip2` target is
/// not installed and `CI` is not set (tests then skip); with `CI` set that is an error.
pub fn example_components() -> Result<Option<PathBuf>, String> {
    static BUILT: OnceLock<Result<Option<PathBuf>, String>> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

/// The bytes of example `name` (crate name, `-` or `_`), building the examples if needed.
pub fn example(name: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(dir) = example_components()? else { return Ok(None) };
    let path = dir.join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&path).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn target_installed() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output();
    match sysroot {
        Ok(out) if out.status.success() => {
            let root = String::from_utf8_lossy(&out.stdout).trim().to_string();
            PathBuf::from(root).join("lib/rustlib/wasm32-wasip2").is_dir()
        }
        _ => false,
    }
}

fn build() -> Result<Option<PathBuf>, String> {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    if !target_installed() {
        if ci {
            return Err("the wasm32-wasip2 target is not installed (rustup target add wasm32-wasip2)".into());
        }
        eprintln!("skipping trigger components: the wasm32-wasip2 target is not installed (rustup target add wasm32-wasip2)");
        return Ok(None);
    }
    let target_root = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let target_dir = target_root.join("triggers-guest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = examples_dir().join("Cargo.toml");
    // From the examples' directory, so their `.cargo/config.toml` (guest link flags) applies.
    let out = Command::new(cargo)
        .current_dir(examples_dir())
        .args(["build", "--release", "--target", "wasm32-wasip2", "--workspace", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the host build must not leak into the guest build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("building {} failed:\n{}", manifest.display(), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(Some(target_dir.join("wasm32-wasip2/release")))
}
