//! `engine build`: plugin crates -> components, each checked against the WIT world.
//!
//! Building is `engine_build`'s job (toolchain detection, cargo, componentizing).
//! This command adds what a plugin author needs around it: a clear error when no
//! wasm32 toolchain exists or the path is not a cargo workspace, and a check that
//! each component loads in this engine (the same [`Runtime::load`] that `plan`
//! uses: imports, WIT version, exported world, a valid `metadata` answer). It
//! prints one line per component on stdout: path, size, kind, name and version.

use std::path::Path;

use engine_build::{BuildError, TARGET, Toolchain};
use engine_core::Diagnostic;
use engine_runtime::{Limits, Runtime};

use crate::{exit, ui};

/// Builds the workspace at `path` and reports each component.
pub fn run(path: &Path, out: Option<&Path>, packages: &[String]) -> anyhow::Result<u8> {
    if let Some(d) = check_workspace(path) {
        ui::diagnostics(&[d]);
        return Ok(exit::ERROR);
    }
    let toolchain = match Toolchain::detect() {
        Ok(t) => t,
        Err(e) => {
            ui::diagnostics(&[build_diagnostic(&e)]);
            return Ok(exit::ERROR);
        }
    };
    let target = engine_build::target_dir(&path.canonicalize().unwrap_or(path.into()));
    eprintln!(
        "Building {} with {}, in {}",
        path.display(),
        match &toolchain {
            Toolchain::Rustup => format!("the rustup {TARGET} target"),
            Toolchain::Debian { rustc, .. } => format!("{} (std from source)", rustc.display()),
        },
        tilde(&target)
    );
    if engine_build::is_cold(&target) {
        eprintln!("{}", cold_note(&toolchain));
    }
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    let built =
        match engine_build::build_workspace(&toolchain, path, out.unwrap_or(path), &packages) {
            Ok(b) => b,
            Err(e) => {
                ui::diagnostics(&[build_diagnostic(&e)]);
                return Ok(exit::ERROR);
            }
        };
    if built.is_empty() {
        ui::diagnostics(&[
            Diagnostic::error(format!("{} has no plugin crates", path.display()))
                .detail("A plugin crate is a library with `crate-type = [\"cdylib\"]`.")
                .hint("`engine new component NAME` scaffolds one"),
        ]);
        return Ok(exit::ERROR);
    }

    // Load each component exactly as `engine plan` would: no code cache, so a
    // stale cached compilation cannot hide a problem.
    let runtime = Runtime::new(Limits::default(), None)
        .map_err(|e| anyhow::anyhow!("cannot start the plugin runtime: {e:#}"))?;
    let mut failed = Vec::new();
    for b in &built {
        match runtime.load(&b.component) {
            Ok(plugin) => {
                let info = plugin.info();
                ui::out(&format!(
                    "{}\t{}\t{} plugin {} {}\tengine:plugin@{}\n",
                    b.component.display(),
                    size(b.size),
                    plugin.kind(),
                    info.name,
                    info.version,
                    plugin.contract()
                ));
            }
            Err(e) => {
                let d = e.diagnostic().detail(format!(
                    "It was built from crate `{}` to {}, but does not load in this engine.",
                    b.crate_name,
                    b.component.display()
                ));
                failed.push(match hint_for(&e.kind) {
                    Some(h) => d.hint(h),
                    None => d,
                });
            }
        }
    }
    if !failed.is_empty() {
        ui::diagnostics(&failed);
        return Ok(exit::ERROR);
    }
    eprintln!(
        "Built {} plugin{}: each loads in this engine (it speaks engine:plugin {}).",
        built.len(),
        if built.len() == 1 { "" } else { "s" },
        engine_runtime::SUPPORTED_VERSIONS.join(", ")
    );
    Ok(exit::OK)
}

/// What a first build in an empty build directory does, and why it needs the
/// crate registry.
fn cold_note(toolchain: &Toolchain) -> String {
    let std = match toolchain {
        Toolchain::Rustup => "",
        Toolchain::Debian { .. } => " and the standard library",
    };
    format!(
        "First build here: cargo fetches the SDK's dependencies (wit-bindgen and a few \
         others) from the crate registry unless its cache has them, and compiles them{std} \
         once, which takes a minute or two. Later builds here reuse them."
    )
}

