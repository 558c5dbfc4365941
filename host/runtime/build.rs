//! Builds the host's own guests (`guests/`, for wasm32) into components the runtime
//! embeds: today the Rego evaluator (`wit/rego/rego.wit`). Cargo reruns this only
//! when their sources change; the guest build itself is incremental, in
//! `$ENGINE_GUEST_TARGET_DIR/runtime-guests` (else `guests/target`).
//!
//! Without a wasm32 toolchain the engine still builds, with no evaluator: a
//! `.rego` policy is then refused with the reason (`src/rego.rs`), and the next
//! build tries again.

use std::path::{Path, PathBuf};

fn main() {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let guests = here.join("guests");
    for p in [
        guests.join("Cargo.toml"),
        guests.join("Cargo.lock"),
        guests.join("rego-evaluator"),
        here.join("../../wit/rego"),
    ] {
        println!("cargo::rerun-if-changed={}", p.display());
    }
    println!("cargo::rerun-if-env-changed=ENGINE_GUEST_TARGET_DIR");
    let component = out.join("rego-evaluator.wasm");
    let reason = out.join("rego-evaluator.unavailable");
    // Empty when built; else why not (the runtime says it when a `.rego` is used).
    let why = build(&guests, &out).err().unwrap_or_default();
    if !why.is_empty() {
        println!(
            "cargo::warning=the Rego evaluator was not built, so `.rego` policies will be refused: {why}"
        );
        std::fs::write(&component, b"").expect("OUT_DIR is writable");
        // A path that never exists makes cargo run this script again on every
        // build, so the evaluator is built once the toolchain is installed
        // (`just setup`), not only when its sources change.
        println!(
            "cargo::rerun-if-changed={}",
            out.join("rego-evaluator.retry").display()
        );
    }
    std::fs::write(&reason, why).expect("OUT_DIR is writable");
}

fn build(guests: &Path, out: &Path) -> Result<(), String> {
    let toolchain = engine_build::Toolchain::detect().map_err(|e| e.to_string())?;
    engine_build::build_workspace(&toolchain, guests, out, &["rego-evaluator"])
        .map(|_| ())
        .map_err(|e| e.to_string())
}
