//! `engine new component|policy NAME`: scaffold a plugin crate that builds as is.
//!
//! The crate is a guest workspace of its own (so it builds wherever it lives) that
//! depends on the engine's guest SDK by path. The SDK finds the WIT at `../../wit`
//! from its own directory, so the dependency must point at `plugins/sdk` inside a
//! checkout of the engine repository: `--sdk`, else the checkout that holds the
//! new crate's directory, else the checkout this binary was built from.
//!
//! The files written are templates under `host/cli/templates/`, real code with
//! `{{name}}`-style placeholders.

use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use engine_core::Diagnostic;

use crate::{exit, ui};

/// What to scaffold.
#[derive(Debug, clap::Subcommand)]
pub enum NewCommand {
    /// A component plugin (declares resources): a KMS key and an SNS topic to start from
    #[command(
        after_help = "Example:\n  engine new component alerts\n  engine build alerts                 writes alerts/alerts.wasm\n  engine plan alerts/alerts.wasm"
    )]
    Component(NewArgs),
    /// A policy plugin (checks plans): one rule that flags unencrypted SNS topics
    #[command(
        after_help = "Example:\n  engine new policy encryption\n  engine build encryption             writes encryption/encryption.wasm\n  engine check --policy encryption/encryption.wasm plugins/*.wasm"
    )]
    Policy(NewArgs),
}

/// Options of `engine new component` and `engine new policy`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Crate and plugin name: lowercase letters, digits and `-`, starting with a letter
    pub name: String,
    /// Directory to create [default: ./NAME]
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// The engine-sdk crate (plugins/sdk in a checkout of the engine repository)
    /// [default: the checkout that holds DIR, else the one this engine was built from]
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

/// The kind of plugin to scaffold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Component,
    Policy,
}

const CARGO_TOML: &str = include_str!("../../templates/Cargo.toml.tmpl");
const GITIGNORE: &str = include_str!("../../templates/gitignore.tmpl");
const COMPONENT_LIB: &str = include_str!("../../templates/component/lib.rs");
const COMPONENT_README: &str = include_str!("../../templates/component/README.md");
const POLICY_LIB: &str = include_str!("../../templates/policy/lib.rs");
const POLICY_README: &str = include_str!("../../templates/policy/README.md");

/// The SDK of the checkout this binary was built from.
const BUILT_IN_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugins/sdk");

/// Names a crate may not take: Rust keywords and the standard crates (the library
/// name would clash), and the crates a plugin depends on.
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "engine-sdk",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc-macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "wit-bindgen",
    "yield",
];

/// Runs `engine new`.
pub fn run(cmd: &NewCommand) -> anyhow::Result<u8> {
    let (kind, args) = match cmd {
        NewCommand::Component(a) => (Kind::Component, a),
        NewCommand::Policy(a) => (Kind::Policy, a),
    };
    match scaffold(kind, args) {
        Ok(()) => Ok(exit::OK),
        Err(d) => {
            ui::diagnostics(&[*d]);
            Ok(exit::ERROR)
        }
    }
}

fn scaffold(kind: Kind, args: &NewArgs) -> Result<(), Box<Diagnostic>> {
    check_name(&args.name)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() || dir.is_symlink() {
        return Err(Box::new(
            Diagnostic::error(format!("{} already exists", dir.display()))
                .detail("`engine new` writes a new directory and never overwrites one.")
                .hint("choose another name, or another place with `--dir PATH`"),
        ));
    }
    let abs_dir = absolute(&dir).map_err(|e| Box::new(Diagnostic::error(format!("{e:#}"))))?;
    let sdk = find_sdk(args.sdk.as_deref(), &abs_dir)?;
    // The checkout's own plugins (`plugins/*.wasm` once built), from the new crate
    // and from here.
    let checkout_plugins = sdk.parent().unwrap_or(&sdk);
    let files = render(
        kind,
        &args.name,
        &sdk_dependency(&sdk, &abs_dir),
        &shell_word(&near(checkout_plugins, &abs_dir).join("*.wasm")),
    );
    write_all(&dir, &files).map_err(|e| {
        Box::new(Diagnostic::error(format!(
            "could not write {}: {e:#}",
            dir.display()
        )))
    })?;

    let name = &args.name;
    let d = dir.display();
    let wasm = dir.join(format!("{name}.wasm"));
    let wasm = wasm.display();
    let cwd = absolute(Path::new(".")).unwrap_or_default();
    let plugins = near(checkout_plugins, &cwd).join("*.wasm");
    let (what, try_it) = match kind {
        Kind::Component => ("component", format!("engine plan {wasm}")),
        Kind::Policy => (
            "policy",
            format!("engine check --policy {wasm} {}", shell_word(&plugins)),
        ),
    };
    eprintln!(
        "Created {what} plugin `{name}` in {d} (engine-sdk: {sdk}).\n\n\
         Next:\n  \
         engine build {d}\n  \
         {try_it}\n  \
         (cd {d} && cargo test)\n\n\
         The tutorial and the reference of every resource kind: docs/authoring.md.",
        sdk = sdk.display()
    );
    Ok(())
}

