//! Where each stack's state lives, and how it is opened.
//!
//! - The state root is `--state` (or `ENGINE_STATE`), else the config key `state`
//!   (the stack's `engine.NAME.toml`, then `engine.toml`: `engine config set state
//!   s3://BUCKET/PREFIX`), else `.engine`. Each stack keeps its state under it
//!   ([`crate::stacks::state_location`]): `s3://BUCKET/PREFIX/NAME`.
//! - [`install`] registers the S3 backend (`engine-state-s3`) for `s3://`
//!   locations with `engine_state`, its SDK set up as the stack's AWS calls are
//!   (region, `endpoint`, the standard credential chain), and sets how long a
//!   command waits for a lock someone else holds (`--lock-timeout`).

use std::sync::Arc;
use std::time::Duration;

use engine_state::{StateBackend, StateError};

use crate::Globals;
use crate::config::{self, Config};

/// The state root when neither `--state` nor the config names one.
pub const DEFAULT_ROOT: &str = engine_state::local::DEFAULT_DIR;

/// The state root of stack `name`: `--state`, else its config's `state`, else
/// [`DEFAULT_ROOT`].
pub fn root_of(g: &Globals, name: &str) -> anyhow::Result<String> {
    match &g.state_flag {
        Some(root) => Ok(root.clone()),
        None => configured_root(g, name),
    }
}

/// The state root stack `name`'s config names (`state` in its `engine.NAME.toml`,
/// then in `engine.toml`), else [`DEFAULT_ROOT`].
pub fn configured_root(g: &Globals, name: &str) -> anyhow::Result<String> {
    let mut overrides = g.overrides.clone();
    overrides.stack_config = Some(crate::stacks::config_file(&g.project_dir(), name));
    let cfg = config::load(&std::env::current_dir()?, &overrides)?;
    Ok(cfg.state.unwrap_or_else(|| DEFAULT_ROOT.to_string()))
}

/// Registers the S3 backend, set up from `cfg` (the current stack's config; the
/// SDK's defaults without one), and the lock wait of `--lock-timeout`.
pub fn install(cfg: Option<&Config>, lock_timeout: Duration) {
    let sdk = cfg.map(Config::sdk_options).unwrap_or_default();
    engine_state::register_scheme(
        "s3",
        Arc::new(
            move |location: &str| -> Result<Box<dyn StateBackend>, StateError> {
                Ok(Box::new(engine_state_s3::open(location, &sdk)?))
            },
        ),
    );
    let told = move |e: &StateError| {
        eprintln!(
            "{}; waiting up to {} for it (--lock-timeout).",
            e,
            show_duration(lock_timeout)
        );
    };
    engine_state::set_lock_wait(lock_timeout, Some(Arc::new(told)));
}

/// Parses a duration: `0`, `500ms`, `30s`, `5m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: use for example 30s, 5m or 1h"))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("`{text}` is not a duration: use ms, s, m or h")),
    };
    Ok(d)
}

/// `30s`, `5m`, `1h30m`, `500ms`.
pub fn show_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_show() {
        for (text, d) in [
            ("0", Duration::ZERO),
            ("45", Duration::from_secs(45)),
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("2h", Duration::from_secs(7200)),
        ] {
            assert_eq!(parse_duration(text), Ok(d), "{text}");
        }
        for bad in ["", "m", "5 minutes", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(show_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(show_duration(Duration::from_secs(30)), "30s");
        assert_eq!(show_duration(Duration::from_millis(250)), "250ms");
    }
}
