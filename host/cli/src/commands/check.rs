//! `engine check`: policy plugins over a plan, and the gate `apply --policy` uses.

use std::path::PathBuf;

use engine_core::Plan;

use crate::Globals;
use crate::config::Config;

/// Options of `engine check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Component plugins (.wasm)
    #[arg(required = true, value_name = "PLUGIN")]
    pub plugins: Vec<PathBuf>,
}

/// `engine check`. The policies are `--policy` (global, see [`Globals`]) plus
/// `policies` from engine.toml ([`Config::policies`]).
pub fn run(_g: &Globals, _a: &CheckArgs) -> anyhow::Result<u8> {
    anyhow::bail!("`engine check` is not implemented yet")
}

/// Runs `policies` over `plan` before an apply, printing violations to stderr.
/// Returns whether the apply may go on (no mandatory violation, no failing policy).
pub fn enforce(
    _g: &Globals,
    _cfg: &Config,
    policies: &[PathBuf],
    _plan: &Plan,
) -> anyhow::Result<bool> {
    if policies.is_empty() {
        return Ok(true);
    }
    anyhow::bail!("policy checks are not implemented yet")
}