/// `path` with the home directory written `~`.
fn tilde(path: &Path) -> String {
    match std::env::var_os("HOME").map(std::path::PathBuf::from) {
        Some(home) if !home.as_os_str().is_empty() && path.starts_with(&home) => {
            let rest = path.strip_prefix(&home).unwrap_or(path);
            Path::new("~").join(rest).display().to_string()
        }
        _ => path.display().to_string(),
    }
}

/// A size for people: bytes below 1 KiB, else KiB with one decimal.
fn size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// A diagnostic when `path` cannot be a guest workspace.
fn check_workspace(path: &Path) -> Option<Diagnostic> {
    if !path.is_dir() {
        return Some(
            Diagnostic::error(format!("{} is not a directory", path.display()))
                .detail("`engine build` takes the directory of a plugin crate or of a cargo workspace of plugin crates (default: plugins).")
                .hint("`engine build DIR`, for example `engine build .` inside a crate made by `engine new`"),
        );
    }
    if !path.join("Cargo.toml").is_file() {
        return Some(
            Diagnostic::error(format!("{} has no Cargo.toml", path.display()))
                .detail("`engine build` takes the directory of a plugin crate or of a cargo workspace of plugin crates.")
                .hint("`engine new component NAME` scaffolds a plugin crate"),
        );
    }
    None
}

/// A diagnostic for a build failure, with the fix where one is known.
fn build_diagnostic(e: &BuildError) -> Diagnostic {
    match e {
        BuildError::NoToolchain => Diagnostic::error(format!(
            "no toolchain can build plugins for {TARGET}"
        ))
        .detail(format!(
            "Plugins are WebAssembly components compiled for {TARGET}. `engine build` looks for \
             rustup's {TARGET} target, then for Debian's rustc-web with the standard library's \
             sources (/usr/bin/rustc, /usr/bin/cargo, /usr/lib/rustlib/src/rust/library and \
             /usr/bin/rust-lld), and found neither."
        ))
        .hint(format!(
            "`rustup target add {TARGET}`; where rustup cannot download, `sudo apt-get install \
             rustc-web cargo-web rust-web-src lld-22` (in the engine repository, `just setup` \
             does this)"
        )),
        BuildError::Componentize {
            crate_name,
            message,
        } => Diagnostic::error(format!(
            "crate `{crate_name}` built, but is not a plugin: {message}"
        ))
        .hint(
            "a plugin crate exports its plugin with engine-sdk's `component!(Type)` or \
             `policy!(Type)`",
        ),
        BuildError::Cargo { dir } => Diagnostic::error(format!(
            "cargo could not build the plugins in {}",
            dir.display()
        ))
        .detail("Cargo's errors are above."),
        other => Diagnostic::error(other.to_string()),
    }
}

/// What to do when a freshly built component does not load, where the fix differs
/// from the one `engine plan` suggests for a plugin someone else built.
fn hint_for(kind: &engine_runtime::PluginErrorKind) -> Option<&'static str> {
    use engine_runtime::PluginErrorKind as K;
    match kind {
        K::ForbiddenImport(_) => Some(
            "plugins may import only the engine's `host` interface: remove the dependency \
             that needs WASI or another capability (`wasm-tools component wit FILE` shows \
             what the component imports)",
        ),
        K::Version { .. } => Some(
            "point the crate's engine-sdk dependency at plugins/sdk of the engine checkout \
             that matches this engine",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_toolchain_says_how_to_install_one() {
        let text = build_diagnostic(&BuildError::NoToolchain).to_string();
        assert!(
            text.starts_with("error: no toolchain can build plugins for wasm32-unknown-unknown"),
            "{text}"
        );
        assert!(
            text.contains("hint: `rustup target add wasm32-unknown-unknown`"),
            "{text}"
        );
        assert!(
            text.contains("rustc-web cargo-web rust-web-src lld-22"),
            "{text}"
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(900), "900 B");
        assert_eq!(size(23_962), "23.4 KiB");
    }
}
