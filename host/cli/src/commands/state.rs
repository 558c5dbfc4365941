//! `engine state list|show`.

use engine_core::{Address, Diagnostic, render};

use crate::commands::plan::read_state;
use crate::{Globals, exit, ui};

/// `engine state` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// List the addresses of every resource in the state
    List {
        /// Print JSON (address, kind, id) on stdout
        #[arg(long)]
        json: bool,
    },
    /// Show one resource as recorded: inputs and attributes (never secret values)
    Show {
        /// The resource address, e.g. `vpc/main`
        address: String,
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
}

/// Runs a state subcommand.
pub fn run(g: &Globals, cmd: &StateCommand) -> anyhow::Result<u8> {
    let (_, state) = match read_state(g) {
        Ok(x) => x,
        Err(d) => {
            ui::diagnostics(&[d]);
            return Ok(exit::ERROR);
        }
    };
    match cmd {
        StateCommand::List { json } => {
            if *json {
                let rows: Vec<_> = state
                    .resources
                    .iter()
                    .map(|(a, r)| serde_json::json!({"address": a.to_string(), "kind": r.kind.as_str(), "attributes": r.attributes}))
                    .collect();
                ui::out(&format!("{}\n", serde_json::to_string_pretty(&rows)?));
            } else {
                for a in state.resources.keys() {
                    ui::out(&format!("{a}\n"));
                }
            }
            Ok(exit::OK)
        }
        StateCommand::Show { address, json } => {
            let found = Address::parse(address)
                .ok()
                .and_then(|a| state.resources.get(&a).map(|r| (a, r)));
            let Some((a, r)) = found else {
                ui::diagnostics(&[Diagnostic::error(format!(
                    "no resource `{address}` in the state"
                ))
                .hint("`engine state list` shows the addresses")]);
                return Ok(exit::ERROR);
            };
            if *json {
                ui::out(&format!("{}\n", serde_json::to_string_pretty(r)?));
            } else {
                ui::out(&render::resource_state(&a, r));
            }
            Ok(exit::OK)
        }
    }
}