/// Refuses names that are not valid plugin names or would not make a valid crate.
fn check_name(name: &str) -> Result<(), Box<Diagnostic>> {
    let why = if !engine_core::address::valid_name(name) {
        Some("use 1 to 63 lowercase letters, digits and `-`, starting with a letter")
    } else if name.ends_with('-') || name.contains("--") {
        Some("a name may not end with `-` or contain `--`")
    } else if RESERVED.contains(&name) || RESERVED.contains(&name.replace('-', "_").as_str()) {
        Some("it is a Rust keyword or the name of a crate plugins depend on")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Box::new(
            Diagnostic::error(format!("`{name}` cannot name a plugin: {why}")).detail(
                "The name is the crate's and the plugin's: the first part of the address of \
                 every resource it declares (`NAME/resource`).",
            ),
        )),
    }
}

/// `path` made absolute against the working directory, with `.` and `..` resolved
/// through the part that exists (the new directory itself does not exist yet).
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    let path = std::path::absolute(path).context("cannot resolve the working directory")?;
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(existing.file_name().map(PathBuf::from).unwrap_or_default());
        existing = existing.parent().unwrap_or(Path::new("/"));
    }
    let mut out = existing
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", existing.display()))?;
    for part in rest.iter().rev() {
        out.push(part);
    }
    Ok(out)
}

/// Whether `dir` holds the engine SDK crate.
fn is_sdk(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| {
            t.get("package")?
                .get("name")?
                .as_str()
                .map(|n| n == "engine-sdk")
        })
        .unwrap_or(false)
}

/// The SDK to depend on (canonical): `--sdk`, else `plugins/sdk` of a checkout
/// that holds `dest`, else the built-in one. Its WIT must be this engine's version.
fn find_sdk(explicit: Option<&Path>, dest: &Path) -> Result<PathBuf, Box<Diagnostic>> {
    let hint = "pass `--sdk PATH` with the path of plugins/sdk in a checkout of the engine \
                repository that matches this engine";
    let sdk = match explicit {
        Some(p) => {
            if !is_sdk(p) {
                return Err(Box::new(
                    Diagnostic::error(format!("{} is not the engine-sdk crate", p.display()))
                        .detail("`--sdk` takes the directory of the engine-sdk crate, which holds its Cargo.toml.")
                        .hint("in a checkout of the engine repository it is plugins/sdk"),
                ));
            }
            p.to_path_buf()
        }
        None => dest
            .ancestors()
            .skip(1)
            .map(|a| a.join("plugins").join("sdk"))
            .find(|p| is_sdk(p))
            .or_else(|| Some(PathBuf::from(BUILT_IN_SDK)).filter(|p| is_sdk(p)))
            .ok_or_else(|| {
                Box::new(
                    Diagnostic::error("cannot find the engine-sdk crate")
                        .detail(format!(
                            "A plugin crate depends on engine-sdk by path. Neither a directory \
                             above {} nor the checkout this engine was built from holds \
                             plugins/sdk.",
                            dest.display()
                        ))
                        .hint(hint),
                )
            })?,
    };
    let sdk = sdk
        .canonicalize()
        .map_err(|e| Box::new(Diagnostic::error(format!("{}: {e}", sdk.display()))))?;
    let wit = sdk.join("../../wit/engine.wit");
    let text = std::fs::read_to_string(&wit).map_err(|_| {
        Box::new(
            Diagnostic::error(format!(
                "the SDK at {} has no WIT at ../../wit/engine.wit",
                sdk.display()
            ))
            .detail("The SDK generates its bindings from the WIT of the checkout it lives in.")
            .hint(hint),
        )
    })?;
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("package engine:plugin@"))
        .map(|v| v.trim_end_matches(';').trim().to_string());
    if version.as_deref() != Some(engine_runtime::WIT_VERSION) {
        return Err(Box::new(
            Diagnostic::error(format!(
                "the SDK at {} speaks engine:plugin@{}, but this engine speaks engine:plugin@{}",
                sdk.display(),
                version.as_deref().unwrap_or("?"),
                engine_runtime::WIT_VERSION
            ))
            .detail("A plugin built with it would not load in this engine.")
            .hint(hint),
        ));
    }
    Ok(sdk)
}

/// The `path` of the SDK dependency, as a TOML string: relative when the new crate
/// lives in the same checkout as the SDK (so the checkout can move), else absolute.
fn sdk_dependency(sdk: &Path, dest: &Path) -> String {
    let checkout = sdk.parent().and_then(Path::parent);
    let path = match checkout {
        Some(root) if dest.starts_with(root) => relative(sdk, dest),
        _ => sdk.to_path_buf(),
    };
    let path = path.to_string_lossy().replace('\\', "/");
    toml::Value::String(path).to_string()
}

