//! What the `engine` binary's test suites share (each includes this file with
//! `#[path = "../common/mod.rs"] mod common;`).

use std::path::Path;

/// The six JapanCart components, built from `plugins/` once per test process, in
/// the stack's order.
pub fn japancart() -> Vec<String> {
    let dir =
        engine_build::build_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins"));
    [
        "vpc",
        "kinesis",
        "secrets",
        "elasticache",
        "rds",
        "monitoring",
    ]
    .iter()
    .map(|p| dir.join(format!("{p}.wasm")).display().to_string())
    .collect()
}
