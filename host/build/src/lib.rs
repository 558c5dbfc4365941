//! Builds Rust plugin crates into WebAssembly components, offline.
//!
//! # Layout
//! - [`Toolchain`]: finds a way to compile for `wasm32-unknown-unknown`: the rustup
//!   target when it is installed, else Debian's `rustc-web` with the standard library
//!   built from source (`-Z build-std`, the only way on a machine that cannot
//!   download a rustup target).
//! - [`build_workspace`]: runs cargo over a guest workspace and turns every `cdylib`
//!   into a component with `wit-component`.
//! - [`imports`]: what a component imports, to check it asks for nothing but our WIT.
//!
//! Used by `engine build`, by `just plugins` and by the tests that build bad guests.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No way to compile for wasm32 was found.
    #[error(
        "no toolchain can build for {TARGET}\n  hint: run `just setup` (it installs Debian's rustc-web, cargo-web, rust-web-src and lld-22), or `rustup target add {TARGET}` where rustup can download"
    )]
    NoToolchain,
    /// Running a program failed.
    #[error("could not run `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// Cargo reported errors (they were printed to stderr).
    #[error("cargo build failed in {dir} (its errors are above)")]
    Cargo {
        /// The workspace.
        dir: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `cargo metadata` said something unexpected.
    #[error("cargo metadata: {0}")]
    Metadata(String),
    /// The module could not be made into a component.
    #[error("{crate_name}: could not make a component: {message}")]
    Componentize {
        /// The crate.
        crate_name: String,
        /// Why (wit-component's message).
        message: String,
    },
}

/// A way to compile for wasm32.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Toolchain {
    /// rustup's toolchain with the wasm32 target installed.
    Rustup,
    /// Debian's rustc with std built from source.
    Debian {
        /// Debian's cargo.
        cargo: PathBuf,
        /// Debian's rustc.
        rustc: PathBuf,
    },
}

const DEBIAN_CARGO: &str = "/usr/bin/cargo";
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_STD_SRC: &str = "/usr/lib/rustlib/src/rust/library";
const DEBIAN_LLD: &str = "/usr/bin/rust-lld";

impl Toolchain {
    /// Prefers the rustup target, falls back to Debian's toolchain.
    pub fn detect() -> Result<Toolchain, BuildError> {
        let rustup_has_target = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .map(|o| {
                o.status.success()
                    && String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .any(|l| l.trim() == TARGET)
            })
            .unwrap_or(false);
        if rustup_has_target {
            return Ok(Toolchain::Rustup);
        }
        if [DEBIAN_CARGO, DEBIAN_RUSTC, DEBIAN_STD_SRC, DEBIAN_LLD]
            .iter()
            .all(|p| Path::new(p).exists())
        {
            return Ok(Toolchain::Debian {
                cargo: DEBIAN_CARGO.into(),
                rustc: DEBIAN_RUSTC.into(),
            });
        }
        Err(BuildError::NoToolchain)
    }

    /// A cargo command for building guests, with the environment of an enclosing
    /// cargo (build scripts, tests) removed so it cannot leak into the guest build.
    pub fn cargo(&self, workspace: &Path) -> Command {
        let mut cmd = match self {
            Toolchain::Rustup => Command::new(
                std::env::var_os("CARGO_HOST_CARGO").unwrap_or_else(|| OsString::from("cargo")),
            ),
            Toolchain::Debian { cargo, .. } => Command::new(cargo),
        };
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            let inherited_from_cargo =
                k.starts_with("CARGO_") && k != "CARGO_HOME" && k != "CARGO_HOST_CARGO";
            if inherited_from_cargo
                || matches!(
                    k.as_str(),
                    "RUSTC"
                        | "RUSTDOC"
                        | "RUSTFLAGS"
                        | "RUSTC_WRAPPER"
                        | "RUSTC_WORKSPACE_WRAPPER"
                        | "RUSTC_BOOTSTRAP"
                        | "MAKEFLAGS"
                        | "MFLAGS"
                        | "TARGET"
                        | "HOST"
                        | "OUT_DIR"
                        | "OPT_LEVEL"
                        | "PROFILE"
                        | "DEBUG"
                        | "NUM_JOBS"
                )
            {
                cmd.env_remove(&k);
            }
        }
        cmd.current_dir(workspace);
        cmd.arg("build").args(["--release", "--target", TARGET]);
        cmd.env("CARGO_TARGET_DIR", target_dir(workspace));
        if let Toolchain::Debian { rustc, .. } = self {
            // Debian's rustc ships no prebuilt std for wasm32: build it from source.
            cmd.env("RUSTC", rustc).env("RUSTC_BOOTSTRAP", "1");
            cmd.args(["-Z", "build-std=std,panic_abort"]);
        }
        cmd
    }
}