/// `target` as seen from the directory `from`: relative when both are in the same
/// checkout of the engine (`target` is a directory of it), else absolute.
fn near(target: &Path, from: &Path) -> PathBuf {
    match target.parent() {
        Some(root) if from.starts_with(root) => match relative(target, from) {
            p if p.as_os_str().is_empty() => PathBuf::from("."),
            p => p,
        },
        _ => target.to_path_buf(),
    }
}

/// `path` as one shell word, its file name pattern from the first `*` on left
/// unquoted so the shell expands it: quoted only when it holds characters the
/// shell would treat specially.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let (base, glob) = text.split_at(text.find('*').unwrap_or(text.len()));
    if base
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        format!("{base}{glob}")
    } else {
        format!("'{}'{glob}", base.replace('\'', "'\\''"))
    }
}

/// `target` relative to the directory `from` (both absolute and normalised).
fn relative(target: &Path, from: &Path) -> PathBuf {
    let t: Vec<Component> = target.components().collect();
    let f: Vec<Component> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

/// The files of the new crate: (relative path, contents).
fn render(
    kind: Kind,
    name: &str,
    sdk_dependency: &str,
    plugins: &str,
) -> Vec<(&'static str, String)> {
    let (description, lib, readme) = match kind {
        Kind::Component => (
            "An engine component plugin: an SNS topic encrypted with its own KMS key.",
            COMPONENT_LIB,
            COMPONENT_README,
        ),
        Kind::Policy => (
            "An engine policy plugin: SNS topics are encrypted at rest.",
            POLICY_LIB,
            POLICY_README,
        ),
    };
    let fill = |t: &str| {
        t.replace("{{name}}", name)
            .replace("{{snake}}", &name.replace('-', "_"))
            .replace("{{description}}", description)
            .replace("{{sdk}}", sdk_dependency)
            .replace("{{plugins}}", plugins)
    };
    vec![
        ("Cargo.toml", fill(CARGO_TOML)),
        (".gitignore", fill(GITIGNORE)),
        ("README.md", fill(readme)),
        ("src/lib.rs", fill(lib)),
    ]
}

/// Creates `dir` (which must not exist) and writes `files`; removes it again when a
/// write fails, so a failure leaves nothing behind.
fn write_all(dir: &Path, files: &[(&str, String)]) -> anyhow::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::create_dir(dir)?;
    let result = files.iter().try_for_each(|(rel, text)| {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_plugin_and_crate_rules() {
        for ok in ["demo", "demo-comp", "s3-archive", "a1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Demo",
            "1demo",
            "demo_comp",
            "demo-",
            "de--mo",
            "-demo",
            "std",
            "test",
            "proc-macro",
            "engine-sdk",
            "fn",
            &"a".repeat(64),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn templates_fill_every_placeholder() {
        for kind in [Kind::Component, Kind::Policy] {
            for (path, text) in render(kind, "demo-comp", "\"../sdk\"", "../plugins/*.wasm") {
                assert!(!text.contains("{{"), "{path}: {text}");
            }
        }
        let files = render(
            Kind::Component,
            "demo-comp",
            "\"../sdk\"",
            "../plugins/*.wasm",
        );
        let cargo = &files[0].1;
        let manifest: toml::Table = cargo.parse().expect("valid TOML");
        assert_eq!(manifest["package"]["name"].as_str(), Some("demo-comp"));
        assert_eq!(
            manifest["dependencies"]["engine-sdk"]["path"].as_str(),
            Some("../sdk")
        );
        assert!(manifest.contains_key("workspace"));
        assert!(files[3].1.contains("\"demo_comp_topic_arn\""));
    }

    #[test]
    fn the_checkouts_plugins_are_named_from_where_they_are_used() {
        let plugins = Path::new("/repo/plugins");
        let from = |d: &str| shell_word(&near(plugins, Path::new(d)).join("*.wasm"));
        assert_eq!(from("/repo"), "plugins/*.wasm");
        assert_eq!(from("/repo/extra/demo"), "../../plugins/*.wasm");
        assert_eq!(from("/home/me/shop/alerts"), "/repo/plugins/*.wasm");
        assert_eq!(
            shell_word(Path::new("/my repo/it's/plugins/*.wasm")),
            "'/my repo/it'\\''s/plugins/'*.wasm"
        );
    }

    #[test]
    fn the_sdk_path_is_relative_inside_its_checkout() {
        let sdk = Path::new("/repo/plugins/sdk");
        assert_eq!(
            sdk_dependency(sdk, Path::new("/repo/extra/demo")),
            "\"../../plugins/sdk\""
        );
        assert_eq!(
            sdk_dependency(sdk, Path::new("/tmp/demo")),
            "\"/repo/plugins/sdk\""
        );
    }
}
