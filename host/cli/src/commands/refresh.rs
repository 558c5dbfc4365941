//! `engine refresh`: read what exists (batched, one call per page and kind where
//! the API allows), record it, and report the drift.

use crate::commands::apply::{lock_state, provider, report, tokio};
use crate::config;
use crate::{Globals, exit, ui};
use engine_core::Diagnostic;

/// Options of `engine refresh`.
#[derive(Debug, clap::Args)]
pub struct RefreshArgs {
    /// Print the drift as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// `engine refresh`.
pub fn refresh(g: &Globals, a: &RefreshArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir()?;
    let cfg = config::load(&cwd, &g.overrides)?;
    let mut locked = match lock_state(g, "engine refresh") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let rt = tokio()?;
    let (aws, calls) = rt.block_on(provider(&cfg));
    let drift = match rt.block_on(engine_exec::refresh(&mut locked.state, aws.as_ref())) {
        Ok(d) => d,
        Err(e) => {
            return Ok(report(
                Diagnostic::error("refreshing the state failed").detail(e.to_string()),
            ));
        }
    };
    if let Err(e) = locked.backend.write(&locked.lock, &mut locked.state) {
        return Ok(report(e.diagnostic()));
    }
    if a.json {
        let rows: Vec<_> = drift
            .iter()
            .map(|d| match &d.kind {
                engine_exec::DriftKind::Deleted => serde_json::json!({"address": d.address.to_string(), "drift": "deleted"}),
                engine_exec::DriftKind::Changed(f) => serde_json::json!({"address": d.address.to_string(), "drift": "changed", "fields": f}),
            })
            .collect();
        ui::out(&format!("{}\n", serde_json::to_string_pretty(&rows)?));
    } else if drift.is_empty() {
        eprintln!(
            "No drift: {} resources match the state ({} AWS calls).",
            locked.state.resources.len(),
            calls.total()
        );
    } else {
        for d in &drift {
            match &d.kind {
                engine_exec::DriftKind::Deleted => {
                    ui::out(&format!("{}: deleted outside the engine\n", d.address))
                }
                engine_exec::DriftKind::Changed(f) => ui::out(&format!(
                    "{}: changed outside the engine: {}\n",
                    d.address,
                    f.join(", ")
                )),
            }
        }
        eprintln!("The state now records what exists; `engine plan` shows how to bring it back.");
    }
    Ok(exit::OK)
}