/// One built component.
#[derive(Clone, Debug)]
pub struct Built {
    /// The crate it came from.
    pub crate_name: String,
    /// The core module cargo produced.
    pub core_module: PathBuf,
    /// The component written.
    pub component: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// Builds every `cdylib` of the guest workspace at `workspace` (release) and writes
/// each as a component to `out_dir/<crate-name>.wasm` (`-` and `_` as in the name).
/// `packages` limits the build to those crates (all when empty).
pub fn build_workspace(
    toolchain: &Toolchain,
    workspace: &Path,
    out_dir: &Path,
    packages: &[&str],
) -> Result<Vec<Built>, BuildError> {
    // Cargo runs inside the workspace: relative paths would resolve twice.
    let workspace = &workspace.canonicalize().map_err(|source| BuildError::Io {
        path: workspace.into(),
        source,
    })?;
    let crates = cdylib_crates(workspace)?;
    let selected: Vec<&String> = crates
        .iter()
        .filter(|c| packages.is_empty() || packages.contains(&c.as_str()))
        .collect();
    // Crates of different workspaces may share a target directory (and a name):
    // hold it from cargo's build until the modules are componentized, so another
    // `engine build` cannot overwrite a module in between.
    let target = target_dir(workspace);
    std::fs::create_dir_all(&target).map_err(|source| BuildError::Io {
        path: target.clone(),
        source,
    })?;
    let lock_path = target.join(".engine-build.lock");
    let lock = std::fs::File::create(&lock_path).map_err(|source| BuildError::Io {
        path: lock_path.clone(),
        source,
    })?;
    if let Err(std::fs::TryLockError::WouldBlock) = lock.try_lock() {
        eprintln!(
            "Waiting for another build in {} to finish",
            target.display()
        );
    }
    lock.lock().map_err(|source| BuildError::Io {
        path: lock_path,
        source,
    })?;
    let mut cmd = toolchain.cargo(workspace);
    for c in &selected {
        cmd.args(["-p", c]);
    }
    let status = cmd.status().map_err(|source| BuildError::Spawn {
        program: "cargo".into(),
        source,
    })?;
    if !status.success() {
        return Err(BuildError::Cargo {
            dir: workspace.to_path_buf(),
        });
    }
    std::fs::create_dir_all(out_dir).map_err(|source| BuildError::Io {
        path: out_dir.into(),
        source,
    })?;
    let mut built = Vec::new();
    for c in selected {
        let core_module = core_module_path(workspace, c);
        let component = out_dir.join(format!("{c}.wasm"));
        let size = componentize_file(c, &core_module, &component)?;
        built.push(Built {
            crate_name: c.clone(),
            core_module,
            component,
            size,
        });
    }
    Ok(built)
}

/// Turns the core module at `core` into a component at `out` (atomically), returning
/// its size.
pub fn componentize_file(crate_name: &str, core: &Path, out: &Path) -> Result<u64, BuildError> {
    let bytes = std::fs::read(core).map_err(|source| BuildError::Io {
        path: core.into(),
        source,
    })?;
    let component = componentize(&bytes).map_err(|message| BuildError::Componentize {
        crate_name: crate_name.into(),
        message,
    })?;
    let tmp = out.with_extension(format!("wasm.tmp{}", std::process::id()));
    std::fs::write(&tmp, &component).map_err(|source| BuildError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, out).map_err(|source| BuildError::Io {
        path: out.into(),
        source,
    })?;
    Ok(component.len() as u64)
}

/// Turns a core module carrying wit-bindgen's component-type section into a component.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>, String> {
    wit_component::ComponentEncoder::default()
        .module(core)
        .and_then(|e| e.validate(true).encode())
        .map_err(|e| format!("{e:#}"))
}

