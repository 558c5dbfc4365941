//! Named stacks: one directory of plugins deployed as several stacks (`dev`,
//! `prod`), each with its own state and its own config file.
//!
//! - The current stack is `--stack NAME`, else `ENGINE_STACK`, else the one
//!   `engine stack select` recorded in `<state root>/current`, else `default`.
//! - Stack `default` keeps its state at the state root itself (`.engine/state.json`),
//!   where it always was, so a state made before stacks existed is the default
//!   stack's, unchanged. Stack `NAME` keeps it under `<state root>/stacks/NAME`.
//! - Each stack's config is `engine.NAME.toml` beside `engine.toml` (reviewable, and
//!   committed with the code): `engine config set` writes it.
//! - A remote state root (`s3://BUCKET/PREFIX`) keeps every stack, `default` too,
//!   under `PREFIX/NAME`; what this directory records (the selected stack) stays in
//!   `.engine` here.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The stack used when none is chosen.
pub const DEFAULT: &str = "default";

/// Where the selected stack's name is kept, under the state root.
const CURRENT_FILE: &str = "current";

/// Checks a stack name: lower-case letters, digits and `-`, starting with a letter,
/// at most 63 characters (it names a directory and a file).
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        bail!(
            "`{}` is not a valid stack name: use lower-case letters, digits and `-`, \
             starting with a letter (for example `dev` or `prod-tokyo`)",
            engine_core::printable::short(name, 64)
        );
    }
    Ok(())
}

/// The directory of a `--state` location (`file://DIR` or a path).
pub fn root_dir(root: &str) -> PathBuf {
    PathBuf::from(root.strip_prefix("file://").unwrap_or(root))
}

/// Whether a state location is remote (`s3://...`) rather than a directory.
pub fn is_remote(location: &str) -> bool {
    location.contains("://") && !location.starts_with("file://")
}

/// Where this directory records its stacks' selection: the state root's
/// directory, or `.engine` when the state root is remote.
fn local_dir(root: &str) -> PathBuf {
    if is_remote(root) {
        PathBuf::from(engine_state::local::DEFAULT_DIR)
    } else {
        root_dir(root)
    }
}

/// The state location of stack `name` under the state root `root`.
pub fn state_location(root: &str, name: &str) -> String {
    if is_remote(root) {
        // Every stack below the prefix; options (`?kms-key=...`) stay at the end.
        let (base, options) = root.split_once('?').unwrap_or((root, ""));
        let base = base.trim_end_matches('/');
        return match options {
            "" => format!("{base}/{name}"),
            o => format!("{base}/{name}?{o}"),
        };
    }
    if name == DEFAULT {
        return root.to_string();
    }
    match root.strip_prefix("file://") {
        Some(dir) => format!(
            "file://{}",
            Path::new(dir).join("stacks").join(name).display()
        ),
        None => Path::new(root)
            .join("stacks")
            .join(name)
            .display()
            .to_string(),
    }
}

/// The config file of stack `name` in the project directory `dir`.
pub fn config_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("engine.{name}.toml"))
}

/// The stack chosen by `--stack`/`ENGINE_STACK` (`flag`), else the selected one,
/// else [`DEFAULT`].
pub fn current(flag: Option<&str>, root: &str) -> anyhow::Result<String> {
    let name = match flag.filter(|f| !f.is_empty()) {
        Some(f) => f.to_string(),
        None => selected(root).unwrap_or_else(|| DEFAULT.to_string()),
    };
    check_name(&name)?;
    Ok(name)
}

/// The stack `engine stack select` recorded, if any.
pub fn selected(root: &str) -> Option<String> {
    std::fs::read_to_string(local_dir(root).join(CURRENT_FILE))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Records `name` as the selected stack (`None`: back to [`DEFAULT`]).
pub fn select(root: &str, name: Option<&str>) -> anyhow::Result<()> {
    let dir = local_dir(root);
    let path = dir.join(CURRENT_FILE);
    match name {
        Some(n) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            std::fs::write(&path, format!("{n}\n"))
                .with_context(|| format!("cannot write {}", path.display()))
        }
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        },
    }
}

/// Every stack known here: `default` when it has a state or a config file, and
/// each `stacks/NAME` directory or `engine.NAME.toml` file.
pub fn list(root: &str, dir: &Path) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    let root = local_dir(root);
    if root.join("state.json").is_file() || config_file(dir, DEFAULT).is_file() {
        names.insert(DEFAULT.to_string());
    }
    if let Ok(entries) = std::fs::read_dir(root.join("stacks")) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                names.insert(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = file
                .strip_prefix("engine.")
                .and_then(|f| f.strip_suffix(".toml"))
                && check_name(n).is_ok()
            {
                names.insert(n.to_string());
            }
        }
    }
    names.into_iter().collect()
}

/// Whether stack `name` exists here.
pub fn exists(root: &str, dir: &Path, name: &str) -> bool {
    list(root, dir).iter().any(|n| n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_stack_keeps_the_root_and_others_live_below_it() {
        assert_eq!(state_location(".engine", DEFAULT), ".engine");
        assert_eq!(state_location(".engine", "prod"), ".engine/stacks/prod");
        assert_eq!(
            state_location("file://.engine", "prod"),
            "file://.engine/stacks/prod"
        );
        assert_eq!(
            config_file(Path::new("/p"), "dev"),
            PathBuf::from("/p/engine.dev.toml")
        );
        // A remote root keeps every stack below its prefix, options last.
        assert_eq!(
            state_location("s3://b/team", DEFAULT),
            "s3://b/team/default"
        );
        assert_eq!(state_location("s3://b/team/", "dev"), "s3://b/team/dev");
        assert_eq!(
            state_location("s3://b?kms-key=alias/state", "prod"),
            "s3://b/prod?kms-key=alias/state"
        );
        assert!(is_remote("s3://b") && !is_remote("file://x") && !is_remote(".engine"));
        assert_eq!(local_dir("s3://b/team"), PathBuf::from(".engine"));
    }

    #[test]
    fn names_are_checked() {
        for good in ["dev", "prod-tokyo", "a1"] {
            check_name(good).unwrap();
        }
        for bad in ["", "Dev", "../x", "a b", "1a", "a/b", &"x".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn selection_lists_and_falls_back_to_default() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join(".engine").display().to_string();
        assert_eq!(current(None, &root).unwrap(), DEFAULT);
        select(&root, Some("prod")).unwrap();
        assert_eq!(current(None, &root).unwrap(), "prod");
        assert_eq!(current(Some("dev"), &root).unwrap(), "dev");
        std::fs::create_dir_all(root_dir(&root).join("stacks/prod")).unwrap();
        std::fs::write(config_file(d.path(), "dev"), "").unwrap();
        assert_eq!(list(&root, d.path()), ["dev", "prod"]);
        select(&root, None).unwrap();
        assert_eq!(current(None, &root).unwrap(), DEFAULT);
    }
}
