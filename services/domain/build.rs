//! Compiles `proto/idp/events/v1/events.proto` with protox (pure Rust; no `protoc` needed).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time: a build script compiled for one checkout may be reused by another that
    // shares the target dir.
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let file = root.join("idp/events/v1/events.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let fds = protox::compile([&file], [&root])?;
    let mut config = prost_build::Config::new();
    // BTreeMap: map fields encode in key order, so a state encodes to the same bytes every time.
    config.btree_map(["."]);
    // `bytes::Bytes` for bytes fields: prost decodes a `Vec<u8>` field through an intermediate
    // `Bytes` (two allocations and two copies per field), a `Bytes` field in one.
    config.bytes(["."]);
    config.compile_fds(fds)?;
    Ok(())
}