/// The names a component imports (instances and functions), in order.
pub fn imports(component: &[u8]) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload.map_err(|e| e.to_string())? {
            wasmparser::Payload::ModuleSection { .. }
            | wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(s) if depth == 0 => {
                for import in s {
                    names.push(
                        import
                            .map_err(|e| e.to_string())?
                            .name
                            .full_name()
                            .into_owned(),
                    );
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

/// Where a guest workspace's build goes.
///
/// - A plugin crate that is a workspace of its own (a `[package]` at the root, as
///   `engine new` writes) builds in one directory shared by every such crate,
///   `<cache>/plugin-crates`: the standard library (built from source with Debian's
///   toolchain), the SDK and its dependencies are compiled once, and a second
///   plugin builds in seconds. `<cache>` is `$ENGINE_GUEST_TARGET_DIR` when that is
///   set, else [`default_cache_dir`] (`~/.cache/engine/guests`).
/// - A workspace of several crates (the repository's `plugins/`, `policies/`, the
///   test guests) builds in `$ENGINE_GUEST_TARGET_DIR/<parent>-<name>` when that is
///   set (the justfile points it under `~/.cache`, so CI keeps the std build
///   between runs), else in `<workspace>/target`.
pub fn target_dir(workspace: &Path) -> PathBuf {
    let configured = std::env::var_os("ENGINE_GUEST_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if is_single_crate(workspace)
        && let Some(cache) = configured.clone().or_else(default_cache_dir)
    {
        return cache.join(SHARED_DIR);
    }
    match configured {
        Some(base) => {
            let name = |p: Option<&Path>| {
                p.and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            base.join(format!(
                "{}-{}",
                name(workspace.parent()),
                name(Some(workspace))
            ))
        }
        None => workspace.join("target"),
    }
}

/// The directory under the guest cache shared by single-crate plugin workspaces.
const SHARED_DIR: &str = "plugin-crates";

/// The per-user guest build cache: `$XDG_CACHE_HOME/engine/guests`, else
/// `$HOME/.cache/engine/guests` (None without a home directory).
pub fn default_cache_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".cache"))
        })
        .map(|c| c.join("engine").join("guests"))
}

/// Whether the workspace at `workspace` is one crate that is its own workspace
/// (its root manifest has a `[package]`), rather than a virtual workspace of
/// several crates.
fn is_single_crate(workspace: &Path) -> bool {
    std::fs::read_to_string(workspace.join("Cargo.toml"))
        .map(|t| t.lines().any(|l| l.trim() == "[package]"))
        .unwrap_or(false)
}

/// Whether a build in `target` will compile everything (the standard library,
/// the SDK and its dependencies): nothing was built there for the guest target.
pub fn is_cold(target: &Path) -> bool {
    !target.join(TARGET).join("release").join("deps").is_dir()
}

/// The core module cargo writes for `crate_name` in `workspace`.
pub fn core_module_path(workspace: &Path, crate_name: &str) -> PathBuf {
    target_dir(workspace)
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")))
}

fn cdylib_crates(workspace: &Path) -> Result<Vec<String>, BuildError> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace)
        .output()
        .map_err(|source| BuildError::Spawn {
            program: "cargo metadata".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(BuildError::Metadata(
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| BuildError::Metadata(e.to_string()))?;
    let mut crates = Vec::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let is_cdylib = p["targets"].as_array().into_iter().flatten().any(|t| {
            t["crate_types"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c == "cdylib")
        });
        if is_cdylib && let Some(name) = p["name"].as_str() {
            crates.push(name.to_string());
        }
    }
    crates.sort();
    Ok(crates)
}

/// For tests: builds the guest workspace at `workspace` once per process (cargo's own
/// lock serialises concurrent test processes) and returns the directory holding the
/// components, `workspace/target/components`. Panics with the build error, since a
/// test cannot go on without its guests.
pub fn build_for_tests(workspace: &Path) -> PathBuf {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, OnceLock};
    static BUILT: OnceLock<Mutex<BTreeMap<PathBuf, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = built.get(workspace) {
        return dir.clone();
    }
    let out = workspace.join("target").join("components");
    let result = Toolchain::detect().and_then(|tc| build_workspace(&tc, workspace, &out, &[]));
    if let Err(e) = result {
        panic!(
            "building the test guests in {} failed: {e}",
            workspace.display()
        );
    }
    built.insert(workspace.to_path_buf(), out.clone());
    out
}
