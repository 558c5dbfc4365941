//! `engine build`: plugin crates -> components.

use std::path::Path;

use anyhow::Context as _;

use crate::exit;

/// Builds the workspace at `path` and reports each component.
pub fn run(path: &Path, out: Option<&Path>, packages: &[String]) -> anyhow::Result<u8> {
    let toolchain = engine_build::Toolchain::detect()?;
    eprintln!(
        "building {} with {}",
        path.display(),
        match &toolchain {
            engine_build::Toolchain::Rustup => "the rustup wasm32 target".to_string(),
            engine_build::Toolchain::Debian { rustc, .. } =>
                format!("{} (std from source)", rustc.display()),
        }
    );
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    let built = engine_build::build_workspace(&toolchain, path, out.unwrap_or(path), &packages)?;
    if built.is_empty() {
        anyhow::bail!(
            "{} has no plugin crates (crate-type = [\"cdylib\"])",
            path.display()
        );
    }
    for b in &built {
        let bytes = std::fs::read(&b.component)
            .with_context(|| format!("reading {}", b.component.display()))?;
        let imports = engine_build::imports(&bytes).map_err(anyhow::Error::msg)?;
        let bad: Vec<&String> = imports
            .iter()
            .filter(|i| !i.starts_with("engine:plugin/"))
            .collect();
        if !bad.is_empty() {
            anyhow::bail!(
                "{} imports {bad:?}; plugins may import only engine:plugin interfaces",
                b.component.display()
            );
        }
        println!(
            "{}\t{} KiB\t{}",
            b.crate_name,
            b.size.div_ceil(1024),
            b.component.display()
        );
    }
    Ok(exit::OK)
}
